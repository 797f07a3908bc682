import keras
import numpy as np
import pytest

from keras_gen import callbacks, metrics, models, testing
from keras_gen.data import toy


def test_flow_bits_per_dim_reach_the_logs_every_n_epochs():
    train, test = toy.moons(256, seed=0), toy.moons(64, seed=1)
    model = models.RealNVP(data_shape=(2,), num_coupling_layers=2, hidden_dim=8, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(
        train, batch_size=64, epochs=2, verbose=0, callbacks=[callbacks.BitsPerDim(test)]
    )
    assert history.history["held_out_bits_per_dim"][-1] == pytest.approx(
        model.bits_per_dim(test, seed=0), rel=1e-6
    )
    every = callbacks.BitsPerDim(test, every=2, name="bpd")
    history = model.fit(train, batch_size=64, epochs=1, verbose=0, callbacks=[every])
    assert "bpd" not in history.history


def test_vae_bits_per_dim_are_the_importance_weighted_bound_in_bits():
    x = toy.moons(64, seed=1)
    model = models.VAE(data_shape=(2,), latent_dim=2, likelihood="gaussian", seed=0)
    expected = metrics.bits_per_dimension(
        metrics.log_likelihood(model, x, num_importance_samples=10, seed=3), (2,)
    )
    value = metrics.held_out_bits_per_dim(model, x, num_importance_samples=10, seed=3)
    assert value == pytest.approx(expected, rel=1e-6)
    assert np.isfinite(value)


def test_a_gaussian_vae_on_images_is_scored_on_dequantized_8_bit_pixels():
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 256, (6, 4, 4, 1)) / 127.5 - 1.0).astype("float32")
    model = models.VAE(data_shape=(4, 4, 1), latent_dim=2, likelihood="gaussian", seed=0)
    value = metrics.held_out_bits_per_dim(model, x, num_importance_samples=10, seed=3)
    # The same draw by hand: k + u on [0, 256), divided by 128 and shifted into [-1, 1).
    levels = np.round((x + 1.0) * 127.5)
    noisy = (levels + np.random.default_rng(3).uniform(size=x.shape)) / 128.0 - 1.0
    assert noisy.min() >= -1.0 and noisy.max() < 1.0
    nats = metrics.log_likelihood(model, noisy.astype("float32"), num_importance_samples=10, seed=3)
    expected = -(nats - 16 * np.log(128.0)) / (16 * np.log(2.0))
    assert value == pytest.approx(expected, rel=1e-6)
    # Not the bound on the raw pixels in [-1, 1] units, which counts no bin width.
    raw = metrics.bits_per_dimension(
        metrics.log_likelihood(model, x, num_importance_samples=10, seed=3), (4, 4, 1)
    )
    assert abs(value - raw) > 5.0


def test_bad_arguments_raise_value_errors_naming_them():
    testing.expect_value_error(lambda: callbacks.BitsPerDim(np.zeros((2, 2)), every=0), "every")
