"""Conditional VAE (Sohn et al. 2015) on binarized MNIST: each row of samples is one digit.

python examples/train_conditional_vae_mnist.py --steps 2100
"""

from vae_recipe import run

import keras_gen

if __name__ == "__main__":
    run(
        keras_gen.models.ConditionalVAE,
        description=__doc__.splitlines()[0],
        default_out="runs/example-conditional-vae-mnist",
        conditional=True,
        latent_dim=16,
    )
