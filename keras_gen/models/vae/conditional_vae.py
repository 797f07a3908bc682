"""Conditional VAE: Sohn, Lee & Yan 2015, "Learning Structured Output Representation
using Deep Conditional Generative Models" (NeurIPS)."""

import keras

from keras_gen.models.vae import vae


@keras.saving.register_keras_serializable(package="keras_gen")
class ConditionalVAE(vae.VAE):
    """VAE whose encoder and decoder both see the class label.

    Train with `fit(x=images, y=labels)` or a dataset of `(images, labels)`;
    `generate(n, labels=...)` draws samples of the given classes. Needs
    `num_classes`; other arguments as for `VAE`.
    """

    requires_num_classes = True
