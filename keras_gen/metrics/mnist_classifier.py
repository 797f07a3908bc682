"""A small MNIST classifier shipped with keras_gen: fast features and logits on a CPU.

Trained by `scripts/train_mnist_classifier.py` on the mnist5k train split; its
accuracy on the mnist5k test split is recorded in `docs/metrics.md`.
"""

import os

import keras

from keras_gen.metrics import extractor_base

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


class MNISTClassifier(extractor_base.FeatureExtractor):
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
    feature_dim = FEATURE_DIM
    channels = (1,)

    def __init__(self, weights=None, batch_size=500):
        self.weights = weights or WEIGHTS
        if not os.path.exists(self.weights):
            raise FileNotFoundError(
                f"MNIST classifier weights not found at {self.weights}. They ship with "
                "keras_gen; run scripts/train_mnist_classifier.py to make them again."
            )
        self.model = build_mnist_classifier()
        self.model.load_weights(self.weights)
        super().__init__(extractor_base.file_hash(self.weights), batch_size)

    def forward(self, batch):
        return self.model(extractor_base.resize_images(batch, (28, 28)), training=False)
