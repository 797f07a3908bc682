import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import networks, testing
from keras_gen.data import captions
from keras_gen.models import ContrastiveImageText
from keras_gen.models.multimodal import contrastive
from keras_gen.networks import encoders, transformer

LENGTH = 16


def _pairs(n=8, seed=0):
    rng = np.random.RandomState(seed)
    images = rng.uniform(-1, 1, (n, 8, 8, 1)).astype("float32")
    texts = [f"{i} {captions.DIGIT_WORDS[i % 10]} {'thin' if i % 2 else 'bold'}" for i in range(n)]
    return images, captions.encode_captions(texts, LENGTH)


def _model(seed=0, optimizer=None):
    keras.utils.set_random_seed(seed)
    model = ContrastiveImageText(
        image_encoder=networks.image_encoder((8, 8, 1), output_dim=16, filters=(4,)),
        text_encoder=encoders.text_encoder(LENGTH, hidden_dim=16, num_layers=1, num_heads=2),
        embedding_dim=8,
        seed=seed,
    )
    model.compile(optimizer=optimizer or keras.optimizers.Adam(3e-3))
    return model


def test_info_nce_equals_clip_loss_computed_directly():
    rng = np.random.RandomState(1)
    images = tf.math.l2_normalize(rng.normal(size=(6, 4)).astype("float32"), -1)
    texts = tf.math.l2_normalize(rng.normal(size=(6, 4)).astype("float32"), -1)
    loss, correct = contrastive.info_nce(images, texts, images, texts, 3.0, tf.constant(0))
    logits = 3.0 * np.asarray(images) @ np.asarray(texts).T

    def cross_entropy(rows):
        rows = rows - rows.max(1, keepdims=True)
        return -(np.diag(rows) - np.log(np.exp(rows).sum(1)))

    expected = 0.5 * (cross_entropy(logits) + cross_entropy(logits.T))
    np.testing.assert_allclose(np.asarray(loss), expected, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(correct), logits.argmax(1) == np.arange(6))
    # A replica's half of the batch against the whole of it: its rows of the same loss.
    half, _ = contrastive.info_nce(images[3:], texts[3:], images, texts, 3.0, tf.constant(3))
    np.testing.assert_allclose(np.asarray(half), expected[3:], rtol=1e-5)


def test_encoder_block_ignores_padding_and_attends_both_ways():
    block = transformer.EncoderBlock(8, 2)
    x = tf.constant(np.random.RandomState(0).normal(size=(1, 5, 8)).astype("float32"))
    valid = tf.constant([[True, True, True, False, False]])
    out = block(x, valid)
    changed = tf.concat([x[:, :3], tf.fill((1, 2, 8), 7.0)], axis=1)
    # Padding positions' values change nothing at the valid positions.
    np.testing.assert_allclose(block(changed, valid)[:, :3], out[:, :3], atol=1e-6)
    # Not causal: a later valid position changes an earlier one's output.
    # (A shift of every feature would vanish in the layer norm: a new vector instead.)
    later = tf.concat([x[:, :2], x[:, 2:3][..., ::-1], x[:, 3:]], axis=1)
    assert np.abs(np.asarray(block(later, valid)[:, 0] - out[:, 0])).max() > 1e-4


def test_text_encoder_output_is_independent_of_padding_content():
    encoder = encoders.text_encoder(LENGTH, hidden_dim=16, num_layers=2, num_heads=2)
    tokens = captions.encode_captions(["a bold 7", "seven, thin"], LENGTH)
    out = np.asarray(encoder(tokens))
    assert out.shape == (2, LENGTH, 16)
    # The same caption at another batch position gives the same features.
    again = np.asarray(encoder(tokens[::-1]))
    np.testing.assert_allclose(again[1], out[0], atol=1e-5)


def test_training_aligns_pairs_and_similarity_is_cosine():
    images, tokens = _pairs(8)
    model = _model()
    before = model.evaluate(images, tokens, batch_size=8, verbose=0, return_dict=True)
    model.fit(images, tokens, batch_size=8, epochs=30, verbose=0)
    after = model.evaluate(images, tokens, batch_size=8, verbose=0, return_dict=True)
    assert after["loss"] < 0.5 * before["loss"]
    similarity = model.similarity(images, tokens)
    assert similarity.shape == (8, 8)
    assert np.all(np.abs(similarity) <= 1.0 + 1e-5)
    np.testing.assert_allclose(
        similarity, model.encode_images(images) @ model.encode_captions(tokens).T, atol=1e-6
    )
    assert model.retrieval_accuracy(images, tokens) == 1.0


def test_two_replicas_equal_one_device():
    images, tokens = _pairs(8)

    def train(model):
        model.fit(images, tokens, batch_size=8, epochs=1, verbose=0)

    # Plain SGD: Adam's first update is the gradient's sign, blind to its size.
    testing.assert_replicas_match_one_device(
        lambda: _model(optimizer=keras.optimizers.SGD(0.5)), train, tolerance=1e-5
    )


def test_save_load_continues_training(tmp_path):
    images, tokens = _pairs(8)
    model = _model()

    def train(m):
        m.fit(images, tokens, batch_size=4, epochs=1, verbose=0, shuffle=False)

    train(model)
    loaded = testing.assert_save_load_continues_training(model, train, tmp_path)
    np.testing.assert_allclose(loaded.similarity(images, tokens), model.similarity(images, tokens))


def test_bad_batches_change_no_weight():
    images, tokens = _pairs(8)
    bad = tokens.copy()
    bad[0, 0] = 300
    model = _model()
    weights = [w.copy() for w in model.get_weights()]
    dataset = tf.data.Dataset.from_tensor_slices((images, bad)).batch(8)
    with pytest.raises(ValueError, match="tokens"):
        model.fit(dataset, epochs=1, verbose=0)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="images alone"):
        model.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), verbose=0)
    with pytest.raises(ValueError, match="captions must be integer tokens"):
        model.fit(tf.data.Dataset.from_tensor_slices((images, tokens[:, :4])).batch(8), verbose=0)
    with pytest.raises(ValueError, match="`y` must hold 8 captions"):
        model.fit(images, tokens[:, :4], batch_size=8, verbose=0)
    with pytest.raises(ValueError, match=r"`y` tokens must lie in \[0, 256\)"):
        model.fit(images, bad, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="images alone"):
        model.fit(images, batch_size=8, verbose=0)


def test_bad_arguments_are_named():
    model = _model()
    images, _ = _pairs(2)
    with pytest.raises(ValueError, match=r"captions\[0\]` is empty"):
        model.similarity(images, [""])
    with pytest.raises(ValueError, match="at most 16 UTF-8 bytes"):
        model.similarity(images, ["x" * 17])
    with pytest.raises(ValueError, match="one caption per image"):
        model.retrieval_accuracy(images, ["a 1"])
    with pytest.raises(ValueError, match="`images` must have shape"):
        model.encode_images(np.zeros((2, 28, 28, 1)))
    with pytest.raises(ValueError, match="temperature"):
        ContrastiveImageText(temperature=0.001)
    with pytest.raises(ValueError, match="text_encoder"):
        ContrastiveImageText(text_encoder=networks.image_encoder((8, 8, 1)))


@pytest.mark.parametrize("policy", ["float32", "mixed_float16", "mixed_bfloat16"])
def test_a_caption_of_padding_only_gives_finite_features(policy):
    # The null caption of text-to-image guidance is all padding: with every key masked,
    # float16 scores of -inf made the softmax NaN.
    keras.mixed_precision.set_global_policy(policy)
    try:
        encoder = encoders.text_encoder(LENGTH, hidden_dim=16, num_layers=1, num_heads=2)
        out = encoder(np.zeros((2, LENGTH), "int32"))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.all(np.isfinite(np.asarray(out, "float32")))


def test_encoder_block_equals_plain_masked_attention_in_float32():
    # Models trained before the float16 fix give the same outputs, null caption included.
    block = transformer.EncoderBlock(16, 2)
    x = tf.constant(np.random.RandomState(0).normal(size=(3, 6, 16)).astype("float32"))
    valid = tf.constant([[False] * 6, [True] * 3 + [False] * 3, [True] * 6])
    out = np.asarray(block(x, valid))
    q, k, v = block.keys_values_queries(x)
    plain = transformer.finish_block(block, x, block._attend(q, k, v, valid[:, None, None]), False)
    np.testing.assert_array_equal(out, np.asarray(plain))
