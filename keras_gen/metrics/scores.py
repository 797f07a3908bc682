"""Inception Score and Kernel Inception Distance on features and logits."""

import numpy as np


def _log_softmax(logits):
    logits = logits - logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


# Salimans et al. 2016, arXiv:1606.03498; the improved-GAN code's get_inception_score.
def inception_score(logits, splits=10):
    """Inception Score: `exp(E_x KL(p(y|x) || p(y)))` over `splits` contiguous splits.

    Args:
        logits: classifier logits, shape `(n, classes)` (the bias-free 1008
            logits of the FID Inception network for the published score).
        splits: number of contiguous splits, each scored with its own `p(y)`.

    Returns:
        `(mean, std)` of the per-split scores.
    """
    logits = np.float64(logits)
    if logits.ndim != 2 or len(logits) < splits:
        raise ValueError(
            f"`logits` must have shape (n, classes) with n >= splits={splits}. "
            f"Received: logits with shape {logits.shape}"
        )
    log_p = _log_softmax(logits)
    p = np.exp(log_p)
    scores = []
    for part in range(splits):
        start, stop = part * len(p) // splits, (part + 1) * len(p) // splits
        p_part, log_p_part = p[start:stop], log_p[start:stop]
        log_py = np.log(p_part.mean(axis=0))
        kl = np.sum(p_part * (log_p_part - log_py), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def polynomial_kernel(x, y):
    """The KID kernel `(x . y / d + 1)^3`."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(x, y):
    m = len(x)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    off_diagonal = (k_xx.sum() - np.trace(k_xx)) + (k_yy.sum() - np.trace(k_yy))
    return off_diagonal / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m)


# Binkowski et al. 2018, arXiv:1801.01401.
def kernel_inception_distance(real, fake, num_subsets=100, subset_size=1000, seed=None):
    """KID: unbiased MMD^2 with the cubic polynomial kernel, averaged over subsets.

    Each subset draws `subset_size` rows of each set without replacement
    (`min(subset_size, n)`), with a `numpy.random.RandomState(seed)`.

    Returns:
        `(mean, std)` over the subsets.
    """
    real, fake = np.float64(real), np.float64(fake)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"`real` and `fake` must have shapes (n, d) and (m, d). "
            f"Received: {real.shape} and {fake.shape}"
        )
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError(
            f"KID needs at least 2 samples per set. Received: {len(real)} real, {len(fake)} fake"
        )
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(num_subsets):
        x = real[rng.choice(len(real), size, replace=False)]
        y = fake[rng.choice(len(fake), size, replace=False)]
        values.append(_unbiased_mmd2(x, y))
    return float(np.mean(values)), float(np.std(values))
