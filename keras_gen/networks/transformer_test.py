import math

import numpy as np
import pytest
import tensorflow as tf

from keras_gen.networks import transformer


def _reference_attention(block, x):
    """Causal multi-head attention of the normed `x`, written out per head in numpy."""
    batch, length, _ = x.shape
    qkv = block.qkv(block.norm_0(x)).numpy()
    q, k, v = np.split(qkv, 3, axis=-1)
    out = np.zeros_like(q)
    for h in range(block.num_heads):
        part = slice(h * block.head_dim, (h + 1) * block.head_dim)
        scores = q[..., part] @ np.swapaxes(k[..., part], 1, 2) / math.sqrt(block.head_dim)
        scores = np.where(np.tril(np.ones((length, length), bool)), scores, -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        out[..., part] = weights @ v[..., part]
    return out


def _block(hidden_dim=16, num_heads=4):
    block = transformer.TransformerBlock(hidden_dim, num_heads)
    block.build((None, None, hidden_dim))
    return block


def test_call_equals_the_per_head_reference():
    block = _block()
    x = np.random.RandomState(0).randn(2, 7, 16).astype("float32")
    attended = _reference_attention(block, tf.constant(x))
    expected = x + block.attention_out(attended).numpy()
    expected = expected + block.mlp_out(block.mlp_in(block.norm_1(expected))).numpy()
    np.testing.assert_allclose(block(tf.constant(x)).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_step_with_a_cache_equals_call_at_every_position(jit_compile):
    block = _block()
    length = 6
    x = tf.constant(np.random.RandomState(1).randn(2, length, 16).astype("float32"))
    full = block(x).numpy()
    step = tf.function(block.step, jit_compile=jit_compile)
    keys = values = tf.zeros((2, block.num_heads, 8, block.head_dim))  # room for 8 positions
    for position in range(length):
        out, keys, values = step(x[:, position], keys, values, tf.constant(position))
        assert out.shape == (2, 16)
        np.testing.assert_allclose(out.numpy(), full[:, position], atol=1e-5)
    # Slots after the last position stay empty.
    np.testing.assert_array_equal(keys.numpy()[:, :, length:], 0.0)


def test_head_width_names_the_arguments():
    assert transformer.head_width(16, 4) == 4
    with pytest.raises(ValueError, match=r"multiple of `num_heads`.*hidden_dim=10, num_heads=4"):
        transformer.head_width(10, 4)
    with pytest.raises(ValueError, match="an even multiple"):
        transformer.head_width(9, 3, even=True)
