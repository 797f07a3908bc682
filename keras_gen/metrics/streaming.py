"""FID as a Keras metric whose state adds up across replicas."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.metrics import frechet
from keras_gen.metrics.feature_stats import FeatureStats


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
            raise ValueError("`reference` must be a FeatureStats. "
                             f"Received: reference of type {type(reference).__name__}")
        self.reference = reference
        dim = reference.dim
        self.count = self.add_variable((), "zeros", dtype="float64", aggregation="sum",
                                       name="count")
        self.total = self.add_variable((dim,), "zeros", dtype="float64", aggregation="sum",
                                       name="total")
        self.outer = self.add_variable((dim, dim), "zeros", dtype="float64", aggregation="sum",
                                       name="outer")

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
            return np.float64(frechet.frechet_distance(
                self.reference.mean, self.reference.covariance, stats.mean, stats.covariance))

        return tf.numpy_function(distance, [self.count, self.total, self.outer], tf.float64)

    def reset_state(self):
        for variable in (self.count, self.total, self.outer):
            variable.assign(tf.zeros_like(variable))


def _read(variable):
    """A metric variable's value; under a strategy, the sum over replicas."""
    return tf.convert_to_tensor(variable.value).numpy()
