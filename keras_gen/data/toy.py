"""The 2D Gaussian mixtures of the mode-collapse literature, and their metrics.

`grid25`: 25 modes on the grid {-4, -2, 0, 2, 4}^2 with standard deviation
0.05; `ring8`: 8 modes on a circle of radius 2 with standard deviation 0.02
(VEEGAN, Srivastava et al. 2017, arXiv:1705.07761; PacGAN, Lin et al. 2018,
arXiv:1712.04086). `moons`: scikit-learn's two interleaving half circles
(`make_moons`, noise 0.05), the density-estimation example of the flow
literature, scaled into [-1, 1].
"""

import numpy as np

MIXTURES = ("grid25", "ring8")


def centers(name):
    """Mode centres, shape `(num_modes, 2)`, and the standard deviation."""
    if name == "grid25":
        grid = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
        return np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2), 0.05
    if name == "ring8":
        angles = 2 * np.pi * np.arange(8) / 8
        return 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.02
    raise ValueError(f"Unknown mixture. Expected one of {list(MIXTURES)}. Received: name={name!r}")


def scale(name):
    """Divisor that maps the mixture into [-1, 1] (the generators' tanh range)."""
    return 4.5 if name == "grid25" else 2.25


def scaled_centers(name):
    """Mode centres `(num_modes, 2)` and standard deviation in the [-1, 1] space of `sample`.

    The true modes as a generator trained on `sample(name, ...)` should place
    them, for instance to mark them in a picture:
    `ImageGridCallback(..., modes=centres, mode_std=std)`.
    """
    means, std = centers(name)
    return means / scale(name), std / scale(name)


def sample(name, num_samples, seed=0):
    """`num_samples` points of the mixture, equally likely modes, scaled into [-1, 1]."""
    means, std = centers(name)
    rng = np.random.RandomState(seed)
    modes = rng.randint(len(means), size=num_samples)
    points = means[modes] + std * rng.normal(size=(num_samples, 2))
    return (points / scale(name)).astype("float32")


def log_density(points, name):
    """Log-density (nats) of the mixture `name` at `points`, in the scaled space of `sample`."""
    means, std = scaled_centers(name)
    points = np.asarray(points, "float64")
    squared = ((points[:, None, :] - means[None]) ** 2).sum(axis=-1)
    per_mode = -squared / (2 * std**2) - np.log(2 * np.pi * std**2)
    return np.logaddexp.reduce(per_mode, axis=1) - np.log(len(means))


def entropy(name, num_samples=100_000, seed=0):
    """`(entropy, standard error)` in nats of the mixture `name` (scaled), by Monte Carlo.

    The mean of `-log_density` over `num_samples` points of `sample`: the
    held-out negative log-likelihood that the true density itself would get,
    the floor for a density model of the data.
    """
    values = -log_density(sample(name, num_samples, seed=seed), name)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(num_samples))


#: Centre and divisor that map scikit-learn's moons ([-1, 2] x [-0.5, 1] before noise)
#: into [-1, 1] with room for 6 standard deviations of noise 0.05.
MOONS_CENTER, MOONS_SCALE = np.array([0.5, 0.25]), 1.8


def moons(num_samples, seed=0, noise=0.05):
    """`num_samples` points of scikit-learn's two moons, scaled into [-1, 1] (float32).

    Points beyond 6 noise standard deviations from the half circles (none in
    the built-in splits) are clipped onto the square's edge.
    """
    from sklearn.datasets import make_moons

    points, _ = make_moons(num_samples, noise=noise, random_state=seed)
    return np.clip((points - MOONS_CENTER) / MOONS_SCALE, -1.0, 1.0).astype("float32")


def toy_metrics(samples, name, min_samples_per_mode=1):
    """Mode coverage, sample quality and reverse KL of samples of a mixture, by PacGAN's rule.

    The rule of PacGAN's code (Lin et al. 2018, `MetricLogger` in
    `synthetic_data_experiments/PacGAN/pacgan/extensions.py` of
    github.com/fjxmlzn/PacGAN), which the VEEGAN metrics it follows define: a
    sample is high quality when its distance to the nearest mode centre, in
    units of the mode's standard deviation, is below 3 (strictly); a mode is
    covered when at least `min_samples_per_mode` high-quality samples are
    nearest to it (the code counts a mode with one); the reverse KL is
    `KL(q || uniform)` of the histogram `q` of high-quality samples over the
    modes, in nats (PacGAN's code logs the entropy `H(q)` of that histogram:
    the reverse KL is `log(num_modes) - H(q)`). PacGAN scores 2,500 samples.
    Its ring has radius 1 and standard deviation 0.01, keras_gen's `ring8`
    radius 2 and 0.02: the same mixture in other units, so the same scores.

    Args:
        samples: generated points in the scaled [-1, 1] space of `sample`,
            shape `(n, 2)`.
        name: `"grid25"` or `"ring8"`.
        min_samples_per_mode: high-quality samples a mode needs to count as covered.

    Returns:
        A dict with `modes` (covered modes), `num_modes`, `high_quality`
        (fraction), `reverse_kl` (infinite without a high-quality sample) and
        `counts` (high-quality samples per mode, a list in the order of `centers`).
    """
    means, std = centers(name)
    samples = np.asarray(samples, dtype="float64")
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"`samples` must have shape (n, 2). Received: shape {samples.shape}")
    # Distances in standard deviations, in the mixture's own units.
    distances = np.linalg.norm(samples[:, None, :] * scale(name) - means[None], axis=-1) / std
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] < 3.0
    counts = np.bincount(nearest[good], minlength=len(means))
    if good.any():
        q = counts / counts.sum()
        nonzero = q > 0
        reverse_kl = float(np.sum(q[nonzero] * np.log(q[nonzero] * len(means))))
    else:
        reverse_kl = float("inf")
    return {
        "modes": int(np.sum(counts >= min_samples_per_mode)),
        "num_modes": len(means),
        "high_quality": float(good.mean()),
        "reverse_kl": reverse_kl,
        "counts": counts.tolist(),
    }
