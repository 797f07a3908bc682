"""LSGAN: Mao et al. 2017, arXiv:1611.04076."""

import keras

from keras_gen.models.gan.gan import GAN


@keras.saving.register_keras_serializable(package="keras_gen")
class LSGAN(GAN):
    """Least-squares GAN (Mao et al. 2017, arXiv:1611.04076).

    The discriminator regresses real samples to 1 and generated ones to 0; the
    generator pushes its samples towards 1 (the a=0, b=1, c=1 coding of the
    paper's equation (9)). The default discriminator uses batch norm, as in the
    paper, which trains with Adam(2e-4, beta_1=0.5).

    Args:
        Those of `GAN` (loss defaults to `"least_squares"`).
    """

    default_loss = "least_squares"

    def discriminator_kwargs(self):
        return {"normalization": "batch"}
