"""One step on 2 replicas equals one step on one device on the same global batch."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import models, networks, testing
from keras_gen.models.gan import gan as gan_module
from keras_gen.utils import distribution

GLOBAL_BATCH = 8


def _data():
    rng = np.random.RandomState(0)
    return rng.uniform(-1, 1, (GLOBAL_BATCH, 4)).astype("float32")


def _build(cls, **kwargs):
    keras.utils.set_random_seed(3)
    model = cls(data_shape=(4,), latent_dim=3, seed=11, **kwargs)
    model.compile(
        generator_optimizer=keras.optimizers.SGD(0.1),
        discriminator_optimizer=keras.optimizers.SGD(0.1),
    )
    return model


def _one_step(cls, strategy, **kwargs):
    with strategy.scope():
        model = _build(cls, **kwargs)
    before = [w.copy() for w in model.get_weights()]
    model.fit(_data(), batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    return before, model.get_weights()


def _two_replicas():
    # One strategy per process (see testing.two_replica_strategy), shared with the harness.
    return testing.two_replica_strategy()


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (models.GAN, {}),
        (models.WGANGP, {"discriminator_steps": 2}),
        # PacGAN packing: each replica packs its own half of the global batch.
        (models.GAN, {"pack": 2}),
        (models.GAN, {"pack": 4}),
        (models.WGANGP, {"discriminator_steps": 2, "pack": 2}),
    ],
    ids=["gan", "wgan_gp", "gan_pack2", "gan_pack4", "wgan_gp_pack2"],
)
def test_two_replicas_match_one_device_with_sgd(cls, kwargs):
    before_one, one = _one_step(cls, tf.distribute.get_strategy(), **kwargs)
    before_two, two = _one_step(cls, _two_replicas(), **kwargs)
    for a, b in zip(before_one, before_two):
        np.testing.assert_array_equal(a, b)
    changed = 0
    for w1, w2, w0 in zip(one, two, before_one):
        scale = np.maximum(np.abs(w1).max(), 1e-3)
        assert np.abs(w1 - w2).max() / scale < 1e-5
        changed += int(not np.allclose(w1, w0))
    assert changed >= len(one) - 1  # every kernel and bias moved


@pytest.mark.parametrize("cls", [models.ConditionalGAN, models.ACGAN])
def test_conditional_two_replicas_match_one_device(cls):
    labels = np.array([0, 1, 1, 0, 1, 0, 0, 1])

    def step(strategy):
        with strategy.scope():
            model = _build(cls, num_classes=2)
        model.fit(_data(), labels, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
        return model.get_weights()

    for w1, w2 in zip(step(tf.distribute.get_strategy()), step(_two_replicas())):
        assert np.abs(w1 - w2).max() / np.maximum(np.abs(w1).max(), 1e-3) < 1e-5


@pytest.mark.parametrize(
    "pack, make_input, size",
    [
        # The global batch of 8 is divisible by pack=8 but not by pack * replicas = 16.
        (8, lambda x: (x, {"batch_size": GLOBAL_BATCH}), "a batch of 8 samples"),
        # Unknown batch size: the short last batch of 2 is refused outside the step.
        (
            2,
            lambda x: (tf.data.Dataset.from_tensor_slices(np.tile(x, (2, 1))[:10]).batch(8), {}),
            "a batch of 2 samples",
        ),
    ],
    ids=["arrays", "unknown_batch_size"],
)
def test_packs_must_divide_each_replicas_slice(pack, make_input, size):
    with _two_replicas().scope():
        model = _build(models.GAN, pack=pack)
    x, kwargs = make_input(_data())
    message = testing.expect_value_error(
        lambda: model.fit(x, epochs=1, shuffle=False, verbose=0, **kwargs), f"pack={pack}", size
    )
    assert "on 2 replica(s)" in message and f"pack * replicas = {2 * pack}" in message


def _fit_one_step(build, x, y=None, strategy=None):
    with (strategy or tf.distribute.get_strategy()).scope():
        keras.utils.set_random_seed(3)
        model = build()
        model.compile(optimizer=keras.optimizers.SGD(0.1))
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    return before, model.get_weights()


@pytest.mark.parametrize(
    "build, images",
    [
        (lambda: models.VAE(data_shape=(4,), latent_dim=3, likelihood="gaussian", seed=11), False),
        (
            lambda: models.ConditionalVAE(data_shape=(4,), latent_dim=3, num_classes=2, seed=11),
            False,
        ),
        (
            lambda: models.VQVAE(data_shape=(8, 8, 1), num_embeddings=8, embedding_dim=4, seed=11),
            True,
        ),
        (
            lambda: models.VQVAE(
                data_shape=(8, 8, 1), num_embeddings=8, embedding_dim=4, seed=11, ema_decay=0.9
            ),
            True,
        ),
        (
            lambda: models.DiffusionModel(
                networks.unet(
                    (8, 8, 1),
                    base_channels=8,
                    channel_multipliers=(1, 2),
                    attention_resolutions=(4,),
                    groups=4,
                    num_classes=2,
                ),
                timesteps=50,
                num_classes=2,
                label_dropout=0.5,
                ema_decay=0.9,
                seed=11,
            ),
            True,
        ),
    ],
    ids=["vae", "conditional_vae", "vq_vae", "vq_vae_ema", "diffusion"],
)
def test_one_optimizer_models_two_replicas_match_one_device(build, images):
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (GLOBAL_BATCH, 8, 8, 1)).astype("float32") if images else _data()
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1]) if build().conditional else None
    before_one, one = _fit_one_step(build, x, y)
    before_two, two = _fit_one_step(build, x, y, _two_replicas())
    for a, b in zip(before_one, before_two):
        np.testing.assert_array_equal(a, b)
    moved = 0
    for w1, w2, w0 in zip(one, two, before_one):
        assert np.abs(w1 - w2).max() / np.maximum(np.abs(w1).max(), 1e-3) < 1e-5
        moved += int(not np.allclose(w1, w0))
    assert moved >= len(one) // 2


@pytest.mark.parametrize(
    "build",
    [
        lambda: models.VAE(data_shape=(4,), latent_dim=3, seed=1, likelihood="gaussian"),
        lambda: models.GAN(data_shape=(4,), latent_dim=3, seed=1),
    ],
    ids=["vae", "gan"],
)
def test_a_replica_without_rows_of_the_last_batch_adds_nothing(build):
    # 9 examples in batches of 8: the last global batch has one row, so one replica gets none.
    x = np.random.RandomState(1).uniform(-1, 1, (9, 4)).astype("float32")
    with _two_replicas().scope():
        model = build()
        if isinstance(model, models.GAN):
            model.compile(
                generator_optimizer=keras.optimizers.SGD(0.01),
                discriminator_optimizer=keras.optimizers.SGD(0.01),
            )
        else:
            model.compile(optimizer=keras.optimizers.SGD(0.01))
    history = model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())


def test_gpt_two_replicas_match_one_device():
    from keras_gen.models.text import GPT

    tokens = np.random.RandomState(0).randint(0, 256, (GLOBAL_BATCH, 9)).astype("int32")

    def run(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(3)
            model = GPT(
                sequence_length=8, num_layers=1, num_heads=2, hidden_dim=16, dropout=0.0, seed=0
            )
            model.compile(optimizer=keras.optimizers.SGD(0.5))
        model.fit(
            tokens[:, :-1],
            tokens[:, 1:],
            batch_size=GLOBAL_BATCH,
            epochs=2,
            shuffle=False,
            verbose=0,
        )
        return model.get_weights()

    for w1, w2 in zip(run(tf.distribute.get_strategy()), run(_two_replicas())):
        assert np.abs(w1 - w2).max() / np.maximum(np.abs(w1).max(), 1e-3) < 1e-5


def test_transformer_xl_memory_per_replica_matches_one_device():
    from keras_gen import data
    from keras_gen.models.text import TransformerXL

    dataset, _ = data.load_text("pydoc", sequence_length=8, batch_size=4, consecutive=True)

    def run(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(3)
            model = TransformerXL(
                segment_length=8,
                memory_length=8,
                num_layers=1,
                num_heads=2,
                hidden_dim=16,
                dropout=0.0,
                seed=0,
            )
            model.compile(optimizer=keras.optimizers.SGD(0.5))
        # Three steps: the second and third read the memory the first wrote.
        model.fit(dataset.take(3), epochs=1, verbose=0)
        return model.get_weights()

    for w1, w2 in zip(run(tf.distribute.get_strategy()), run(_two_replicas())):
        assert np.abs(w1 - w2).max() / np.maximum(np.abs(w1).max(), 1e-3) < 1e-5


def test_each_replica_draws_its_own_latents():
    strategy = _two_replicas()
    with strategy.scope():
        model = _build(models.GAN)
    dataset = tf.data.Dataset.from_tensor_slices(_data()).batch(GLOBAL_BATCH)
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))

    @tf.function
    def draw(x):
        model.begin_step(distribution.BatchContext(x), tf.constant(0, tf.int64))
        return model.draw(gan_module.LATENTS_FOR_DISCRIMINATOR, model.sample_latents)

    first, second = strategy.experimental_local_results(strategy.run(draw, args=(batch,)))
    assert first.shape == second.shape == (GLOBAL_BATCH // 2, 3)
    assert not np.allclose(first.numpy(), second.numpy())
    # Together they are what one device draws for the whole global batch.
    single = draw(tf.constant(_data()))
    np.testing.assert_allclose(np.concatenate([first, second]), single.numpy())


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WORKER = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf, keras
from keras_gen import models
from keras_gen import networks
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    keras.utils.set_random_seed(3)
    model = models.WGANGP(data_shape=(4,), latent_dim=3, seed=11, discriminator_steps=2)
    model.compile(generator_optimizer=keras.optimizers.Adam(1e-3),
                  discriminator_optimizer=keras.optimizers.Adam(1e-3))
x = np.random.RandomState(0).uniform(-1, 1, (64, 4)).astype("float32")
dataset = tf.data.Dataset.from_tensor_slices(x).batch(16, drop_remainder=True)
history = model.fit(dataset, epochs=2, verbose=0)
np.savez(sys.argv[1], *model.get_weights())
print(json.dumps({k: float(np.ravel(v[-1])[0]) for k, v in history.history.items()}))
"""


@pytest.mark.multiworker
def test_two_workers_end_with_identical_weights(tmp_path):
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    processes = []
    for index in range(2):
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, str(script), str(tmp_path / f"w{index}.npz")],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            raise
        assert process.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert set(outputs[0]) >= {"d_loss", "g_loss", "gradient_penalty"}
    assert outputs[0] == outputs[1]
    w0 = np.load(tmp_path / "w0.npz")
    w1 = np.load(tmp_path / "w1.npz")
    assert len(w0.files) > 0
    for key in w0.files:
        np.testing.assert_array_equal(w0[key], w1[key])


def test_a_bad_batch_changes_no_weight_on_two_replicas():
    # Graph mode only: with jit_compile=True, MirroredStrategy over logical CPU devices fails
    # for a plain keras.Sequential too ("Trying to access resource ... located in device
    # CPU:1 from device CPU:0", tensorflow.org/xla/known_issues); compile("auto") never
    # picks XLA under several replicas, as Keras.
    # Label 2 of 2 classes sits in the second replica's half of the global batch.
    labels = np.array([0, 1, 1, 0, 1, 0, 2, 1])
    with _two_replicas().scope():
        model = _build(models.ConditionalGAN, num_classes=2)
        model.compile(
            generator_optimizer=keras.optimizers.SGD(0.1),
            discriminator_optimizer=keras.optimizers.SGD(0.1),
            jit_compile=False,
        )
    before = [w.copy() for w in model.get_weights()]
    dataset = tf.data.Dataset.from_tensor_slices((_data(), labels)).batch(GLOBAL_BATCH)
    with pytest.raises(
        ValueError,
        match=r"labels in \[0, num_classes=2\).*Received: labels in "
        r"\[0, 2\]",
    ):
        model.fit(dataset, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(model.discriminator_optimizer.iterations.numpy()) == 0
