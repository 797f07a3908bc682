import numpy as np
import pytest
import scipy.linalg

from keras_gen import metrics


def _reference_fid(mu1, sigma1, mu2, sigma2):
    """pytorch-fid's calculate_frechet_distance, with scipy.linalg.sqrtm."""
    covmean, _ = scipy.linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def test_fid_analytic_case_is_2048():
    d = 2048
    fid = metrics.frechet_distance(np.zeros(d), np.eye(d), np.ones(d), np.eye(d))
    assert fid == pytest.approx(2048.0, abs=1e-9)


def test_fid_matches_scipy_sqrtm_on_random_features():
    rng = np.random.RandomState(0)
    d = 64
    real = rng.normal(size=(500, d))
    fake = rng.normal(size=(400, d)) @ rng.normal(size=(d, d)) * 0.3 + 0.5
    mu1, s1 = real.mean(0), np.cov(real, rowvar=False)
    mu2, s2 = fake.mean(0), np.cov(fake, rowvar=False)
    expected = _reference_fid(mu1, s1, mu2, s2)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert metrics.fid_from_features(real, fake) == pytest.approx(expected, rel=1e-6)


def test_fid_of_a_set_with_itself_is_zero_and_shapes_are_checked():
    x = np.random.RandomState(1).normal(size=(100, 8))
    assert abs(metrics.fid_from_features(x, x)) < 1e-8
    with pytest.raises(ValueError, match="sigma2"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))


def test_fid_raises_on_a_large_imaginary_component():
    # A "covariance" with a large negative eigenvalue is not a covariance.
    bad = np.diag([1.0, -4.0])
    with pytest.raises(ValueError, match="imaginary"):
        metrics.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), bad)


def _reference_inception_score(logits, splits):
    """The improved-GAN code: softmax, then per split exp(mean KL(p(y|x) || p(y)))."""
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    scores = []
    for k in range(splits):
        part = p[k * (len(p) // splits):(k + 1) * (len(p) // splits)]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return np.mean(scores), np.std(scores)


def test_inception_score_matches_the_original_code_and_its_limits():
    logits = np.random.RandomState(0).normal(size=(1000, 1008)) * 3
    np.testing.assert_allclose(metrics.inception_score(logits, splits=10),
                               _reference_inception_score(logits, 10), rtol=1e-10)
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
    mean, std = metrics.kernel_inception_distance(real, fake, num_subsets=3, subset_size=12,
                                                  seed=4)
    draws = np.random.RandomState(4)
    expected = []
    for _ in range(3):
        x = real[draws.choice(30, 12, replace=False)]
        y = fake[draws.choice(30, 12, replace=False)]
        expected.append(_reference_kid_subset(x, y))
    assert mean == pytest.approx(np.mean(expected), rel=1e-10)
    assert std == pytest.approx(np.std(expected), rel=1e-8)
    same = metrics.kernel_inception_distance(rng.normal(size=(400, 5)), rng.normal(size=(400, 5)),
                                             num_subsets=20, subset_size=200, seed=0)
    shifted = metrics.kernel_inception_distance(rng.normal(size=(400, 5)),
                                                rng.normal(size=(400, 5)) + 1.0,
                                                num_subsets=20, subset_size=200, seed=0)
    assert abs(same[0]) < 3 * same[1] + 1e-3
    assert shifted[0] > 10 * (same[1] + shifted[1])


def _knn_radius(points, i, k):
    return sorted(np.linalg.norm(points - points[i], axis=1))[k]


def test_precision_recall_and_density_coverage_follow_their_papers():
    rng = np.random.RandomState(0)
    real = rng.normal(size=(40, 3))
    fake = rng.normal(size=(30, 3)) * 1.5 + 0.3
    r3 = [_knn_radius(real, i, 3) for i in range(len(real))]
    f3 = [_knn_radius(fake, j, 3) for j in range(len(fake))]
    precision = np.mean([any(np.linalg.norm(f - real[i]) <= r3[i] for i in range(len(real)))
                         for f in fake])
    recall = np.mean([any(np.linalg.norm(r - fake[j]) <= f3[j] for j in range(len(fake)))
                      for r in real])
    assert metrics.precision_recall(real, fake, k=3) == pytest.approx((precision, recall))
    r5 = [_knn_radius(real, i, 5) for i in range(len(real))]
    density = sum(np.linalg.norm(f - real[i]) < r5[i] for f in fake
                  for i in range(len(real))) / (5 * len(fake))
    coverage = np.mean([min(np.linalg.norm(real[i] - f) for f in fake) < r5[i]
                        for i in range(len(real))])
    assert metrics.density_coverage(real, fake, k=5) == pytest.approx((density, coverage))
    assert metrics.precision_recall(real, real, k=3) == (1.0, 1.0)
    with pytest.raises(ValueError, match="k=0"):
        metrics.precision_recall(real, fake, k=0)


def test_feature_stats_stream_merge_and_save(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.normal(size=(300, 6)) * 100 + 1e3
    a = metrics.FeatureStats(6, {"extractor": "e", "weights": "w", "resize": "r"})
    for chunk in np.array_split(x[:200], 7):
        a.update(chunk)
    b = metrics.FeatureStats(6, {"extractor": "e", "weights": "w", "resize": "r"})
    b.update(x[200:])
    a.merge(b)
    np.testing.assert_allclose(a.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(a.covariance, np.cov(x, rowvar=False), rtol=1e-9)
    path = str(tmp_path / "stats.npz")
    a.save(path)
    loaded = metrics.FeatureStats.load(path)
    assert loaded.count == 300 and loaded.full_protocol()["num_samples"] == 300
    assert loaded.frechet_distance(a) == pytest.approx(0.0, abs=1e-6)
    other = metrics.FeatureStats(6, {"extractor": "e", "weights": "other", "resize": "r"})
    other.update(x)
    with pytest.raises(ValueError, match="weights"):
        a.frechet_distance(other)


def test_fid_with_a_singular_covariance_matches_scipy():
    # 40 samples in 64 dimensions: sigma1 is singular, so Cholesky fails and the
    # symmetric square root is used.
    rng = np.random.RandomState(3)
    real, fake = rng.normal(size=(40, 64)), rng.normal(size=(500, 64)) + 0.2
    mu1, s1 = real.mean(0), np.cov(real, rowvar=False)
    mu2, s2 = fake.mean(0), np.cov(fake, rowvar=False)
    expected = _reference_fid(mu1, s1, mu2, s2)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
