import numpy as np
import pytest
import tensorflow as tf

from keras_gen import data


def test_pydoc_splits_by_position_and_windows_shift_by_one():
    train = data.text_tokens("pydoc", "train")
    test = data.text_tokens("pydoc", "test")
    assert len(train) > 400_000 and len(test) > 40_000
    assert abs(len(train) / (len(train) + len(test)) - 0.9) < 1e-4
    dataset, info = data.load_text("pydoc", sequence_length=16, batch_size=4, shuffle=False)
    inputs, targets = next(iter(dataset))
    assert info.vocabulary_size == 256 and inputs.shape == (4, 16)
    np.testing.assert_array_equal(inputs.numpy()[0], train[:16])
    np.testing.assert_array_equal(targets.numpy()[0], train[1:17])


def test_consecutive_rows_continue_across_batches(tmp_path):
    path = tmp_path / "text.txt"
    path.write_bytes(bytes(range(256)) * 8)
    dataset, _ = data.load_text(str(path), sequence_length=10, batch_size=3, consecutive=True)
    batches = list(dataset.as_numpy_iterator())
    tokens = data.text_tokens(str(path), "train")
    stream = (len(tokens) - 1) // 3
    for row in range(3):
        joined = np.concatenate([inputs[row] for inputs, _ in batches])
        np.testing.assert_array_equal(joined, tokens[row * stream : row * stream + len(joined)])
        np.testing.assert_array_equal(
            batches[1][1][row], tokens[row * stream + 11 : row * stream + 21]
        )


def test_bad_sources_are_named(tmp_path):
    with pytest.raises(ValueError, match="name='nope'"):
        data.load_text("nope")
    with pytest.raises(ValueError, match="split='validation'"):
        data.load_text("pydoc", split="validation")
    with pytest.raises(ValueError, match="sequence_length=0"):
        data.load_text("pydoc", sequence_length=0)
    short = tmp_path / "short.txt"
    short.write_bytes(b"tiny")
    with pytest.raises(ValueError, match="batch_size"):
        data.load_text(str(short), sequence_length=8, batch_size=2)


def test_tfds_text_with_mock_data():
    import tensorflow_datasets as tfds

    def text(*args, **kwargs):
        return tf.data.Dataset.from_tensor_slices(
            {
                "text": tf.constant(
                    ["First Citizen:\nBefore we proceed any further, hear me speak." * 20]
                )
            }
        )

    with tfds.testing.mock_data(num_examples=1, as_dataset_fn=text):
        dataset, info = data.load_text(
            "tfds:tiny_shakespeare", sequence_length=8, batch_size=4, shuffle=False
        )
        inputs, targets = next(iter(dataset))
    assert bytes(inputs.numpy()[0].astype("uint8")) == b"First Ci"
    np.testing.assert_array_equal(inputs.numpy()[0, 1:], targets.numpy()[0, :-1])
    assert info.num_tokens == 20 * 60


def test_tfds_text_without_data_fails_without_downloading(tmp_path):
    with pytest.raises(FileNotFoundError, match="tfds build tiny_shakespeare"):
        data.load_text("tfds:tiny_shakespeare", data_dir=str(tmp_path))
