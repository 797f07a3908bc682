"""Streaming feature statistics for FID, saved with the protocol that produced them."""

import json
import warnings

import numpy as np

from keras_gen.metrics import frechet

#: Protocol fields every statistics file records.
PROTOCOL_KEYS = ("extractor", "weights", "resize", "num_samples", "dataset", "split")


class FeatureStats:
    """Running count, sum and sum of outer products of features, in float64.

    Memory does not grow with the number of samples, and statistics of
    several parts (replicas, batches, workers) add up exactly with `merge`.

    Args:
        dim: feature dimension.
        protocol: dict describing how the features were made (extractor,
            weights hash, resize, dataset, split); `num_samples` is filled in.
        keep_features: how many of the first features to keep (for KID and
            precision/recall).

    Attributes:
        held_out: None, or `{"metrics": ..., "protocol": ...}`: the metrics of
            held-out real data against these statistics (`keras-gen stats`
            stores them as the reference point a model's numbers compare to).

    Example:
    ```python
    stats = FeatureStats(2048, protocol={"extractor": "inception_fid", ...})
    for batch in batches:
        stats.update(extractor(batch)["features"])
    stats.save("cifar10_train.npz")
    ```
    """

    def __init__(self, dim, protocol=None, keep_features=0):
        self.dim = int(dim)
        self.protocol = dict(protocol or {})
        self.count = 0
        self.total = np.zeros(self.dim, np.float64)
        self.outer = np.zeros((self.dim, self.dim), np.float64)
        self.keep_features = int(keep_features)
        self._kept = []
        self.held_out = None

    @property
    def features(self):
        """The first `keep_features` features seen (for KID and precision/recall), or None."""
        return np.concatenate(self._kept)[: self.keep_features] if self._kept else None

    def update(self, features):
        features = np.asarray(features, np.float64)
        if features.ndim != 2 or features.shape[1] != self.dim:
            raise ValueError(
                f"`features` must have shape (n, {self.dim}). "
                f"Received: features with shape {features.shape}"
            )
        if self.count < self.keep_features:
            self._kept.append(features[: self.keep_features - self.count].astype(np.float32))
        self.count += len(features)
        self.total += features.sum(axis=0)
        self.outer += features.T @ features

    def merge(self, other):
        if other.dim != self.dim:
            raise ValueError(f"Cannot merge statistics of dimension {other.dim} into {self.dim}")
        self.count += other.count
        self.total += other.total
        self.outer += other.outer

    @property
    def mean(self):
        return self.total / self.count

    @property
    def covariance(self):
        """Unbiased covariance (ddof=1), as `numpy.cov`."""
        if self.count < 2:
            raise ValueError(f"A covariance needs at least 2 samples. Received: {self.count}")
        mean = self.mean
        return (self.outer - self.count * np.outer(mean, mean)) / (self.count - 1)

    def full_protocol(self):
        return {**self.protocol, "num_samples": self.count}

    def frechet_distance(self, other, check_protocol=True):
        """FID between these statistics and `other`'s.

        Raises:
            ValueError: if the protocols differ in extractor, weights or resize.
        """
        if check_protocol:
            check_comparable(self.full_protocol(), other.full_protocol())
        fewest = min(self.count, other.count)
        if fewest < self.dim:
            warnings.warn(
                f"FID from {fewest} samples of {self.dim}-d features: with fewer samples than "
                "dimensions the covariance is singular and the FID is biased upward (it falls "
                "as the sample count grows), so compare only FIDs of equal sample counts and "
                f"use at least {self.dim} (10,000 or 50,000 in published Inception FIDs).",
                stacklevel=2,
            )
        return frechet.frechet_distance(self.mean, self.covariance, other.mean, other.covariance)

    def save(self, path):
        """Writes an `.npz` with `mu`, `sigma` (as pytorch-fid's), the sums and the protocol."""
        extra = {} if self.features is None else {"features": self.features}
        if self.held_out is not None:
            extra["held_out"] = json.dumps(self.held_out, sort_keys=True)
        np.savez(
            path,
            count=self.count,
            total=self.total,
            outer=self.outer,
            mu=self.mean,
            sigma=self.covariance,
            protocol=json.dumps(self.full_protocol(), sort_keys=True),
            **extra,
        )

    @classmethod
    def load(cls, path):
        with np.load(path) as data:
            protocol = json.loads(str(data["protocol"]))
            stats = cls(data["total"].shape[0], protocol)
            stats.count = int(data["count"])
            stats.total = data["total"].astype(np.float64)
            stats.outer = data["outer"].astype(np.float64)
            if "features" in data:
                stats._kept = [data["features"]]
                stats.keep_features = len(data["features"])
            if "held_out" in data:
                stats.held_out = json.loads(str(data["held_out"]))
        stats.protocol.pop("num_samples", None)
        return stats


def check_comparable(a, b):
    """Raises ValueError when two protocols differ in what makes FIDs comparable.

    The extractor, its weights, its FID protocol (`"ttur"`, `"pytorch_fid"`,
    `"clean"`: the reference implementation whose input handling it
    reproduces) and resizing, and the shape of the images the features were
    made from (8x8 digits against 28x28 ones would give an FID of the
    resolution, not of the model).
    """
    for key in ("extractor", "weights", "fid_protocol", "resize", "image_shape"):
        if key in ("fid_protocol", "image_shape") and (key not in a or key not in b):
            # Statistics saved before the key was recorded; for fid_protocol,
            # `resize` still tells the protocols apart.
            continue
        if a.get(key) != b.get(key):
            raise ValueError(
                f"Feature statistics of different protocols cannot be compared: {key} is "
                f"{a.get(key)!r} for one and {b.get(key)!r} for the other. "
                f"Received: protocols {a} and {b}"
            )
