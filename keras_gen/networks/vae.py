"""Encoders and decoders of the variational family, sized by argument.

A VAE encoder maps data (and labels) to `2 * latent_dim` numbers: the mean and
the log-variance of a diagonal Gaussian posterior. A decoder maps latents (and
labels) to one float32 number per data dimension: Bernoulli logits or Gaussian
means. The VQ-VAE pair maps images to a grid of `embedding_dim` vectors and back.
"""

import math

import keras

from keras_gen.networks import common


def _check_divisible(data_shape, stages):
    factor = 2**stages
    if data_shape[0] % factor or data_shape[1] % factor:
        raise ValueError(
            f"Image height and width must be divisible by {factor} for {stages} "
            f"stride-2 stages (one per entry of `filters`). Received: data_shape={data_shape}"
        )


def _with_labels(inputs, x, num_classes, embedding_dim):
    """Concatenates a label embedding to the flat tensor `x` and adds the label input."""
    if not num_classes:
        return inputs, x
    labels = common.label_input()
    embedded = keras.layers.Embedding(num_classes, embedding_dim, name="label_embedding")(labels)
    return [inputs, labels], keras.layers.Concatenate(name="condition")([x, embedded])


def _posterior_head(inputs, x, latent_dim, name):
    x = keras.layers.Dense(2 * latent_dim, name="posterior")(x)
    x = keras.layers.Activation("linear", dtype="float32", name="posterior_float32")(x)
    return keras.Model(inputs, x, name=name)


def mlp_encoder(
    data_shape,
    latent_dim,
    hidden_units=(512, 256),
    num_classes=None,
    embedding_dim=16,
    name="mlp_encoder",
):
    """Fully connected encoder: data -> ReLU layers -> `[mean, log_variance]` of size `2 * latent_dim`.

    Example:
    >>> mlp_encoder((2,), 4).output_shape
    (None, 8)
    """
    data_shape = common.check_data_shape(data_shape, ranks=(1, 2, 3))
    common.check_positive_int(latent_dim, "latent_dim")
    num_classes = common.check_num_classes(num_classes)
    data = keras.Input(shape=data_shape, name="data")
    x = keras.layers.Flatten(name="flatten")(data) if len(data_shape) > 1 else data
    inputs, x = _with_labels(data, x, num_classes, embedding_dim)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    return _posterior_head(inputs, x, latent_dim, name)


def mlp_decoder(
    latent_dim,
    data_shape,
    hidden_units=(256, 512),
    num_classes=None,
    embedding_dim=16,
    name="mlp_decoder",
):
    """Fully connected decoder: latents -> ReLU layers -> one float32 number per data dimension.

    Example:
    >>> mlp_decoder(4, (28, 28, 1)).output_shape
    (None, 28, 28, 1)
    """
    data_shape = common.check_data_shape(data_shape, ranks=(1, 2, 3))
    common.check_positive_int(latent_dim, "latent_dim")
    num_classes = common.check_num_classes(num_classes)
    latents = keras.Input(shape=(latent_dim,), name="latents")
    inputs, x = _with_labels(latents, latents, num_classes, embedding_dim)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    x = keras.layers.Dense(math.prod(data_shape), name="data")(x)
    x = keras.layers.Activation("linear", dtype="float32", name="data_float32")(x)
    if len(data_shape) > 1:
        x = keras.layers.Reshape(data_shape, name="reshape")(x)
    return keras.Model(inputs, x, name=name)


def conv_encoder(
    data_shape,
    latent_dim,
    filters=(32, 64),
    hidden_units=256,
    num_classes=None,
    embedding_dim=16,
    name="conv_encoder",
):
    """Convolutional encoder for images such as (28, 28, 1) or (32, 32, 3).

    Stride-2 3x3 convolutions (ReLU), one per entry of `filters`, then a
    dense layer of `hidden_units` and the posterior head of size `2 * latent_dim`.

    Example:
    >>> conv_encoder((32, 32, 3), 16).output_shape
    (None, 32)
    """
    data_shape = common.check_data_shape(data_shape, ranks=(3,))
    common.check_positive_int(latent_dim, "latent_dim")
    num_classes = common.check_num_classes(num_classes)
    _check_divisible(data_shape, len(filters))
    data = keras.Input(shape=data_shape, name="data")
    x = data
    for i, width in enumerate(filters):
        x = keras.layers.Conv2D(
            width, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}"
        )(x)
    x = keras.layers.Flatten(name="flatten")(x)
    inputs, x = _with_labels(data, x, num_classes, embedding_dim)
    x = keras.layers.Dense(hidden_units, activation="relu", name="dense")(x)
    return _posterior_head(inputs, x, latent_dim, name)


def conv_decoder(
    latent_dim,
    data_shape,
    filters=(64, 32),
    hidden_units=256,
    num_classes=None,
    embedding_dim=16,
    name="conv_decoder",
):
    """Convolutional decoder, the mirror of `conv_encoder`.

    A dense layer to a `(h / 2^k, w / 2^k, filters[0])` grid, stride-2 3x3
    transposed convolutions (ReLU), one per entry of `filters`, and a 3x3
    convolution to the image's channels (float32, no activation).

    Example:
    >>> conv_decoder(16, (28, 28, 1)).output_shape
    (None, 28, 28, 1)
    """
    data_shape = common.check_data_shape(data_shape, ranks=(3,))
    common.check_positive_int(latent_dim, "latent_dim")
    num_classes = common.check_num_classes(num_classes)
    _check_divisible(data_shape, len(filters))
    factor = 2 ** len(filters)
    height, width, channels = data_shape
    latents = keras.Input(shape=(latent_dim,), name="latents")
    inputs, x = _with_labels(latents, latents, num_classes, embedding_dim)
    x = keras.layers.Dense(hidden_units, activation="relu", name="dense")(x)
    x = keras.layers.Dense(
        height // factor * width // factor * filters[0], activation="relu", name="project"
    )(x)
    x = keras.layers.Reshape((height // factor, width // factor, filters[0]), name="grid")(x)
    for i, units in enumerate(filters):
        x = keras.layers.Conv2DTranspose(
            units, 3, strides=2, padding="same", activation="relu", name=f"deconv_{i}"
        )(x)
    x = keras.layers.Conv2D(channels, 3, padding="same", name="data")(x)
    x = keras.layers.Activation("linear", dtype="float32", name="data_float32")(x)
    return keras.Model(inputs, x, name=name)


def _residual(x, width, name):
    h = keras.layers.ReLU(name=f"{name}_relu_0")(x)
    h = keras.layers.Conv2D(width, 3, padding="same", name=f"{name}_conv_0")(h)
    h = keras.layers.ReLU(name=f"{name}_relu_1")(h)
    h = keras.layers.Conv2D(x.shape[-1], 1, name=f"{name}_conv_1")(h)
    return keras.layers.Add(name=f"{name}_add")([x, h])


def vq_encoder(
    data_shape, embedding_dim=32, filters=(32, 64), residual_blocks=1, name="vq_encoder"
):
    """VQ-VAE encoder (van den Oord et al. 2017): image -> grid of `embedding_dim` vectors.

    Stride-2 4x4 convolutions, one per entry of `filters`, residual blocks, and a
    1x1 convolution to `embedding_dim` channels (float32).

    Example:
    >>> vq_encoder((28, 28, 1), 16).output_shape
    (None, 7, 7, 16)
    """
    data_shape = common.check_data_shape(data_shape, ranks=(3,))
    common.check_positive_int(embedding_dim, "embedding_dim")
    _check_divisible(data_shape, len(filters))
    data = keras.Input(shape=data_shape, name="data")
    x = data
    for i, width in enumerate(filters):
        x = keras.layers.Conv2D(width, 4, strides=2, padding="same", name=f"conv_{i}")(x)
        if i < len(filters) - 1:
            x = keras.layers.ReLU(name=f"relu_{i}")(x)
    for i in range(residual_blocks):
        x = _residual(x, filters[-1], f"residual_{i}")
    x = keras.layers.ReLU(name="relu_out")(x)
    x = keras.layers.Conv2D(embedding_dim, 1, name="pre_quantization")(x)
    x = keras.layers.Activation("linear", dtype="float32", name="codes_float32")(x)
    return keras.Model(data, x, name=name)


def vq_decoder(grid_shape, data_shape, filters=(64, 32), residual_blocks=1, name="vq_decoder"):
    """VQ-VAE decoder: grid of code vectors `(h, w, embedding_dim)` -> image (float32).

    Example:
    >>> vq_decoder((7, 7, 16), (28, 28, 1)).output_shape
    (None, 28, 28, 1)
    """
    grid_shape = common.check_data_shape(grid_shape, ranks=(3,), name="grid_shape")
    data_shape = common.check_data_shape(data_shape, ranks=(3,))
    factor = 2 ** len(filters)
    if (grid_shape[0] * factor, grid_shape[1] * factor) != tuple(data_shape[:2]):
        raise ValueError(
            f"A grid of {grid_shape[:2]} upsampled {len(filters)} times by 2 does not give "
            f"images of {data_shape[:2]}. Received: grid_shape={grid_shape}, "
            f"data_shape={data_shape}"
        )
    codes = keras.Input(shape=grid_shape, name="codes")
    x = keras.layers.Conv2D(filters[0], 3, padding="same", name="conv_in")(codes)
    for i in range(residual_blocks):
        x = _residual(x, filters[0], f"residual_{i}")
    x = keras.layers.ReLU(name="relu_in")(x)
    for i, width in enumerate(filters):
        x = keras.layers.Conv2DTranspose(
            width, 4, strides=2, padding="same", activation="relu", name=f"deconv_{i}"
        )(x)
    x = keras.layers.Conv2D(data_shape[-1], 3, padding="same", name="data")(x)
    x = keras.layers.Activation("linear", dtype="float32", name="data_float32")(x)
    return keras.Model(codes, x, name=name)


@keras.saving.register_keras_serializable(package="keras_gen")
class LearnedPositions(keras.layers.Layer):
    """Adds a learned embedding of each position to a `(batch, length, dim)` sequence."""

    def build(self, input_shape):
        self.positions = self.add_weight(
            shape=tuple(input_shape[1:]),
            name="positions",
            initializer=keras.initializers.RandomNormal(stddev=0.02),
        )

    def call(self, x):
        return x + keras.ops.cast(self.positions, x.dtype)[None]


def code_transformer(
    num_embeddings,
    sequence_length,
    embed_dim=64,
    num_heads=4,
    num_layers=2,
    name="code_transformer",
):
    """Autoregressive prior over a flattened grid of code indices (a small causal Transformer).

    Takes `(batch, sequence_length)` int32 tokens, where token `num_embeddings`
    is the start token and the others are code indices, and returns float32
    logits `(batch, sequence_length, num_embeddings)` for the code at each
    position given the tokens before it (causal self-attention, pre-norm
    blocks, learned position embeddings).

    Example:
    >>> code_transformer(16, 49).output_shape
    (None, 49, 16)
    """
    common.check_positive_int(num_embeddings, "num_embeddings", minimum=2)
    common.check_positive_int(sequence_length, "sequence_length")
    tokens = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(num_embeddings + 1, embed_dim, name="token_embedding")(tokens)
    x = LearnedPositions(name="position_embedding")(x)
    for i in range(num_layers):
        h = keras.layers.LayerNormalization(name=f"block_{i}_norm_0")(x)
        h = keras.layers.MultiHeadAttention(
            num_heads, embed_dim // num_heads, name=f"block_{i}_attention"
        )(h, h, use_causal_mask=True)
        x = keras.layers.Add(name=f"block_{i}_add_0")([x, h])
        h = keras.layers.LayerNormalization(name=f"block_{i}_norm_1")(x)
        h = keras.layers.Dense(4 * embed_dim, activation="gelu", name=f"block_{i}_dense_0")(h)
        h = keras.layers.Dense(embed_dim, name=f"block_{i}_dense_1")(h)
        x = keras.layers.Add(name=f"block_{i}_add_1")([x, h])
    x = keras.layers.LayerNormalization(name="final_norm")(x)
    x = keras.layers.Dense(num_embeddings, name="logits")(x)
    x = keras.layers.Activation("linear", dtype="float32", name="logits_float32")(x)
    return keras.Model(tokens, x, name=name)
