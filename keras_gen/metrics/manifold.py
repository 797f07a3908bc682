"""Precision/recall and density/coverage from k-nearest-neighbour balls of features."""

import numpy as np


def _distances(a, b):
    squared = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(squared, 0.0, None))


def _radii(features, k):
    """Distance of each point to its k-th nearest neighbour in its own set."""
    distances = _distances(features, features)
    # Column 0 of each sorted row is the point itself.
    return np.sort(distances, axis=1)[:, k]


def _check(real, fake, k):
    real, fake = np.float64(real), np.float64(fake)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"`real` and `fake` must have shapes (n, d) and (m, d). "
            f"Received: {real.shape} and {fake.shape}"
        )
    if not isinstance(k, int) or k < 1 or k >= min(len(real), len(fake)):
        raise ValueError(f"`k` must be an int in [1, number of samples). Received: k={k!r}")
    return real, fake


# Kynkaanniemi et al. 2019, arXiv:1904.06991, equations (1)-(3).
def precision_recall(real, fake, k=3):
    """Improved precision and recall of `fake` against `real` features.

    Precision: the fraction of fake samples inside at least one real sample's
    k-NN ball (distance `<=` radius); recall: the fraction of real samples
    inside at least one fake sample's k-NN ball. A ball's radius is the
    distance to the k-th nearest other sample of its own set (the sample
    itself is neighbour 0).

    Tie rule: a sample exactly on a radius is inside (`<=`), as in the
    official code (kynkaat/improved-precision-and-recall-metric,
    `ManifoldEstimator.evaluate`: `distance <= radius`, the radius taken at
    index k of `np.partition` of the row, the point itself at index 0). The
    `prdc` package's precision and recall use `<` instead; the two differ only
    for samples exactly on a radius (duplicated samples, discrete features; a
    point with k copies has radius 0, so `<=` still counts its copies). The
    official code compares squared float32 distances, these are Euclidean in
    float64: the same order, but near-ties can fall either way by rounding in
    either code.

    Returns:
        `(precision, recall)`.
    """
    real, fake = _check(real, fake, k)
    cross = _distances(real, fake)
    precision = np.mean(np.any(cross <= _radii(real, k)[:, None], axis=0))
    recall = np.mean(np.any(cross <= _radii(fake, k)[None, :], axis=1))
    return float(precision), float(recall)


# Naeem et al. 2020, arXiv:2002.09797, equations (5) and (6); the prdc package.
def density_coverage(real, fake, k=5):
    """Density and coverage of `fake` against `real` features.

    Density: the mean number of real k-NN balls (distance `<` radius) that
    contain each fake sample, divided by k. Coverage: the fraction of real
    samples whose k-NN ball contains at least one fake sample.

    Tie rule: strictly inside (`<`), as the `prdc` package (`compute_prdc`)
    compares, so a fake sample exactly on a radius is not counted; the
    radius is, as there, the (k+1)-th smallest distance of the row with the
    point itself among them (`get_kth_value(k=nearest_k + 1)`).

    Returns:
        `(density, coverage)`.
    """
    real, fake = _check(real, fake, k)
    cross = _distances(real, fake)
    radii = _radii(real, k)
    density = np.sum(cross < radii[:, None]) / (k * fake.shape[0])
    coverage = np.mean(cross.min(axis=1) < radii)
    return float(density), float(coverage)
