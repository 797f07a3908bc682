"""DCGAN networks (Radford et al. 2016, arXiv:1511.06434), sized by argument."""

import keras

from keras_gen.networks import common

_NORMALIZATIONS = ("batch", "layer", None)


def _num_stages(data_shape, name):
    """Number of stride-2 stages so that `size / 2**n` is between 3 and 7."""
    stages = []
    for size in data_shape[:2]:
        n = 0
        while size % 2 == 0 and size // 2 >= 4:
            size //= 2
            n += 1
        stages.append((n, size))
    if stages[0] != stages[1] or stages[0][0] < 1 or stages[0][1] > 7:
        raise ValueError(
            f"`{name}` must have height and width that halve to the same size "
            f"between 3 and 7, such as (28, 28, 1), (32, 32, 3) or (64, 64, 3). "
            f"Received: {name}={tuple(data_shape)!r}"
        )
    return stages[0]


def _normalization(kind, name):
    if kind == "batch":
        return keras.layers.BatchNormalization(name=name)
    if kind == "layer":
        return keras.layers.LayerNormalization(axis=[1, 2, 3], name=name)
    return None


def dcgan_generator(
    latent_dim,
    data_shape,
    num_classes=None,
    base_filters=64,
    kernel_size=4,
    embedding_dim=None,
    name="dcgan_generator",
):
    """Transposed-convolution generator for images.

    Latents go through a dense layer to a `s x s` map (s = 7 for 28x28, 4 for
    32x32 and 64x64), then stride-2 transposed convolutions with batch norm and
    ReLU double the size, halving the width, down to `base_filters`; the last
    one maps to the image channels with tanh.

    Args:
        latent_dim: size of the latent vector.
        data_shape: `(height, width, channels)`.
        num_classes: when set, takes `[latents, labels]` and concatenates a
            label embedding to the latents.
        base_filters: width of the last hidden stage; earlier stages double it.
        kernel_size: transposed-convolution kernel size.
        embedding_dim: label-embedding size (default: `latent_dim`).
        name: model name.

    Returns:
        A functional `keras.Model` with float32 outputs in [-1, 1].

    Example:
    >>> g = dcgan_generator(128, (28, 28, 1))
    >>> g.output_shape
    (None, 28, 28, 1)
    """
    common.check_positive_int(latent_dim, "latent_dim")
    data_shape = common.check_data_shape(data_shape, ranks=(3,))
    common.check_positive_int(base_filters, "base_filters")
    num_classes = common.check_num_classes(num_classes)
    stages, start = _num_stages(data_shape, "data_shape")
    inputs, x = common.generator_inputs(latent_dim, num_classes, embedding_dim)
    width = base_filters * 2 ** (stages - 1)
    x = keras.layers.Dense(start * start * width, use_bias=False, name="project")(x)
    x = keras.layers.BatchNormalization(name="project_bn")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    x = keras.layers.Reshape((start, start, width), name="reshape")(x)
    for i in range(stages - 1):
        width //= 2
        x = keras.layers.Conv2DTranspose(
            width, kernel_size, strides=2, padding="same", use_bias=False, name=f"up_{i}"
        )(x)
        x = keras.layers.BatchNormalization(name=f"up_{i}_bn")(x)
        x = keras.layers.ReLU(name=f"up_{i}_relu")(x)
    x = keras.layers.Conv2DTranspose(
        data_shape[-1], kernel_size, strides=2, padding="same", name="to_image"
    )(x)
    x = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, x, name=name)


def dcgan_discriminator(
    data_shape,
    num_classes=None,
    base_filters=64,
    kernel_size=4,
    normalization=None,
    spectral_norm=False,
    conditioning="projection",
    dropout=0.0,
    name="dcgan_discriminator",
):
    """Strided-convolution discriminator for images, returning logits.

    Stride-2 convolutions with LeakyReLU 0.2 halve the size while doubling the
    width from `base_filters`, then a dense layer gives one logit.

    Args:
        data_shape: `(height, width, channels)`.
        num_classes: number of classes for conditioning, or None.
        base_filters: width of the first convolution.
        kernel_size: convolution kernel size.
        normalization: `"batch"` (DCGAN), `"layer"` (WGAN-GP's advice for a
            critic with a gradient penalty) or None, applied after every
            convolution but the first.
        spectral_norm: wrap every convolution and dense layer in
            `keras.layers.SpectralNormalization` (Miyato et al. 2018).
        conditioning: with `num_classes`, `"projection"` takes `[images,
            labels]` and adds `<embed(y), h>` (Miyato & Koyama 2018);
            `"auxiliary"` takes images only and returns `[logits,
            class_logits]` (ACGAN, Odena et al. 2017).
        dropout: dropout rate after each activation.
        name: model name.

    Returns:
        A functional `keras.Model` with float32 logits of shape `(batch, 1)`
        (and `(batch, num_classes)` class logits for `"auxiliary"`).
    """
    data_shape = common.check_data_shape(data_shape, ranks=(3,))
    common.check_positive_int(base_filters, "base_filters")
    num_classes = common.check_num_classes(num_classes)
    if normalization not in _NORMALIZATIONS:
        raise ValueError(
            f"`normalization` must be one of {_NORMALIZATIONS}. "
            f"Received: normalization={normalization!r}"
        )
    common.check_conditioning(conditioning)
    stages, _ = _num_stages(data_shape, "data_shape")

    images = keras.Input(shape=data_shape, name="images")
    inputs, labels = [images], None
    if num_classes and conditioning == "projection":
        labels = common.label_input()
        inputs.append(labels)
    x, width = images, base_filters
    for i in range(stages):
        conv = keras.layers.Conv2D(width, kernel_size, strides=2, padding="same", name=f"down_{i}")
        x = common.maybe_spectral_norm(conv, spectral_norm)(x)
        norm = _normalization(normalization, f"down_{i}_norm") if i > 0 else None
        if norm is not None:
            x = norm(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down_{i}_leaky_relu")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"down_{i}_dropout")(x)
        width *= 2
    features = keras.layers.Flatten(name="features")(x)
    return common.discriminator_head(
        inputs, features, labels, num_classes, conditioning, spectral_norm, name
    )
