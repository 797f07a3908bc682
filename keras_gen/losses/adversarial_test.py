import numpy as np
import pytest
import tensorflow as tf

from keras_gen import losses

REAL = np.array([[2.0], [-1.0], [0.5]], dtype="float32")
FAKE = np.array([[-3.0], [0.25], [1.5]], dtype="float32")


def _softplus(x):
    return np.log1p(np.exp(x))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize(
    "name, d_expected, g_expected",
    [
        (
            "nonsaturating",
            -np.log(_sigmoid(REAL)) - np.log(1 - _sigmoid(FAKE)),
            -np.log(_sigmoid(FAKE)),
        ),
        (
            "minimax",
            -np.log(_sigmoid(REAL)) - np.log(1 - _sigmoid(FAKE)),
            np.log(1 - _sigmoid(FAKE)),
        ),
        ("wasserstein", FAKE - REAL, -FAKE),
        ("hinge", np.maximum(0, 1 - REAL) + np.maximum(0, 1 + FAKE), -FAKE),
        ("least_squares", 0.5 * (REAL - 1) ** 2 + 0.5 * FAKE**2, 0.5 * (FAKE - 1) ** 2),
    ],
)
def test_losses_match_their_formulas_per_example(name, d_expected, g_expected):
    loss = losses.get(name)
    d = loss.discriminator(tf.constant(REAL), tf.constant(FAKE)).numpy()
    g = loss.generator(tf.constant(FAKE)).numpy()
    assert d.shape == g.shape == (3,)
    np.testing.assert_allclose(d, d_expected[:, 0], rtol=1e-5)
    np.testing.assert_allclose(g, g_expected[:, 0], rtol=1e-5)


def test_softplus_form_is_stable_for_large_logits():
    d = losses.nonsaturating_discriminator(tf.constant([[80.0]]), tf.constant([[-80.0]]))
    assert np.isfinite(d.numpy()).all() and d.numpy()[0] < 1e-30


def test_get_is_case_insensitive_and_returns_objects_unchanged():
    assert losses.get("HINGE") is losses.get("hinge")
    assert losses.get(losses.get("hinge")).name == "hinge"


def test_unknown_loss_lists_known_names():
    with pytest.raises(ValueError, match=r"least_squares.*Received: loss='square'"):
        losses.get("square")
