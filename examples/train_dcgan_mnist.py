"""DCGAN (Radford et al. 2016) on the built-in 4,500 MNIST digits.

Writes a PNG grid of samples after each epoch and the trained model into --out.

    python examples/train_dcgan_mnist.py --steps 2000
"""

import keras
from mnist_recipe import run

import keras_gen

if __name__ == "__main__":
    run(
        keras_gen.models.DCGAN,
        lambda: keras.optimizers.Adam(2e-4, beta_1=0.5),
        description=__doc__.splitlines()[0],
        default_out="runs/example-dcgan-mnist",
        conditional=False,
    )
