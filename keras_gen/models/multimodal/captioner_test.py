import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import networks, testing
from keras_gen.data import captions
from keras_gen.models import ImageCaptioner
from keras_gen.models.multimodal import captioner

LENGTH = 10


def _model(seed=0, optimizer=None):
    keras.utils.set_random_seed(seed)
    model = ImageCaptioner(
        networks.image_encoder((8, 8, 1), output_dim=16, filters=(4,)),
        caption_length=LENGTH,
        prefix_length=2,
        num_layers=1,
        hidden_dim=16,
        num_heads=2,
        seed=seed,
    )
    model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-2))
    return model


def _pairs(n=4):
    images = np.stack([np.full((8, 8, 1), v, "float32") for v in np.linspace(-1, 1, n)])
    texts = [f"a {i}{'b' * i}" for i in range(n)]
    return images, captions.encode_captions(texts, LENGTH), texts


def test_caption_mask_counts_bytes_and_the_end_token():
    tokens = tf.constant(captions.encode_captions(["ab", "abcd"], 6))
    np.testing.assert_array_equal(
        captioner.caption_mask(tokens), [[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]]
    )


def test_loss_is_the_mean_cross_entropy_of_the_caption_bytes():
    model = _model()
    images, tokens, _ = _pairs()
    loss = np.asarray(model._per_example_loss(tf.constant(images), tf.constant(tokens), False))
    logits = np.asarray(model.logits(images, model.shifted(tf.constant(tokens))))
    shifted = logits - logits.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    for i, row in enumerate(tokens):
        end = int(np.flatnonzero(row == 0)[0])
        expected = -np.mean([log_p[i, j, row[j]] for j in range(end + 1)])
        assert loss[i] == pytest.approx(expected, rel=1e-5)


def test_decoding_is_causal_and_greedy_captions_are_learned():
    model = _model()
    images, tokens, texts = _pairs()
    # A later input token changes no earlier logit.
    inputs = model.shifted(tf.constant(tokens))
    changed = tf.concat([inputs[:, :5], tf.fill([4, LENGTH - 5], 65)], axis=1)
    np.testing.assert_allclose(
        model.logits(images, changed)[:, :5], model.logits(images, inputs)[:, :5], atol=1e-5
    )
    model.fit(images, tokens, batch_size=4, epochs=150, verbose=0)
    assert model.generate(images, temperature=0) == texts
    sampled = model.generate(images, seed=3, top_k=2)
    assert sampled == model.generate(images, seed=3, top_k=2)
    assert len(model.generate(images, max_length=3, temperature=0)[3]) <= 3
    testing.assert_traced_once(model, lambda: model.generate(images[:1], seed=1, top_p=0.5))


def test_two_replicas_equal_one_device():
    images, tokens, _ = _pairs(8)

    def train(model):
        model.fit(images, tokens, batch_size=8, epochs=1, verbose=0)

    testing.assert_replicas_match_one_device(
        lambda: _model(optimizer=keras.optimizers.SGD(0.5)), train, tolerance=1e-5
    )


def test_save_load_continues_training(tmp_path):
    images, tokens, _ = _pairs()
    model = _model()

    def train(m):
        m.fit(images, tokens, batch_size=2, epochs=1, verbose=0, shuffle=False)

    train(model)
    loaded = testing.assert_save_load_continues_training(model, train, tmp_path)
    assert loaded.generate(images, seed=1) == model.generate(images, seed=1)


def test_bad_input_is_named_and_changes_no_weight():
    model = _model()
    images, tokens, _ = _pairs()
    bad = tokens.copy()
    bad[1, 1] = 1000
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"token ids in \[0, vocabulary_size=256\)"):
        model.fit(tf.data.Dataset.from_tensor_slices((images, bad)).batch(4), verbose=0)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    for kwargs, match in [
        (dict(max_length=LENGTH + 1), "max_length` must be at most caption_length=10"),
        (dict(max_length=0), "max_length"),
        (dict(temperature=-1), "temperature"),
        (dict(top_k=0), "top_k"),
        (dict(top_p=1.5), "top_p"),
    ]:
        with pytest.raises(ValueError, match=match):
            model.generate(images, **kwargs)
    with pytest.raises(ValueError, match="`images` must have shape"):
        model.generate(np.zeros((2, 28, 28, 1)))


def test_a_bad_token_changes_no_weight_under_xla():
    # "auto" takes XLA on a CPU for this model; an XLA gather would clamp the token silently.
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=True)
    images, tokens, _ = _pairs()
    tokens[2, 0] = 300
    weights = [w.copy() for w in model.get_weights()]
    dataset = tf.data.Dataset.from_tensor_slices((images, tokens)).batch(4)
    with pytest.raises(ValueError, match=r"token ids in \[0, vocabulary_size=256\)"):
        model.fit(dataset, verbose=0)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"vocabulary_size=256\) at validation batch 0"):
        model.evaluate(dataset, verbose=0)
