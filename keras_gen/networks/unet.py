"""The U-Net of denoising diffusion (Ho et al. 2020, arXiv:2006.11239, appendix B), sized by argument."""

import math

import keras

from keras_gen.data import captions as captions_data
from keras_gen.networks import common


@keras.saving.register_keras_serializable(package="keras_gen")
class SinusoidalEmbedding(keras.layers.Layer):
    """Transformer sinusoidal embedding of a scalar (the diffusion timestep), shape `(batch, dim)`.

    `[sin(t * f_i), cos(t * f_i)]` with `f_i = 10000^(-i / (dim/2 - 1))`, as in
    Ho et al.'s code (Vaswani et al. 2017, section 3.5).
    """

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dim, int) or dim < 4 or dim % 2:
            raise ValueError(f"`dim` must be an even int >= 4. Received: dim={dim!r}")
        self.dim = dim

    def call(self, timesteps):
        half = self.dim // 2
        scale = math.log(10000.0) / (half - 1)
        frequencies = keras.ops.exp(keras.ops.arange(half, dtype="float32") * -scale)
        angles = keras.ops.cast(keras.ops.reshape(timesteps, (-1, 1)), "float32") * frequencies
        embedding = keras.ops.concatenate([keras.ops.sin(angles), keras.ops.cos(angles)], axis=-1)
        return keras.ops.cast(embedding, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


def _residual_block(x, embedding, channels, groups, dropout, name):
    h = keras.layers.GroupNormalization(groups, name=f"{name}_norm_0")(x)
    h = keras.layers.Activation("swish", name=f"{name}_swish_0")(h)
    h = keras.layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv_0")(h)
    shift = keras.layers.Dense(channels, name=f"{name}_time")(embedding)
    h = h + keras.layers.Reshape((1, 1, channels), name=f"{name}_time_reshape")(shift)
    h = keras.layers.GroupNormalization(groups, name=f"{name}_norm_1")(h)
    h = keras.layers.Activation("swish", name=f"{name}_swish_1")(h)
    if dropout:
        h = keras.layers.Dropout(dropout, name=f"{name}_dropout")(h)
    h = keras.layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv_1")(h)
    if x.shape[-1] != channels:
        x = keras.layers.Conv2D(channels, 1, name=f"{name}_skip")(x)
    return keras.layers.Add(name=f"{name}_add")([x, h])


def _attention_block(x, groups, name, context=None):
    """Self-attention over the feature map; then, with a `context`, cross-attention to it.

    `context` is `(features (batch, length, dim), valid (batch, length) bool)`:
    every position attends to the valid context tokens only (Rombach et al.
    2022's cross-attention; a context with no valid token gets equal weights).
    """
    height, width, channels = x.shape[1:]
    h = keras.layers.GroupNormalization(groups, name=f"{name}_norm")(x)
    h = keras.layers.Reshape((height * width, channels), name=f"{name}_flatten")(h)
    h = keras.layers.MultiHeadAttention(1, channels, name=f"{name}_attention")(h, h)
    h = keras.layers.Reshape((height, width, channels), name=f"{name}_unflatten")(h)
    x = keras.layers.Add(name=f"{name}_add")([x, h])
    if context is None:
        return x
    features, valid = context
    h = keras.layers.GroupNormalization(groups, name=f"{name}_cross_norm")(x)
    h = keras.layers.Reshape((height * width, channels), name=f"{name}_cross_flatten")(h)
    h = keras.layers.MultiHeadAttention(
        max(1, channels // 32), min(channels, 32), name=f"{name}_cross_attention"
    )(h, features, attention_mask=keras.ops.expand_dims(valid, 1))
    h = keras.layers.Reshape((height, width, channels), name=f"{name}_cross_unflatten")(h)
    return keras.layers.Add(name=f"{name}_cross_add")([x, h])


def _conditioning(inputs, embedding, num_classes, text_encoder):
    """Adds the class or caption input to `inputs`; returns `(embedding, context)`.

    Class labels add a label embedding (`num_classes + 1` entries, the last
    the "no label") to the timestep embedding. Captions (int tokens, the
    text encoder's input shape) go through `text_encoder`; their features
    averaged over the non-padding tokens add to the timestep embedding, and
    they are the context of the cross-attention (all padding: the null caption).
    """
    width = embedding.shape[-1]
    if num_classes:
        labels = common.label_input()
        inputs.append(labels)
        label_embedding = keras.layers.Embedding(num_classes + 1, width, name="label_embedding")
        return embedding + label_embedding(labels), None
    if text_encoder is None:
        return embedding, None
    captions = keras.Input(text_encoder.inputs[0].shape[1:], dtype="int32", name="captions")
    inputs.append(captions)
    features = text_encoder(captions)
    valid = keras.ops.not_equal(captions, captions_data.PAD)
    weights = keras.ops.cast(keras.ops.expand_dims(valid, -1), features.dtype)
    pooled = keras.ops.sum(features * weights, axis=1) / keras.ops.maximum(
        keras.ops.sum(weights, axis=1), 1.0
    )
    embedding = embedding + keras.layers.Dense(width, name="caption_embedding")(pooled)
    return embedding, (features, valid)


def unet(
    image_shape,
    base_channels=32,
    channel_multipliers=(1, 2, 2),
    residual_blocks=1,
    attention_resolutions=(7,),
    groups=8,
    num_classes=None,
    dropout=0.0,
    text_encoder=None,
    name="unet",
):
    """U-Net mapping `[noisy images, timesteps(, labels)]` to a float32 tensor of the image shape.

    One level per entry of `channel_multipliers` (`base_channels * m`
    channels, `residual_blocks` residual blocks with group normalization,
    swish and the timestep embedding added), a stride-2 convolution between
    levels, self-attention at the listed resolutions, and the mirror path
    with skip connections and nearest-neighbour upsampling. The timestep goes
    through a sinusoidal embedding and a 2-layer MLP; with `num_classes`, a
    label embedding of `num_classes + 1` entries is added to it, the last one
    being the "no label" of classifier-free guidance. With `text_encoder`, the
    third input is caption tokens instead: their pooled features are added to
    the timestep embedding and every attention resolution (and the middle)
    also cross-attends to their per-token features (`_attention_block`).

    Args:
        image_shape: `(height, width, channels)`; height and width divisible by
            `2^(len(channel_multipliers) - 1)`.
        base_channels: channels of the first level (a multiple of `groups`).
        channel_multipliers: channel multiplier of each level.
        residual_blocks: residual blocks per level on the way down (one more up).
        attention_resolutions: feature-map sizes (height) with self-attention.
        groups: groups of the group normalizations.
        num_classes: number of classes for conditioning, or None.
        dropout: dropout rate inside the residual blocks.
        text_encoder: a `keras.Model` `tokens (batch, length) -> (batch,
            length, dim)` (`networks.text_encoder`), trained with the U-Net;
            None for no captions. Not with `num_classes`. Caption tokens
            equal to `keras_gen.data.captions.PAD` (0) are padding, masked
            out of the cross-attention and the pooling.
        name: model name.

    Returns:
        A functional `keras.Model`.

    Example:
    >>> unet((28, 28, 1), base_channels=16).output_shape
    (None, 28, 28, 1)
    """
    image_shape = common.check_data_shape(image_shape, ranks=(3,), name="image_shape")
    num_classes = common.check_num_classes(num_classes)
    if num_classes and text_encoder is not None:
        raise ValueError(
            "A U-Net is conditioned on class labels or on captions, not both. "
            f"Received: num_classes={num_classes}, text_encoder={text_encoder.name!r}"
        )
    common.check_positive_int(base_channels, "base_channels")
    factor = 2 ** (len(channel_multipliers) - 1)
    if image_shape[0] % factor or image_shape[1] % factor:
        raise ValueError(
            f"Image height and width must be divisible by {factor} for "
            f"{len(channel_multipliers)} levels. Received: image_shape={image_shape}"
        )
    for multiplier in channel_multipliers:
        if (base_channels * multiplier) % groups:
            raise ValueError(
                f"Every level's channels must be a multiple of groups={groups}. Received: "
                f"base_channels={base_channels}, channel_multipliers={channel_multipliers}"
            )
    images = keras.Input(image_shape, name="noisy_images")
    timesteps = keras.Input((), name="timesteps")
    inputs = [images, timesteps]
    embedding_dim = 4 * base_channels
    embedding = SinusoidalEmbedding(base_channels, name="time_sinusoid")(timesteps)
    embedding = keras.layers.Dense(embedding_dim, activation="swish", name="time_dense_0")(
        embedding
    )
    embedding = keras.layers.Dense(embedding_dim, name="time_dense_1")(embedding)
    embedding, context = _conditioning(inputs, embedding, num_classes, text_encoder)
    embedding = keras.layers.Activation("swish", name="time_swish")(embedding)

    x = keras.layers.Conv2D(base_channels, 3, padding="same", name="conv_in")(images)
    skips = [x]
    for level, multiplier in enumerate(channel_multipliers):
        channels = base_channels * multiplier
        for block in range(residual_blocks):
            x = _residual_block(
                x, embedding, channels, groups, dropout, f"down_{level}_block_{block}"
            )
            if x.shape[1] in attention_resolutions:
                x = _attention_block(x, groups, f"down_{level}_attention_{block}", context)
            skips.append(x)
        if level < len(channel_multipliers) - 1:
            x = keras.layers.Conv2D(
                channels, 3, strides=2, padding="same", name=f"down_{level}_downsample"
            )(x)
            skips.append(x)
    channels = x.shape[-1]
    x = _residual_block(x, embedding, channels, groups, dropout, "middle_block_0")
    x = _attention_block(x, groups, "middle_attention", context)
    x = _residual_block(x, embedding, channels, groups, dropout, "middle_block_1")
    for level, multiplier in reversed(list(enumerate(channel_multipliers))):
        channels = base_channels * multiplier
        for block in range(residual_blocks + 1):
            x = keras.layers.Concatenate(name=f"up_{level}_skip_{block}")([x, skips.pop()])
            x = _residual_block(
                x, embedding, channels, groups, dropout, f"up_{level}_block_{block}"
            )
            if x.shape[1] in attention_resolutions:
                x = _attention_block(x, groups, f"up_{level}_attention_{block}", context)
        if level:
            x = keras.layers.UpSampling2D(2, name=f"up_{level}_upsample")(x)
            x = keras.layers.Conv2D(channels, 3, padding="same", name=f"up_{level}_conv")(x)
    x = keras.layers.GroupNormalization(groups, name="norm_out")(x)
    x = keras.layers.Activation("swish", name="swish_out")(x)
    x = keras.layers.Conv2D(image_shape[-1], 3, padding="same", name="conv_out")(x)
    x = keras.layers.Activation("linear", dtype="float32", name="output_float32")(x)
    return keras.Model(inputs, x, name=name)
