"""ACGAN (Odena et al. 2017): an auxiliary classifier makes each digit class distinct.

Each row of the grid written to --out is one digit class, 0 to 9.

    python examples/train_acgan_mnist.py --steps 2000
"""

import argparse
import math
import os

import keras
import numpy as np

import keras_gen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="train steps")
    parser.add_argument("--out", default="runs/example-acgan-mnist")
    args = parser.parse_args()

    dataset, info = keras_gen.data.load("mnist5k", batch_size=64, labels=True, seed=0)
    model = keras_gen.models.ACGAN(data_shape=info.shape, num_classes=info.num_classes,
                                   latent_dim=100, seed=0)
    model.compile(generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    rows = np.repeat(np.arange(10), 10)  # ten samples of each digit, one digit per row
    epochs = math.ceil(args.steps * 64 / info.num_examples)
    model.fit(dataset.repeat(), steps_per_epoch=math.ceil(args.steps / epochs), epochs=epochs,
              verbose=2, callbacks=[keras_gen.callbacks.ImageGridCallback(
                  png_dir=args.out, num_samples=100, labels=rows)])
    model.save(os.path.join(args.out, "model.keras"))
    print(f"samples and model in {args.out}")


if __name__ == "__main__":
    main()
