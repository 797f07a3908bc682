import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gen
from keras_gen import testing
from keras_gen.models.video import VideoTransformerXL, frame_tokenizer


def _clips(n=8, frames=4, size=16, seed=0):
    """Moving MNIST at 32x32 shrunk to 16x16: real digits, small frames."""
    arrays, _ = keras_gen.data.video.moving_mnist_arrays(
        "train", num_sequences=n, seed=seed, num_frames=frames, frame_size=32
    )
    small = tf.image.resize(arrays.reshape(-1, 32, 32, 1).astype("float32"), (size, size))
    return (small.numpy().reshape(n, frames, size, size, 1) / 127.5 - 1.0).clip(-1, 1)


def _tokenizer():
    tokenizer = frame_tokenizer(
        (16, 16, 1), num_embeddings=16, embedding_dim=8, downsampling=2, seed=0
    )
    tokenizer.compile(optimizer=keras.optimizers.Adam(1e-3))
    return tokenizer


@pytest.fixture(scope="module")
def trained():
    clips = _clips()
    tokenizer = _tokenizer()
    tokenizer.fit(clips.reshape(-1, 16, 16, 1), batch_size=16, epochs=1, verbose=0)
    model = VideoTransformerXL(
        tokenizer, num_layers=1, num_heads=2, hidden_dim=16, dropout=0.0, seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(model.token_dataset(clips, batch_size=4), verbose=0)
    return model, clips


def test_tokens_lay_out_a_marker_and_the_codes_of_each_frame(trained):
    model, clips = trained
    assert model.tokens_per_frame == 17 and model.vocabulary_size == 18
    tokens = model.clip_tokens(clips)
    assert tokens.shape == (8, 4 * 17)
    frames = tokens.reshape(8, 4, 17)
    assert np.all(frames[:, 0, 0] == model.CLIP) and np.all(frames[:, 1:, 0] == model.FRAME)
    codes = model.tokenizer.encode_codes(clips.reshape(-1, 16, 16, 1)).reshape(8, 4, 16)
    np.testing.assert_array_equal(frames[:, :, 1:], codes)
    # Round trip: decoding the tokens gives the tokenizer's reconstructions, frame by frame.
    decoded = model.decode_tokens(tokens)
    expected = model.tokenizer.reconstruct(clips.reshape(-1, 16, 16, 1)).reshape(decoded.shape)
    np.testing.assert_allclose(decoded, np.clip(expected, -1, 1), atol=1e-6)
    np.testing.assert_array_equal(model.clip_tokens(decoded)[:, ::17], tokens[:, ::17])


def test_token_dataset_rows_continue_across_batches(trained):
    model, clips = trained
    tokens = model.clip_tokens(clips)
    batches = list(model.token_dataset(clips, batch_size=4))
    # 2 clips per row, 136 tokens a row, segments of 17: 7 full segments with a target after.
    assert len(batches) == 7
    row = np.concatenate([tokens[1], tokens[5]])  # row 1 holds clips 1 and 5
    inputs = np.concatenate([x[1].numpy() for x, _ in batches])
    targets = np.concatenate([y[1].numpy() for _, y in batches])
    np.testing.assert_array_equal(inputs, row[: len(inputs)])
    np.testing.assert_array_equal(targets, row[1 : len(inputs) + 1])


def test_loss_scores_codes_only(trained):
    model, _ = trained
    logits = tf.random.normal((2, 3, model.vocabulary_size), seed=1)
    targets = tf.constant([[1, model.FRAME, 2], [model.CLIP, 3, 4]])
    per_code = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    expected = [(per_code[0, 0] + per_code[0, 2]) / 2, (per_code[1, 1] + per_code[1, 2]) / 2]
    np.testing.assert_allclose(model.token_losses(logits, targets), expected, rtol=1e-6)


def test_predict_frames_and_generate(trained):
    model, clips = trained
    predicted = model.predict_frames(clips[:3, :2], num_frames=2)
    assert predicted.shape == (3, 2, 16, 16, 1)
    assert predicted.min() >= -1 and predicted.max() <= 1
    # Greedy decoding is the argmax of one pass over the whole stream while it fits the memory
    # (two frames): the second frame's codes follow from the first's.
    prompt = model.clip_tokens(clips[:1, :1])
    full = model.continue_tokens(prompt, total_frames=2)
    np.testing.assert_array_equal(full[:, :17], prompt)
    assert full[0, 17] == model.FRAME
    logits = model(full[:, :-1]).numpy()[0]
    np.testing.assert_array_equal(full[0, 18:], logits[17:, : model.FRAME].argmax(-1))
    videos = model.generate(2, num_frames=3, seed=0)
    assert videos.shape == (2, 3, 16, 16, 1)
    np.testing.assert_array_equal(videos, model.generate(2, num_frames=3, seed=0))
    assert not np.array_equal(videos, model.generate(2, num_frames=3, seed=1))
    testing.assert_traced_once(model, lambda: model.generate(1, num_frames=2, seed=3))


def test_round_trip_keeps_tokenizer_and_generation(trained, tmp_path):
    model, clips = trained
    path = str(tmp_path / "video.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, VideoTransformerXL)
    assert loaded.tokenizer.trainable is False
    np.testing.assert_array_equal(loaded.clip_tokens(clips), model.clip_tokens(clips))
    np.testing.assert_array_equal(
        loaded.generate(2, num_frames=2, seed=4), model.generate(2, num_frames=2, seed=4)
    )
    # Training changes the Transformer, never the frozen tokenizer.
    before = [w.numpy() for w in loaded.tokenizer.weights]
    loaded.compile(optimizer=keras.optimizers.Adam(1e-3))
    loaded.fit(loaded.token_dataset(clips, batch_size=4), verbose=0)
    for a, b in zip(before, loaded.tokenizer.weights):
        np.testing.assert_array_equal(a, b.numpy())


def test_two_replicas_equal_one_device():
    clips = _clips()
    tokenizer = _tokenizer()

    def build():
        keras.utils.set_random_seed(0)  # the Transformer's layers draw their initial weights
        model = VideoTransformerXL(
            tokenizer, num_layers=1, num_heads=2, hidden_dim=16, dropout=0.0, seed=0
        )
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        return model

    def train(model):
        model.fit(model.token_dataset(clips, batch_size=4).take(2), verbose=0)

    testing.assert_replicas_match_one_device(build, train)


def test_errors_name_the_argument(trained):
    model, clips = trained
    testing.expect_value_error(lambda: VideoTransformerXL("vq"), "tokenizer of type str")
    testing.expect_value_error(lambda: model.clip_tokens(clips[0]), "clips")
    testing.expect_value_error(lambda: model.clip_tokens(clips * 3), "clips")
    testing.expect_value_error(lambda: model.predict_frames(clips[:1, :1], 0), "num_frames")
    testing.expect_value_error(lambda: model.generate(1, 2, temperature=-1.0), "temperature")
    testing.expect_value_error(lambda: model.token_dataset(clips[:2], batch_size=4), "batch_size=4")
    testing.expect_value_error(
        lambda: model.decode_tokens(np.full((1, 17), 99)), "codes in [0, 16)"
    )
    testing.expect_value_error(lambda: frame_tokenizer((16, 16, 1), downsampling=5), "downsampling")
