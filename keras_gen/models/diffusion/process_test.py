import numpy as np
import pytest
import tensorflow as tf

from keras_gen.models.diffusion import process, schedules


def _images(n=16, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, (n, 8, 8, 1)).astype("float32")


def _draws(n=4, seed=0):
    """`(x0, noise, t, alpha_bar_t)` in numpy: data, Gaussian noise, timesteps and their `ab_t`."""
    x0 = _images(n, seed)
    noise = np.random.RandomState(seed + 1).standard_normal(x0.shape).astype("float32")
    t = np.array([0, 5, 50, 99][:n], "int32")
    return x0, noise, t, schedules.cosine(100)[t].reshape(-1, 1, 1, 1)


def _oracle(diffusion, x0):
    """A denoiser that knows x0: it predicts the true noise of any x_t."""
    alpha_bar = tf.constant(diffusion.alpha_bar, tf.float32)

    def predict(x, t):
        a = tf.gather(alpha_bar, t)
        return (x - tf.sqrt(a) * x0) / tf.sqrt(1 - a), x0

    return predict


def test_add_noise_is_equation_4():
    x0, noise, t, a = _draws()
    x_t = process.GaussianDiffusion(100).add_noise(tf.constant(x0), tf.constant(t), noise)
    np.testing.assert_allclose(x_t.numpy(), np.sqrt(a) * x0 + np.sqrt(1 - a) * noise, atol=1e-6)


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_target_is_the_noise_or_v(prediction):
    x0, noise, t, a = _draws()
    diffusion = process.GaussianDiffusion(100, prediction=prediction)
    target = diffusion.target(tf.constant(x0), tf.constant(t), tf.constant(noise)).numpy()
    expected = noise if prediction == "epsilon" else np.sqrt(a) * noise - np.sqrt(1 - a) * x0
    np.testing.assert_allclose(target, expected, atol=1e-6)


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_noise_and_data_inverts_the_target(prediction):
    x0, noise, t, _ = _draws()
    diffusion = process.GaussianDiffusion(100, prediction=prediction)
    x_t = diffusion.add_noise(tf.constant(x0), tf.constant(t), noise)
    target = diffusion.target(tf.constant(x0), tf.constant(t), tf.constant(noise))
    eps, data = diffusion.noise_and_data(target, x_t, tf.constant(t))
    np.testing.assert_allclose(eps.numpy(), noise, atol=1e-4)
    # x0 = (x_t - sqrt(1 - ab) eps) / sqrt(ab) amplifies errors by 1 / sqrt(ab_99) (about 30).
    np.testing.assert_allclose(data.numpy(), x0, atol=2e-3)


def test_clipped_prediction_keeps_eps_consistent_with_the_clipped_data():
    x0, noise, t, a = _draws()
    diffusion = process.GaussianDiffusion(100)
    x_t = diffusion.add_noise(tf.constant(2 * x0), tf.constant(t), noise)  # data beyond [-1, 1]
    eps, data = diffusion.clipped_noise_and_data(tf.constant(noise), x_t, tf.constant(t))
    expected_data = np.clip((x_t.numpy() - np.sqrt(1 - a) * noise) / np.sqrt(a), -1, 1)
    # As above: float32 errors grow by 1 / sqrt(ab_t) where the data is not clipped.
    np.testing.assert_allclose(data.numpy(), expected_data, atol=2e-3)
    expected_eps = (x_t.numpy() - np.sqrt(a) * expected_data) / np.sqrt(1 - a)
    # 1 / sqrt(1 - ab_0) is about 50: relative, not absolute, float32 error.
    np.testing.assert_allclose(eps.numpy(), expected_eps, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("eta", [0.0, 0.7])
def test_ddim_step_is_equation_12(eta):
    x0, noise, _, _ = _draws()
    eps = np.random.RandomState(7).standard_normal(x0.shape).astype("float32")
    diffusion = process.GaussianDiffusion(100)
    a_t, a_prev = diffusion.alpha_bar[80], diffusion.alpha_bar[40]
    x_prev = diffusion.ddim_step(None, eps, x0, tf.constant(80), tf.constant(40), noise, eta)
    sigma = eta * np.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
    expected = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev - sigma**2) * eps + sigma * noise
    np.testing.assert_allclose(x_prev.numpy(), expected, atol=1e-5)


def test_ddpm_step_draws_the_posterior_of_equations_6_and_7():
    x0, noise, _, _ = _draws()
    x_t = np.random.RandomState(7).standard_normal(x0.shape).astype("float32")
    diffusion = process.GaussianDiffusion(100, schedule="linear")
    a_t, a_prev = diffusion.alpha_bar[80], diffusion.alpha_bar[40]
    x_prev = diffusion.ddpm_step(x_t, None, x0, tf.constant(80), tf.constant(40), noise)
    beta = 1 - a_t / a_prev
    mean = (
        np.sqrt(a_prev) * beta / (1 - a_t) * x0 + np.sqrt(1 - beta) * (1 - a_prev) / (1 - a_t) * x_t
    )
    expected = mean + np.sqrt((1 - a_prev) / (1 - a_t) * beta) * noise
    np.testing.assert_allclose(x_prev.numpy(), expected, atol=1e-5)


def test_last_step_has_no_noise_and_returns_the_predicted_data():
    x0, noise, _, _ = _draws()
    diffusion = process.GaussianDiffusion(100)
    t, end = tf.constant(3), tf.constant(-1)
    for step in (diffusion.ddpm_step, diffusion.ddim_step):
        x_prev = step(tf.constant(noise), tf.constant(noise), x0, t, end, noise)
        np.testing.assert_allclose(x_prev.numpy(), x0, atol=1e-6)


def test_with_the_true_noise_ddim_stays_on_the_forward_process_and_both_samplers_recover_x0():
    diffusion = process.GaussianDiffusion(100)
    x0 = tf.constant(_images(4))
    eps = tf.random.stateless_normal(x0.shape, seed=[1, 2])
    a80, a40 = diffusion.alpha_bar[80], diffusion.alpha_bar[40]
    x_80 = diffusion.add_noise(x0, tf.fill([4], 80), eps)
    eps_hat, x0_hat = _oracle(diffusion, x0)(x_80, tf.constant(80))
    np.testing.assert_allclose(eps_hat.numpy(), eps.numpy(), atol=1e-4)
    # One DDIM step (eta = 0) from t = 80 to 40 lands on q(x_40 | x0) with the same noise.
    x_40 = diffusion.ddim_step(x_80, eps_hat, x0_hat, tf.constant(80), tf.constant(40), 0.0)
    np.testing.assert_allclose(
        x_40.numpy(), diffusion.add_noise(x0, tf.fill([4], 40), eps).numpy(), atol=1e-5
    )
    assert a80 < a40
    sequence = diffusion.timestep_sequence(10)
    assert list(sequence[[0, -1]]) == [99, 0] and np.all(np.diff(sequence) < 0)
    x_t = diffusion.add_noise(x0, tf.fill([4], 99), eps)
    seed = tf.constant([0, 0], tf.int64)
    for sampler, eta in (("ddim", 0.0), ("ddim", 1.0), ("ddpm", 0.0)):
        out = diffusion.sample(
            _oracle(diffusion, x0), x_t, tf.constant(sequence), seed, sampler, eta
        )
        np.testing.assert_allclose(out.numpy(), x0.numpy(), atol=1e-4)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="prediction='x0'"):
        process.GaussianDiffusion(100, prediction="x0")
    with pytest.raises(ValueError, match="sampler='euler'"):
        process.check_sampler("euler")
    with pytest.raises(ValueError, match="steps=0"):
        process.GaussianDiffusion(100).timestep_sequence(0)
    with pytest.raises(ValueError, match="timesteps=1"):
        process.GaussianDiffusion(1)
