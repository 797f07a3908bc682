import numpy as np
import pytest
import tensorflow as tf

from keras_gen import losses


def _linear_critic(weights):
    w = tf.constant(weights)

    def critic(x):
        return tf.reduce_sum(tf.reshape(x, [tf.shape(x)[0], -1]) * w, axis=1, keepdims=True)

    return critic


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    # d/dx <w, x> = w everywhere, so the penalty is (||w|| - 1)^2 for any eps.
    w = np.arange(1, 13, dtype="float32").reshape(1, 12) / 10.0
    real = tf.random.stateless_normal([5, 2, 2, 3], seed=[1, 2])
    fake = tf.random.stateless_normal([5, 2, 2, 3], seed=[3, 4])
    penalty = losses.gradient_penalty(_linear_critic(w), real, fake, seed=[5, 6])
    expected = (np.linalg.norm(w) - 1.0) ** 2
    np.testing.assert_allclose(penalty.numpy(), np.full(5, expected), rtol=1e-5)


def test_gradient_penalty_interpolates_per_example_and_takes_the_full_norm():
    # critic(x) = sum(x^2) has gradient 2x: the penalty reveals x_hat.
    def critic(x):
        return tf.reduce_sum(tf.square(x), axis=[1, 2], keepdims=False)[:, None]

    real = tf.ones([2, 3, 4])
    fake = tf.zeros([2, 3, 4])
    eps = tf.constant([0.25, 1.0])
    penalty = losses.gradient_penalty(critic, real, fake, interpolation_weights=eps)
    # x_hat = eps * 1, gradient 2 eps on 12 entries: norm 2 eps sqrt(12).
    expected = (2 * eps.numpy() * np.sqrt(12.0) - 1.0) ** 2
    np.testing.assert_allclose(penalty.numpy(), expected, rtol=1e-5)


def test_gradient_penalty_is_unchanged_by_a_loss_scale():
    w = np.full((1, 6), 0.3, dtype="float32")
    real, fake = tf.ones([3, 6]), tf.zeros([3, 6])
    plain = losses.gradient_penalty(_linear_critic(w), real, fake, seed=[1, 1])
    scaled = losses.gradient_penalty(
        _linear_critic(w), real, fake, seed=[1, 1], loss_scale=tf.constant(2.0**15)
    )
    np.testing.assert_allclose(plain.numpy(), scaled.numpy(), rtol=1e-6)


def test_gradient_penalty_needs_weights_or_seed():
    with pytest.raises(ValueError, match="interpolation_weights"):
        losses.gradient_penalty(
            _linear_critic(np.ones((1, 2), "float32")), tf.ones([1, 2]), tf.zeros([1, 2])
        )


def test_r1_penalty_is_the_squared_gradient_norm_on_real_data():
    w = np.array([[3.0, 4.0]], dtype="float32")
    np.testing.assert_allclose(
        losses.r1_penalty(_linear_critic(w), tf.ones([4, 2])).numpy(), np.full(4, 25.0), rtol=1e-6
    )
