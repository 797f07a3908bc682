"""VQ-VAE (van den Oord et al. 2017) with a Transformer prior over its 7x7 codes, on binarized MNIST.

64 codes of 32 numbers with EMA codebook updates (decay 0.99); the prior
learns the codes in the same fit(), so generated digits are new images, not
reconstructions.

    python examples/train_vq_vae_mnist.py --steps 2100
"""

from vae_recipe import run

import keras_gen

if __name__ == "__main__":
    run(
        keras_gen.models.VQVAE,
        description=__doc__.splitlines()[0],
        default_out="runs/example-vq-vae-mnist",
        num_embeddings=64,
        ema_decay=0.99,
    )
