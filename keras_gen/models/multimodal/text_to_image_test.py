import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import networks, testing
from keras_gen.data import captions
from keras_gen.models import TextToImageDiffusion
from keras_gen.networks import encoders

LENGTH = 12


class _PadFeatures(keras.layers.Layer):
    """Adds `offset` to the features of the padding positions only (a probe of the masking)."""

    def build(self, input_shape):
        self.offset = self.add_weight(shape=(input_shape[-1],), initializer="zeros")

    def call(self, features, tokens):
        pad = keras.ops.cast(keras.ops.equal(tokens, 0), features.dtype)[..., None]
        return features + pad * self.offset


def _text_encoder(probe=False):
    encoder = encoders.text_encoder(LENGTH, hidden_dim=16, num_layers=1, num_heads=2)
    if not probe:
        return encoder
    tokens = keras.Input((LENGTH,), dtype="int32")
    return keras.Model(tokens, _PadFeatures(name="pad_probe")(encoder(tokens), tokens))


def _unet(text_encoder):
    return networks.unet(
        (8, 8, 1),
        base_channels=8,
        # One level, attention (self and cross) in the middle only: less to trace.
        channel_multipliers=(1,),
        attention_resolutions=(),
        groups=4,
        text_encoder=text_encoder,
    )


def _model(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    model = TextToImageDiffusion(_unet(_text_encoder()), timesteps=50, seed=seed, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _pairs(n=8):
    rng = np.random.RandomState(0)
    images = rng.uniform(-1, 1, (n, 8, 8, 1)).astype("float32")
    tokens = captions.encode_captions([f"a {i % 10}" for i in range(n)], LENGTH)
    return images, tokens


def test_cross_attention_ignores_padding_features_and_reads_the_others():
    network = _unet(_text_encoder(probe=True))
    (probe,) = [layer for layer in network._flatten_layers() if layer.name == "pad_probe"]
    x = tf.constant(np.random.RandomState(1).normal(size=(2, 8, 8, 1)).astype("float32"))
    t = tf.constant([3.0, 40.0])
    tokens = tf.constant(captions.encode_captions(["a 7", "a bold 1"], LENGTH))
    before = np.asarray(network([x, t, tokens]))
    assert before.shape == (2, 8, 8, 1)
    probe.offset.assign(np.full(16, 50.0, "float32"))
    np.testing.assert_allclose(np.asarray(network([x, t, tokens])), before, atol=1e-5)
    # The captions' valid tokens are read: another digit gives another output.
    changed = network([x, t, tf.constant(captions.encode_captions(["a 8", "a bold 1"], LENGTH))])
    assert np.abs(np.asarray(changed)[0] - before[0]).max() > 1e-4
    np.testing.assert_allclose(np.asarray(changed)[1], before[1], atol=1e-5)


def test_caption_dropout_gives_the_null_caption():
    model = _model()
    tokens = tf.constant(captions.encode_captions(["a 1", "a 2", "a 3"], LENGTH))
    dropped = model.dropped_condition(tokens, tf.constant([True, False, True]))
    np.testing.assert_array_equal(dropped[0], np.zeros(LENGTH))
    np.testing.assert_array_equal(dropped[1], tokens[1])
    np.testing.assert_array_equal(model.null_condition(2), np.zeros((2, LENGTH)))


def test_guidance_formula_and_scale_one_is_plain_conditional_sampling():
    model = _model()
    network = model.network
    x = tf.constant(np.random.RandomState(2).normal(size=(2, 8, 8, 1)).astype("float32"))
    times = tf.constant([5, 30])
    tokens = tf.constant(captions.encode_captions(["a 7", "a 2"], LENGTH))
    conditional = network([x, tf.cast(times, "float32"), tokens])
    null = network([x, tf.cast(times, "float32"), tf.zeros_like(tokens)])
    guided = model._guided_output(network, x, times, tokens, tf.constant(2.5))
    np.testing.assert_allclose(guided, null + 2.5 * (conditional - null), atol=1e-5)
    plain = model._guided_output(network, x, times, tokens, tf.constant(1.0))
    np.testing.assert_allclose(plain, conditional, atol=1e-6)
    prompts = ["a 7", "a 2"]
    one = model.generate(prompts, seed=0, steps=4, guidance_scale=1.0)
    none = model.generate(prompts, seed=0, steps=4)
    np.testing.assert_array_equal(one, none)
    three = model.generate(prompts, seed=0, steps=4, guidance_scale=3.0)
    assert one.shape == (2, 8, 8, 1) and np.abs(three - one).max() > 1e-4


# The three tests that train the U-Net (save/load, replicas, XLA) cost 25-35 s each of tracing on
# the CI machine: `pytest -m slow` runs them, the default run stays under 15 minutes.
@pytest.mark.slow
def test_trains_saves_and_continues(tmp_path):
    images, tokens = _pairs()
    model = _model()

    def train(m):
        m.fit(images, tokens, batch_size=4, epochs=1, verbose=0, shuffle=False)

    train(model)
    loaded = testing.assert_save_load_continues_training(model, train, tmp_path)
    assert type(loaded) is TextToImageDiffusion and loaded.caption_dropout == 0.1
    np.testing.assert_array_equal(
        loaded.generate(["a 3"], seed=1, steps=3), model.generate(["a 3"], seed=1, steps=3)
    )


@pytest.mark.slow
def test_two_replicas_equal_one_device():
    images, tokens = _pairs()

    def train(model):
        model.fit(images, tokens, batch_size=8, epochs=1, verbose=0)

    def build():
        model = _model(caption_dropout=0.5)
        # Plain SGD: Adam's first update is the gradient's sign, which turns the
        # all-reduce's rounding of near-zero gradients (unused position embeddings) into 1e-3.
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        return model

    testing.assert_replicas_match_one_device(build, train, tolerance=1e-5)


@pytest.mark.slow
def test_bad_tokens_change_no_weight_under_xla():
    # XLA is the case where a gather would clamp the token; the guard is the same code without it.
    jit_compile = True
    images, tokens = _pairs()
    tokens[3, 2] = 999
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile)
    weights = [w.copy() for w in model.get_weights()]
    dataset = tf.data.Dataset.from_tensor_slices((images, tokens)).batch(8)
    with pytest.raises(ValueError, match=r"token ids in \[0, vocabulary_size=256\)"):
        model.fit(dataset, epochs=1, verbose=0)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_prompts_and_data_are_named():
    model = _model()
    images, tokens = _pairs()
    for prompts, match in [
        ([], "non-empty list"),
        ([""], r"prompts\[0\]` is empty"),
        (["x" * (LENGTH + 1)], f"at most {LENGTH} UTF-8 bytes"),
        ([3], "must hold strings"),
        (np.zeros((1, 5), "int32"), f"as tokens must have shape \\(n, {LENGTH}\\)"),
    ]:
        with pytest.raises(ValueError, match=match) as info:
            model.generate(prompts, steps=2)
        assert "prompts" in str(info.value)
    with pytest.raises(ValueError, match="images alone"):
        model.fit(images, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"`y` tokens must lie in \[0, 256\)"):
        model.fit(images, tokens + 300, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="needs training data in"):
        model.fit(images * 3, tokens, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="not both"):
        networks.unet(
            (8, 8, 1), base_channels=8, groups=4, num_classes=2, text_encoder=_text_encoder()
        )
    with pytest.raises(ValueError, match=r"\[x_t, t, captions\]"):
        TextToImageDiffusion(networks.unet((8, 8, 1), base_channels=8, groups=4, num_classes=2))
