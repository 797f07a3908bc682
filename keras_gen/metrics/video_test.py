import math

import numpy as np
import pytest

from keras_gen import testing
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


def _squares(velocities, frames=8, size=32, start=((4, 4), (4, 22))):
    """Clips of two 5x5 squares moving at `velocities` (pixels per frame), bouncing at the walls."""
    clip = -np.ones((frames, size, size, 1), "float32")
    positions = np.array(start, float)
    velocities = np.array(velocities, float)
    path = []
    for t in range(frames):
        path.append(positions.copy())
        for row, column in positions.astype(int):
            clip[t, row : row + 5, column : column + 5] = 1.0
        positions += velocities
        for d in range(2):
            for axis in range(2):
                if not 0 <= positions[d, axis] <= size - 5:
                    velocities[d, axis] *= -1
                    positions[d, axis] += 2 * velocities[d, axis]
    return clip[None], np.array(path)


def test_tracks_follow_the_digits_and_constant_motion_scores_one():
    clips, path = _squares([(1, 1), (2, 1)])
    centroids, separate, walls = video.track_digits(clips)
    assert separate.all()
    # Square centres are 2 pixels from their top-left corners; the tracks in order of column.
    order = np.argsort(centroids[0, 0, :, 1])
    np.testing.assert_allclose(centroids[0][:, order], path + 2.0, atol=1e-6)
    # The blobs (squares dilated by 2) are top-left + (-2, 7) along each axis; walls at 0 and 32.
    expected = np.minimum(np.maximum(path - 2, 0), 32 - np.minimum(path + 7, 32))
    np.testing.assert_allclose(walls[0][:, order], expected)
    motion = video.motion_plausibility(clips)
    assert motion["constant_velocity"] == 1.0 and motion["scored_steps"] == 2 * 6
    np.testing.assert_allclose(motion["speed"], (math.hypot(1, 1) + math.hypot(2, 1)) / 2)


def test_motion_counts_the_steps_that_jump():
    clips, _ = _squares([(1, 1), (2, 1)])
    jumped = clips.copy()
    jumped[0, 4:] = np.roll(clips[0, 4:], 3, axis=1)  # both squares jump 3 rows at frame 4
    motion = video.motion_plausibility(jumped)
    # The step pairs 2-3-4 and 3-4-5 of each square change velocity by 3 pixels.
    assert motion["scored_steps"] == 12
    np.testing.assert_allclose(motion["constant_velocity"], 8 / 12)


def test_a_reversal_away_from_the_walls_is_no_bounce():
    clips, _ = _squares([(1, 1), (2, 1)])
    back = clips.copy()
    back[0, 5:] = clips[0, 3:6][::-1]  # frames 5, 6, 7 replay 5, 4, 3: both reverse mid-frame
    motion = video.motion_plausibility(back)
    assert motion["constant_velocity"] < 1.0
    testing.expect_value_error(lambda: video.track_digits(clips, num_digits=0), "num_digits=0")
    colour = np.repeat(clips, 3, axis=-1)
    testing.expect_value_error(lambda: video.track_digits(colour), "one channel")


def test_persistence_counts_the_frames_that_agree_with_a_tracks_class():
    clips, _ = _squares([(1, 1), (2, 1)])

    class Classifier:
        calls = 0

        def __call__(self, windows):
            # Class 3 for every window, but class 5 for the first digit's window at frame 2.
            logits = np.zeros((len(windows), 10))
            logits[:, 3] = 1.0
            logits[4, 5] = 2.0  # windows come frame by frame, two per frame
            return {"logits": logits}

    result = video.digit_persistence(clips, Classifier())
    assert result["classified"] == 16
    np.testing.assert_allclose(result["persistence"], 15 / 16)


def test_moving_mnist_ground_truth_moves_and_persists_and_shuffled_frames_do_not():
    from keras_gen.data import video as video_data

    frames, _ = video_data.moving_mnist_arrays("test", num_sequences=20)
    clips = frames[..., None].astype("float32") / 127.5 - 1.0
    rng = np.random.default_rng(0)
    shuffled = np.stack([clip[rng.permutation(20)] for clip in clips])
    real, mixed = video.motion_plausibility(clips), video.motion_plausibility(shuffled)
    assert real["constant_velocity"] > 0.9 > 0.7 > mixed["constant_velocity"]
    assert 2.5 < real["speed"] < 4.5  # 0.1 of the 36-pixel range a frame, 3.6
    assert video.digit_persistence(clips)["persistence"] > 0.85
