"""Sample-quality metrics computed during `fit()` and put into `logs`.

Each callback generates `num_samples` with the model's `generate` every
`every` epochs, computes its metric with `keras_gen.metrics.SampleMetrics`
(the code `keras-gen evaluate` runs) and writes it into the epoch's `logs`,
so that callbacks after it in the list (`TensorBoard` writes `epoch_fid`,
`ModelCheckpoint(monitor="fid")`, `EarlyStopping`, `History`) see it. The
protocol (extractor, weights hash, resize, sample counts, reference) is
written once as a TensorBoard text summary when `log_dir` is given, in
`log_dir/train` beside Keras' scalars, at step N for the N-th epoch counted
from 1 (Keras' scalars use the 0-based epoch index).
"""

import json

import keras
import tensorflow as tf

from keras_gen.callbacks.image_grid import train_run_dir
from keras_gen.metrics.sample_metrics import SampleMetrics
from keras_gen.networks import common


class SampleMetricCallback(keras.callbacks.Callback):
    """Base class: evaluates the metrics named by `metrics` and logs their values.

    A subclass sets `metrics`, names from `keras_gen.metrics.SAMPLE_METRICS`.

    Args:
        reference: a `FeatureStats`, the path of a stats `.npz`, or real
            images (an array or a `tf.data.Dataset` in [-1, 1]).
        extractor: `"mnist"` or an extractor object.
        num_samples: generated samples per evaluation.
        every: evaluate every this many epochs.
        seed: sampling seed (the same samples' latents every time).
        log_dir: TensorBoard log directory (the one given to
            `keras.callbacks.TensorBoard`) for the protocol text, or None.
        reference_samples: real images used from `reference` when it is data.
        **options: further arguments of `SampleMetrics` (such as KID's subsets).
    """

    metrics = ()

    def __init__(
        self,
        reference=None,
        extractor="mnist",
        num_samples=1000,
        every=1,
        seed=0,
        log_dir=None,
        reference_samples=10_000,
        **options,
    ):
        super().__init__()
        self.every = common.check_positive_int(every, "every")
        self.sample_metrics = SampleMetrics(
            reference,
            extractor,
            self.metrics,
            num_samples=num_samples,
            seed=seed,
            reference_samples=reference_samples,
            **options,
        )
        self.log_dir = log_dir
        self._protocol_written = False

    def on_train_begin(self, logs=None):
        if self.sample_metrics.needs_reference:
            self.sample_metrics.reference_stats()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or logs is None:
            return
        values, protocol = self.sample_metrics(self.model)
        logs.update(values)
        if self.log_dir and not self._protocol_written:
            self._write_protocol(protocol, epoch)

    def _write_protocol(self, protocol, epoch):
        writer = tf.summary.create_file_writer(train_run_dir(self.log_dir))
        with writer.as_default():
            tf.summary.text(
                f"{type(self).__name__}/protocol",
                json.dumps(protocol, sort_keys=True, indent=1),
                step=epoch + 1,
            )
        writer.close()
        self._protocol_written = True


class FIDCallback(SampleMetricCallback):
    """Frechet distance of generated samples to the reference, logged as `fid`."""

    metrics = ("fid",)


class InceptionScoreCallback(SampleMetricCallback):
    """Inception Score of generated samples (10 splits), logged as `inception_score`
    and `inception_score_std`."""

    metrics = ("is",)


class KIDCallback(SampleMetricCallback):
    """Kernel Inception Distance to the reference features, logged as `kid` and `kid_std`.

    Args:
        num_subsets, subset_size: KID's subsets of generated and reference features.
        *args, **kwargs: as for `SampleMetricCallback`.
    """

    metrics = ("kid",)

    def __init__(self, *args, num_subsets=100, subset_size=1000, **kwargs):
        super().__init__(*args, kid_subsets=num_subsets, kid_subset_size=subset_size, **kwargs)


class PrecisionRecallCallback(SampleMetricCallback):
    """Precision and recall (k=3) and density and coverage (k=5), logged under those names."""

    metrics = ("pr",)
