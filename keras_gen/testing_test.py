"""Each check of keras_gen.testing passes on a sound model and fails on a broken one."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import models, testing


def _tokens(seed=0):
    rng = np.random.RandomState(seed)
    tokens = rng.randint(0, 8, (8, 9)).astype("int32")
    return tokens[:, :-1], tokens[:, 1:]


def _gpt(cls=models.GPT):
    model = cls(
        vocabulary_size=8, sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8, dropout=0.5
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


def _train_gpt(model):
    x, y = _tokens()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)


@keras.saving.register_keras_serializable(package="keras_gen_testing_test")
class ForgetsDropoutState(models.GPT):
    """Does not save its dropout seed state: after a reload, dropout draws other masks."""

    def training_seed_generators(self):
        return []


def test_round_trip_passes_when_the_reload_keeps_every_state(tmp_path):
    model = _gpt()
    _train_gpt(model)
    loaded = testing.assert_save_load_continues_training(model, _train_gpt, tmp_path)
    assert type(loaded) is models.GPT


def test_round_trip_fails_when_the_reload_loses_the_dropout_state(tmp_path):
    model = _gpt(ForgetsDropoutState)
    _train_gpt(model)
    with pytest.raises(AssertionError, match="training on"):
        testing.assert_save_load_continues_training(model, _train_gpt, tmp_path)


def _vae(cls=models.VAE):
    keras.utils.set_random_seed(3)
    model = cls(data_shape=(4,), latent_dim=2, likelihood="gaussian", seed=11)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    return model


def _one_update(model):
    x = np.random.RandomState(0).uniform(-1, 1, (8, 4)).astype("float32")
    model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)


class PerReplicaScaleVAE(models.VAE):
    """Scales its loss by the local batch size: two replicas take another step than one device."""

    def terms(self, data, labels, noise, training):
        reconstruction, kl = super().terms(data, labels, noise, training)
        return reconstruction * tf.cast(tf.shape(data)[0], "float32"), kl


def test_replica_equality_passes_for_a_global_batch_loss():
    testing.assert_replicas_match_one_device(_vae, _one_update)


def test_replica_equality_fails_for_a_per_replica_loss():
    with pytest.raises(AssertionError, match="differs between one device and two replicas"):
        testing.assert_replicas_match_one_device(lambda: _vae(PerReplicaScaleVAE), _one_update)


class RetracingVAE(models.VAE):
    """Compiles its batch function without an input signature: each batch size retraces."""

    def generate_batch(self, num_samples, seed, labels, options):
        function = self.compiled_function("loose", lambda: tf.function(self.samples_from_latents))
        return function(self.sample_latents(num_samples, seed))


def test_traced_once_passes_for_the_default_generate():
    model = _vae()
    testing.assert_traced_once(
        model, lambda: model.generate(5, seed=0), lambda: model.generate(7, batch_size=3)
    )


def test_traced_once_fails_when_a_batch_size_retraces():
    model = _vae(RetracingVAE)
    with pytest.raises(AssertionError, match="traced more than once"):
        testing.assert_traced_once(
            model, lambda: model.generate(5, seed=0), lambda: model.generate(7, batch_size=3)
        )


def test_expect_value_error_returns_the_message_naming_the_argument():
    message = testing.expect_value_error(
        lambda: models.GAN(data_shape=(2,), ema_decay=2.0), "ema_decay=2.0"
    )
    assert message.startswith("`ema_decay`")


def test_expect_value_error_fails_when_the_message_does_not_name_the_argument():
    def bad():
        raise ValueError("something was wrong")

    with pytest.raises(AssertionError, match=r"does not name \['ema_decay'\]"):
        testing.expect_value_error(bad, "ema_decay")


def test_expect_value_error_fails_when_nothing_is_raised():
    with pytest.raises(AssertionError, match="no ValueError"):
        testing.expect_value_error(lambda: None, "ema_decay")
