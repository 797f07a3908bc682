"""ACGAN (Odena et al. 2017): an auxiliary classifier makes each digit class distinct.

Each row of the grid written to --out is one digit class, 0 to 9.

    python examples/train_acgan_mnist.py --steps 2000
"""

import keras
from mnist_recipe import run

import keras_gen

if __name__ == "__main__":
    run(
        keras_gen.models.ACGAN,
        lambda: keras.optimizers.Adam(2e-4, beta_1=0.5),
        description=__doc__.splitlines()[0],
        default_out="runs/example-acgan-mnist",
        conditional=True,
    )
