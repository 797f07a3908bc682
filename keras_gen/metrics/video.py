"""Frame-prediction metrics of video: per-frame MSE, PSNR and SSIM, as the Moving MNIST papers report them.

The benchmark's MSE (SimVP, Gao et al. 2022, arXiv:2206.05099, Table 2; PredRNN,
PhyDNet) is the squared error summed over a frame's pixels, with intensities
in [0, 1], averaged over the predicted frames and the sequences: this is that
figure. PSNR is `10 log10(1 / mean squared error)` of each frame (infinite for
an exact frame) and SSIM Wang et al. 2004's with an 11x11 Gaussian window of
standard deviation 1.5, `K1 = 0.01`, `K2 = 0.03` (`tf.image.ssim`), each
averaged over frames and sequences. The papers' code computes PSNR on frames
rounded to 8 bits and SSIM with scikit-image's defaults (a 7x7 uniform
window), so those two are comparable with theirs in kind, not to the digit.
Clips in the library's range [-1, 1] are mapped to [0, 1] first; frames need
at least 11 pixels a side (the SSIM window).
"""

import numpy as np
import tensorflow as tf


def _unit_clips(clips, name):
    """Float64 `(n, frames, h, w, c)` in [0, 1] of clips in [-1, 1] (rank 4 gets a channel)."""
    clips = np.asarray(clips, "float64")
    if clips.ndim == 4:
        clips = clips[..., None]
    if clips.ndim != 5 or clips.size == 0 or min(clips.shape[2:4]) < 11:
        raise ValueError(
            f"`{name}` must be clips (n, frames, height, width[, channels]) of frames at "
            f"least 11 pixels a side. Received: {name} with shape {clips.shape}"
        )
    if not np.all(np.isfinite(clips)) or clips.min() < -1 - 1e-6 or clips.max() > 1 + 1e-6:
        raise ValueError(
            f"`{name}` must hold finite values in [-1, 1]. "
            f"Received: {name} in [{np.nanmin(clips):.4g}, {np.nanmax(clips):.4g}]"
        )
    return (clips + 1.0) / 2.0


def _pair(predicted, target):
    predicted, target = _unit_clips(predicted, "predicted"), _unit_clips(target, "target")
    if predicted.shape != target.shape:
        raise ValueError(
            "`predicted` and `target` must have the same shape. "
            f"Received: {predicted.shape} and {target.shape}"
        )
    return predicted, target


def frame_metrics(predicted, target):
    """Per-frame MSE (summed over pixels), PSNR (dB) and SSIM of predicted clips, by frame.

    Args:
        predicted, target: clips `(n, frames, height, width[, channels])` in [-1, 1].

    Returns:
        A dict of float64 arrays of length `frames`, each the mean over the
        `n` sequences: `mse`, `psnr`, `ssim`; and their means over the
        frames, `mean_mse`, `mean_psnr`, `mean_ssim` (the figures papers report).

    Example:
    >>> clips = np.zeros((2, 3, 16, 16, 1), "float32")
    >>> frame_metrics(clips, clips)["mean_mse"]
    0.0
    """
    predicted, target = _pair(predicted, target)
    error = (predicted - target) ** 2
    mse = error.sum(axis=(2, 3, 4))  # (n, frames)
    per_pixel = error.mean(axis=(2, 3, 4))
    with np.errstate(divide="ignore"):
        psnr = np.where(per_pixel > 0, 10 * np.log10(1.0 / np.maximum(per_pixel, 1e-300)), np.inf)
    n, frames = mse.shape
    flat = lambda clips: tf.constant(clips.reshape(n * frames, *clips.shape[2:]))  # noqa: E731
    ssim = tf.image.ssim(flat(predicted), flat(target), max_val=1.0).numpy().reshape(n, frames)
    result = {"mse": mse.mean(0), "psnr": psnr.mean(0), "ssim": ssim.mean(0)}
    result.update({f"mean_{key}": float(value.mean()) for key, value in list(result.items())})
    return result


def copy_last_frame(context, num_frames):
    """The baseline prediction: the last observed frame repeated `num_frames` times.

    Args:
        context: clips `(n, observed, height, width[, channels])`.
        num_frames: frames to predict.
    """
    context = np.asarray(context)
    if context.ndim not in (4, 5) or context.shape[1] < 1:
        raise ValueError(
            "`context` must be clips (n, frames, height, width[, channels]) with a frame. "
            f"Received: context with shape {context.shape}"
        )
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"`num_frames` must be an int >= 1. Received: num_frames={num_frames!r}")
    return np.repeat(context[:, -1:], num_frames, axis=1)
