"""The fully connected GAN of Goodfellow et al. 2014 (arXiv:1406.2661), for any data shape."""

import math

import keras

from keras_gen.networks import common


def _activation(name, index):
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(0.2, name=f"leaky_relu_{index}")
    if name == "relu":
        return keras.layers.ReLU(name=f"relu_{index}")
    raise ValueError(f"`activation` must be 'leaky_relu' or 'relu'. Received: activation={name!r}")


def mlp_generator(
    latent_dim,
    data_shape,
    hidden_units=(256, 256),
    num_classes=None,
    embedding_dim=None,
    activation="leaky_relu",
    normalization=None,
    output_activation="tanh",
    name="mlp_generator",
):
    """Fully connected generator: latents -> hidden (LeakyReLU 0.2) -> tanh data.

    Args:
        latent_dim: size of the latent vector.
        data_shape: shape of one sample, e.g. `(2,)` or `(28, 28, 1)`.
        hidden_units: widths of the hidden layers.
        num_classes: when set, the generator takes `[latents, labels]` and
            concatenates a label embedding to the latents.
        embedding_dim: size of that embedding (default: `latent_dim`).
        activation: `"leaky_relu"` (slope 0.2) or `"relu"`.
        normalization: None or `"batch"` (batch norm before each activation).
        output_activation: `"tanh"` (outputs in [-1, 1]) or None (linear).
        name: model name.

    Returns:
        A functional `keras.Model`.

    Example:
    >>> g = mlp_generator(100, (2,))
    >>> g.output_shape
    (None, 2)
    """
    common.check_positive_int(latent_dim, "latent_dim")
    data_shape = common.check_data_shape(data_shape, ranks=(1, 2, 3))
    num_classes = common.check_num_classes(num_classes)
    if normalization not in (None, "batch"):
        raise ValueError(
            f"`normalization` must be None or 'batch'. Received: normalization={normalization!r}"
        )
    if output_activation not in ("tanh", None):
        raise ValueError(
            "`output_activation` must be 'tanh' or None. "
            f"Received: output_activation={output_activation!r}"
        )
    inputs, x = common.generator_inputs(latent_dim, num_classes, embedding_dim)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, name=f"dense_{i}")(x)
        if normalization == "batch":
            x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
        x = _activation(activation, i)(x)
    x = keras.layers.Dense(math.prod(data_shape), name="data")(x)
    x = keras.layers.Activation(
        output_activation or "linear", dtype="float32", name=output_activation or "linear"
    )(x)
    if len(data_shape) > 1:
        x = keras.layers.Reshape(data_shape, name="reshape")(x)
    return keras.Model(inputs, x, name=name)


def mlp_discriminator(
    data_shape,
    hidden_units=(256, 256),
    num_classes=None,
    spectral_norm=False,
    conditioning="projection",
    activation="leaky_relu",
    name="mlp_discriminator",
):
    """Fully connected discriminator returning one logit per example.

    Args:
        data_shape: shape of one sample.
        hidden_units: widths of the hidden layers.
        activation: `"leaky_relu"` (slope 0.2) or `"relu"`.
        num_classes: number of classes for conditioning, or None.
        spectral_norm: wrap every dense layer in `SpectralNormalization`.
        conditioning: with `num_classes`, `"projection"` takes `[data, labels]`
            and adds `<embed(y), h>` (Miyato & Koyama 2018); `"auxiliary"`
            takes data only and returns `[logits, class_logits]` (ACGAN).
        name: model name.

    Returns:
        A functional `keras.Model` returning float32 logits of shape `(batch, 1)`
        (and `(batch, num_classes)` class logits for `"auxiliary"`).
    """
    data_shape = common.check_data_shape(data_shape, ranks=(1, 2, 3))
    num_classes = common.check_num_classes(num_classes)
    common.check_conditioning(conditioning)
    data = keras.Input(shape=data_shape, name="data")
    inputs, labels = [data], None
    if num_classes and conditioning == "projection":
        labels = common.label_input()
        inputs.append(labels)
    x = keras.layers.Flatten(name="flatten")(data) if len(data_shape) > 1 else data
    for i, units in enumerate(hidden_units):
        dense = keras.layers.Dense(units, name=f"dense_{i}")
        if spectral_norm:
            dense = keras.layers.SpectralNormalization(dense, name=f"sn_dense_{i}")
        x = dense(x)
        x = _activation(activation, i)(x)
    return common.discriminator_head(
        inputs, x, labels, num_classes, conditioning, spectral_norm, name
    )
