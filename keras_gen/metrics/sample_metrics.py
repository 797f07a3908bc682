"""One path from a model's samples to FID, IS, KID, precision/recall and density/coverage.

`keras-gen evaluate` and the metric callbacks (`keras_gen.callbacks.FIDCallback`
and the others) both call `SampleMetrics`, so a number logged during `fit()`
and one printed by the command line are computed by the same code.

The samples are drawn on the host with `model.generate(seed=...)` in batches
whose seeds depend only on their position, then passed through the extractor
in that order: the features, and so every metric, are the same whatever
distribution strategy the model was built under.
"""

import os

import numpy as np

from keras_gen.metrics import extractors, manifold, scores
from keras_gen.metrics.feature_stats import FeatureStats, check_comparable
from keras_gen.networks import common

#: Metric name -> the keys of its values (the log keys of the callbacks).
SAMPLE_METRICS = {
    "fid": ("fid",),
    "is": ("inception_score", "inception_score_std"),
    "kid": ("kid", "kid_std"),
    "pr": ("precision", "recall", "density", "coverage"),
}
#: The metrics measured against reference features, not statistics alone.
FEATURE_METRICS = ("kid", "pr")


def check_metrics(metrics):
    """`metrics` as a tuple of names of `SAMPLE_METRICS`, in the order given.

    Raises:
        ValueError: for an empty selection or an unknown name.
    """
    chosen = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = sorted(set(chosen) - set(SAMPLE_METRICS))
    if unknown or not chosen:
        raise ValueError(
            "`metrics` must name one or more of 'fid', 'is', 'kid' and 'pr'. "
            f"Received: metrics={metrics!r}"
        )
    return chosen


def load_reference(reference, extractor, num_samples=10_000):
    """Reference `FeatureStats` from statistics, a statistics file or real images.

    Real images (an array or a `tf.data.Dataset` in [-1, 1]) are passed
    through `extractor`, up to `num_samples` of them, keeping their features
    for KID and precision/recall.

    Raises:
        ValueError: if the statistics were made with another extractor,
            weights or resize than `extractor`'s.
    """
    if isinstance(reference, (str, os.PathLike)):
        reference = FeatureStats.load(reference)
    if not isinstance(reference, FeatureStats):
        reference = extractors.dataset_stats(
            reference, extractor, num_samples=num_samples, keep_features=num_samples
        )
    check_comparable(reference.full_protocol(), extractor.protocol)
    return reference


def reference_features(reference):
    """The features kept in reference statistics, float64, for KID and precision/recall.

    Raises:
        ValueError: when the statistics hold none.
    """
    if reference.features is None:
        raise ValueError(
            "KID and precision/recall need reference features, not only statistics: pass "
            "real images, or statistics saved with features (`keras-gen stats` keeps up to "
            f"10,000). Received: statistics of {reference.count} samples without features"
        )
    return np.asarray(reference.features, np.float64)


class SampleMetrics:
    """Sample-quality metrics of a model's `generate` against reference data.

    `sample_metrics(model)` draws `num_samples` samples, passes them through
    the extractor and returns `(results, protocol)`: the values keyed as in
    `SAMPLE_METRICS` (`fid`; `inception_score`, `inception_score_std`; `kid`,
    `kid_std`; `precision`, `recall`, `density`, `coverage`), and the
    protocol (the extractor's, the sample count and seed, and the reference
    statistics' own protocol).

    Args:
        reference: a `FeatureStats`, the path of a statistics `.npz`, or real
            images (an array or a `tf.data.Dataset` in [-1, 1]); None only
            when `metrics` is `("is",)`.
        extractor: an extractor name for `extractors.get` or an extractor object.
        metrics: names from `SAMPLE_METRICS`.
        num_samples: generated samples per evaluation.
        seed: sampling seed (the same samples every evaluation); also the
            seed of KID's subsets.
        batch_size: samples per `generate` call.
        kid_subsets, kid_subset_size: KID's subsets (Binkowski et al.: 100 of 1,000).
        reference_samples: real images used from `reference` when it is images.

    Example:
    ```python
    evaluate = SampleMetrics("mnist5k_train.npz", "mnist", metrics=("fid", "kid"))
    results, protocol = evaluate(model)
    ```
    """

    def __init__(
        self,
        reference=None,
        extractor="mnist",
        metrics=tuple(SAMPLE_METRICS),
        num_samples=10_000,
        seed=0,
        batch_size=500,
        kid_subsets=100,
        kid_subset_size=1000,
        reference_samples=10_000,
    ):
        self.metrics = check_metrics(metrics)
        if self.needs_reference and reference is None:
            raise ValueError(
                f"The metrics {list(self.metrics)} need `reference` (statistics, a "
                "statistics file or real images). Received: reference=None"
            )
        self.reference = reference
        self.extractor = extractors.get(extractor)
        self.num_samples = common.check_positive_int(num_samples, "num_samples", minimum=2)
        self.seed = seed
        self.batch_size = common.check_positive_int(batch_size, "batch_size")
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.reference_samples = reference_samples
        self._reference_stats = None

    @property
    def needs_reference(self):
        return any(name != "is" for name in self.metrics)

    def reference_stats(self):
        """The reference `FeatureStats`, loaded (or extracted from images) once."""
        if self._reference_stats is None:
            self._reference_stats = load_reference(
                self.reference, self.extractor, self.reference_samples
            )
            if any(name in FEATURE_METRICS for name in self.metrics):
                reference_features(self._reference_stats)
        return self._reference_stats

    def protocol(self):
        """How the numbers were made: extractor, sample count and seed, and the reference."""
        protocol = {
            **self.extractor.protocol,
            "num_generated": self.num_samples,
            "sampling_seed": self.seed,
        }
        if self.needs_reference:
            protocol["reference"] = self.reference_stats().full_protocol()
        return protocol

    def __call__(self, model):
        """`(results, protocol)` of `num_samples` samples of `model.generate`."""
        reference = self.reference_stats() if self.needs_reference else None
        features, logits = extractors.model_outputs(
            model, self.extractor, self.num_samples, seed=self.seed, batch_size=self.batch_size
        )
        results = self.from_outputs(features, logits, list(model.data_shape), reference)
        return results, self.protocol()

    def from_outputs(self, features, logits, image_shape, reference=None):
        """The chosen metrics of generated features and logits (of images of `image_shape`)."""
        results = {}
        for name in self.metrics:
            values = getattr(self, f"_{name}")(features, logits, image_shape, reference)
            results.update(zip(SAMPLE_METRICS[name], values))
        return results

    def _fid(self, features, logits, image_shape, reference):
        protocol = {**self.extractor.protocol, "image_shape": list(image_shape)}
        generated = FeatureStats(features.shape[1], protocol)
        generated.update(features)
        return (reference.frechet_distance(generated),)

    def _is(self, features, logits, image_shape, reference):
        return scores.inception_score(logits, splits=10)

    def _kid(self, features, logits, image_shape, reference):
        return scores.kernel_inception_distance(
            reference_features(reference),
            features,
            num_subsets=self.kid_subsets,
            subset_size=self.kid_subset_size,
            seed=self.seed,
        )

    def _pr(self, features, logits, image_shape, reference):
        real = reference_features(reference)
        precision, recall = manifold.precision_recall(real, features, k=3)
        density, coverage = manifold.density_coverage(real, features, k=5)
        return precision, recall, density, coverage


def evaluate_model(
    model, reference=None, extractor="mnist", metrics=tuple(SAMPLE_METRICS), **kwargs
):
    """`(results, protocol)` of `model`'s samples: `SampleMetrics(...)(model)` in one call.

    Args:
        model: a model with `generate(num_samples, seed=...)` and `data_shape`.
        reference, extractor, metrics: as for `SampleMetrics`.
        **kwargs: the other arguments of `SampleMetrics` (`num_samples`,
            `seed`, `batch_size`, `kid_subsets`, `kid_subset_size`,
            `reference_samples`).

    Example:
    ```python
    results, protocol = evaluate_model(model, "mnist5k_train.npz", "mnist", num_samples=1000)
    results["fid"], protocol["reference"]["num_samples"]
    ```
    """
    return SampleMetrics(reference, extractor, metrics, **kwargs)(model)


def data_metrics(reference, images, extractor="mnist", metrics=tuple(SAMPLE_METRICS), **kwargs):
    """`(results, protocol)` of real `images` scored as if they were a model's samples.

    Held-out data against the training statistics is the reference point of
    a model's numbers: what a model that generated the data itself would get
    with as many samples (FID and KID fall as the sample count grows, so
    compare at equal counts). KID's subsets are at most as large as the sets.

    Args:
        reference: as for `SampleMetrics` (statistics with kept features for
            KID and precision/recall).
        images: real images in [-1, 1], an array or a `tf.data.Dataset`.
        extractor, metrics: as for `SampleMetrics`.
        **kwargs: `num_samples` (default: all the images), `seed`,
            `kid_subsets`, `kid_subset_size`.
    """
    num_samples = kwargs.pop("num_samples", None)
    evaluate = SampleMetrics(reference, extractor, metrics, **kwargs)
    features, logits = extractors.dataset_outputs(images, evaluate.extractor, num_samples)
    image_shape = evaluate.reference_stats().protocol.get("image_shape")
    results = evaluate.from_outputs(features, logits, image_shape, evaluate.reference_stats())
    protocol = {**evaluate.protocol(), "num_generated": len(features), "generated": "real data"}
    return results, protocol
