"""SNGAN: Miyato et al. 2018, arXiv:1802.05957."""

import keras

from keras_gen.models.gan.gan import GAN


@keras.saving.register_keras_serializable(package="keras_gen")
class SNGAN(GAN):
    """Spectrally normalized GAN with the hinge loss (Miyato et al. 2018, arXiv:1802.05957).

    Every layer of the default discriminator is wrapped in
    `keras.layers.SpectralNormalization` (one power iteration per step) and the
    loss is the hinge loss of Lim & Ye 2017. The paper trains with
    Adam(2e-4, beta_1=0.0, beta_2=0.9).

    Args:
        Those of `GAN` (loss defaults to `"hinge"`).
    """

    default_loss = "hinge"

    def discriminator_kwargs(self):
        return {"spectral_norm": True}
