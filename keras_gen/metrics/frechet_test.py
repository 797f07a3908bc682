import numpy as np
import pytest
import scipy.linalg

from keras_gen import metrics
from keras_gen.metrics import frechet


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


def _low_rank_reference_fid(real, fake):
    """The FID with `tr sqrtm(S1 S2)` from the (n, n) matrix `Xc S2 Xc.T / (n - 1)`.

    With `S1 = Xc.T Xc / (n - 1)` (`Xc` the centred real features), `S1 S2` has
    the nonzero eigenvalues of that matrix: exact for a singular `S1`, with no
    rank to decide and no square root of rounding noise (which `sqrtm` sums).
    """
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    centred = real - mu1
    values = np.linalg.eigvalsh(centred @ s2 @ centred.T / (len(real) - 1))
    trace = np.sum(np.sqrt(np.clip(values, 0.0, None)))
    return (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2.0 * trace


@pytest.mark.parametrize("fake_count", [300, 2000], ids=["both_singular", "one_singular"])
def test_fid_with_singular_covariances_equals_the_low_rank_formula(fake_count):
    rng = np.random.RandomState(4)
    mixing = rng.normal(size=(256, 256)) / 16.0
    real = np.maximum(rng.normal(size=(100, 256)) @ mixing, 0.0)
    fake = np.maximum(rng.normal(size=(fake_count, 256)) @ mixing + 0.05, 0.0)
    expected = _low_rank_reference_fid(real, fake)
    # scipy's sqrtm and a full square root of S1 (sums of square roots of rounding noise)
    # are 4e-8 off relative here; the pivoted Cholesky factor 4e-10.
    assert metrics.fid_from_features(real, fake) == pytest.approx(expected, rel=1e-9)


def test_covariance_factor_of_a_singular_covariance_has_its_rank_in_columns():
    features = np.random.RandomState(5).normal(size=(30, 64))
    sigma = np.cov(features, rowvar=False)  # rank 29
    factor = frechet.covariance_factor(sigma)
    assert factor.shape == (64, 29)
    np.testing.assert_allclose(factor @ factor.T, sigma, rtol=0, atol=1e-12)
