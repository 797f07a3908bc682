"""The original GAN (MLP pair, non-saturating loss) on the 8-Gaussian ring.

python examples/train_gan_ring8.py --steps 4000
"""

import argparse
import os

import keras

import keras_gen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000, help="train steps")
    parser.add_argument("--out", default="runs/example-gan-ring8")
    args = parser.parse_args()

    dataset, info = keras_gen.data.load("ring8", batch_size=128, seed=0)
    model = keras_gen.models.GAN(data_shape=info.shape, latent_dim=8, seed=0)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    model.fit(dataset.repeat(), steps_per_epoch=args.steps, epochs=1, verbose=2)
    metrics = keras_gen.data.toy_metrics(model.generate(2500, seed=1), "ring8")
    print(f"modes covered: {metrics['modes']} / 8, high quality: {metrics['high_quality']:.1%}")
    model.save(os.path.join(args.out, "model.keras"))


if __name__ == "__main__":
    main()
