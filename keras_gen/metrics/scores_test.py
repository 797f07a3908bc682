import numpy as np
import pytest

from keras_gen import metrics


def _reference_inception_score(logits, splits):
    """The improved-GAN code: softmax, then per split exp(mean KL(p(y|x) || p(y)))."""
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    scores = []
    for k in range(splits):
        part = p[k * (len(p) // splits) : (k + 1) * (len(p) // splits)]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return np.mean(scores), np.std(scores)


def test_inception_score_matches_the_original_code_and_its_limits():
    logits = np.random.RandomState(0).normal(size=(1000, 1008)) * 3
    np.testing.assert_allclose(
        metrics.inception_score(logits, splits=10),
        _reference_inception_score(logits, 10),
        rtol=1e-10,
    )
    confident = np.eye(10)[np.arange(100) % 10] * 50.0
    assert metrics.inception_score(confident)[0] == pytest.approx(10.0, rel=1e-6)
    assert metrics.inception_score(np.zeros((100, 10)))[0] == pytest.approx(1.0)


def _reference_kid_subset(x, y):
    m, d = len(x), x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_is_the_unbiased_polynomial_mmd_over_subsets():
    rng = np.random.RandomState(0)
    real, fake = rng.normal(size=(30, 5)), rng.normal(size=(30, 5)) + 0.5
    mean, std = metrics.kernel_inception_distance(real, fake, num_subsets=3, subset_size=12, seed=4)
    draws = np.random.RandomState(4)
    expected = []
    for _ in range(3):
        x = real[draws.choice(30, 12, replace=False)]
        y = fake[draws.choice(30, 12, replace=False)]
        expected.append(_reference_kid_subset(x, y))
    assert mean == pytest.approx(np.mean(expected), rel=1e-10)
    assert std == pytest.approx(np.std(expected), rel=1e-8)
    same = metrics.kernel_inception_distance(
        rng.normal(size=(400, 5)),
        rng.normal(size=(400, 5)),
        num_subsets=20,
        subset_size=200,
        seed=0,
    )
    shifted = metrics.kernel_inception_distance(
        rng.normal(size=(400, 5)),
        rng.normal(size=(400, 5)) + 1.0,
        num_subsets=20,
        subset_size=200,
        seed=0,
    )
    assert abs(same[0]) < 3 * same[1] + 1e-3
    assert shifted[0] > 10 * (same[1] + shifted[1])
