import numpy as np
import pytest

from keras_gen import data
from keras_gen.data import toy


def test_toy_metrics_count_modes_quality_and_reverse_kl():
    real = toy.sample("grid25", 2500, seed=3)
    metrics = data.toy_metrics(real, "grid25")
    # In 2D, P(|x - mu| <= 3 std) = 1 - exp(-9 / 2) = 0.9889.
    assert metrics["modes"] == 25
    assert abs(metrics["high_quality"] - (1 - np.exp(-4.5))) < 0.006
    assert metrics["reverse_kl"] < 0.02
    # All samples on one mode: 1 mode, KL = log 25.
    means, _ = toy.centers("grid25")
    collapsed = np.repeat(means[:1] / toy.scale("grid25"), 100, axis=0)
    metrics = data.toy_metrics(collapsed, "grid25")
    assert metrics["modes"] == 1
    np.testing.assert_allclose(metrics["reverse_kl"], np.log(25))
    # Points between modes are not high quality.
    between = np.full((10, 2), 1.0 / toy.scale("grid25"))
    assert data.toy_metrics(between, "grid25")["high_quality"] == 0.0


def test_mixture_centres_and_scale():
    means, std = toy.centers("grid25")
    assert means.shape == (25, 2) and std == 0.05
    assert set(np.unique(means)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    means, std = toy.centers("ring8")
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 2.0)
    assert std == 0.02
    assert np.abs(toy.sample("grid25", 1000)).max() <= 1.0
    with pytest.raises(ValueError, match="name='moons'"):
        toy.centers("moons")
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        data.toy_metrics(np.zeros((3, 3)), "ring8")


@pytest.mark.parametrize("name", toy.MIXTURES)
def test_scaled_centers_are_the_modes_of_the_scaled_samples(name):
    centres, std = toy.scaled_centers(name)
    points = toy.sample(name, 500, seed=0)
    distances = np.linalg.norm(points[:, None] - centres[None], axis=-1).min(axis=1)
    # Gaussian radii in 2-D: none of 500 beyond 5 std (P = exp(-12.5) each).
    assert distances.max() < 5 * std
    assert std == toy.centers(name)[1] / toy.scale(name)


@pytest.mark.parametrize("name", toy.MIXTURES)
def test_high_quality_is_strictly_within_three_standard_deviations(name):
    means, std = toy.centers(name)
    angles = np.linspace(0, 2 * np.pi, len(means), endpoint=False) + 0.3
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    inside = data.toy_metrics((means + 2.9 * std * directions) / toy.scale(name), name)
    assert inside["high_quality"] == 1.0 and inside["modes"] == len(means)
    assert inside["counts"] == [1] * len(means)
    outside = data.toy_metrics((means + 3.1 * std * directions) / toy.scale(name), name)
    assert outside["high_quality"] == 0.0 and outside["modes"] == 0
    assert outside["reverse_kl"] == float("inf")


def test_reverse_kl_is_log_modes_minus_pacgans_entropy():
    means, std = toy.centers("ring8")
    points = means[[0, 0, 0, 1]] / toy.scale("ring8")
    metrics = data.toy_metrics(points, "ring8")
    assert metrics["counts"] == [3, 1, 0, 0, 0, 0, 0, 0] and metrics["modes"] == 2
    q = np.array([0.75, 0.25])
    np.testing.assert_allclose(metrics["reverse_kl"], np.log(8) + np.sum(q * np.log(q)))
    assert data.toy_metrics(points, "ring8", min_samples_per_mode=2)["modes"] == 1


def test_mixture_entropy_is_log_modes_plus_a_gaussians_for_separated_modes():
    import numpy as np

    from keras_gen.data import toy

    for name, modes in (("grid25", 25), ("ring8", 8)):
        _, std = toy.scaled_centers(name)
        # Modes 40+ standard deviations apart barely overlap: H = log K + log(2 pi e std^2).
        expected = np.log(modes) + np.log(2 * np.pi * np.e * std**2)
        value, error = toy.entropy(name, num_samples=20_000, seed=3)
        assert abs(value - expected) < 4 * error + 1e-3, (name, value, expected)


def test_moons_load_as_a_built_in_dataset_in_minus_one_one():
    import numpy as np

    from keras_gen import data

    sizes = {}
    for split in ("train", "test"):
        dataset, info = data.load("moons", split=split, batch_size=5000, shuffle=False)
        points = np.concatenate(list(dataset.as_numpy_iterator()))
        assert info.shape == (2,) and points.min() >= -1.0 and points.max() <= 1.0
        sizes[split] = len(points)
    assert sizes == {"train": 25_000, "test": 2_500}
