"""DCGAN: Radford et al. 2016, arXiv:1511.06434."""

import keras

from keras_gen.models.gan.gan import GAN


@keras.saving.register_keras_serializable(package="keras_gen")
class DCGAN(GAN):
    """Deep convolutional GAN (Radford et al. 2016, arXiv:1511.06434).

    The non-saturating loss with the DCGAN pair of networks: a transposed-
    convolution generator with batch norm and ReLU, a strided-convolution
    discriminator with batch norm (after the first layer) and LeakyReLU 0.2.
    The paper trains with Adam(2e-4, beta_1=0.5).

    Args:
        Those of `GAN`; `data_shape=(28, 28, 1)` builds the default networks.
    """

    def discriminator_kwargs(self):
        return {"normalization": "batch"}
