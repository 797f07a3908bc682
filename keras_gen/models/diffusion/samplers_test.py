import numpy as np
import tensorflow as tf

from keras_gen.models.diffusion import samplers, schedules


class _Process:
    """The forward process of a 100-step cosine schedule, as DiffusionModel.q_sample computes it."""

    alpha_bar = schedules.cosine(100)

    def q_sample(self, x0, t, noise):
        a = tf.reshape(tf.gather(tf.constant(self.alpha_bar, tf.float32), t), (-1, 1, 1, 1))
        return tf.sqrt(a) * x0 + tf.sqrt(1.0 - a) * noise


def _images(n=16, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, (n, 8, 8, 1)).astype("float32")


def _oracle(model, x0):
    """A denoiser that knows x0: it predicts the true noise of any x_t."""
    alpha_bar = tf.constant(model.alpha_bar, tf.float32)

    def predict(x, t):
        a = tf.gather(alpha_bar, t)
        return (x - tf.sqrt(a) * x0) / tf.sqrt(1 - a), x0

    return predict


def test_with_the_true_noise_ddim_stays_on_the_forward_process_and_both_samplers_recover_x0():
    model = _Process()
    x0 = tf.constant(_images(4))
    eps = tf.random.stateless_normal(x0.shape, seed=[1, 2])
    a80, a40 = model.alpha_bar[80], model.alpha_bar[40]
    x_80 = model.q_sample(x0, tf.fill([4], 80), eps)
    eps_hat, x0_hat = _oracle(model, x0)(x_80, tf.constant(80))
    np.testing.assert_allclose(eps_hat.numpy(), eps.numpy(), atol=1e-4)
    # One DDIM step (eta = 0) from t = 80 to 40 lands on q(x_40 | x0) with the same noise.
    x_40 = samplers.ddim_update(x0_hat, eps_hat, np.float32(a40), 0.0, 0.0)
    np.testing.assert_allclose(
        x_40.numpy(), model.q_sample(x0, tf.fill([4], 40), eps).numpy(), atol=1e-5
    )
    assert a80 < a40
    sequence = samplers.timestep_sequence(100, 10)
    assert list(sequence[[0, -1]]) == [99, 0] and np.all(np.diff(sequence) < 0)
    x_t = model.q_sample(x0, tf.fill([4], 99), eps)
    alpha_bar = tf.constant(model.alpha_bar, tf.float32)
    seed = tf.constant([0, 0], tf.int64)
    for sample, kwargs in (
        (samplers.ddim, {"eta": 0.0}),
        (samplers.ddim, {"eta": 1.0}),
        (samplers.ddpm, {}),
    ):
        out = sample(_oracle(model, x0), x_t, tf.constant(sequence), alpha_bar, seed, **kwargs)
        np.testing.assert_allclose(out.numpy(), x0.numpy(), atol=1e-4)
