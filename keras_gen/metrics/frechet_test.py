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


def test_fid_with_a_singular_covariance_matches_scipy():
    # 40 samples in 64 dimensions: sigma1 is singular, so Cholesky fails and the
    # symmetric square root is used.
    rng = np.random.RandomState(3)
    real, fake = rng.normal(size=(40, 64)), rng.normal(size=(500, 64)) + 0.2
    mu1, s1 = real.mean(0), np.cov(real, rowvar=False)
    mu2, s2 = fake.mean(0), np.cov(fake, rowvar=False)
    expected = _reference_fid(mu1, s1, mu2, s2)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
