"""Class-conditional GAN with a projection discriminator."""

import keras

from keras_gen.models.gan.gan import GAN


@keras.saving.register_keras_serializable(package="keras_gen")
class ConditionalGAN(GAN):
    """Conditional GAN (Mirza & Osindero 2014, arXiv:1411.1784) with a projection
    discriminator (Miyato & Koyama 2018, arXiv:1802.05637).

    The generator takes `[latents, labels]` and concatenates a label embedding
    to the latents; the discriminator takes `[data, labels]` and adds the inner
    product of a class embedding with its features to the logit. Train with
    `fit(x=images, y=labels)`; sample with `generate(n, labels=...)`.

    Args:
        num_classes: number of classes (required).
        Others as for `GAN`.
    """

    requires_num_classes = True
