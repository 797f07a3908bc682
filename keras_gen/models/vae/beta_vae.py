"""beta-VAE: Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework" (ICLR)."""

import keras

from keras_gen.models.vae import vae


@keras.saving.register_keras_serializable(package="keras_gen")
class BetaVAE(vae.VAE):
    """VAE whose KL term weighs `beta` > 1 (default 4), for disentangled latents.

    `loss` logs the beta-weighted objective; `elbo` stays the true bound. All
    arguments as for `VAE`; `beta_warmup_steps` ramps the weight up linearly.
    """

    def __init__(self, *args, beta=4.0, **kwargs):
        super().__init__(*args, beta=beta, **kwargs)
