"""The Frechet distance between Gaussians fitted to features: FID.

Heusel et al. 2017, arXiv:1706.08500 (TTUR), computed as the TTUR code and
pytorch-fid compute it, with the trace of the matrix square root taken from
eigenvalues in float64 instead of `scipy.linalg.sqrtm`.
"""

import numpy as np
import scipy.linalg


def covariance_factor(sigma):
    """`F` with `sigma = F @ F.T`: the Cholesky factor, or `(d, rank)` when `sigma` is singular.

    A singular covariance (fewer samples than dimensions) takes LAPACK's
    pivoted Cholesky (`dpstrf`), which stops at the numerical rank, so the
    factor has only `rank` columns and the work that follows shrinks with
    it: no eigen-decomposition of `sigma` is needed.
    """
    try:
        return np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        pass
    # P.T sigma P = L L.T with L of `rank` columns; `factor`'s upper part holds sigma's entries.
    factor, pivots, rank, _ = scipy.linalg.lapack.dpstrf(sigma, lower=1)
    lower = np.tril(factor[:, :rank])
    unpivoted = np.empty_like(lower)
    unpivoted[pivots - 1] = lower  # F = P L: back to the original order of the features
    return unpivoted


def trace_sqrt_product(sigma1, sigma2):
    """`tr(sqrtm(sigma1 @ sigma2))` for covariance matrices, and its imaginary part.

    `sigma1 @ sigma2` has the nonzero eigenvalues of the symmetric
    `A = F.T sigma2 F` with `sigma1 = F F.T` (`covariance_factor`: Cholesky, or
    pivoted Cholesky of the numerical rank when `sigma1` is singular), so its
    square root's trace is the sum of the square roots of `A`'s eigenvalues.
    Negative eigenvalues (rounding, or a singular covariance) are what make
    `sqrtm` complex; their root magnitudes are returned as the imaginary part.
    """
    factor = covariance_factor(sigma1)
    values = np.linalg.eigvalsh(factor.T @ sigma2 @ factor)
    real = np.sum(np.sqrt(np.clip(values, 0.0, None)))
    imaginary = np.sqrt(np.clip(-values, 0.0, None))
    return real, imaginary


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """`||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2))`, in float64.

    As in pytorch-fid: if the product is singular (a non-finite result), it
    is retried with `eps` added to both diagonals; imaginary parts are dropped
    when their largest diagonal entry is below 1e-3, and raise otherwise.

    Args:
        mu1, mu2: feature means, shape `(d,)`.
        sigma1, sigma2: feature covariances, shape `(d, d)`.
        eps: diagonal offset of the retry.

    Returns:
        The distance, a float.

    Raises:
        ValueError: for mismatched shapes or a large imaginary component.
    """
    mu1, mu2 = np.atleast_1d(np.float64(mu1)), np.atleast_1d(np.float64(mu2))
    sigma1, sigma2 = np.atleast_2d(np.float64(sigma1)), np.atleast_2d(np.float64(sigma2))
    if (
        mu1.shape != mu2.shape
        or sigma1.shape != sigma2.shape
        or sigma1.shape != (mu1.shape[0], mu1.shape[0])
    ):
        raise ValueError(
            "Means must have shape (d,) and covariances (d, d), alike for both sets. "
            f"Received: mu1 {mu1.shape}, sigma1 {sigma1.shape}, mu2 {mu2.shape}, "
            f"sigma2 {sigma2.shape}"
        )
    diff = mu1 - mu2
    trace, imaginary = trace_sqrt_product(sigma1, sigma2)
    if not np.isfinite(trace):
        offset = np.eye(sigma1.shape[0]) * eps
        trace, imaginary = trace_sqrt_product(sigma1 + offset, sigma2 + offset)
    if imaginary.size and imaginary.max() > 1e-3:
        raise ValueError(
            f"The matrix square root has an imaginary component of {imaginary.max():.3g} "
            "(above 1e-3): the covariances are too far from positive definite. Use more "
            "samples than feature dimensions."
        )
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace)


def fid_from_features(real, fake):
    """FID between two feature arrays of shape `(n, d)` (covariance with ddof=1)."""
    real, fake = np.float64(real), np.float64(fake)
    for name, value in (("real", real), ("fake", fake)):
        if value.ndim != 2 or len(value) < 2:
            raise ValueError(
                f"`{name}` must have shape (n, d) with n >= 2. "
                f"Received: {name} with shape {value.shape}"
            )
    return frechet_distance(
        real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False)
    )
