import numpy as np
import pytest

from keras_gen import metrics


def _knn_radius(points, i, k):
    return sorted(np.linalg.norm(points - points[i], axis=1))[k]


def test_precision_recall_and_density_coverage_follow_their_papers():
    rng = np.random.RandomState(0)
    real = rng.normal(size=(40, 3))
    fake = rng.normal(size=(30, 3)) * 1.5 + 0.3
    r3 = [_knn_radius(real, i, 3) for i in range(len(real))]
    f3 = [_knn_radius(fake, j, 3) for j in range(len(fake))]
    precision = np.mean(
        [any(np.linalg.norm(f - real[i]) <= r3[i] for i in range(len(real))) for f in fake]
    )
    recall = np.mean(
        [any(np.linalg.norm(r - fake[j]) <= f3[j] for j in range(len(fake))) for r in real]
    )
    assert metrics.precision_recall(real, fake, k=3) == pytest.approx((precision, recall))
    r5 = [_knn_radius(real, i, 5) for i in range(len(real))]
    density = sum(np.linalg.norm(f - real[i]) < r5[i] for f in fake for i in range(len(real))) / (
        5 * len(fake)
    )
    coverage = np.mean(
        [min(np.linalg.norm(real[i] - f) for f in fake) < r5[i] for i in range(len(real))]
    )
    assert metrics.density_coverage(real, fake, k=5) == pytest.approx((density, coverage))
    assert metrics.precision_recall(real, real, k=3) == (1.0, 1.0)
    with pytest.raises(ValueError, match="k=0"):
        metrics.precision_recall(real, fake, k=0)
