"""Stacked MNIST, the 1,000-mode benchmark of the mode-collapse literature, and its metrics.

Each example stacks three MNIST digits as the channels of one 28x28x3 image;
its mode is the triple of digit classes, `100 * a + 10 * b + c` for the
digits `a`, `b`, `c` of channels 0, 1 and 2 (Metz et al. 2017,
arXiv:1611.02163; VEEGAN, Srivastava et al. 2017, arXiv:1705.07761; PacGAN,
Lin et al. 2018, arXiv:1712.04086). keras_gen stacks the digits of mnist5k
(the train split's 4,500 for the train split, the test split's 500 for the
test split), drawn uniformly and independently with a fixed seed per split,
so every example is a fixed function of its split and index.

A generator is scored as the papers score it: each channel of each sample is
classified by a pretrained MNIST classifier (keras_gen's shipped
`MNISTClassifier`), a mode is covered when at least one sample falls in it,
and the KL divergence of the histogram of modes to the uniform distribution
over the 1,000 modes is reported, over 26,000 samples.
"""

import numpy as np
import tensorflow as tf

from keras_gen.data import epoch_order

NUM_MODES = 1000
#: Examples per split. 128,000 train examples is PacGAN's stacked-MNIST training
#: set (its VEEGAN-setting experiment); 26,000 is the number of samples the papers score.
NUM_EXAMPLES = {"train": 128_000, "test": 26_000}
#: Samples a generator is scored on (VEEGAN and PacGAN, Table 2).
NUM_SCORED_SAMPLES = 26_000
#: The seed of `digit_indices` for each split.
SPLIT_SEEDS = {"train": 0, "test": 1}


def digit_indices(num_examples, num_digits, seed):
    """Which digits each example stacks: `(num_examples, 3)` indices into `num_digits` digits.

    Independent uniform draws from `np.random.RandomState(seed)`: row `i` is
    the same for every call with the same arguments.
    """
    return np.random.RandomState(seed).randint(num_digits, size=(num_examples, 3))


def stack(digits, indices):
    """Images `(n, 28, 28, 3)`: channel `k` of example `i` is `digits[indices[i, k]]`.

    Args:
        digits: `(num_digits, 28, 28)` single-channel digits.
        indices: `(n, 3)` integer indices into `digits`.
    """
    return np.transpose(np.asarray(digits)[np.asarray(indices)], (0, 2, 3, 1))


def mode_of(digit_labels):
    """The mode index `100 * a + 10 * b + c` of `(n, 3)` digit classes `(a, b, c)`."""
    digit_labels = np.asarray(digit_labels)
    return (100 * digit_labels[:, 0] + 10 * digit_labels[:, 1] + digit_labels[:, 2]).astype("int32")


def make_dataset(digits, digit_labels, split, batch_size, labels, order):
    """`(dataset, num_examples)`: the stacked split of `digits`, built batch by batch.

    Only the indices are kept in memory (the 128,000 train images would take
    1.2 GB as float32): each batch gathers its digits in the `tf.data` pipeline.

    Args:
        digits: `(num_digits, 28, 28)` uint8 digits of the split.
        digit_labels: their classes, `(num_digits,)`.
        split: `"train"` or `"test"` (the number of examples and the seed).
        batch_size: examples per batch.
        labels: yield `(images, modes)` pairs.
        order: `dict(shuffle=, seed=, steps_per_epoch=)` as `datasets.load` resolves it.
    """
    num_examples = NUM_EXAMPLES[split]
    indices = digit_indices(num_examples, len(digits), SPLIT_SEEDS[split])
    images = tf.constant(np.asarray(digits, "float32") / 127.5 - 1.0)
    triples = tf.constant(indices.astype("int32"))
    modes = tf.constant(mode_of(np.asarray(digit_labels)[indices]))

    def gather(index):
        x = tf.transpose(tf.gather(images, tf.gather(triples, index)), [0, 2, 3, 1])
        return (x, tf.gather(modes, index)) if labels else x  # (b, 28, 28, 3)

    return epoch_order.gathered_batches(num_examples, batch_size, order, gather), num_examples


def classify_channels(images, classifier=None):
    """The digit class of each channel: `(n, 3)` ints from an MNIST classifier.

    Args:
        images: `(n, 28, 28, 3)` in [-1, 1].
        classifier: a `keras_gen.metrics.MNISTClassifier` (default: the shipped one).

    Raises:
        ValueError: for another shape (and, from the classifier, values outside [-1, 1]).
    """
    images = np.asarray(images, "float32")
    if images.ndim != 4 or images.shape[1:] != (28, 28, 3):
        raise ValueError(
            "Stacked MNIST samples must have shape (n, 28, 28, 3) in [-1, 1]. "
            f"Received: images with shape {images.shape}"
        )
    if classifier is None:
        from keras_gen.metrics import mnist_classifier

        classifier = mnist_classifier.MNISTClassifier()
    columns = [classifier(images[..., k : k + 1])["logits"].argmax(axis=1) for k in range(3)]
    return np.stack(columns, axis=1).astype("int32")


def mode_metrics(modes, num_modes=NUM_MODES):
    """Covered modes and the KL divergence to uniform of a histogram of mode indices.

    `kl` is `KL(p || uniform) = sum_k p_k log(p_k * num_modes)`, in nats, of
    the histogram `p` of `modes` (PacGAN's stacked-MNIST code): 0 for a
    uniform histogram, `log(num_modes)` when every sample has one mode.

    Args:
        modes: integer mode indices in `[0, num_modes)`, shape `(n,)`, n > 0.
        num_modes: the number of modes.

    Returns:
        A dict with `modes` (modes with at least one sample), `num_modes`,
        `kl` and `num_samples`.
    """
    modes = np.asarray(modes)
    if modes.ndim != 1 or not len(modes) or not np.issubdtype(modes.dtype, np.integer):
        raise ValueError(
            f"`modes` must be a non-empty vector of integers. Received: shape {modes.shape} "
            f"and dtype {modes.dtype}"
        )
    if modes.min() < 0 or modes.max() >= num_modes:
        raise ValueError(
            f"`modes` must lie in [0, {num_modes}). Received: modes in "
            f"[{modes.min()}, {modes.max()}]"
        )
    p = np.bincount(modes, minlength=num_modes) / len(modes)
    nonzero = p > 0
    return {
        "modes": int(nonzero.sum()),
        "num_modes": int(num_modes),
        "kl": float(np.sum(p[nonzero] * np.log(p[nonzero] * num_modes))),
        "num_samples": int(len(modes)),
    }


def stacked_mnist_metrics(images, classifier=None):
    """Mode coverage and KL to uniform of stacked MNIST samples, as VEEGAN and PacGAN score them.

    Each channel is classified by the MNIST classifier; a sample's mode is
    `100 * a + 10 * b + c` of its channels' digits. Score 26,000 samples
    (`NUM_SCORED_SAMPLES`) to compare with the papers' tables.

    Args:
        images: generated images `(n, 28, 28, 3)` in [-1, 1].
        classifier: a `keras_gen.metrics.MNISTClassifier` (default: the shipped one).

    Returns:
        The dict of `mode_metrics`: `modes` (of 1,000), `num_modes`, `kl` and
        `num_samples`.

    Example:
    >>> dataset, _ = keras_gen.data.load("stacked_mnist", split="test", batch_size=26_000)
    >>> stacked_mnist_metrics(next(iter(dataset)).numpy())["modes"]
    1000
    """
    return mode_metrics(mode_of(classify_channels(images, classifier)))
