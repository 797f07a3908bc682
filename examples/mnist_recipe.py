"""The shared recipe of the MNIST examples: load mnist5k, fit for --steps, save.

Each `train_<model>_mnist.py` script chooses a model class and its optimizer;
this file holds the loop they have in common.
"""

import argparse
import math
import os

import keras
import numpy as np

import keras_gen


def run(model_class, optimizer, description, default_out, conditional=False):
    """Trains `model_class` on mnist5k with the command-line flags --steps and --out.

    Args:
        model_class: a keras_gen GAN class.
        optimizer: `fn() -> keras optimizer`, called once per network.
        description: the script's one-line description.
        default_out: default output directory.
        conditional: train with labels; each row of the grid is then one digit.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=2000, help="train steps")
    parser.add_argument("--out", default=default_out)
    args = parser.parse_args()
    # The default networks' initial weights follow Keras' global seed.
    keras.utils.set_random_seed(0)

    dataset, info = keras_gen.data.load("mnist5k", batch_size=64, labels=conditional, seed=0)
    kwargs = {"num_classes": info.num_classes} if conditional else {}
    model = model_class(data_shape=info.shape, latent_dim=100, seed=0, **kwargs)
    model.compile(generator_optimizer=optimizer(), discriminator_optimizer=optimizer())
    grid = {"num_samples": 100, "labels": np.repeat(np.arange(10), 10)} if conditional else {}
    epochs = math.ceil(args.steps * 64 / info.num_examples)
    model.fit(
        dataset.repeat(),
        steps_per_epoch=math.ceil(args.steps / epochs),
        epochs=epochs,
        verbose=2,
        callbacks=[keras_gen.callbacks.ImageGridCallback(png_dir=args.out, **grid)],
    )
    model.save(os.path.join(args.out, "model.keras"))
    print(f"samples and model in {args.out}")
    return model


__all__ = ["run"]
