"""VAE (Kingma & Welling 2014) on the built-in MNIST digits, binarized.

Prints the held-out log-likelihood; writes samples, reconstructions,
interpolations and the trained model into --out.

    python examples/train_vae_mnist.py --steps 2100
"""

from vae_recipe import run

import keras_gen

if __name__ == "__main__":
    run(
        keras_gen.models.VAE,
        description=__doc__.splitlines()[0],
        default_out="runs/example-vae-mnist",
        latent_dim=16,
    )
