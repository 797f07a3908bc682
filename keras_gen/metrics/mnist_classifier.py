"""A small MNIST classifier shipped with keras_gen: fast features and logits on a CPU.

Trained by `scripts/train_mnist_classifier.py` on the mnist5k train split; its
accuracy on the mnist5k test split is recorded in `docs/metrics.md`.
"""

import hashlib
import os

import keras
import tensorflow as tf

from keras_gen.metrics import extractors

WEIGHTS = os.path.join(os.path.dirname(__file__), "weights", "mnist_classifier.weights.h5")
FEATURE_DIM = 128


def build_mnist_classifier():
    """The architecture: four convolutions, a 128-d feature layer, 10 logits (300k weights)."""
    images = keras.Input((28, 28, 1), name="images")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_0")(images)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", name="conv_1")(x)
    x = keras.layers.Conv2D(128, 3, strides=2, padding="same", activation="relu", name="conv_2")(x)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", name="conv_3")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    features = keras.layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    logits = keras.layers.Dense(10, name="logits")(features)
    return keras.Model(images, {"features": features, "logits": logits}, name="mnist_classifier")


def file_hash(path, length=16):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


class MNISTClassifier:
    """Feature extractor for MNIST-like images: `extractor(images)` -> features and logits.

    Images in [-1, 1] of shape `(n, h, w, 1)` are resized to 28x28 (bilinear)
    when they have another size. Features are the 128-d penultimate layer.

    Args:
        weights: path of a `.weights.h5` file (default: the shipped weights).
        batch_size: images per forward pass.

    Example:
    >>> extractor = MNISTClassifier()
    >>> out = extractor(np.zeros((2, 28, 28, 1), "float32"))
    >>> out["features"].shape, out["logits"].shape
    ((2, 128), (2, 10))
    """

    name = "mnist_classifier"
    resize = "bilinear to 28x28 when needed"

    def __init__(self, weights=None, batch_size=500):
        self.weights = weights or WEIGHTS
        if not os.path.exists(self.weights):
            raise FileNotFoundError(
                f"MNIST classifier weights not found at {self.weights}. They ship with "
                "keras_gen; run scripts/train_mnist_classifier.py to make them again."
            )
        self.batch_size = batch_size
        self.model = build_mnist_classifier()
        self.model.load_weights(self.weights)
        self.weights_hash = file_hash(self.weights)
        self.feature_dim = FEATURE_DIM
        self._forward = tf.function(
            lambda x: self.model(
                tf.image.resize(x, (28, 28)) if x.shape[1:3] != (28, 28) else x, training=False
            ),
            input_signature=None,
            reduce_retracing=True,
        )

    @property
    def protocol(self):
        return {"extractor": self.name, "weights": self.weights_hash, "resize": self.resize}

    def __call__(self, images):
        images = extractors.check_images(images, "MNISTClassifier", channels=(1,))
        return extractors.run_in_batches(self._forward, images, self.batch_size)
