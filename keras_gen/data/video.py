"""Video as data: Moving MNIST made from mnist5k's digits by the published procedure, and the user's clips.

Moving MNIST (Srivastava, Mansimov & Salakhutdinov 2015, arXiv:1502.04681, and
their generator): each of `num_digits` 28x28 digits starts at a uniform random
position of the `frame_size - 28` free range and moves in a uniform random
direction by `STEP_LENGTH` of that range per frame; at a wall its position is
clamped and that component of its velocity reversed. The first frame is after
the first step, and digits overlap by their maximum. Here the digits are
mnist5k's (the training split's for `"train"`, the test split's for
`"test"`), so sequences are comparable with the benchmark in procedure, not in
digits.
"""

import collections
import os

import numpy as np
import tensorflow as tf

from keras_gen.data import epoch_order

DIGIT_SIZE = 28
#: Step per frame as a share of the free range (the original generator's 0.1).
STEP_LENGTH = 0.1
#: The fixed test set: `TEST_SEQUENCES` sequences from seed `TEST_SEED`.
TEST_SEQUENCES = 1000
TEST_SEED = 20150205
#: Training sequences per pass when `num_sequences` is not given.
TRAIN_SEQUENCES = 10000
VIDEO_SUFFIXES = (".gif",)
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")

VideoInfo = collections.namedtuple("VideoInfo", ["name", "split", "num_sequences", "shape", "seed"])
VideoInfo.__doc__ = (
    """What `load_video` loaded: `shape` is one clip's `(frames, height, width, channels)`."""
)

Sequence = collections.namedtuple("Sequence", ["frames", "positions", "digits", "labels"])
Sequence.__doc__ = """One Moving MNIST sequence.

`frames` uint8 `(num_frames, frame_size, frame_size)`; `positions` int32
`(num_frames, num_digits, 2)`, each digit's top-left `(row, column)`;
`digits` the indices of its digits in the split, `labels` their classes.
"""


def trajectories(rng, num_frames, num_digits, free):
    """Top-left pixel positions `(num_frames, num_digits, 2)` of bouncing digits, and their velocities.

    The original generator's physics: a position in [0, 1]^2 of the free
    range, a unit velocity of uniform direction, `STEP_LENGTH` per frame,
    clamped and reflected at the walls, rounded down to pixels at the end.
    """
    position = rng.random_sample((num_digits, 2))  # (row, column) in [0, 1]
    theta = rng.random_sample(num_digits) * 2 * np.pi
    velocity = np.stack([np.sin(theta), np.cos(theta)], axis=-1)
    path = np.zeros((num_frames, num_digits, 2))
    velocities = np.zeros((num_frames, num_digits, 2))
    for t in range(num_frames):
        position = position + velocity * STEP_LENGTH
        low, high = position <= 0.0, position >= 1.0
        position = np.clip(position, 0.0, 1.0)
        velocity = np.where(low | high, -velocity, velocity)
        path[t], velocities[t] = position, velocity
    return (free * path).astype("int32"), velocities


def moving_mnist_sequence(digits, labels, seed, num_frames=20, frame_size=64, num_digits=2):
    """One sequence from `digits` (uint8 `(n, 28, 28)`), a function of `seed` (an int or a tuple).

    Returns:
        A `Sequence`.
    """
    free = frame_size - DIGIT_SIZE
    if free < 1:
        raise ValueError(
            f"`frame_size` must exceed the digits' {DIGIT_SIZE} pixels. "
            f"Received: frame_size={frame_size}"
        )
    rng = np.random.RandomState(np.random.SeedSequence(seed).generate_state(1)[0])
    chosen = rng.randint(0, len(digits), num_digits)
    positions, _ = trajectories(rng, num_frames, num_digits, free)
    frames = np.zeros((num_frames, frame_size, frame_size), "uint8")
    for t in range(num_frames):
        for d, index in enumerate(chosen):
            top, left = positions[t, d]
            window = frames[t, top : top + DIGIT_SIZE, left : left + DIGIT_SIZE]
            np.maximum(window, digits[index], out=window)
    return Sequence(frames, positions, chosen.astype("int32"), labels[chosen].astype("int32"))


def _digits(split):
    from keras_gen.data import datasets  # noqa: PLC0415 (datasets imports the whole data package)

    digits, labels = datasets._mnist5k_digits(split)
    return digits, labels


def moving_mnist_arrays(split="test", num_sequences=None, seed=None, **options):
    """uint8 `(n, frames, size, size)` sequences and int32 `(n, num_digits)` digit labels.

    The test split's defaults are the fixed test set (`TEST_SEQUENCES` from
    `TEST_SEED`); sequence `i` is a function of `(seed, i)`, so any prefix of
    a longer set is the shorter set.
    """
    digits, labels = _digits(_check_split(split))
    n = _sequences(num_sequences, split)
    seed = (TEST_SEED if split == "test" else 0) if seed is None else seed
    made = [moving_mnist_sequence(digits, labels, (seed, i), **options) for i in range(n)]
    return np.stack([m.frames for m in made]), np.stack([m.labels for m in made])


def _sequences(num_sequences, split):
    if num_sequences is None:
        return TEST_SEQUENCES if split == "test" else TRAIN_SEQUENCES
    if isinstance(num_sequences, bool) or not isinstance(num_sequences, int) or num_sequences < 1:
        raise ValueError(
            f"`num_sequences` must be None or an int >= 1. Received: num_sequences={num_sequences!r}"
        )
    return num_sequences


def _check_split(split):
    if split not in ("train", "test"):
        raise ValueError(f"`split` must be 'train' or 'test'. Received: split={split!r}")
    return split


def load_video(
    name="moving_mnist",
    split="train",
    num_frames=20,
    frame_size=64,
    num_digits=2,
    batch_size=16,
    num_sequences=None,
    shuffle=True,
    seed=None,
    steps_per_epoch=None,
):
    """Video clips as a `tf.data` pipeline of float32 `(batch, frames, height, width, channels)` in [-1, 1].

    Args:
        name: `"moving_mnist"`, or a folder of the user's clips: GIF files,
            or subfolders of frame images (sorted by name), each one clip cut
            into non-overlapping windows of `num_frames` (a folder with
            `train/` and `test/` subfolders gives those splits; otherwise it
            is one `"train"` split).
        split: `"train"` or `"test"` (Moving MNIST: digits of mnist5k's split;
            the test defaults are the fixed test set).
        num_frames: frames per clip.
        frame_size: Moving MNIST's frame height and width.
        num_digits: digits per Moving MNIST sequence.
        batch_size: clips per batch.
        num_sequences: Moving MNIST sequences of the split (default
            `TRAIN_SEQUENCES` for train, `TEST_SEQUENCES` for test), each a
            function of `(seed, index)`, made as they are read.
        shuffle: shuffle the clips every epoch (the order of epoch `e` a
            function of `(seed, e)`).
        seed: the sequences' seed (default 0 for train, `TEST_SEED` for test)
            and the shuffling seed.
        steps_per_epoch: make each epoch this many batches, read on across passes.

    Returns:
        `(dataset, VideoInfo)`.

    Example:
    >>> dataset, info = load_video("moving_mnist", split="test", batch_size=4)
    >>> info.shape
    (20, 64, 64, 1)
    """
    for argument, value in (
        ("num_frames", num_frames),
        ("frame_size", frame_size),
        ("num_digits", num_digits),
        ("batch_size", batch_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{argument}` must be an int >= 1. Received: {argument}={value!r}")
    _check_split(split)
    if steps_per_epoch is not None:
        if (
            isinstance(steps_per_epoch, bool)
            or not isinstance(steps_per_epoch, int)
            or (steps_per_epoch < 1)
        ):
            raise ValueError(
                f"`steps_per_epoch` must be None or an int >= 1. Received: {steps_per_epoch!r}"
            )
        if not shuffle:
            raise ValueError("`steps_per_epoch` needs shuffle=True. Received: shuffle=False")
    if name != "moving_mnist":
        folder = name
        if isinstance(name, (str, os.PathLike)) and os.path.isdir(os.path.join(name, split)):
            folder = os.path.join(name, split)  # a folder with train/ and test/ subfolders
        elif split != "train":
            raise ValueError(
                f"{name} has no `{split}` subfolder; without subfolders a folder is one 'train' "
                f"split. Received: split={split!r}"
            )
        dataset, info = _user_clips(folder, num_frames, batch_size, shuffle, seed, steps_per_epoch)
        label = os.path.basename(os.path.normpath(str(name)))
        return dataset, info._replace(name=label, split=split)
    if frame_size <= DIGIT_SIZE:
        raise ValueError(
            f"`frame_size` must exceed the digits' {DIGIT_SIZE} pixels. "
            f"Received: frame_size={frame_size}"
        )
    digits, labels = _digits(split)
    n = _sequences(num_sequences, split)
    sequence_seed = (TEST_SEED if split == "test" else 0) if seed is None else int(seed)
    options = dict(num_frames=num_frames, frame_size=frame_size, num_digits=num_digits)

    def make(index):
        frames = moving_mnist_sequence(digits, labels, (sequence_seed, int(index)), **options)[0]
        return frames.astype("float32")[..., None] / 127.5 - 1.0

    shape = (num_frames, frame_size, frame_size, 1)

    def gather(indices):
        clips = tf.numpy_function(
            lambda i: np.stack([make(k) for k in i]), [indices], tf.float32, stateful=False
        )
        return tf.ensure_shape(clips, (None, *shape))

    order = dict(
        shuffle=shuffle,
        seed=epoch_order.resolve_seed(seed) if shuffle else None,
        steps_per_epoch=steps_per_epoch,
    )
    dataset = epoch_order.gathered_batches(n, batch_size, order, gather)
    return dataset, VideoInfo("moving_mnist", split, n, shape, sequence_seed)


def read_clip(path):
    """uint8 `(frames, height, width, channels)` of a GIF file or a folder of frame images."""
    from PIL import Image, ImageSequence  # noqa: PLC0415

    try:
        if os.path.isdir(path):
            files = sorted(
                os.path.join(path, f)
                for f in os.listdir(path)
                if f.lower().endswith(FRAME_SUFFIXES)
            )
            if not files:
                raise ValueError(f"{path} holds no frame image ({', '.join(FRAME_SUFFIXES)}).")
            frames = [np.asarray(Image.open(f).convert("RGB")) for f in files]
        else:
            with Image.open(path) as image:
                frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(image)]
    except (OSError, SyntaxError) as error:
        raise ValueError(f"{path} is not a readable clip: {error}") from None
    if len({f.shape for f in frames}) != 1:
        raise ValueError(
            f"The frames of {path} differ in size: {sorted({f.shape for f in frames})}"
        )
    clip = np.stack(frames)
    if np.all(clip[..., :1] == clip):  # grey frames stay one channel
        clip = clip[..., :1]
    return clip


def _user_clips(path, num_frames, batch_size, shuffle, seed, steps_per_epoch):
    if not isinstance(path, (str, os.PathLike)) or not os.path.isdir(path):
        raise ValueError(
            "`name` must be 'moving_mnist' or a folder of clips (GIF files or folders of frames). "
            f"Received: name={path!r}"
        )
    entries = sorted(
        os.path.join(path, e)
        for e in os.listdir(path)
        if not e.startswith(".")
        and e not in ("train", "validation", "test")
        and (e.lower().endswith(VIDEO_SUFFIXES) or os.path.isdir(os.path.join(path, e)))
    )
    if not entries:
        raise ValueError(f"{path} holds no clip (GIF files or folders of frames).")
    clips = [read_clip(entry) for entry in entries]
    if len({clip.shape[-1] for clip in clips}) > 1:  # grey beside colour: all as colour
        clips = [np.repeat(clip, 3, axis=-1) if clip.shape[-1] == 1 else clip for clip in clips]
    windows = []
    for clip in clips:
        count = len(clip) // num_frames
        windows += [clip[i * num_frames : (i + 1) * num_frames] for i in range(count)]
    shapes = {w.shape for w in windows}
    if not windows or len(shapes) != 1:
        raise ValueError(
            f"The clips of {path} must give windows of {num_frames} frames of one size. "
            f"Received: {len(windows)} windows of shapes {sorted(shapes)}"
        )
    clips = tf.constant(np.stack(windows))
    order = dict(
        shuffle=shuffle,
        seed=epoch_order.resolve_seed(seed) if shuffle else None,
        steps_per_epoch=steps_per_epoch,
    )
    dataset = epoch_order.gathered_batches(
        len(windows),
        batch_size,
        order,
        lambda i: tf.cast(tf.gather(clips, i), tf.float32) / 127.5 - 1.0,
    )
    name = os.path.basename(os.path.normpath(str(path)))
    return dataset, VideoInfo(name, "train", len(windows), tuple(windows[0].shape), seed)
