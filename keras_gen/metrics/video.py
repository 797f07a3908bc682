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

import warnings

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


#: Pixels above this (in [0, 1]) belong to a digit when tracking.
INK_THRESHOLD = 0.3
#: Blobs of fewer (dilated) pixels are specks, not digits.
MIN_BLOB_PIXELS = 20
#: A reversal counts as a bounce only where the digit's blob is this close to that wall (pixels).
BOUNCE_MARGIN = 8
#: A velocity component that changes by at most this many pixels between frames is constant
#: (the generator rounds positions down to pixels, so a constant velocity jitters by one).
VELOCITY_TOLERANCE = 1.0


def _check_num_digits(num_digits):
    if isinstance(num_digits, bool) or not isinstance(num_digits, int) or num_digits < 1:
        raise ValueError(f"`num_digits` must be an int >= 1. Received: num_digits={num_digits!r}")


def _grey_clips(clips):
    unit = _unit_clips(clips, "clips")
    if unit.shape[-1] != 1:
        raise ValueError(
            "`clips` must be grey (one channel) to track digits. "
            f"Received: clips with shape {unit.shape}"
        )
    return unit[..., 0]


def track_digits(clips, num_digits=2):
    """Centroid tracks of the digits of clips, from the connected blobs of ink in each frame.

    In each frame the `num_digits` largest 8-connected blobs of pixels above
    `INK_THRESHOLD` (dilated by two pixels, so that a digit's strokes join;
    blobs under `MIN_BLOB_PIXELS` are ignored) are the digits (a frame with
    fewer blobs, where digits touch or overlap, is marked merged); blobs are
    linked frame to frame by the assignment of least total centroid distance.

    Args:
        clips: `(n, frames, height, width[, 1])` in [-1, 1].
        num_digits: digits per clip.

    Returns:
        `(centroids, separate, wall_distance)`: float64 `(n, frames,
        num_digits, 2)` centroids `(row, column)` (NaN where merged), bool
        `(n, frames)`, True where every digit is its own blob, and float64
        `(n, frames, num_digits, 2)` the pixels between each blob and the
        nearer wall along rows and along columns (NaN where merged).
    """
    from scipy import ndimage, optimize  # noqa: PLC0415 (scipy is slow to import)

    _check_num_digits(num_digits)
    unit = _grey_clips(clips)
    n, frames, height, width = unit.shape
    centroids = np.full((n, frames, num_digits, 2), np.nan)
    walls = np.full((n, frames, num_digits, 2), np.nan)
    separate = np.zeros((n, frames), bool)
    structure = np.ones((3, 3))
    for i in range(n):
        previous = None
        for t in range(frames):
            ink = ndimage.binary_dilation(unit[i, t] > INK_THRESHOLD, structure, iterations=2)
            labels, count = ndimage.label(ink, structure)
            sizes = ndimage.sum(np.ones_like(labels), labels, range(1, count + 1))
            blobs = [b + 1 for b in np.argsort(sizes)[::-1] if sizes[b] >= MIN_BLOB_PIXELS]
            if len(blobs) < num_digits:
                continue
            chosen = blobs[:num_digits]
            points = np.array(ndimage.center_of_mass(unit[i, t], labels, chosen))
            boxes = ndimage.find_objects(labels)
            distance = np.array(
                [
                    [
                        min(boxes[b - 1][0].start, height - boxes[b - 1][0].stop),
                        min(boxes[b - 1][1].start, width - boxes[b - 1][1].stop),
                    ]
                    for b in chosen
                ],
                float,
            )
            if previous is not None:
                cost = np.linalg.norm(previous[:, None] - points[None], axis=-1)
                order = optimize.linear_sum_assignment(cost)[1]
                points, distance = points[order], distance[order]
            centroids[i, t], walls[i, t], separate[i, t] = points, distance, True
            previous = points
    return centroids, separate, walls


def motion_plausibility(clips, num_digits=2):
    """How well the digits move as Moving MNIST's do: at constant velocity between bounces.

    For each pair of steps `t -> t+1 -> t+2` of a tracked digit (all three
    frames separate), each velocity component must stay within
    `VELOCITY_TOLERANCE` pixels, or reverse or stop where the digit is within
    `BOUNCE_MARGIN` pixels of that wall (a bounce). The ground truth scores
    near 1 (its positions are rounded to pixels and the blobs' centroids
    shift slightly when a digit nears another).

    Returns:
        `{"constant_velocity": fraction of scored step pairs that pass,
        "speed": mean pixels per frame, "speed_std": its standard deviation
        within a track, averaged, "scored_steps": number of step pairs,
        "tracked_frames": fraction of frames with every digit a blob of its own}`.
    """
    centroids, separate, walls = track_digits(clips, num_digits)
    velocity = np.diff(centroids, axis=1)  # (n, frames - 1, digits, 2)
    ok = separate[:, :-2] & separate[:, 1:-1] & separate[:, 2:]
    change = np.abs(velocity[:, 1:] - velocity[:, :-1])
    reverses = np.sign(velocity[:, 1:]) * np.sign(velocity[:, :-1]) <= 0
    with warnings.catch_warnings():  # all-NaN where merged, and not scored
        warnings.simplefilter("ignore", RuntimeWarning)
        near_wall = np.nanmin(np.stack([walls[:, :-2], walls[:, 1:-1], walls[:, 2:]]), axis=0)
    bounce = reverses & (near_wall <= BOUNCE_MARGIN)
    passes = np.all((change <= VELOCITY_TOLERANCE + 1e-9) | bounce, axis=-1)  # (n, f-2, digits)
    scored = np.broadcast_to(ok[..., None], passes.shape)
    speed = np.linalg.norm(velocity, axis=-1)
    moving = separate[:, :-1] & separate[:, 1:]
    speeds = np.where(moving[..., None], speed, np.nan)
    with warnings.catch_warnings():  # a track with no separate step is all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nanstd(speeds, axis=1)
    return {
        "constant_velocity": float(passes[scored].mean()) if scored.any() else float("nan"),
        "speed": float(np.nanmean(speeds)) if moving.any() else float("nan"),
        "speed_std": float(np.nanmean(spread)) if moving.any() else float("nan"),
        "scored_steps": int(scored.sum()),
        "tracked_frames": float(separate.mean()),
    }


def digit_persistence(clips, classifier=None, num_digits=2):
    """How often a tracked digit keeps its identity: the MNIST classifier on each digit, frame by frame.

    Each tracked digit is cut out as the 28x28 window centred on its
    centroid (padded with background) in every separate frame and
    classified; a track's identity is its most frequent class, and the score
    is the fraction of classified frames that agree with it. The other digit
    can reach into a window, so the ground truth scores below 1.

    Args:
        clips: `(n, frames, height, width[, 1])` in [-1, 1].
        classifier: callable images -> `{"logits"}` (default: the shipped `MNISTClassifier`).

    Returns:
        `{"persistence": fraction, "classified": number of digit windows}`.
    """
    if classifier is None:
        from keras_gen.metrics import mnist_classifier  # noqa: PLC0415 (loads weights)

        classifier = mnist_classifier.MNISTClassifier()
    frames_pm = _grey_clips(clips) * 2.0 - 1.0
    centroids, separate, _ = track_digits(clips, num_digits)
    half = 14
    padded = np.pad(frames_pm, ((0, 0), (0, 0), (half, half), (half, half)), constant_values=-1.0)
    windows, owners = [], []
    for i, t in zip(*np.nonzero(separate)):
        for d in range(num_digits):
            row, column = np.round(centroids[i, t, d]).astype(int)
            windows.append(padded[i, t, row : row + 28, column : column + 28])
            owners.append((i, d))
    if not windows:
        return {"persistence": float("nan"), "classified": 0}
    classes = np.argmax(classifier(np.stack(windows)[..., None].astype("float32"))["logits"], -1)
    agree = []
    owners = np.array(owners)
    for key in np.unique(owners, axis=0):
        mine = classes[np.all(owners == key, axis=1)]
        agree.extend(mine == np.bincount(mine).argmax())
    return {"persistence": float(np.mean(agree)), "classified": len(windows)}
