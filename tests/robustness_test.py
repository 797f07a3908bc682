"""Bad input is a clear error decided where XLA cannot drop it, and a bad batch changes no weight.

Every case asserts the error type, that the message names the argument, and,
where training ran, that every weight (optimizer state included) is as it was.
The label and token cases run with `jit_compile=True` and `False`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gen
from keras_gen import models

JIT = pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])


def _state(model):
    """Every weight of the model and of its optimizers, as numpy arrays."""
    optimizers = [model.optimizer] if getattr(model, "optimizer", None) else []
    optimizers += [
        getattr(model, name)
        for name in ("generator_optimizer", "discriminator_optimizer")
        if getattr(model, name, None) is not None
    ]
    values = [np.array(w) for w in model.weights]
    for optimizer in optimizers:
        values += [np.array(v) for v in optimizer.variables]
    return values


def _assert_unchanged(before, model):
    after = _state(model)
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


def _vectors(n=32, scale=1.0, seed=0):
    return (np.random.RandomState(seed).uniform(-1, 1, (n, 2)) * scale).astype("float32")


def _conditional_gan(jit_compile):
    keras.utils.set_random_seed(0)  # the same initial weights every time
    model = models.ConditionalGAN(data_shape=(2,), num_classes=3, latent_dim=4, seed=0)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
        jit_compile=jit_compile,
    )
    return model


def _conditional_vae(jit_compile):
    keras.utils.set_random_seed(0)  # the same initial weights every time
    model = models.ConditionalVAE(
        data_shape=(2,), num_classes=3, latent_dim=2, likelihood="gaussian", seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile)
    return model


def _tiny_denoiser(num_classes):
    """`[x_t, t, labels] -> prediction` for 2-D data; label `num_classes` is "no label"."""
    x = keras.Input((2,))
    t = keras.Input((), dtype="int32")
    labels = keras.Input((), dtype="int32")
    features = keras.layers.Concatenate()(
        [x, keras.layers.Embedding(100, 4)(t), keras.layers.Embedding(num_classes + 1, 4)(labels)]
    )
    outputs = keras.layers.Dense(2)(keras.layers.Dense(16, activation="relu")(features))
    return keras.Model([x, t, labels], outputs)


def _conditional_diffusion(jit_compile):
    keras.utils.set_random_seed(0)  # the same initial weights every time
    model = models.DiffusionModel(_tiny_denoiser(3), timesteps=100, num_classes=3, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile)
    return model


CONDITIONAL = {
    "ConditionalGAN": _conditional_gan,
    "ConditionalVAE": _conditional_vae,
    "DiffusionModel": _conditional_diffusion,
}


@pytest.mark.parametrize("name", sorted(CONDITIONAL))
@pytest.mark.parametrize(
    "bad_label, jit_compile",
    [(3, False), (-1, False), (3, True)],
    ids=["above-graph", "below-graph", "above-xla"],
)
def test_dataset_labels_out_of_range_change_no_weight(name, bad_label, jit_compile):
    labels = np.zeros(32, "int32")
    labels[20] = bad_label  # in the second batch: the first one trains
    dataset = tf.data.Dataset.from_tensor_slices((_vectors(), labels)).batch(16)
    model = CONDITIONAL[name](jit_compile)
    low, high = min(bad_label, 0), max(bad_label, 0)
    with pytest.raises(
        ValueError,
        match=r"labels in \[0, num_classes=3\) at batch 1.*"
        rf"Received: labels in \[{low}, {high}\]",
    ):
        model.fit(dataset, verbose=0)
    # The model is the one trained on the first batch alone: the bad batch changed nothing.
    reference = CONDITIONAL[name](jit_compile)
    reference.fit(dataset.take(1), verbose=0)
    for a, b in zip(_state(reference), _state(model)):
        np.testing.assert_array_equal(a, b)


def test_the_error_quotes_the_failing_batch_of_a_steps_per_execution_call():
    # Batches 2 and 3 run in one call; batch 3 is good and must not overwrite what batch 2 broke.
    model = _conditional_vae(jit_compile=False)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=2)
    labels = np.zeros(64, "int32")
    labels[40] = 3
    dataset = tf.data.Dataset.from_tensor_slices((_vectors(64), labels)).batch(16)
    with pytest.raises(ValueError, match=r"Received: labels in \[0, 3\]"):
        model.fit(dataset, verbose=0)


@pytest.mark.parametrize("name", ["ConditionalVAE", "DiffusionModel"])
def test_validation_labels_out_of_range_are_named_under_xla(name):
    # XLA would clamp label 3 to 2 in a gather and report a validation loss for the wrong class.
    model = CONDITIONAL[name](jit_compile=True)
    labels = np.zeros(32, "int32")
    train = tf.data.Dataset.from_tensor_slices((_vectors(), labels)).batch(16)
    labels = labels.copy()
    labels[20] = 3
    validation = tf.data.Dataset.from_tensor_slices((_vectors(seed=1), labels)).batch(16)
    with pytest.raises(
        ValueError,
        match=r"labels in \[0, num_classes=3\) at validation batch 1 "
        r"\(validation changes no weight\).*Received: labels in \[0, 3\]",
    ):
        model.fit(train, validation_data=validation, verbose=0)
    with pytest.raises(ValueError, match=r"at validation batch 1"):
        model.evaluate(validation, verbose=0)
    # Good validation data after the error evaluates as before.
    model.evaluate(train, verbose=0)


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.zeros(32, "float32"), "integer class ids"),
        (np.eye(3, dtype="int32")[np.zeros(32, "int32")], "not one-hot"),
    ],
)
def test_float_and_one_hot_labels_are_refused(labels, match):
    model = _conditional_gan(False)
    before = _state(model)
    dataset = tf.data.Dataset.from_tensor_slices((_vectors(), labels)).batch(16)
    with pytest.raises(ValueError, match=match):
        model.fit(dataset, verbose=0)
    with pytest.raises(ValueError, match="`y` must hold 32 integer labels"):
        model.fit(_vectors(), labels, verbose=0)
    _assert_unchanged(before, model)


def _gpt(jit_compile):
    keras.utils.set_random_seed(0)  # the same initial weights every time
    model = models.GPT(
        vocabulary_size=16,
        sequence_length=8,
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        dropout=0.0,
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile)
    return model


@JIT
def test_gpt_out_of_vocabulary_tokens_change_no_weight(jit_compile):
    model = _gpt(jit_compile)
    tokens = np.random.RandomState(0).randint(0, 16, (16, 9)).astype("int32")
    tokens[3, 4] = 16
    before = _state(model)
    dataset = tf.data.Dataset.from_tensor_slices((tokens[:, :-1], tokens[:, 1:])).batch(8)
    with pytest.raises(
        ValueError,
        match=r"token ids in \[0, vocabulary_size=16\).*"
        r"Received: tokens in \[0, 16\]",
    ):
        model.fit(dataset, verbose=0)
    _assert_unchanged(before, model)
    with pytest.raises(ValueError, match=r"`x` must hold token ids in \[0, vocabulary_size"):
        model.fit(tokens[:, :-1], tokens[:, 1:], verbose=0)


def test_gpt_validation_tokens_out_of_vocabulary_are_named_under_xla():
    model = _gpt(jit_compile=True)
    tokens = np.random.RandomState(0).randint(0, 16, (16, 9)).astype("int32")
    model.fit(tokens[:, :-1], tokens[:, 1:], batch_size=8, verbose=0)
    tokens[11, 4] = 16
    dataset = tf.data.Dataset.from_tensor_slices((tokens[:, :-1], tokens[:, 1:])).batch(8)
    with pytest.raises(
        ValueError, match=r"vocabulary_size=16\) at validation batch 1.*tokens in \[0, 16\]"
    ):
        model.evaluate(dataset, verbose=0)


@JIT
def test_gpt_sequences_longer_than_its_window_are_refused(jit_compile):
    model = _gpt(jit_compile)
    tokens = np.zeros((8, 12), "int32")
    before = _state(model)
    dataset = tf.data.Dataset.from_tensor_slices((tokens, tokens)).batch(8)
    with pytest.raises(ValueError, match=r"inputs of shape \(batch, length\) with length <= 8"):
        model.fit(dataset, verbose=0)
    # A dataset of unknown length is checked by the step guard.
    unknown = tf.data.Dataset.from_generator(
        lambda: iter([(tokens, tokens)]),
        output_signature=(
            tf.TensorSpec((None, None), tf.int32),
            tf.TensorSpec((None, None), tf.int32),
        ),
    )
    with pytest.raises(ValueError, match="at most 8 tokens.*Received: sequences of 12"):
        model.fit(unknown, verbose=0)
    _assert_unchanged(before, model)


def test_gpt_refuses_float_tokens_and_prompts_that_are_not_text():
    model = _gpt(False)
    tokens = np.zeros((8, 8), "float32")
    dataset = tf.data.Dataset.from_tensor_slices((tokens, tokens)).batch(8)
    with pytest.raises(ValueError, match="integer token ids. Received: inputs of dtype float32"):
        model.fit(dataset, verbose=0)
    for prompt in (123, 4.5, None, [1.5, 2]):
        with pytest.raises(ValueError, match="`prompt` must be"):
            model.generate(prompt, max_length=2)


@JIT
def test_a_nan_batch_changes_no_weight_and_names_the_data(jit_compile):
    model = models.VAE(data_shape=(2,), latent_dim=2, likelihood="gaussian", seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile)
    x = _vectors()
    x[5, 1] = np.inf
    before = _state(model)
    with pytest.raises(keras_gen.NonFiniteLossError, match="`x` held NaN or infinite"):
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), verbose=0)
    _assert_unchanged(before, model)


@pytest.mark.parametrize("dtype", ["uint8", "int32"])
def test_integer_images_are_refused(dtype):
    model = models.DCGAN(data_shape=(8, 8, 1), latent_dim=4, seed=0)
    model.compile(generator_optimizer="adam", discriminator_optimizer="adam")
    images = np.random.RandomState(0).randint(0, 256, (16, 8, 8, 1)).astype(dtype)
    with pytest.raises(ValueError, match=f"float data.*Received: x of dtype {dtype}"):
        model.fit(images, verbose=0)
    with pytest.raises(ValueError, match=f"float data.*Received: x of dtype {dtype}"):
        model.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), verbose=0)


@JIT
def test_data_outside_the_generators_range_is_refused(jit_compile):
    model = models.GAN(data_shape=(2,), latent_dim=4, seed=0)
    model.compile(
        generator_optimizer="adam", discriminator_optimizer="adam", jit_compile=jit_compile
    )
    wide = _vectors(scale=4.0)
    before = _state(model)
    with pytest.raises(ValueError, match=r"data in \[-1, 1\].*Received: x in \[-3.85, 3.907\]"):
        model.fit(wide, verbose=0)
    with pytest.raises(
        ValueError, match=r"data in \[-1, 1\].*batch 0.*Received: x in \[-3.838, 3.829\]"
    ):
        model.fit(tf.data.Dataset.from_tensor_slices(wide).batch(16), verbose=0)
    _assert_unchanged(before, model)
    # A Gaussian VAE models any range: the same data train it.
    vae = models.VAE(data_shape=(2,), latent_dim=2, likelihood="gaussian", seed=0)
    vae.compile(optimizer="adam", jit_compile=jit_compile)
    assert np.isfinite(vae.fit(wide, verbose=0).history["loss"][0])


def test_0_to_255_float_images_are_refused_by_a_bernoulli_vae():
    model = models.VAE(data_shape=(2,), latent_dim=2, seed=0)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"data in \[-1, 1\]"):
        model.fit(_vectors() * 127.5 + 127.5, verbose=0)


def test_labels_and_sample_weights_for_an_unconditional_model_are_refused():
    model = models.GAN(data_shape=(2,), latent_dim=4, seed=0)
    model.compile(generator_optimizer="adam", discriminator_optimizer="adam")
    labels = np.zeros(32, "int32")
    with pytest.raises(ValueError, match="not conditional and would ignore labels.*Received: y"):
        model.fit(_vectors(), labels, verbose=0)
    with pytest.raises(ValueError, match="not conditional and would ignore labels.*Received: y"):
        model.fit(tf.data.Dataset.from_tensor_slices((_vectors(), labels)).batch(8), verbose=0)
    with pytest.raises(ValueError, match="does not take sample weights. Received: sample_weight"):
        model.fit(
            tf.data.Dataset.from_tensor_slices((_vectors(), labels, np.ones(32, "float32"))).batch(
                8
            ),
            verbose=0,
        )


def test_empty_data_is_refused():
    model = models.GAN(data_shape=(2,), latent_dim=4, seed=0)
    model.compile(generator_optimizer="adam", discriminator_optimizer="adam")
    with pytest.raises(ValueError, match="`x` is empty"):
        model.fit(np.zeros((0, 2), "float32"), verbose=0)
    with pytest.raises(ValueError, match="The training dataset is empty"):
        model.fit(
            tf.data.Dataset.from_tensor_slices(np.zeros((0, 2), "float32")).batch(8), verbose=0
        )
    filtered = tf.data.Dataset.from_tensor_slices(_vectors()).filter(lambda x: x[0] > 5).batch(8)
    with pytest.raises(ValueError, match="yielded no batch"):
        model.fit(filtered, verbose=0)


def test_set_random_seed_makes_a_model_without_seed_reproducible():
    def build():
        keras.utils.set_random_seed(5)
        model = models.GAN(data_shape=(2,), latent_dim=4)
        model.compile(generator_optimizer="adam", discriminator_optimizer="adam")
        return model

    first, second = build(), build()
    assert first.seed == second.seed
    keras.utils.set_random_seed(6)
    assert models.GAN(data_shape=(2,), latent_dim=4).seed != first.seed
    np.testing.assert_array_equal(first.generate(8), second.generate(8))
    data = _vectors()
    first.fit(data, verbose=0)
    second.fit(data, verbose=0)
    for a, b in zip(_state(first), _state(second)):
        np.testing.assert_array_equal(a, b)


def test_gpt_dropout_state_is_saved_so_training_after_a_load_continues_exactly(tmp_path):
    model = models.GPT(
        vocabulary_size=16,
        sequence_length=8,
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        dropout=0.5,
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    tokens = np.random.RandomState(0).randint(0, 16, (16, 9)).astype("int32")
    x, y = tokens[:, :-1], tokens[:, 1:]
    model.fit(x, y, batch_size=8, shuffle=False, verbose=0)
    path = str(tmp_path / "gpt.keras")
    model.save(path)
    keras.utils.set_random_seed(123)  # a new process's random state
    loaded = keras.models.load_model(path)
    model.fit(x, y, batch_size=8, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(_state(model), _state(loaded)):
        np.testing.assert_array_equal(a, b)


def test_jit_compile_auto_takes_xla_on_cpu_where_measured_faster(monkeypatch):
    monkeypatch.delenv("KERAS_GEN_JIT_COMPILE", raising=False)
    assert not tf.config.list_physical_devices("GPU")
    diffusion = _conditional_diffusion("auto")
    assert diffusion.jit_compile is True  # measured faster with XLA (docs/benchmarks.md)
    gan = models.GAN(data_shape=(2,), latent_dim=4, seed=0)
    gan.compile(generator_optimizer="adam", discriminator_optimizer="adam")
    assert gan.jit_compile is True  # vector GANs: measured faster with XLA
    images = models.DCGAN(data_shape=(28, 28, 1), latent_dim=4, seed=0)
    images.compile(generator_optimizer="adam", discriminator_optimizer="adam")
    assert images.jit_compile is False  # the DCGAN step: measured no faster with XLA on this CPU
    gan.compile(generator_optimizer="adam", discriminator_optimizer="adam", jit_compile=False)
    assert gan.jit_compile is False
    assert _gpt("auto").jit_compile is False
    gan.compile(generator_optimizer="adam", discriminator_optimizer="adam", jit_compile=True)
    assert gan.jit_compile is True
    diffusion.compile(optimizer="adam", run_eagerly=True)
    assert diffusion.jit_compile is False
    monkeypatch.setenv("KERAS_GEN_JIT_COMPILE", "0")
    diffusion.compile(optimizer="adam")
    assert diffusion.jit_compile is False
    with pytest.raises(ValueError, match="`jit_compile` must be 'auto', True or False"):
        gan.compile(generator_optimizer="adam", discriminator_optimizer="adam", jit_compile="yes")


# ---------------------------------------------------------------------- files and folders


def _write_images(directory, specs):
    """PNG files from `(name, height, width, mode)` specs, inside class folder `a`."""
    from PIL import Image

    folder = directory / "a"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for name, height, width, mode in specs:
        channels = {"L": 1, "RGB": 3}[mode]
        pixels = rng.randint(0, 256, (height, width, channels)).astype("uint8")
        Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode).save(folder / name)
    return folder


def test_a_corrupt_image_file_is_named_at_load_time(tmp_path):
    folder = _write_images(tmp_path, [("0.png", 8, 8, "L"), ("1.png", 8, 8, "L")])
    (folder / "2.png").write_bytes((folder / "1.png").read_bytes()[:40])  # cut short
    with pytest.raises(ValueError, match=r"Cannot read the image file .*2\.png"):
        keras_gen.data.load(str(tmp_path))


def test_image_folders_of_mixed_sizes_or_channels_need_to_say_how_to_convert(tmp_path):
    _write_images(tmp_path, [("0.png", 8, 8, "L"), ("1.png", 10, 12, "L")])
    with pytest.raises(ValueError, match=r"2 sizes \(8x8, 10x12\).*Received: image_size=None"):
        keras_gen.data.load(str(tmp_path))
    dataset, info = keras_gen.data.load(str(tmp_path), image_size=8)
    assert info.shape == (8, 8, 1) and next(iter(dataset)).shape == (2, 8, 8, 1)

    other = tmp_path / "other"
    _write_images(other, [("0.png", 8, 8, "L"), ("1.png", 8, 8, "RGB")])
    with pytest.raises(ValueError, match=r"\[1, 3\] channels.*Received: channels=None"):
        keras_gen.data.load(str(other))
    dataset, info = keras_gen.data.load(str(other), channels=3, shuffle=False)
    batch = next(iter(dataset)).numpy()
    assert info.shape == (8, 8, 3) and batch.shape == (2, 8, 8, 3)
    assert -1.0 <= batch.min() and batch.max() <= 1.0


def test_a_truncated_keras_file_is_damaged_not_missing(tmp_path):
    from keras_gen import saving

    model = models.GAN(data_shape=(2,), latent_dim=4, seed=0)
    path = tmp_path / "model.keras"
    saving.save_model(model, path)
    assert saving.load_model(path).seed == 0
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 30):
        broken = tmp_path / f"cut_{cut}.keras"
        broken.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=rf"cut_{cut}\.keras is damaged"):
            saving.load_model(broken)
    with pytest.raises(FileNotFoundError, match="No such .keras file"):
        saving.load_model(tmp_path / "absent.keras")


def test_a_damaged_backup_falls_back_to_the_previous_one(tmp_path):
    from keras_gen.callbacks import backup

    model = models.GAN(data_shape=(2,), latent_dim=4, seed=0)
    model.compile(generator_optimizer="adam", discriminator_optimizer="adam")
    callback = backup.Backup(tmp_path, run={"model": "gan"})
    callback.set_model(model)
    callback.on_epoch_end(0)
    callback.on_epoch_end(1)
    restored, epochs, run = backup.Backup.restore(tmp_path)
    assert epochs == 2 and run == {"model": "gan"} and isinstance(restored, models.GAN)
    newest = tmp_path / backup.MODEL_FILE
    newest.write_bytes(newest.read_bytes()[:-100])
    restored, epochs, _ = backup.Backup.restore(tmp_path)
    assert epochs == 1
    previous = tmp_path / backup.PREVIOUS_FILE
    previous.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="Every backup in .* is damaged"):
        backup.Backup.restore(tmp_path)


# ---------------------------------------------------------------------- metrics


def test_extractors_refuse_images_outside_their_input_range():
    from keras_gen.metrics import extractors

    extractor = extractors.get("mnist")
    images = np.random.RandomState(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    assert extractor(images)["features"].shape == (4, 128)
    with pytest.raises(ValueError, match=r"images in \[-1, 1\].*Received: images in \[0"):
        extractor(images * 127.5 + 127.5)
    with pytest.raises(ValueError, match="NaN or infinite"):
        extractor(np.full((1, 28, 28, 1), np.nan, "float32"))


def test_statistics_of_another_resolution_are_refused():
    from keras_gen.metrics import extractors

    extractor = extractors.get("mnist")
    rng = np.random.RandomState(0)
    small = extractors.dataset_stats(rng.uniform(-1, 1, (200, 8, 8, 1)), extractor)
    large = extractors.dataset_stats(rng.uniform(-1, 1, (200, 28, 28, 1)), extractor)
    assert small.protocol["image_shape"] == [8, 8, 1]
    with pytest.raises(ValueError, match=r"image_shape is \[8, 8, 1\] for one and \[28, 28, 1\]"):
        small.frechet_distance(large)


def test_fid_from_fewer_samples_than_dimensions_warns_of_the_bias():
    from keras_gen.metrics import FeatureStats

    rng = np.random.RandomState(0)
    stats = [FeatureStats(16), FeatureStats(16)]
    for s in stats:
        s.update(rng.normal(size=(10, 16)))
    with pytest.warns(UserWarning, match="FID from 10 samples of 16-d features.*biased upward"):
        stats[0].frechet_distance(stats[1])
    for s in stats:
        s.update(rng.normal(size=(20, 16)))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats[0].frechet_distance(stats[1])
