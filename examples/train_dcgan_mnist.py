"""DCGAN (Radford et al. 2016) on the built-in 4,500 MNIST digits.

Writes a PNG grid of samples after each epoch and the trained model into --out.

    python examples/train_dcgan_mnist.py --steps 2000
"""

import argparse
import math
import os

import keras

import keras_gen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="train steps")
    parser.add_argument("--out", default="runs/example-dcgan-mnist")
    args = parser.parse_args()

    dataset, info = keras_gen.data.load("mnist5k", batch_size=64, seed=0)
    model = keras_gen.models.DCGAN(data_shape=info.shape, latent_dim=100, seed=0)
    model.compile(generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    epochs = math.ceil(args.steps * 64 / info.num_examples)
    model.fit(dataset.repeat(), steps_per_epoch=math.ceil(args.steps / epochs), epochs=epochs,
              verbose=2, callbacks=[keras_gen.callbacks.ImageGridCallback(png_dir=args.out)])
    model.save(os.path.join(args.out, "model.keras"))
    print(f"samples and model in {args.out}")


if __name__ == "__main__":
    main()
