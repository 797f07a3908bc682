"""PacGAN packing: the packed discriminator inputs, the losses per pack, the batch checks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gen
from keras_gen import models, networks, testing
from keras_gen.models.gan import gan as gan_module
from keras_gen.utils import distribution

LEARNING_RATE = 0.1


def _make(cls=models.GAN, data_shape=(4,), **kwargs):
    keras.utils.set_random_seed(3)
    model = cls(data_shape=data_shape, latent_dim=3, seed=11, **kwargs)
    model.compile(
        generator_optimizer=keras.optimizers.SGD(LEARNING_RATE),
        discriminator_optimizer=keras.optimizers.SGD(LEARNING_RATE),
    )
    return model


def _data(shape, n=8):
    return np.random.RandomState(0).uniform(-1, 1, (n, *shape)).astype("float32")


def _packs(samples, pack):
    # Written apart from the library: pack i is samples i*pack, ..., i*pack + pack - 1 side by side.
    return np.concatenate([samples[j::pack] for j in range(pack)], axis=-1)


@pytest.mark.parametrize(
    "data_shape, packed", [((2,), (8,)), ((28, 28, 1), (28, 28, 4)), ((32, 32, 3), (32, 32, 12))]
)
def test_default_discriminator_takes_packs(data_shape, packed):
    model = models.GAN(data_shape=data_shape, latent_dim=3, pack=4)
    assert model.discriminator.input_shape == (None, *packed)
    assert model.packed_shape(data_shape) == packed
    assert model.data_shape == data_shape and model.generator.output_shape == (None, *data_shape)


@pytest.mark.parametrize("data_shape", [(3,), (8, 8, 2)])
def test_pack_samples_concatenates_consecutive_samples(data_shape):
    model = models.GAN(data_shape=data_shape, latent_dim=3, pack=2)
    x = _data(data_shape, n=6)
    packs = model.pack_samples(tf.constant(x)).numpy()
    np.testing.assert_array_equal(packs, _packs(x, 2))
    np.testing.assert_array_equal(packs[1, ..., : data_shape[-1]], x[2])
    np.testing.assert_array_equal(packs[1, ..., data_shape[-1] :], x[3])


def _direct_step(model, real, pack):
    """d_loss, g_loss, d_real, d_fake and the weights after one SGD step, computed here."""
    g, d = model.generator, model.discriminator
    start = [np.array(w) for w in model.get_weights()]
    n = len(real)

    def latents(counter, stream):
        seed = distribution.stateless_seed(model.seed, counter, stream)
        return model.sample_latents(n, seed)

    z = latents(0, gan_module.LATENTS_FOR_DISCRIMINATOR)
    with tf.GradientTape() as tape:
        real_logits = d(_packs(real, pack), training=True)[:, 0]
        fake_logits = d(_packs(g(z, training=True).numpy(), pack), training=True)[:, 0]
        d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits))
    gradients = tape.gradient(d_loss, d.trainable_variables)
    for variable, gradient in zip(d.trainable_variables, gradients):
        variable.assign(variable - LEARNING_RATE * gradient)
    z = latents(1, gan_module.LATENTS_FOR_GENERATOR)
    with tf.GradientTape() as tape:
        fake = g(z, training=True)
        packed = tf.concat([fake[j::pack] for j in range(pack)], axis=-1)
        g_loss = tf.reduce_mean(tf.nn.softplus(-d(packed, training=True)[:, 0]))
    gradients = tape.gradient(g_loss, g.trainable_variables)
    for variable, gradient in zip(g.trainable_variables, gradients):
        variable.assign(variable - LEARNING_RATE * gradient)
    logs = {
        "d_loss": float(d_loss),
        "g_loss": float(g_loss),
        "d_real": float(tf.reduce_mean(real_logits)),
        "d_fake": float(tf.reduce_mean(fake_logits)),
    }
    trained = [np.array(v) for v in (*g.trainable_weights, *d.trainable_weights)]
    model.set_weights(start)
    return logs, trained


@pytest.mark.parametrize(
    "data_shape, pack", [((4,), 2), ((4,), 4), ((8, 8, 1), 2), ((4,), 1)], ids=str
)
def test_one_step_losses_and_update_equal_a_direct_computation(data_shape, pack):
    model = _make(data_shape=data_shape, pack=pack)
    real = _data(data_shape)
    expected_logs, expected_weights = _direct_step(model, real, pack)
    history = model.fit(real, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    for key, value in expected_logs.items():
        np.testing.assert_allclose(history[key][0], value, rtol=1e-5, atol=1e-6, err_msg=key)
    variables = (*model.generator.trainable_weights, *model.discriminator.trainable_weights)
    assert len(variables) == len(expected_weights) >= 4
    for variable, expected in zip(variables, expected_weights):
        np.testing.assert_allclose(np.array(variable), expected, rtol=1e-5, atol=1e-6)


def test_packed_step_and_batch_check_under_xla():
    data_shape = (4,)
    model = _make(models.GAN, data_shape=data_shape, pack=4)
    model.compile(
        generator_optimizer=keras.optimizers.SGD(0.01),
        discriminator_optimizer=keras.optimizers.SGD(0.01),
        jit_compile=True,
    )
    real = _data(data_shape, n=10)
    history = model.fit(real[:8], batch_size=8, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    # The short last batch (2 of 10) is refused by the dataset's own check, which XLA cannot drop.
    dataset = tf.data.Dataset.from_tensor_slices(real).batch(8)
    testing.expect_value_error(
        lambda: model.fit(dataset, epochs=1, verbose=0), "pack=4", "a batch of 2 samples"
    )


def test_wgan_gp_penalty_interpolates_packs():
    pack = 2
    model = _make(models.WGANGP, pack=pack, discriminator_steps=1)
    real = _data((4,))
    n_packs = len(real) // pack
    z = model.sample_latents(
        len(real), distribution.stateless_seed(model.seed, 0, gan_module.LATENTS_FOR_DISCRIMINATOR)
    )
    fake = _packs(model.generator(z, training=True).numpy(), pack)
    # One weight per pack, drawn for the global number of packs from the penalty's stream.
    eps = tf.random.stateless_uniform(
        [n_packs], seed=distribution.stateless_seed(model.seed, 0, gan_module.PENALTY_DRAWS)
    )[:, None]
    interpolated = tf.constant(eps * _packs(real, pack) + (1 - eps) * fake)
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        critic = model.discriminator(interpolated, training=True)
    norms = tf.norm(tape.gradient(critic, interpolated), axis=-1)
    expected = float(tf.reduce_mean(10.0 * (norms - 1.0) ** 2))
    history = model.fit(real, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["gradient_penalty"][0], expected, rtol=1e-4)


def test_pack_1_is_the_step_without_the_argument():
    real = _data((4,), n=32)
    runs = []
    for kwargs in ({}, {"pack": 1}):
        model = _make(models.GAN, **kwargs)
        history = model.fit(real, batch_size=8, epochs=2, shuffle=False, verbose=0).history
        runs.append((model.get_weights(), history))
    (w0, h0), (w1, h1) = runs
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)
    assert h0 == h1


@pytest.mark.parametrize(
    "make_input, size",
    [
        (lambda x: (x[:12], {"batch_size": 6}), "a batch of 6 samples"),
        # 10 samples in batches of 8: the last, short batch holds 2, which packs of 4 do not divide.
        (lambda x: (x[:10], {"batch_size": 8}), "a batch of 2 samples"),
        (lambda x: (tf.data.Dataset.from_tensor_slices(x).batch(6, drop_remainder=True), {}), "6"),
        # A dataset of unknown batch size is checked batch by batch, outside the compiled step.
        (lambda x: (tf.data.Dataset.from_tensor_slices(x[:10]).batch(8), {}), "a batch of 2"),
    ],
    ids=["arrays", "short_last_batch", "static_dataset", "unknown_batch_size"],
)
def test_a_batch_that_packs_do_not_divide_is_a_value_error(make_input, size):
    model = _make(pack=4)
    x, kwargs = make_input(_data((4,), n=16))
    message = testing.expect_value_error(
        lambda: model.fit(x, epochs=1, verbose=0, **kwargs), "pack=4", size
    )
    assert "divisible by pack * replicas = 4" in message


@pytest.mark.parametrize("cls", [models.ConditionalGAN, models.ACGAN])
def test_conditional_models_refuse_packing(cls):
    message = testing.expect_value_error(
        lambda: cls(data_shape=(4,), num_classes=3, pack=2), "pack=2", "num_classes=3"
    )
    assert "one label per pack" in message
    assert cls(data_shape=(4,), num_classes=3, pack=1).pack == 1


def test_a_given_discriminator_must_take_packs():
    generator = networks.mlp_generator(3, (2,))
    testing.expect_value_error(
        lambda: models.GAN(generator, networks.mlp_discriminator((2,)), pack=3),
        "pack=3",
        "(6,)",
    )
    model = models.GAN(generator, networks.maxout_discriminator((6,), hidden_units=(8,)), pack=3)
    assert model.discriminator.input_shape == (None, 6)


@pytest.mark.parametrize("pack", [0, 1.5, "2"])
def test_a_bad_pack_is_named(pack):
    testing.expect_value_error(lambda: models.GAN(data_shape=(2,), pack=pack), f"pack={pack!r}")


@pytest.mark.parametrize("cls", [models.GAN, models.WGANGP, models.SNGAN], ids=lambda c: c.__name__)
def test_pack_survives_config_and_keras_round_trip(cls, tmp_path):
    model = _make(cls, pack=2)
    model.fit(_data((4,)), batch_size=8, epochs=1, verbose=0)
    assert cls.from_config(model.get_config()).pack == 2
    path = str(tmp_path / "packed.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.pack == 2 and loaded.discriminator.input_shape == (None, 8)
    np.testing.assert_array_equal(loaded.generate(4, seed=0), model.generate(4, seed=0))
    loaded.fit(_data((4,)), batch_size=8, epochs=1, verbose=0)


def test_packed_gan_trains_on_ring8():
    dataset, info = keras_gen.data.load("ring8", batch_size=64, seed=0)
    model = models.GAN(data_shape=info.shape, latent_dim=2, seed=0, pack=2)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
    )
    before = [np.array(w) for w in model.discriminator.get_weights()]
    history = model.fit(dataset.take(5), epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert not np.array_equal(before[0], model.discriminator.get_weights()[0])
    assert model.generate(16, seed=0).shape == (16, 2)


def test_cli_pack_reaches_the_model():
    from keras_gen.cli import main, recipes

    assert main.build_parser().parse_args(["train", "gan", "--pack", "4"]).pack == 4
    assert main.build_parser().parse_args(["train", "gan"]).pack is None
    assert recipes.build_model(models.WGANGP, "wgan_gp", (2,), pack=4).pack == 4
    assert recipes.build_model(models.GAN, "gan", (2,)).pack == 1
    testing.expect_value_error(
        lambda: recipes.build_model(models.VAE, "vae", (2,), pack=2), "pack=2", "'vae'"
    )
