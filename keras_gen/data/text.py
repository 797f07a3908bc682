"""Byte-level text data for the language models: vocabulary 256, nothing to download or train.

The built-in default `"pydoc"` is the English documentation that ships with
Python itself (`pydoc_data.topics`, about 466,000 bytes), split by position:
the first 90% for training, the last 10% for testing.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from keras_gen.data import datasets, epoch_order

VOCABULARY_SIZE = 256
TRAIN_FRACTION = 0.9


@dataclasses.dataclass(frozen=True)
class TextInfo:
    """What `load_text` returns beside the dataset."""

    name: str
    split: str
    vocabulary_size: int
    num_tokens: int
    sequence_length: int


def _pydoc_bytes():
    from pydoc_data import topics

    return "\n".join(topics.topics[key] for key in sorted(topics.topics)).encode("utf-8")


def _tfds_bytes(name, split, data_dir, download):
    _, dataset = datasets.tfds_split(name, split, data_dir, download)
    spec = dataset.element_spec
    key = next((k for k in ("text", "content", "sentence") if k in spec), None)
    if key is None:
        raise ValueError(
            f"tfds dataset {name!r} has no text feature. Received: features {list(spec)}"
        )
    return b"\n".join(example[key] for example in dataset.as_numpy_iterator())


def text_tokens(name="pydoc", split="train", data_dir=None, download=False):
    """The byte tokens of a text source's split, a uint8 numpy array.

    Args:
        name: `"pydoc"`, `"tfds:<name>"` (a tensorflow-datasets text dataset,
            e.g. `"tfds:tiny_shakespeare"`; its own splits) or the path of a
            plain text file (split by position like `"pydoc"`).
        split: `"train"` or `"test"` (any tfds split for `"tfds:"` names).
        data_dir: tensorflow-datasets data directory.
        download: let tensorflow-datasets download missing data.

    Raises:
        ValueError: for an unknown source or split, or an empty text.
    """
    if isinstance(name, str) and name.startswith("tfds:"):
        data = _tfds_bytes(name, split, data_dir, download)
    else:
        if split not in ("train", "test"):
            raise ValueError(f"`split` must be 'train' or 'test'. Received: split={split!r}")
        if name == "pydoc":
            data = _pydoc_bytes()
        elif isinstance(name, (str, os.PathLike)) and os.path.isfile(name):
            with open(name, "rb") as f:
                data = f.read()
        else:
            raise ValueError(
                "Unknown text source. Expected 'pydoc', 'tfds:<name>' or the "
                f"path of a text file. Received: name={name!r}"
            )
        cut = int(len(data) * TRAIN_FRACTION)
        data = data[:cut] if split == "train" else data[cut:]
    if not data:
        raise ValueError(f"The {split} split of {name!r} is empty. Received: name={name!r}")
    return np.frombuffer(data, dtype=np.uint8)


def load_text(
    name="pydoc",
    sequence_length=128,
    batch_size=32,
    split="train",
    shuffle=True,
    seed=None,
    consecutive=False,
    data_dir=None,
    download=False,
    steps_per_epoch=None,
):
    """Byte-level `(inputs, targets)` batches for next-token training.

    Args:
        name: see `text_tokens`.
        sequence_length: tokens per example; the targets are the inputs
            shifted by one byte.
        batch_size: examples per batch.
        split: `"train"` or `"test"`.
        shuffle: shuffle the non-overlapping windows every epoch (ignored
            with `consecutive`).
        seed: shuffling seed (None: drawn from Python's `random`). The order
            of epoch `e` is a function of `(seed, e)` (`keras_gen.data.epoch_order`).
        steps_per_epoch: make each epoch this many batches, read on across
            passes over the text (epoch `e` starts at batch `e * steps_per_epoch`
            of the endless sequence of passes, also after a resume).
        consecutive: for segment-recurrent models (Transformer-XL): the text is
            cut into `batch_size` contiguous streams, row `b` of batch `i` is
            segment `i` of stream `b`, and batches come in order, so each row
            continues where the same row of the previous batch stopped.
        data_dir: tensorflow-datasets data directory.
        download: let tensorflow-datasets download missing data.

    Returns:
        `(dataset, info)`: int32 `(batch, sequence_length)` pairs and a `TextInfo`.

    Example:
    >>> dataset, info = load_text("pydoc", sequence_length=64, batch_size=8)
    >>> info.vocabulary_size
    256
    """
    for argument, value in (("sequence_length", sequence_length), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{argument}` must be an int >= 1. Received: {argument}={value!r}")
    tokens = text_tokens(name, split, data_dir, download).astype("int32")
    info = TextInfo(str(name), split, VOCABULARY_SIZE, len(tokens), sequence_length)
    if consecutive:
        dataset = _streams(tokens, split, sequence_length, batch_size, steps_per_epoch)
    else:
        dataset = _windows(
            tokens, split, sequence_length, batch_size, shuffle, seed, steps_per_epoch
        )
    return dataset.prefetch(tf.data.AUTOTUNE), info


def _streams(tokens, split, sequence_length, batch_size, steps_per_epoch):
    """`batch_size` contiguous streams; batch `i` holds segment `i` of every stream, in order."""
    stream = (len(tokens) - 1) // batch_size
    segments = stream // sequence_length
    if segments < 1:
        raise ValueError(
            f"The {split} text ({len(tokens)} bytes) is too short for {batch_size} streams "
            f"of segments of {sequence_length}. Received: batch_size={batch_size}, "
            f"sequence_length={sequence_length}"
        )
    length = segments * sequence_length
    rows = np.stack([tokens[b * stream : b * stream + length + 1] for b in range(batch_size)])
    inputs = rows[:, :-1].reshape(batch_size, segments, sequence_length).transpose(1, 0, 2)
    targets = rows[:, 1:].reshape(batch_size, segments, sequence_length).transpose(1, 0, 2)
    if steps_per_epoch is None:
        return tf.data.Dataset.from_tensor_slices((inputs, targets))
    inputs, targets = tf.constant(inputs), tf.constant(targets)
    return epoch_order.shuffled_indices(segments, 0, 1, steps_per_epoch, shuffle=False).map(
        lambda i: (tf.gather(inputs, i), tf.gather(targets, i))
    )


def _windows(tokens, split, sequence_length, batch_size, shuffle, seed, steps_per_epoch):
    """Non-overlapping windows of `sequence_length + 1` bytes, shuffled per epoch or in order."""
    windows = (len(tokens) - 1) // sequence_length
    if windows < batch_size:
        raise ValueError(
            f"The {split} text ({len(tokens)} bytes) holds {windows} windows of "
            f"{sequence_length}, fewer than one batch. Received: batch_size={batch_size}"
        )
    starts = np.arange(windows) * sequence_length
    chunks = tokens[starts[:, None] + np.arange(sequence_length + 1)[None]]
    if shuffle:
        inputs, targets = tf.constant(chunks[:, :-1]), tf.constant(chunks[:, 1:])
        return (
            epoch_order.shuffled_indices(
                windows, epoch_order.resolve_seed(seed), batch_size, steps_per_epoch
            )
            .batch(batch_size, drop_remainder=True)
            .map(lambda i: (tf.gather(inputs, i), tf.gather(targets, i)))
        )
    if steps_per_epoch is not None:
        raise ValueError(
            "`steps_per_epoch` reads on across passes of shuffled windows and "
            "needs shuffle=True (or consecutive=True). Received: shuffle=False"
        )
    return tf.data.Dataset.from_tensor_slices((chunks[:, :-1], chunks[:, 1:])).batch(
        batch_size, drop_remainder=True
    )
