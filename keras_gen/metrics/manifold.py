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
    inside at least one fake sample's k-NN ball.

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

    Returns:
        `(density, coverage)`.
    """
    real, fake = _check(real, fake, k)
    cross = _distances(real, fake)
    radii = _radii(real, k)
    density = np.sum(cross < radii[:, None]) / (k * fake.shape[0])
    coverage = np.mean(cross.min(axis=1) < radii)
    return float(density), float(coverage)
