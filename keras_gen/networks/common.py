"""Argument checks and conditioning blocks shared by the networks."""

import keras


def check_data_shape(data_shape, ranks=(1, 3), name="data_shape"):
    """Returns `data_shape` as a tuple of positive ints, or raises ValueError."""
    try:
        shape = tuple(int(d) for d in data_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be a tuple of positive ints such as (28, 28, 1) or "
            f"(2,). Received: {name}={data_shape!r}"
        ) from None
    if len(shape) not in ranks or any(d <= 0 for d in shape):
        raise ValueError(
            f"`{name}` must have rank {' or '.join(map(str, ranks))} with positive "
            f"sizes, such as (28, 28, 1) or (2,). Received: {name}={data_shape!r}"
        )
    return shape


def check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return value


def check_num_classes(num_classes):
    if num_classes is None:
        return None
    return check_positive_int(num_classes, "num_classes", minimum=2)


def label_input():
    return keras.Input(shape=(), dtype="int32", name="labels")


def generator_inputs(latent_dim, num_classes, embedding_dim=None):
    """Latent input (and label input), and the tensor a generator starts from.

    With `num_classes`, a label embedding (of size `embedding_dim`, default
    `latent_dim`) is concatenated to the latents.

    Returns:
        `(inputs, x)`: the model inputs (a tensor, or `[latents, labels]`) and `x`.
    """
    latents = keras.Input(shape=(latent_dim,), name="latents")
    if not num_classes:
        return latents, latents
    labels = label_input()
    embedded = keras.layers.Embedding(
        num_classes, embedding_dim or latent_dim, name="label_embedding"
    )(labels)
    return [latents, labels], keras.layers.Concatenate(name="condition")([latents, embedded])


def check_conditioning(conditioning):
    if conditioning not in ("projection", "auxiliary"):
        raise ValueError(
            "`conditioning` must be 'projection' or 'auxiliary'. "
            f"Received: conditioning={conditioning!r}"
        )


def maybe_spectral_norm(layer, spectral_norm):
    if not spectral_norm:
        return layer
    return keras.layers.SpectralNormalization(layer, name=f"sn_{layer.name}")


def discriminator_head(inputs, features, labels, num_classes, conditioning, spectral_norm, name):
    """Logit (and class logits) on top of a discriminator's features.

    Unconditional: `psi(h)`. Projection (Miyato & Koyama 2018,
    arXiv:1802.05637, equation (3)): `psi(h) + <embed(y), h>`. Auxiliary (Odena
    et al. 2017, arXiv:1610.09585): `[psi(h), classifier(h)]`. Every output is
    float32, also under mixed precision.
    """
    logits = maybe_spectral_norm(keras.layers.Dense(1, name="logit"), spectral_norm)(features)
    if labels is not None:
        embed = keras.layers.Embedding(num_classes, features.shape[-1], name="class_projection")
        inner = keras.layers.Dot(axes=1, name="projection")([embed(labels), features])
        logits = keras.layers.Add(name="logits")([logits, inner])
    logits = keras.layers.Activation("linear", dtype="float32", name="float32_logits")(logits)
    if num_classes and conditioning == "auxiliary":
        classes = maybe_spectral_norm(
            keras.layers.Dense(num_classes, name="class_logits"), spectral_norm
        )(features)
        classes = keras.layers.Activation("linear", dtype="float32", name="float32_class_logits")(
            classes
        )
        return keras.Model(inputs[0], [logits, classes], name=name)
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], logits, name=name)
