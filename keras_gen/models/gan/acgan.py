"""ACGAN: Odena et al. 2017, arXiv:1610.09585."""

import keras
import tensorflow as tf

from keras_gen.models.gan.gan import GAN


def _cross_entropy(labels, logits):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


@keras.saving.register_keras_serializable(package="keras_gen")
class ACGAN(GAN):
    """Auxiliary classifier GAN (Odena et al. 2017, arXiv:1610.09585).

    The discriminator sees images only and returns `[logits, class_logits]`.
    Both networks also minimise the classification cross-entropy: the
    discriminator on real and generated samples (`d_class_loss`), the generator
    on its own samples (`g_class_loss`), each weighted by
    `classification_weight`.

    Args:
        num_classes: number of classes (required).
        classification_weight: weight of the auxiliary cross-entropy terms.
        Others as for `GAN`.
    """

    requires_num_classes = True
    auxiliary_names = ("d_class_loss", "g_class_loss")

    def __init__(self, *args, classification_weight=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        if float(classification_weight) < 0:
            raise ValueError(
                "`classification_weight` must be >= 0. "
                f"Received: classification_weight={classification_weight!r}"
            )
        self.classification_weight = float(classification_weight)

    def discriminator_auxiliary_loss(self, real_aux, fake_aux, labels):
        return self.classification_weight * (
            _cross_entropy(labels, real_aux) + _cross_entropy(labels, fake_aux)
        )

    def generator_auxiliary_loss(self, fake_aux, labels):
        return self.classification_weight * _cross_entropy(labels, fake_aux)

    def get_config(self):
        config = super().get_config()
        config["classification_weight"] = self.classification_weight
        return config
