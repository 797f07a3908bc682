"""Sample-quality metrics computed during `fit()` and put into `logs`.

Each callback generates `num_samples` with the model's `generate` every
`every` epochs, computes its metric and writes it into the epoch's `logs`,
so that callbacks after it in the list (`TensorBoard` writes `epoch_fid`,
`ModelCheckpoint(monitor="fid")`, `EarlyStopping`, `History`) see it. The
protocol (extractor, weights hash, resize, sample counts, reference) is
written once as a TensorBoard text summary when `log_dir` is given.
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from keras_gen import metrics
from keras_gen.metrics import extractors


class SampleMetricCallback(keras.callbacks.Callback):
    """Base class: generate, extract, `compute(features, logits)`, log.

    Subclasses define `compute`, returning the dict of values to log.

    Args:
        reference: a `FeatureStats`, the path of a stats `.npz`, or real
            images (an array or a `tf.data.Dataset` in [-1, 1]).
        extractor: `"mnist"` or an extractor object.
        num_samples: generated samples per evaluation.
        every: evaluate every this many epochs.
        seed: sampling seed (the same samples' latents every time).
        log_dir: TensorBoard directory for the protocol text, or None.
        reference_samples: real images used from `reference` when it is data.
    """

    needs_reference = True

    def __init__(
        self,
        reference=None,
        extractor="mnist",
        num_samples=1000,
        every=1,
        seed=0,
        log_dir=None,
        reference_samples=10_000,
    ):
        super().__init__()
        if self.needs_reference and reference is None:
            raise ValueError(
                f"{type(self).__name__} needs `reference` (stats, a stats file or "
                "real images). Received: reference=None"
            )
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"`every` must be an int >= 1. Received: every={every!r}")
        self.reference = reference
        self.extractor = extractors.get(extractor)
        self.num_samples = num_samples
        self.every = every
        self.seed = seed
        self.log_dir = log_dir
        self.reference_samples = reference_samples
        self._reference_stats = None
        self._protocol_written = False

    def reference_stats(self):
        if self._reference_stats is None:
            reference = self.reference
            if isinstance(reference, (str, os.PathLike)):
                reference = metrics.FeatureStats.load(reference)
            if not isinstance(reference, metrics.FeatureStats):
                reference = extractors.dataset_stats(
                    reference,
                    self.extractor,
                    num_samples=self.reference_samples,
                    keep_features=self.reference_samples,
                )
            metrics.check_comparable(reference.full_protocol(), self.extractor.protocol)
            self._reference_stats = reference
        return self._reference_stats

    def on_train_begin(self, logs=None):
        if self.needs_reference:
            self.reference_stats()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or logs is None:
            return
        features, logits = extractors.model_outputs(
            self.model, self.extractor, self.num_samples, seed=self.seed
        )
        values = self.compute(features, logits)
        logs.update(values)
        if self.log_dir and not self._protocol_written:
            self._write_protocol(epoch)

    def protocol(self):
        protocol = {
            **self.extractor.protocol,
            "num_generated": self.num_samples,
            "sampling_seed": self.seed,
        }
        if self.needs_reference:
            protocol["reference"] = self.reference_stats().full_protocol()
        return protocol

    def _write_protocol(self, epoch):
        writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "metrics"))
        with writer.as_default():
            tf.summary.text(
                f"{type(self).__name__}/protocol",
                json.dumps(self.protocol(), sort_keys=True, indent=1),
                step=epoch,
            )
        writer.close()
        self._protocol_written = True


class FIDCallback(SampleMetricCallback):
    """Frechet distance of generated samples to the reference, logged as `fid`."""

    def compute(self, features, logits):
        stats = metrics.FeatureStats(
            features.shape[1],
            {**self.extractor.protocol, "image_shape": list(self.model.data_shape)},
        )
        stats.update(features)
        return {"fid": self.reference_stats().frechet_distance(stats)}


class InceptionScoreCallback(SampleMetricCallback):
    """Inception Score of generated samples (10 splits), logged as `inception_score`
    and `inception_score_std`."""

    needs_reference = False

    def compute(self, features, logits):
        mean, std = metrics.inception_score(logits, splits=10)
        return {"inception_score": mean, "inception_score_std": std}


class KIDCallback(SampleMetricCallback):
    """Kernel Inception Distance to the reference features, logged as `kid` and `kid_std`."""

    def __init__(self, *args, num_subsets=100, subset_size=1000, **kwargs):
        super().__init__(*args, **kwargs)
        self.num_subsets = num_subsets
        self.subset_size = subset_size

    def compute(self, features, logits):
        mean, std = metrics.kernel_inception_distance(
            _reference_features(self),
            features,
            num_subsets=self.num_subsets,
            subset_size=self.subset_size,
            seed=self.seed,
        )
        return {"kid": mean, "kid_std": std}


class PrecisionRecallCallback(SampleMetricCallback):
    """Precision and recall (k=3) and density and coverage (k=5), logged under those names."""

    def compute(self, features, logits):
        real = _reference_features(self)
        precision, recall = metrics.precision_recall(real, features, k=3)
        density, coverage = metrics.density_coverage(real, features, k=5)
        return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def _reference_features(callback):
    features = callback.reference_stats().features
    if features is None:
        raise ValueError(
            f"{type(callback).__name__} needs reference features, not only "
            "statistics: pass real images, or a stats file written with features "
            "(keras-gen stats keeps up to 10,000)."
        )
    return np.asarray(features, np.float64)
