"""The metrics as Keras metrics whose state adds up across replicas.

`FrechetDistance`, `InceptionScore`, `KernelInceptionDistance`,
`PrecisionRecall` and `DensityCoverage` can be created inside a distribution
scope and updated inside `strategy.run`; N replicas give what one device gives
on the same global batches.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.metrics import frechet, manifold, scores
from keras_gen.metrics.feature_stats import FeatureStats
from keras_gen.utils import distribution


class FrechetDistance(keras.metrics.Metric):
    """Streaming FID against reference statistics, usable inside a distribution scope.

    The state is the count, sum and sum of outer products of the features seen,
    in float64 variables with SUM aggregation, so updates made on N replicas
    add up to what one device accumulates on the same features. `result()`
    computes the Frechet distance to `reference` in float64.

    Args:
        reference: `FeatureStats` of the real data.
        name: metric name (the log key).

    Example:
    ```python
    with strategy.scope():
        fid = FrechetDistance(reference_stats)
    strategy.run(lambda f: fid.update_state(f), args=(features,))
    fid.result()
    ```
    """

    def __init__(self, reference, name="fid", **kwargs):
        super().__init__(name=name, dtype="float64", **kwargs)
        if not isinstance(reference, FeatureStats):
            raise ValueError(
                "`reference` must be a FeatureStats. "
                f"Received: reference of type {type(reference).__name__}"
            )
        self.reference = reference
        dim = reference.dim
        self.count = self.add_variable(
            (), "zeros", dtype="float64", aggregation="sum", name="count"
        )
        self.total = self.add_variable(
            (dim,), "zeros", dtype="float64", aggregation="sum", name="total"
        )
        self.outer = self.add_variable(
            (dim, dim), "zeros", dtype="float64", aggregation="sum", name="outer"
        )

    def update_state(self, features):
        features = tf.cast(features, tf.float64)
        self.count.assign_add(tf.cast(tf.shape(features)[0], tf.float64))
        self.total.assign_add(tf.reduce_sum(features, axis=0))
        self.outer.assign_add(tf.matmul(features, features, transpose_a=True))

    def feature_stats(self):
        """The accumulated state as a `FeatureStats` (with the reference's protocol)."""
        stats = FeatureStats(self.reference.dim, self.reference.protocol)
        stats.count = int(_read(self.count))
        stats.total = _read(self.total)
        stats.outer = _read(self.outer)
        return stats

    def result(self):
        def distance(count, total, outer):
            stats = FeatureStats(self.reference.dim)
            stats.count, stats.total, stats.outer = int(count), total, outer
            return np.float64(
                frechet.frechet_distance(
                    self.reference.mean, self.reference.covariance, stats.mean, stats.covariance
                )
            )

        return tf.numpy_function(distance, [self.count, self.total, self.outer], tf.float64)

    def reset_state(self):
        for variable in (self.count, self.total, self.outer):
            variable.assign(tf.zeros_like(variable))


def _read(variable):
    """A metric variable's value; under a strategy, the sum over replicas."""
    return tf.convert_to_tensor(variable.value).numpy()


def _global_positions(count, features):
    """Positions in the global stream of this replica's rows: `count + offset + arange(local)`.

    `count` is the number of rows seen before this update (the same on every
    replica); the offset is this replica's place in the global batch.
    """
    batch = distribution.BatchContext(features)
    positions = (
        tf.cast(count, tf.int64)
        + tf.cast(batch.offset, tf.int64)
        + tf.range(tf.cast(batch.local_size, tf.int64))
    )
    return positions, tf.cast(batch.global_size, tf.int64)


class InceptionScore(keras.metrics.Metric):
    """Streaming Inception Score over `num_samples` logits, usable inside a distribution scope.

    The reference splits the samples into `splits` contiguous parts; the
    metric knows which part each example falls in from its position in the
    global stream (replicas take consecutive slices of each global batch), and
    keeps per part the count, the sum of `p(y|x)` and the sum of
    `sum_y p(y|x) log p(y|x)`, in float64 with SUM aggregation. Examples past
    `num_samples` are ignored. `result()` is
    `{"inception_score": mean, "inception_score_std": std}` over the parts,
    equal to `inception_score(logits[:num_samples], splits)`.

    Args:
        num_samples: number of examples the score is over.
        splits: number of contiguous parts.
        num_classes: logits per example (1008 for the FID Inception network).
        name: metric name.
    """

    def __init__(self, num_samples, splits=10, num_classes=1008, name="inception_score", **kwargs):
        super().__init__(name=name, dtype="float64", **kwargs)
        if (
            not isinstance(num_samples, int)
            or not isinstance(splits, int)
            or splits < 1
            or num_samples < splits
        ):
            raise ValueError(
                "`num_samples` and `splits` must be ints with num_samples >= "
                f"splits >= 1. Received: num_samples={num_samples!r}, "
                f"splits={splits!r}"
            )
        self.num_samples, self.splits, self.num_classes = num_samples, splits, num_classes
        self.boundaries = tf.constant(
            [k * num_samples // splits for k in range(1, splits)], tf.int64
        )
        self.seen = self.add_variable(
            (), "zeros", dtype="int64", aggregation="only_first_replica", name="seen"
        )
        self.counts = self.add_variable(
            (splits,), "zeros", dtype="float64", aggregation="sum", name="counts"
        )
        self.probabilities = self.add_variable(
            (splits, num_classes), "zeros", dtype="float64", aggregation="sum", name="probabilities"
        )
        self.negentropy = self.add_variable(
            (splits,), "zeros", dtype="float64", aggregation="sum", name="negentropy"
        )

    def update_state(self, logits):
        logits = tf.cast(logits, tf.float64)
        positions, global_size = _global_positions(self.seen, logits)
        keep = positions < self.num_samples
        part = tf.searchsorted(self.boundaries, tf.boolean_mask(positions, keep), side="right")
        log_p = tf.nn.log_softmax(tf.boolean_mask(logits, keep))
        p = tf.exp(log_p)
        self.counts.assign_add(
            tf.math.unsorted_segment_sum(tf.ones_like(part, tf.float64), part, self.splits)
        )
        self.probabilities.assign_add(tf.math.unsorted_segment_sum(p, part, self.splits))
        self.negentropy.assign_add(
            tf.math.unsorted_segment_sum(tf.reduce_sum(p * log_p, axis=1), part, self.splits)
        )
        self.seen.assign_add(global_size)

    def result(self):
        mean_p = self.probabilities / self.counts[:, None]
        log_mean = tf.math.log(tf.where(mean_p > 0, mean_p, tf.ones_like(mean_p)))
        kl = self.negentropy / self.counts - tf.reduce_sum(mean_p * log_mean, axis=1)
        scores = tf.exp(kl)
        return {self.name: tf.reduce_mean(scores), f"{self.name}_std": tf.math.reduce_std(scores)}

    def reset_state(self):
        for variable in (self.seen, self.counts, self.probabilities, self.negentropy):
            variable.assign(tf.zeros_like(variable))


class _FeatureBuffer(keras.metrics.Metric):
    """Keeps the first `capacity` feature rows of the global stream, in order, across replicas.

    Each replica adds its rows at their global positions into a zero-filled
    update of a buffer with SUM aggregation, so the summed buffer holds every
    row once, in the order one device would have seen them.
    """

    def __init__(self, real, capacity, name, **kwargs):
        super().__init__(name=name, dtype="float32", **kwargs)
        self.real = np.asarray(real, "float64")
        if self.real.ndim != 2 or len(self.real) < 2:
            raise ValueError(
                "`real` must be features of shape (n, d) with n >= 2. "
                f"Received: real with shape {self.real.shape}"
            )
        if not isinstance(capacity, int) or capacity < 2:
            raise ValueError(f"`capacity` must be an int >= 2. Received: capacity={capacity!r}")
        self.capacity = capacity
        self.rows = self.add_variable(
            (capacity, self.real.shape[1]), "zeros", dtype="float32", aggregation="sum", name="rows"
        )
        self.seen = self.add_variable(
            (), "zeros", dtype="int64", aggregation="only_first_replica", name="seen"
        )

    def update_state(self, features):
        features = tf.cast(features, tf.float32)
        positions, global_size = _global_positions(self.seen, features)
        keep = positions < self.capacity
        self.rows.assign_add(
            tf.scatter_nd(
                tf.boolean_mask(positions, keep)[:, None],
                tf.boolean_mask(features, keep),
                tf.shape(self.rows, out_type=tf.int64),
            )
        )
        self.seen.assign_add(global_size)

    def fake_features(self):
        """The rows kept so far, numpy `(min(seen, capacity), d)`."""
        count = min(int(_read(self.seen)), self.capacity)
        return _read(self.rows)[:count]

    def result(self):
        names = self.result_names()

        def compute(rows, seen):
            values = self.compute(self.real, rows[: min(int(seen), self.capacity)])
            return [np.float64(v) for v in values]

        values = tf.numpy_function(compute, [self.rows, self.seen], [tf.float64, tf.float64])
        return {name: tf.reshape(value, []) for name, value in zip(names, values)}

    def reset_state(self):
        for variable in (self.rows, self.seen):
            variable.assign(tf.zeros_like(variable))


class KernelInceptionDistance(_FeatureBuffer):
    """Streaming KID of up to `capacity` generated features against `real` ones.

    `result()` is `{"kid": mean, "kid_std": std}` of
    `kernel_inception_distance(real, fake, num_subsets, subset_size, seed)`
    on the rows kept, which are the same on one device or many.
    """

    def __init__(
        self,
        real,
        capacity=10_000,
        num_subsets=100,
        subset_size=1000,
        seed=None,
        name="kid",
        **kwargs,
    ):
        super().__init__(real, capacity, name, **kwargs)
        self.num_subsets, self.subset_size, self.seed = num_subsets, subset_size, seed

    def result_names(self):
        return [self.name, f"{self.name}_std"]

    def compute(self, real, fake):
        return scores.kernel_inception_distance(
            real, fake, self.num_subsets, self.subset_size, self.seed
        )


class PrecisionRecall(_FeatureBuffer):
    """Streaming improved precision and recall (k = 3) of up to `capacity` generated features.

    `result()` is `{"precision": ..., "recall": ...}` of `precision_recall(real, fake, k)`.
    """

    def __init__(self, real, capacity=10_000, k=3, name="precision_recall", **kwargs):
        super().__init__(real, capacity, name, **kwargs)
        self.k = k

    def result_names(self):
        return ["precision", "recall"]

    def compute(self, real, fake):
        return manifold.precision_recall(real, fake, self.k)


class DensityCoverage(_FeatureBuffer):
    """Streaming density and coverage (k = 5) of up to `capacity` generated features.

    `result()` is `{"density": ..., "coverage": ...}` of `density_coverage(real, fake, k)`.
    """

    def __init__(self, real, capacity=10_000, k=5, name="density_coverage", **kwargs):
        super().__init__(real, capacity, name, **kwargs)
        self.k = k

    def result_names(self):
        return ["density", "coverage"]

    def compute(self, real, fake):
        return manifold.density_coverage(real, fake, self.k)
