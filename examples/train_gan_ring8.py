"""PacGAN2 (the original GAN, packs of two) on the 8-Gaussian ring, as the benchmark trains it.

The setup of `keras-gen train gan --dataset ring8` and of docs/sample_quality.md's
ring8 row: PacGAN's toy networks (four 400-unit ReLU layers with batch norm; a
maxout discriminator on packs of two samples), a 2-d latent, Adam(1e-4,
beta_1=0.8) and 100 packs per update, 10,000 updates; then the scores of 2,500
samples as PacGAN's code computes them.

python examples/train_gan_ring8.py --steps 10000
"""

import argparse
import json
import os

import keras

import keras_gen

PACK = 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="generator updates")
    parser.add_argument("--out", default="runs/example-gan-ring8")
    args = parser.parse_args()

    dataset, _ = keras_gen.data.load(
        "ring8", batch_size=100 * PACK, seed=0, steps_per_epoch=args.steps
    )
    model = keras_gen.models.GAN(
        **keras_gen.networks.pacgan_toy_networks(latent_dim=2, pack=PACK),
        latent_dim=2,
        pack=PACK,
        seed=0,
    )
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.8),
        discriminator_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.8),
    )
    model.fit(dataset, epochs=1, verbose=2)
    metrics = keras_gen.data.toy_metrics(model.generate(2500, seed=1), "ring8")
    print(
        f"modes covered: {metrics['modes']} / 8, high quality: {metrics['high_quality']:.1%}, "
        f"reverse KL: {metrics['reverse_kl']:.3f}"
    )
    os.makedirs(args.out, exist_ok=True)
    model.save(os.path.join(args.out, "model.keras"))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({key: float(metrics[key]) for key in ("modes", "high_quality", "reverse_kl")}, f)


if __name__ == "__main__":
    main()
