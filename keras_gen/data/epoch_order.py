"""Data orders that are a function of the seed and the epoch, not of the process.

`fit()` draws fresh shuffle seeds every epoch from the process's random state,
so a run resumed in a new process at epoch 3 would read epoch 1's order and
end with other weights than the run it continues. keras_gen's datasets instead
permute their examples with a stateless shuffle keyed by `(seed, epoch)`: the
epoch is the one `fit()` is in (set by the `EpochOrder` callback, which
`GenerativeModel.fit` adds), so epoch 3 reads the same examples in the same
order in the first process and in the one that resumes it. Outside `fit()`
each new pass over a dataset counts as the next epoch, as a reshuffling
`tf.data` shuffle would.
"""

import random

import keras
import numpy as np
import tensorflow as tf

_STATE = {"epoch": None, "passes": 0}


class EpochOrder(keras.callbacks.Callback):
    """Tells keras_gen's datasets the epoch `fit()` is in, so the data order follows it."""

    def on_train_begin(self, logs=None):
        _STATE["epoch"] = 0

    def on_epoch_begin(self, epoch, logs=None):
        _STATE["epoch"] = int(epoch)

    def on_train_end(self, logs=None):
        _STATE["epoch"] = None


def _current_epoch():
    if _STATE["epoch"] is not None:
        return np.int64(_STATE["epoch"])
    _STATE["passes"] += 1
    return np.int64(_STATE["passes"] - 1)


def resolve_seed(seed):
    """`seed`, or one drawn from Python's `random` (seeded by `keras.utils.set_random_seed`).

    The rule of `keras.random.SeedGenerator(seed=None)`; models without `seed=` use it too.
    """
    if seed is None:
        return random.randint(1, int(1e9))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be an int >= 0 or None. Received: seed={seed!r}")
    return int(seed)


def permutation(num_examples, seed, epoch):
    """The order of `range(num_examples)` in `epoch`: a stateless shuffle keyed by `(seed, epoch)`."""
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(tf.range(num_examples, dtype=tf.int64), key)


def shuffled_indices(num_examples, seed, batch_size, steps_per_epoch=None, shuffle=True):
    """A dataset of example indices whose order in each epoch is a function of `(seed, epoch)`.

    Args:
        num_examples: size of the data.
        seed: int seed of the order.
        batch_size: examples per batch (for the cardinality and `steps_per_epoch`).
        steps_per_epoch: if set, each epoch is this many full batches read on
            across passes over the data: epoch `e` takes positions
            `[e * n, (e + 1) * n)`, `n = steps_per_epoch * batch_size`, of the
            endless sequence of passes, pass `p` permuted by `(seed, p)`.
        shuffle: False keeps every pass in order (for consecutive text
            segments): then only `steps_per_epoch` moves the start.

    Returns:
        A `tf.data.Dataset` of int64 indices (unbatched) with a known
        cardinality, so Keras shows the epoch's length from the first epoch.
    """

    def one_pass(index):
        if not shuffle:
            return tf.data.Dataset.range(num_examples)
        return tf.data.Dataset.from_tensor_slices(permutation(num_examples, seed, index))

    def one_epoch(_):
        epoch = tf.py_function(_current_epoch, [], tf.int64)
        epoch.set_shape([])
        if steps_per_epoch is None:
            return one_pass(epoch)
        size = steps_per_epoch * batch_size
        start = epoch * size
        first, last = start // num_examples, (start + size - 1) // num_examples
        return (
            tf.data.Dataset.range(first, last + 1)
            .flat_map(one_pass)
            .skip(start - first * num_examples)
            .take(size)
        )

    size = num_examples if steps_per_epoch is None else steps_per_epoch * batch_size
    return (
        tf.data.Dataset.from_tensors(0)
        .flat_map(one_epoch)
        .apply(tf.data.experimental.assert_cardinality(size))
    )


def gathered_batches(num_examples, batch_size, order, gather):
    """Batches `gather(indices)` of `range(num_examples)`, in the order `datasets.load` resolved.

    Only the indices flow through the pipeline: each batch gathers its
    examples (`gather` maps an int64 `(b,)` index batch to tensors).

    Args:
        num_examples: size of the data.
        batch_size: examples per batch.
        order: `dict(shuffle=, seed=, steps_per_epoch=)` (shuffled by `shuffled_indices`).
        gather: `fn(indices) -> batch`.
    """
    if order["shuffle"]:
        index = shuffled_indices(num_examples, order["seed"], batch_size, order["steps_per_epoch"])
    else:
        index = tf.data.Dataset.range(num_examples)
    dataset = index.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def shuffle_buffer(dataset, buffer_size, seed):
    """`dataset.shuffle(buffer_size)` whose order in each epoch is a function of `(seed, epoch)`.

    For streams too large to permute by index (tensorflow-datasets): the
    buffer's seed is derived from the seed and the epoch.
    """

    def one_epoch(_):
        epoch = tf.py_function(_current_epoch, [], tf.int64)
        epoch.set_shape([])
        epoch_seed = tf.random.stateless_uniform(
            [],
            tf.stack([tf.constant(seed, tf.int64), epoch]),
            minval=0,
            maxval=2**62,
            dtype=tf.int64,
        )
        # `shuffle` combines its seed with the global one (`tf.random.set_seed`, which
        # `keras.utils.set_random_seed` calls): with a tensor seed and a global seed of 0 that
        # fails at trace time, and any global seed would change the order. The order is a
        # function of (seed, epoch) alone, so the traced function's graph gets no global seed.
        graph = tf.compat.v1.get_default_graph()
        global_seed, graph.seed = graph.seed, None
        try:
            return dataset.shuffle(buffer_size, seed=epoch_seed)
        finally:
            graph.seed = global_seed

    return tf.data.Dataset.from_tensors(0).flat_map(one_epoch)
