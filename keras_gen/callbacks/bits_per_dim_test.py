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


def test_bad_arguments_raise_value_errors_naming_them():
    testing.expect_value_error(lambda: callbacks.BitsPerDim(np.zeros((2, 2)), every=0), "every")
