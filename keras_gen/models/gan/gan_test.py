import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gen
from keras_gen import models, testing

ALL = [
    models.GAN,
    models.DCGAN,
    models.WGANGP,
    models.SNGAN,
    models.LSGAN,
    models.ConditionalGAN,
    models.ACGAN,
]
CONDITIONAL = (models.ConditionalGAN, models.ACGAN)


def _make(cls, data_shape=(28, 28, 1), **kwargs):
    if cls in CONDITIONAL:
        kwargs.setdefault("num_classes", 10)
    model = cls(data_shape=data_shape, latent_dim=16, seed=7, **kwargs)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    return model


def _fit(model, data, epochs=1):
    images, labels = data
    y = labels if model.conditional else None
    return model.fit(images, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_fit_save_load_generate(cls, mnist_small, tmp_path):
    model = _make(cls)

    def kernels(network):
        return {v.path: np.array(v) for v in network.trainable_weights if "kernel" in v.path}

    before = {"generator": kernels(model.generator), "discriminator": kernels(model.discriminator)}
    history = _fit(model, mnist_small)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(history.history)
    for name in before:
        after = kernels(getattr(model, name))
        assert len(after) >= 3
        for path, value in before[name].items():
            assert not np.array_equal(value, after[path]), f"{name} {path} did not change"
    samples = model.generate(16, seed=0)
    assert samples.shape == (16, 28, 28, 1) and samples.dtype == np.float32
    assert np.abs(samples).max() <= 1.0
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.generate(16, seed=0), samples)
    assert not np.array_equal(model.generate(16, seed=1), samples)


def test_training_on_after_loading_matches_training_on_without_saving(mnist_small, tmp_path):
    model = _make(models.DCGAN, ema_decay=0.9)
    _fit(model, mnist_small)
    loaded = testing.assert_save_load_continues_training(
        model, lambda m: _fit(m, mnist_small), tmp_path, rtol=0, atol=1e-6
    )
    np.testing.assert_array_equal(model.generate(8, seed=3), loaded.generate(8, seed=3))


def test_unseeded_sampling_continues_after_loading(tmp_path):
    model = _make(models.GAN, data_shape=(2,))
    model.generate(4)
    path = str(tmp_path / "gan.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model.generate(4), loaded.generate(4))
    assert not np.array_equal(model.generate(4), model.generate(4))


def test_generate_is_traced_once(mnist_small):
    model = _make(models.ConditionalGAN)
    counts = testing.assert_traced_once(
        model,
        lambda: model.generate(5, seed=0),
        lambda: model.generate(40, seed=1, labels=np.full(40, 3), batch_size=16),
    )
    assert counts == {"samples_from_latents": 1}


def test_ema_generator_is_averaged_and_used_for_sampling(mnist_small):
    model = _make(models.DCGAN, ema_decay=0.5)
    _fit(model, mnist_small)
    g = model.generator.get_weights()
    e = model.ema_generator.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(g, e))
    # The batch-norm statistics are copied, not averaged (keras_gen.models.ema).
    for average, variable in zip(model.ema_generator.weights, model.generator.weights):
        if not variable.trainable:
            np.testing.assert_array_equal(np.asarray(average), np.asarray(variable))
    # generate(seed=s) draws its first batch with seed fold_in((s, 0), 0).
    seed = tf.random.experimental.stateless_fold_in(tf.constant([0, 0], tf.int64), 0)
    expected = model.ema_generator(model.sample_latents(4, seed), training=False).numpy()
    np.testing.assert_allclose(model.generate(4, seed=0), expected, atol=1e-6)
    assert not np.allclose(
        model.generator(model.sample_latents(4, seed), training=False).numpy(), expected
    )


def test_conditional_generate_follows_labels(mnist_small):
    model = _make(models.ConditionalGAN)
    _fit(model, mnist_small)
    a = model.generate(4, seed=0, labels=[1, 1, 1, 1])
    b = model.generate(4, seed=0, labels=[2, 2, 2, 2])
    assert not np.allclose(a, b)


def test_get_config_round_trip():
    model = _make(models.WGANGP, data_shape=(2,), gradient_penalty_weight=5.0)
    clone = models.WGANGP.from_config(model.get_config())
    assert clone.gradient_penalty_weight == 5.0
    assert clone.discriminator_steps == 5 and clone.seed == 7
    assert clone.adversarial_loss.name == "wasserstein"
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]


def test_default_networks_are_mlp_for_vectors_and_dcgan_for_images():
    assert _make(models.GAN, data_shape=(2,)).generator.name == "mlp_generator"
    assert _make(models.GAN).generator.name == "dcgan_generator"
    sn = _make(models.SNGAN).discriminator
    assert any(layer.__class__.__name__ == "SpectralNormalization" for layer in sn.layers)


@pytest.mark.parametrize(
    "build, error, match",
    [
        (
            lambda: models.GAN(data_shape=(28, 28, 1), discriminator_steps=0),
            ValueError,
            "discriminator_steps=0",
        ),
        (lambda: models.GAN(data_shape=(28, 28, 1), loss="squared"), ValueError, "loss='squared'"),
        (lambda: models.ConditionalGAN(data_shape=(28, 28, 1)), ValueError, "num_classes=None"),
        (
            lambda: models.GAN(),
            ValueError,
            "GAN needs `generator` and `discriminator`.*data_shape=None",
        ),
        (
            lambda: models.GAN(generator=keras_gen.networks.mlp_generator(8, (2,))),
            ValueError,
            r"Pass both `generator` and `discriminator`.*discriminator=None",
        ),
        (
            lambda: models.GAN(
                generator=keras_gen.networks.mlp_generator(8, (2,)),
                discriminator=keras_gen.networks.mlp_discriminator((3,)),
            ),
            ValueError,
            r"discriminator input \(3,\)",
        ),
        (
            lambda: models.GAN(
                generator=keras_gen.networks.mlp_generator(8, (2,)),
                discriminator=keras_gen.networks.mlp_discriminator((2,)),
                latent_dim=4,
            ),
            ValueError,
            "latent_dim=4",
        ),
    ],
)
def test_bad_constructor_arguments(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize("ema_decay", [1.5, -0.1, "fast"])
def test_a_bad_ema_decay_is_named(ema_decay):
    testing.expect_value_error(
        lambda: models.GAN(data_shape=(2,), ema_decay=ema_decay), f"ema_decay={ema_decay!r}"
    )


def test_bad_compile_and_fit_arguments(mnist_small):
    images, labels = mnist_small
    model = models.GAN(data_shape=(28, 28, 1), latent_dim=8)
    with pytest.raises(ValueError, match="generator_optimizer=None"):
        model.compile(discriminator_optimizer="adam")
    with pytest.raises(ValueError, match="Received: loss='mse'"):
        model.compile(generator_optimizer="adam", discriminator_optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="before fit"):
        model.fit(images)
    model.compile(generator_optimizer="adam", discriminator_optimizer="adam")
    with pytest.raises(ValueError, match=r"x with shape \(64, 28, 28\)"):
        model.fit(images[..., 0])
    conditional = _make(models.ConditionalGAN)
    with pytest.raises(ValueError, match="y=None"):
        conditional.fit(images, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"num_classes=10\). Received: y containing \[10\]"):
        conditional.fit(images, np.where(labels == 0, 10, labels), verbose=0)
    with pytest.raises(ValueError, match="labels"):
        conditional.generate(2, labels=[0, 11])


def test_dataset_with_wrong_sample_shape_is_a_value_error():
    model = _make(models.GAN, data_shape=(2,))
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((8, 3), "float32")).batch(4)
    with pytest.raises(ValueError, match=r"sample shape \(3,\)"):
        model.fit(dataset, verbose=0)


def test_nan_loss_stops_before_a_checkpoint_is_overwritten(tmp_path):
    model = _make(models.GAN, data_shape=(2,))
    path = str(tmp_path / "last.keras")
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_freq=1)
    good = np.random.RandomState(0).uniform(-1, 1, (32, 2)).astype("float32")
    model.fit(good, batch_size=16, epochs=1, verbose=0, callbacks=[checkpoint])
    saved = open(path, "rb").read()
    bad = good.copy()
    bad[3, 0] = np.nan
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises(keras_gen.NonFiniteLossError, match="`x` held NaN"):
        # Unshuffled, the NaN is in the first batch: no good batch comes before it.
        model.fit(bad, batch_size=16, epochs=1, verbose=0, callbacks=[checkpoint], shuffle=False)
    assert open(path, "rb").read() == saved
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)


class _NaNDiscriminatorLossGAN(models.GAN):
    def discriminator_loss(self, real_logits, fake_logits):
        return super().discriminator_loss(real_logits, fake_logits) * np.float32("nan")


@pytest.mark.parametrize("jit_compile", [False, True])
def test_a_non_finite_loss_names_the_loss_and_changes_no_weight(jit_compile):
    model = _NaNDiscriminatorLossGAN(data_shape=(2,), latent_dim=4, seed=0)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
        jit_compile=jit_compile,
    )
    weights = [w.copy() for w in model.get_weights()]
    data = np.random.RandomState(0).uniform(-1, 1, (16, 2)).astype("float32")
    with pytest.raises(keras_gen.NonFiniteLossError, match="`d_loss` held NaN"):
        model.fit(data, batch_size=16, epochs=1, verbose=0)
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert int(model.generator_optimizer.iterations) == 0


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(policy, mnist_small):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = _make(models.WGANGP, discriminator_steps=1)
        history = _fit(model, mnist_small)
        scaled = isinstance(model.generator_optimizer, keras.optimizers.LossScaleOptimizer)
        assert scaled == (policy == "mixed_float16")
        assert (
            isinstance(model.discriminator_optimizer, keras.optimizers.LossScaleOptimizer) == scaled
        )
        logits, _ = model.run_discriminator(mnist_small[0][:2], None, training=False)
        assert logits.dtype == "float32"
        assert model.generator.layers[-2].compute_dtype == policy.split("_")[1]
        assert all(np.isfinite(v[-1]) for v in history.history.values())
        assert history.history["gradient_penalty"][-1] > 0
        assert model.generate(2, seed=0).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_fit_takes_datasets_with_or_without_labels(mnist_small):
    images, labels = mnist_small
    unconditional = _make(models.GAN)
    pairs = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)
    with pytest.raises(ValueError, match="not conditional and would ignore labels"):
        unconditional.fit(pairs, verbose=0)
    assert "d_loss" in unconditional.fit(pairs.map(lambda x, y: x), verbose=0).history
    conditional = _make(models.ACGAN)
    history = conditional.fit(pairs, verbose=0).history
    assert np.isfinite(history["d_class_loss"]).all()
