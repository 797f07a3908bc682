"""A small video network shipped with keras_gen, and the Fréchet video distance on its features.

FVD (Unterthiner et al. 2018, arXiv:1812.01717) is the Fréchet distance
between Gaussians fitted to video features; the paper's features are those of
an I3D network trained on Kinetics, which neither ships nor fits Moving MNIST.
Here the default features come from `MovingMNISTFeatures`, a network of 2-D
convolutions per frame and 1-D convolutions over time (290k weights) trained
by `scripts/train_video_features.py` on
Moving MNIST clips of mnist5k's training digits, on two tasks at once: which
digits the clip shows (ten sigmoid outputs) and whether its frames are in
their order or shuffled (one logit), so that its 128-d features see both
appearance and motion. Its numbers are comparable only with other numbers of
the same protocol (`protocol`, stamped on every result), not with I3D FVDs.
"""

import os

import keras
import numpy as np

from keras_gen.metrics import extractor_base, frechet
from keras_gen.utils import images

WEIGHTS = os.path.join(os.path.dirname(__file__), "weights", "moving_mnist_video.weights.h5")
FEATURE_DIM = 128
#: The clips the network was trained on: 20 frames of 64x64 grey pixels.
CLIP_SHAPE = (20, 64, 64, 1)


def build_video_network():
    """The architecture: a frame encoder, two temporal convolutions, 128-d features, 10 + 1 logits.

    Each frame goes through four stride-2 2-D convolutions (with batch
    normalisation), then a 128-d vector: the maximum of each of 64 channels
    over the positions (what is in the frame) and 64 units of the flattened
    grid (where); 1-D convolutions over the frames' vectors see motion, and
    their mean over time makes the 128-d feature layer.
    """
    frame = keras.Input(CLIP_SHAPE[1:], name="frame")
    x = keras.layers.Rescaling(0.5, offset=0.5, name="to_unit")(frame)  # background 0
    for i, width in enumerate((16, 32, 64, 64)):
        x = keras.layers.Conv2D(width, 4, strides=2, padding="same", name=f"conv_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"norm_{i}")(x)
        x = keras.layers.ReLU(name=f"relu_{i}")(x)
    # What is in the frame (a maximum over positions) and where (the flattened grid).
    what = keras.layers.GlobalMaxPooling2D(name="what")(x)
    where = keras.layers.Dense(64, activation="relu", name="where")(
        keras.layers.Flatten(name="flatten")(x)
    )
    x = keras.layers.Concatenate(name="frame_vector")([what, where])
    frame_encoder = keras.Model(frame, x, name="frame_encoder")
    clips = keras.Input(CLIP_SHAPE, name="clips")
    x = keras.layers.TimeDistributed(frame_encoder, name="frames")(clips)
    x = keras.layers.Conv1D(128, 3, padding="same", activation="relu", name="time_0")(x)
    x = keras.layers.Conv1D(128, 3, strides=2, padding="same", activation="relu", name="time_1")(x)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    features = keras.layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    digits = keras.layers.Dense(10, name="digit_logits")(features)
    order = keras.layers.Dense(1, name="order_logit")(features)
    return keras.Model(
        clips, {"features": features, "logits": digits, "order": order}, name="video_features"
    )


def check_clips(clips, name="clips", shape=CLIP_SHAPE):
    """Float32 clips `(n, *shape)` in [-1, 1]; ValueError naming `name` otherwise."""
    clips = np.asarray(clips, "float32")
    if clips.ndim == 4:
        clips = clips[..., None]
    if clips.ndim != 5 or tuple(clips.shape[1:]) != tuple(shape):
        raise ValueError(
            f"`{name}` must be clips (n, {', '.join(map(str, shape))}) in [-1, 1]. "
            f"Received: {name} with shape {clips.shape}"
        )
    return images.check_unit_range(clips, name)


class MovingMNISTFeatures(extractor_base.FeatureExtractor):
    """Feature extractor for Moving MNIST clips: `extractor(clips)` -> features and logits.

    Takes clips `(n, 20, 64, 64, 1)` in [-1, 1]; features are the 128-d layer
    before the two heads, `logits` the ten digit-presence logits.

    Args:
        weights: path of a `.weights.h5` file (default: the shipped weights).
        batch_size: clips per forward pass.
    """

    name = "moving_mnist_video"
    resize = "none: clips of 20 frames of 64x64x1"
    feature_dim = FEATURE_DIM
    channels = (1,)

    def __init__(self, weights=None, batch_size=50):
        self.weights = weights or WEIGHTS
        if not os.path.exists(self.weights):
            raise FileNotFoundError(
                f"Video network weights not found at {self.weights}. They ship with "
                "keras_gen; run scripts/train_video_features.py to make them again."
            )
        self.model = build_video_network()
        self.model.load_weights(self.weights)
        super().__init__(extractor_base.file_hash(self.weights), batch_size)

    def forward(self, batch):
        out = self.model(batch, training=False)
        return {"features": out["features"], "logits": out["logits"]}

    def __call__(self, clips):
        clips = check_clips(clips, "clips")
        return extractor_base.run_in_batches(self._forward, clips, self.batch_size)


def frechet_video_distance(clips_a, clips_b, extractor=None):
    """Fréchet distance between the video features of two sets of clips.

    Args:
        clips_a, clips_b: clips in [-1, 1], of the shape the extractor takes.
        extractor: a callable clips -> `{"features": (n, d)}` with a
            `protocol` attribute (default `MovingMNISTFeatures()`).

    Returns:
        `{"fvd": float, "num_clips": (n_a, n_b), "protocol": extractor.protocol}`.

    Raises:
        ValueError: for fewer than two clips in either set.
    """
    extractor = MovingMNISTFeatures() if extractor is None else extractor
    stats = []
    for name, clips in (("clips_a", clips_a), ("clips_b", clips_b)):
        if len(clips) < 2:
            raise ValueError(
                f"`{name}` needs at least 2 clips for a covariance. "
                f"Received: {name} with {len(clips)} clip(s)"
            )
        features = np.asarray(extractor(clips)["features"], "float64")
        stats.append((features.mean(0), np.cov(features, rowvar=False)))
    value = frechet.frechet_distance(*stats[0], *stats[1])
    return {
        "fvd": float(value),
        "num_clips": (len(clips_a), len(clips_b)),
        "protocol": dict(getattr(extractor, "protocol", {"extractor": type(extractor).__name__})),
    }


def shuffle_frames(clips, seed):
    """Each clip's frames in a random order other than their own (the order head's negatives)."""
    clips = np.asarray(clips)
    if clips.ndim < 2 or clips.shape[1] < 2:
        raise ValueError(
            "`clips` must be (n, frames, ...) with at least 2 frames to shuffle. "
            f"Received: clips with shape {clips.shape}"
        )
    rng = np.random.default_rng(seed)
    out = np.empty_like(clips)
    frames = clips.shape[1]
    for i, clip in enumerate(clips):
        order = rng.permutation(frames)
        while np.array_equal(order, np.arange(frames)):
            order = rng.permutation(frames)
        out[i] = clip[order]
    return out
