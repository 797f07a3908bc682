"""The Transformer-XL block: attention over a segment and a memory, with relative positions.

Dai et al. 2019, "Transformer-XL", arXiv:1901.02860, section 3.3: the score of
query `i` and key `j` is

    (q_i + u) . k_j  +  (q_i + v) . W_r R_{i-j}

with `R` the sinusoidal encoding of the distance `i - j`, and `u`, `v` learned
per head. Keys and values come from the memory (the previous segment's inputs
to this layer, without gradient) followed by the current segment. Blocks are
pre-norm, as `TransformerBlock`.
"""

import math

import keras
import tensorflow as tf

from keras_gen.networks import transformer


@keras.saving.register_keras_serializable(package="keras_gen")
class TransformerXLBlock(keras.layers.Layer):
    """Pre-norm block of relative-position attention over `[memory; segment]` and an MLP.

    Args:
        hidden_dim: model width (a multiple of `num_heads`).
        num_heads: attention heads.
        dropout: dropout rate after attention and MLP.
    """

    def __init__(self, hidden_dim, num_heads, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.head_dim = transformer.head_width(hidden_dim, num_heads, even=True)
        self.hidden_dim, self.num_heads, self.dropout = hidden_dim, num_heads, float(dropout)
        self.norm_0 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm_0")
        self.query = keras.layers.Dense(hidden_dim, name="query")
        self.key_value = keras.layers.Dense(2 * hidden_dim, name="key_value")
        self.position = keras.layers.Dense(hidden_dim, use_bias=False, name="position")
        transformer.add_output_sublayers(self, hidden_dim, self.dropout)

    def build(self, input_shape):
        shape = (None, None, self.hidden_dim)
        for layer in (
            self.norm_0,
            self.query,
            self.key_value,
            self.position,
            self.attention_out,
            self.norm_1,
            self.mlp_in,
        ):
            layer.build(shape)
        self.mlp_out.build((None, None, 4 * self.hidden_dim))
        self.content_bias = self.add_weight(
            shape=(self.num_heads, self.head_dim), initializer="zeros", name="content_bias"
        )
        self.position_bias = self.add_weight(
            shape=(self.num_heads, self.head_dim), initializer="zeros", name="position_bias"
        )

    def _heads(self, x):
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        return tf.transpose(
            tf.reshape(x, (batch, length, self.num_heads, self.head_dim)), (0, 2, 1, 3)
        )

    def call(self, x, memory, memory_valid, training=False):
        """Output for segment `x` `(batch, L, d)` given `memory` `(batch, M, d)` (M may be 0).

        `memory_valid` (int32 scalar) is how many of the memory's last positions
        hold real states; the others are masked out.
        """
        segment = tf.shape(x)[1]
        memory_length = tf.shape(memory)[1]
        context = tf.concat([tf.cast(memory, x.dtype), x], axis=1)
        keys, values = tf.split(self.key_value(self.norm_0(context)), 2, axis=-1)
        q = self._heads(self.query(self.norm_0(x)))
        k, v = self._heads(keys), self._heads(values)
        total = memory_length + segment
        r = self.position(tf.cast(sinusoidal_distances(total, self.hidden_dim), x.dtype))
        r = tf.transpose(tf.reshape(r, (total, self.num_heads, self.head_dim)), (1, 0, 2))
        u = tf.cast(self.content_bias, q.dtype)[None, :, None]
        w = tf.cast(self.position_bias, q.dtype)[None, :, None]
        content = tf.matmul(q + u, k, transpose_b=True)  # (b, h, L, M+L)
        # Scores by distance `total - 1 - k` (r reversed), shifted so that column j holds distance
        # `memory_length + i - j` (Dai et al. 2019, appendix B): an O(L (M + L)) gather-free shift.
        by_distance = tf.einsum("bhid,hkd->bhik", q + w, tf.reverse(r, axis=[1]))
        positional = relative_shift(by_distance)
        i = tf.range(segment)[:, None]
        j = tf.range(total)[None, :]
        distance = memory_length + i - j
        allowed = (distance >= 0) & (j >= memory_length - memory_valid)
        scores = (content + positional) / math.sqrt(self.head_dim)
        scores = tf.where(allowed[None, None], scores, tf.cast(-1e9, scores.dtype))
        attended = tf.matmul(tf.nn.softmax(scores, axis=-1), v)
        attended = tf.reshape(
            tf.transpose(attended, (0, 2, 1, 3)), (tf.shape(x)[0], segment, self.hidden_dim)
        )
        return transformer.finish_block(self, x, attended, training)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_dim": self.hidden_dim,
            "num_heads": self.num_heads,
            "dropout": self.dropout,
        }


def relative_shift(scores):
    """`out[..., i, j] = scores[..., i, j + L - 1 - i]` for `(..., L, T)` scores, `T >= L`.

    With column `k` of `scores` holding distance `T - 1 - k`, column `j` of the
    result holds distance `T - L + i - j`: the pad-and-reshape shift of the
    Transformer-XL reference code. Entries with `j > T - L + i` (negative
    distances, masked by the caller) hold other scores or zeros.
    """
    shape = tf.shape(scores)
    leading, length, total = shape[:-2], shape[-2], shape[-1]
    padded = tf.pad(scores, [[0, 0]] * (scores.shape.rank - 1) + [[1, 0]])
    padded = tf.reshape(padded, tf.concat([leading, [total + 1, length]], 0))
    return tf.reshape(padded[..., 1:, :], shape)


def sinusoidal_distances(length, dim):
    """`(length, dim)` float32 encodings of the distances 0, 1, ..., length - 1 (a tensor `length`)."""
    frequencies = 1.0 / tf.pow(10000.0, tf.range(0, dim, 2, dtype=tf.float32) / dim)
    angles = tf.cast(tf.range(length), tf.float32)[:, None] * frequencies[None]
    return tf.concat([tf.sin(angles), tf.cos(angles)], axis=1)
