"""Encoders of the multimodal models: byte-level text and small images to feature vectors."""

import keras

from keras_gen.data import captions
from keras_gen.networks import common, transformer


@keras.saving.register_keras_serializable(package="keras_gen")
class TokenPositionEmbedding(keras.layers.Layer):
    """Token embedding plus a learned embedding of each position, `(batch, length) -> (batch, length, dim)`.

    Args:
        vocabulary_size: number of token ids.
        max_length: longest sequence (the number of position embeddings).
        hidden_dim: embedding width.
    """

    def __init__(self, vocabulary_size, max_length, hidden_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = common.check_positive_int(vocabulary_size, "vocabulary_size")
        self.max_length = common.check_positive_int(max_length, "max_length")
        self.hidden_dim = common.check_positive_int(hidden_dim, "hidden_dim")
        initializer = keras.initializers.RandomNormal(stddev=0.02)
        self.tokens = keras.layers.Embedding(
            vocabulary_size, hidden_dim, embeddings_initializer=initializer, name="tokens"
        )
        self.positions = keras.layers.Embedding(
            max_length, hidden_dim, embeddings_initializer=initializer, name="positions"
        )

    def build(self, input_shape):
        self.tokens.build(input_shape)
        self.positions.build((input_shape[1],))

    def call(self, tokens):
        length = keras.ops.shape(tokens)[1]
        return self.tokens(tokens) + self.positions(keras.ops.arange(length))[None]

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "max_length": self.max_length,
            "hidden_dim": self.hidden_dim,
        }


def text_encoder(
    max_length=64,
    vocabulary_size=256,
    hidden_dim=64,
    num_layers=2,
    num_heads=4,
    dropout=0.0,
    name="text_encoder",
):
    """A bidirectional Transformer encoder over byte tokens: `tokens -> (batch, length, hidden_dim)`.

    Token and learned position embeddings, `num_layers` pre-norm
    `transformer.EncoderBlock`s that mask the padding positions
    (`keras_gen.data.captions.PAD`, 0) out of the attention, and a final
    layer norm. The multimodal models read its per-token features
    (cross-attention) or pool them over the valid tokens.

    Args:
        max_length: tokens per caption (fixed).
        vocabulary_size: token ids (256: bytes).
        hidden_dim: width (a multiple of `num_heads`).
        num_layers: encoder blocks.
        num_heads: attention heads.
        dropout: dropout rate in the blocks.
        name: model name.

    Returns:
        A functional `keras.Model` from int32 tokens `(batch, max_length)`.

    Example:
    >>> encoder = text_encoder(max_length=16, hidden_dim=32)
    >>> encoder.output_shape
    (None, 16, 32)
    """
    transformer.head_width(hidden_dim, num_heads)
    num_layers = common.check_positive_int(num_layers, "num_layers")
    tokens = keras.Input(shape=(max_length,), dtype="int32", name="tokens")
    valid = keras.ops.not_equal(tokens, captions.PAD)
    x = TokenPositionEmbedding(vocabulary_size, max_length, hidden_dim, name="embedding")(tokens)
    for i in range(num_layers):
        x = transformer.EncoderBlock(hidden_dim, num_heads, dropout, name=f"block_{i}")(x, valid)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    return keras.Model(tokens, x, name=name)


def image_encoder(data_shape=(28, 28, 1), output_dim=128, filters=(32, 64), name="image_encoder"):
    """A small convolutional encoder of images to a feature vector: `(batch, h, w, c) -> (batch, output_dim)`.

    Strided 3x3 convolutions (`filters`, stride 2, SiLU), flattened (so the
    features keep where the strokes are, which slant and thickness need) and
    a dense layer to `output_dim`.

    Args:
        data_shape: image shape.
        output_dim: feature width.
        filters: channels of the strided convolutions.
        name: model name.

    Example:
    >>> image_encoder((28, 28, 1), output_dim=16).output_shape
    (None, 16)
    """
    data_shape = common.check_data_shape(data_shape, ranks=(3,))
    output_dim = common.check_positive_int(output_dim, "output_dim")
    images = keras.Input(shape=data_shape, name="images")
    x = images
    for i, width in enumerate(filters):
        x = keras.layers.Conv2D(
            width, 3, strides=2, padding="same", activation="silu", name=f"conv_{i}"
        )(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(output_dim, activation="silu", name="features")(x)
    return keras.Model(images, x, name=name)
