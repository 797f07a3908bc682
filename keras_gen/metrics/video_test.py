import math

import numpy as np
import pytest

from keras_gen.metrics import video


def _gaussian_window(size=11, sigma=1.5):
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def _ssim_direct(a, b):
    """Wang et al. 2004 on one grey image pair in [0, 1], 'valid' windows, as tf.image.ssim."""
    window = _gaussian_window()
    k = window.shape[0]

    def filtered(x):
        rows, cols = x.shape[0] - k + 1, x.shape[1] - k + 1
        out = np.zeros((rows, cols))
        for i in range(rows):
            for j in range(cols):
                out[i, j] = (x[i : i + k, j : j + k] * window).sum()
        return out

    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = filtered(a), filtered(b)
    var_a = filtered(a * a) - mu_a**2
    var_b = filtered(b * b) - mu_b**2
    cov = filtered(a * b) - mu_a * mu_b
    ssim = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return ssim.mean()


def test_frame_metrics_against_direct_computation():
    rng = np.random.RandomState(0)
    target = rng.uniform(-1, 1, (2, 3, 16, 16, 1))
    predicted = np.clip(target + rng.normal(0, 0.3, target.shape), -1, 1)
    result = video.frame_metrics(predicted, target)
    a, b = (predicted + 1) / 2, (target + 1) / 2
    for t in range(3):
        mse = np.mean([((a[i, t] - b[i, t]) ** 2).sum() for i in range(2)])
        np.testing.assert_allclose(result["mse"][t], mse, rtol=1e-12)
        psnr = np.mean([10 * math.log10(1 / ((a[i, t] - b[i, t]) ** 2).mean()) for i in range(2)])
        np.testing.assert_allclose(result["psnr"][t], psnr, rtol=1e-12)
        ssim = np.mean([_ssim_direct(a[i, t, ..., 0], b[i, t, ..., 0]) for i in range(2)])
        np.testing.assert_allclose(result["ssim"][t], ssim, rtol=1e-4)
    np.testing.assert_allclose(result["mean_mse"], result["mse"].mean())
    same = video.frame_metrics(target, target)
    assert same["mean_mse"] == 0 and same["mean_psnr"] == math.inf
    np.testing.assert_allclose(same["mean_ssim"], 1.0, atol=1e-6)


def test_copy_last_frame_and_bad_input():
    context = np.arange(2 * 4 * 2 * 2, dtype="float32").reshape(2, 4, 2, 2) / 100
    predicted = video.copy_last_frame(context, 3)
    assert predicted.shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(predicted[:, 2], context[:, 3])
    with pytest.raises(ValueError, match="num_frames"):
        video.copy_last_frame(context, 0)
    with pytest.raises(ValueError, match="same shape"):
        video.frame_metrics(np.zeros((1, 2, 16, 16)), np.zeros((1, 3, 16, 16)))
    with pytest.raises(ValueError, match=r"`target` must hold finite values in \[-1, 1\]"):
        video.frame_metrics(np.zeros((1, 2, 16, 16)), np.full((1, 2, 16, 16), 2.0))
    with pytest.raises(ValueError, match="at least 11 pixels a side"):
        video.frame_metrics(np.zeros((1, 2, 8, 8)), np.zeros((1, 2, 8, 8)))
