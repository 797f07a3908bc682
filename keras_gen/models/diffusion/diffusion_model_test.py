import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import models, testing
from keras_gen.models.diffusion import schedules


def _denoiser(num_classes=None):
    """`[x_t, t(, labels)] -> prediction` of 8x8 images: a few layers, fast to trace.

    The tests' time went into tracing (the train and test steps, and each
    sampling loop, trace the network), which grows with the network; the
    U-Net inside a DiffusionModel is trained in tests/distribution_test.py
    and tests/examples_test.py. Label `num_classes` is "no label".
    """
    x = keras.Input((8, 8, 1))
    t = keras.Input(())
    inputs = [x, t]
    embedding = keras.layers.Dense(4)(keras.layers.Reshape((1,))(t))
    if num_classes is not None:
        labels = keras.Input((), dtype="int32")
        inputs.append(labels)
        embedding = embedding + keras.layers.Embedding(num_classes + 1, 4)(labels)
    embedding = keras.layers.Reshape((1, 1, 4))(embedding)
    features = keras.layers.Conv2D(4, 3, padding="same")(x) + embedding
    features = keras.layers.Conv2D(4, 3, padding="same", activation="swish")(features)
    return keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(features))


def _small(num_classes=None, **kwargs):
    model = models.DiffusionModel(
        _denoiser(num_classes), timesteps=100, num_classes=num_classes, seed=3, **kwargs
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _images(n=16, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, (n, 8, 8, 1)).astype("float32")


def test_forward_process_has_the_closed_form_mean_and_variance():
    model = _small()
    x0 = tf.constant(_images(2))
    draws, t = 20_000, 37
    noise = tf.random.stateless_normal((draws, 2, 8, 8, 1), seed=[0, 1])
    samples = tf.reshape(
        tf.vectorized_map(lambda e: model.process.add_noise(x0, tf.fill([2], t), e), noise),
        (draws, -1),
    ).numpy()
    a = model.process.alpha_bar[t]
    # Standard error of the mean is sqrt((1 - a) / draws); of the variance about sqrt(2 / draws).
    np.testing.assert_allclose(
        samples.mean(0), np.sqrt(a) * x0.numpy().ravel(), atol=5 * math.sqrt((1 - a) / draws)
    )
    np.testing.assert_allclose(samples.var(0), 1 - a, atol=5 * (1 - a) * math.sqrt(2 / draws))


def test_v_prediction_gives_back_noise_and_data():
    model = _small(prediction="v")
    x0 = tf.constant(_images(3))
    eps = tf.random.stateless_normal(x0.shape, seed=[5, 6])
    t = tf.constant([5, 50, 95])
    x_t = model.process.add_noise(x0, t, eps)
    a = model.process.alpha_bar[t.numpy()].reshape(-1, 1, 1, 1).astype("float32")
    v = np.sqrt(a) * eps.numpy() - np.sqrt(1 - a) * x0.numpy()
    eps_hat, x0_hat = model.process.noise_and_data(tf.constant(v), x_t, t)
    np.testing.assert_allclose(eps_hat.numpy(), eps.numpy(), atol=1e-4)
    np.testing.assert_allclose(x0_hat.numpy(), x0.numpy(), atol=1e-4)


@pytest.mark.parametrize("conditional", [False, True])
def test_fit_save_load_generate_with_ema(conditional, tmp_path):
    model = _small(num_classes=3 if conditional else None)
    x = _images(32)
    y = np.arange(32) % 3 if conditional else None
    before = [w.copy() for w in model.ema_network.get_weights()]
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=2,
        verbose=0,
        validation_data=(x[:8], y[:8]) if conditional else (x[:8],),
    )
    assert set(history.history) == {"loss", "val_loss"}
    moved = [not np.allclose(a, b) for a, b in zip(before, model.ema_network.get_weights())]
    assert sum(moved) >= len(moved) // 2
    kwargs = {"guidance_scale": 2.0} if conditional else {}
    samples = model.generate(5, steps=4, seed=1, **kwargs)
    assert samples.shape == (5, 8, 8, 1) and samples.min() >= -1 and samples.max() <= 1
    path = str(tmp_path / "diffusion.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(model.ema_network.get_weights(), loaded.ema_network.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.generate(5, steps=4, seed=1, **kwargs), samples)
    assert not np.array_equal(model.generate(5, steps=4, seed=2, **kwargs), samples)
    ancestral = model.generate(5, steps=4, sampler="ddpm", seed=1)
    assert not np.array_equal(ancestral, model.generate(5, steps=4, sampler="ddim", seed=1))
    counts = testing.assert_traced_once(model, lambda: model.generate(3, steps=6, seed=3, **kwargs))
    assert counts == {"ddim": 1, "ddpm": 1}
    if conditional:
        guided = model.generate(5, steps=4, seed=1, guidance_scale=1.0)
        np.testing.assert_allclose(guided, model.generate(5, steps=4, seed=1), atol=1e-6)
        assert not np.allclose(guided, samples)


def test_ema_decay_warms_up():
    model = _small(ema_decay=0.999)
    assert float(model.ema.decay_at(0)) == pytest.approx(0.1)
    assert float(model.ema.decay_at(90)) == pytest.approx(0.91)
    assert float(model.ema.decay_at(10**6)) == pytest.approx(0.999)


def test_bad_arguments_are_named():
    testing.expect_value_error(lambda: _small(prediction="x0"), "prediction='x0'")
    model = _small()
    testing.expect_value_error(lambda: model.generate(2, sampler="euler"), "sampler='euler'")
    testing.expect_value_error(lambda: model.generate(2, steps=0), "steps=0")
    testing.expect_value_error(lambda: model.generate(2, guidance_scale=3.0), "guidance")
    testing.expect_value_error(lambda: _small(label_dropout=1.0), "label_dropout=1.0")
    testing.expect_value_error(lambda: model.generate(2, sampler="ddpm", eta=0.5), "eta=0.5")
    testing.expect_value_error(lambda: schedules.linear(20), "timesteps=20")


def test_training_on_after_loading_matches_training_on_without_saving(tmp_path):
    model = _small(ema_decay=0.9)
    x = _images(32)

    def train(m):
        m.fit(x, batch_size=16, epochs=1, shuffle=False, verbose=0)

    train(model)
    loaded = testing.assert_save_load_continues_training(model, train, tmp_path)
    np.testing.assert_array_equal(
        model.generate(4, steps=3, seed=0), loaded.generate(4, steps=3, seed=0)
    )
