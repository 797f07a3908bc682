"""What a train step needs to know about the replicas it runs on."""

import numpy as np
import tensorflow as tf


class BatchContext:
    """Sizes of the local and global batch and this replica's offset in it.

    A train step builds one from the local batch. Losses divide their per-example
    sums by `global_size`, so that after the all-reduce (a SUM) of the gradients
    N replicas take the same step as one device on the same global batch.
    Random draws are made for the whole global batch from a stateless seed and
    sliced at `offset`, so every replica gets its own noise and the union over
    replicas equals what one device draws.
    """

    def __init__(self, batch):
        self.local_size = tf.shape(batch)[0]
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            self.global_size = self.local_size
            self.offset = tf.constant(0, dtype=self.local_size.dtype)
            return
        sizes = context.all_gather(tf.reshape(self.local_size, [1]), axis=0)
        replica = context.replica_id_in_sync_group
        self.global_size = tf.reduce_sum(sizes)
        self.offset = tf.reduce_sum(sizes[:replica])

    def mean(self, per_example):
        """Sum over the local examples divided by the global batch size."""
        return tf.reduce_sum(per_example) / tf.cast(self.global_size, per_example.dtype)

    def local_slice(self, global_values):
        """This replica's rows of a tensor drawn for the whole global batch."""
        return global_values[self.offset : self.offset + self.local_size]


def is_multi_worker(strategy):
    """True under a `MultiWorkerMirroredStrategy` whose cluster has several workers.

    Read from the public `cluster_resolver`: the chief and the workers of its
    cluster spec are the workers of the collective ops.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    resolver = strategy.cluster_resolver
    if resolver is None:
        return False
    jobs = resolver.cluster_spec().as_dict()
    return sum(len(jobs.get(job, ())) for job in ("chief", "worker")) > 1


def logs_for_fit(logs, strategy):
    """Makes train-step logs survive `fit()`'s reduction across replicas.

    Under a multi-worker strategy Keras reduces logs with
    `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars
    (tensorflow/tensorflow#72388); rank-1 logs of one element reduce to a scalar.
    """
    if not is_multi_worker(strategy):
        return logs
    return {k: tf.reshape(v, [1]) for k, v in logs.items()}


def stateless_seed(base_seed, counter, stream):
    """A `(2,)` int64 seed for `tf.random.stateless_*` from a base, step and stream."""
    base = tf.constant(np.int64(base_seed) % (2**62), dtype=tf.int64)
    counter = tf.cast(counter, tf.int64)
    return tf.stack([base, counter * 64 + stream])


def update_moving_average(averages, values, decay, ok=None):
    """`average <- decay * average + (1 - decay) * value`, replica-safe.

    With `ok` (a scalar bool equal on every replica, a step guard's verdict)
    the averages keep their values where `ok` is False.

    The update runs once per variable in cross-replica context, as optimizers do,
    so it works unchanged under `MirroredStrategy` and
    `MultiWorkerMirroredStrategy` (the values are already identical on every
    replica after the optimizer's update).
    """

    def apply(strategy, pairs, ok):
        if ok is not None:
            ok = strategy.experimental_local_results(ok)[0]

        def update(average, value):
            new = decay * average + (1.0 - decay) * tf.cast(value, average.dtype)
            return average.assign(new if ok is None else tf.where(ok, new, average))

        for average, value in pairs:
            strategy.extended.update(average, update, args=(value,), group=False)

    pairs = [(_tf_variable(a), _tf_variable(v)) for a, v in zip(averages, values)]
    if tf.distribute.in_cross_replica_context():
        apply(tf.distribute.get_strategy(), pairs, ok)
    else:
        tf.distribute.get_replica_context().merge_call(apply, args=(pairs, ok))


def _tf_variable(variable):
    return getattr(variable, "value", variable)
