"""What every feature extractor shares: input check, resize, weights hash, protocol, batches.

A leaf module (it imports nothing from `keras_gen.metrics`), so that the
extractors, their registry (`extractors.get`) and the metrics can all import
it without a cycle.
"""

import hashlib

import numpy as np
import tensorflow as tf

from keras_gen.networks import common


def check_images(images, name, channels=(1, 3)):
    """Float32 images `(n, h, w, c)` in [-1, 1], the documented input of every extractor.

    Raises:
        ValueError: for another rank or channel count, non-finite values, or
            values outside [-1, 1] (such as 0..255 pixels), naming `name`.
    """
    images = np.asarray(images, "float32")
    if images.ndim != 4 or images.shape[-1] not in channels:
        raise ValueError(
            f"{name} takes images of shape (n, h, w, {' or '.join(map(str, channels))}) "
            f"in [-1, 1]. Received: images with shape {images.shape}"
        )
    if images.size and not np.all(np.isfinite(images)):
        raise ValueError(
            f"{name} takes finite images in [-1, 1]. Received: images with "
            f"{int(np.sum(~np.isfinite(images)))} NaN or infinite values"
        )
    if images.size and (images.min() < -1.001 or images.max() > 1.001):
        raise ValueError(
            f"{name} takes images in [-1, 1] (scale 8-bit pixels as x / 127.5 - 1). "
            f"Received: images in [{images.min():.4g}, {images.max():.4g}]"
        )
    return images


def run_in_batches(forward, images, batch_size):
    """`{"features", "logits"}` of `forward` over `images` in batches, as numpy arrays."""
    outputs = {"features": [], "logits": []}
    for start in range(0, len(images), batch_size):
        result = forward(tf.constant(images[start : start + batch_size]))
        for key in outputs:
            outputs[key].append(np.asarray(result[key]))
    return {key: np.concatenate(value) for key, value in outputs.items()}


def file_hash(path, length=16):
    """The first `length` hex digits of the SHA-256 of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def resize_images(images, size, channels=None):
    """Bilinear resize of a batch to `size` (skipped when it has that size already).

    With `channels=3`, grayscale images are first repeated to three channels.
    """
    if channels is not None and images.shape[-1] == 1 and channels != 1:
        images = tf.repeat(images, channels, axis=-1)
    if tuple(images.shape[1:3]) == tuple(size):
        return images
    return tf.image.resize(images, size)


class FeatureExtractor:
    """Base class of feature extractors: `extractor(images)` -> `{"features", "logits"}`.

    A subclass sets `name` (the protocol's extractor name), `resize` (its
    input handling, in words), `feature_dim` and `channels`, calls
    `super().__init__(weights_hash, batch_size)` and defines `forward(batch)`,
    the network on one batch of checked images (a float32 tensor in [-1, 1]).
    The base checks the images, runs `forward` compiled once in batches of
    `batch_size` and writes the `protocol` that statistics carry.

    Args:
        weights_hash: what identifies the weights (a hash of the file or tensors).
        batch_size: images per forward pass.
    """

    name = None
    resize = None
    feature_dim = None
    channels = (1, 3)

    def __init__(self, weights_hash, batch_size):
        self.weights_hash = weights_hash
        self.batch_size = common.check_positive_int(batch_size, "batch_size")
        self._forward = tf.function(self.forward, reduce_retracing=True)

    @property
    def protocol(self):
        """`{"extractor", "weights", "resize"}`: what makes two sets of features comparable."""
        return {"extractor": self.name, "weights": self.weights_hash, "resize": self.resize}

    def forward(self, batch):
        raise NotImplementedError(f"{type(self).__name__} must define forward(batch).")

    def __call__(self, images):
        images = check_images(images, type(self).__name__, channels=self.channels)
        return run_in_batches(self._forward, images, self.batch_size)
