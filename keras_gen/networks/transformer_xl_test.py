import numpy as np
import pytest
import tensorflow as tf

from keras_gen.networks import transformer_xl


def _one_hot_positional(by_distance, memory_length):
    """The formulation before the shift: a one-hot contraction over clipped distances."""
    segment, total = by_distance.shape[-2], by_distance.shape[-1]
    distance = memory_length + np.arange(segment)[:, None] - np.arange(total)[None, :]
    select = tf.one_hot(np.clip(distance, 0, total - 1), total)
    return tf.einsum("bhik,ijk->bhij", by_distance, select)


@pytest.mark.parametrize("memory_length", [0, 1, 5])
def test_relative_shift_puts_distance_m_plus_i_minus_j_in_column_j(memory_length):
    segment = 4
    total = memory_length + segment
    scores = np.random.RandomState(0).randn(2, 3, segment, total).astype("float32")
    shifted = transformer_xl.relative_shift(tf.constant(scores)).numpy()
    for i in range(segment):
        for j in range(memory_length + i + 1):  # distances >= 0; the rest is masked
            distance = memory_length + i - j
            np.testing.assert_array_equal(shifted[..., i, j], scores[..., i, total - 1 - distance])


@pytest.mark.parametrize("memory_length,memory_valid", [(0, 0), (6, 6), (6, 2)])
def test_block_equals_the_one_hot_formulation(monkeypatch, memory_length, memory_valid):
    block = transformer_xl.TransformerXLBlock(16, 4)
    rng = np.random.RandomState(1)
    x = tf.constant(rng.randn(2, 5, 16).astype("float32"))
    memory = tf.constant(rng.randn(2, memory_length, 16).astype("float32"))
    block(x, memory, tf.constant(memory_valid))
    for weight in (block.content_bias, block.position_bias):  # nonzero, so both terms count
        weight.assign(rng.randn(*weight.shape).astype("float32"))
    shifted = block(x, memory, tf.constant(memory_valid)).numpy()

    def reference(by_distance):
        return _one_hot_positional(tf.reverse(by_distance, axis=[-1]), memory_length)

    monkeypatch.setattr(transformer_xl, "relative_shift", reference)
    np.testing.assert_allclose(
        shifted, block(x, memory, tf.constant(memory_valid)).numpy(), rtol=1e-5, atol=1e-5
    )
