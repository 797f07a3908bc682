"""Variational models: `VAE`, `BetaVAE`, `ConditionalVAE` and `VQVAE`."""

from keras_gen.models.vae.beta_vae import BetaVAE
from keras_gen.models.vae.conditional_vae import ConditionalVAE
from keras_gen.models.vae.vae import VAE
from keras_gen.models.vae.vq_vae import VQVAE
