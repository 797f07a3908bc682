"""Trains the MNIST classifier that keras_gen ships as a feature extractor.

Trains on the mnist5k train split (4,500 images, with small random shifts),
reports the accuracy on the mnist5k test split (500 images) and writes the
weights into keras_gen/metrics/weights/.

    python scripts/train_mnist_classifier.py
"""

import argparse
import os

import keras
import tensorflow as tf

from keras_gen import data
from keras_gen.metrics import mnist_classifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default=mnist_classifier.WEIGHTS)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    train, _ = data.load("mnist5k", batch_size=64, labels=True, seed=0)
    test, _ = data.load("mnist5k", split="test", batch_size=500, labels=True, shuffle=False)
    shift = keras.layers.RandomTranslation(0.1, 0.1, fill_value=-1.0, fill_mode="constant", seed=0)
    train = train.map(lambda x, y: (shift(x, training=True), y))
    network = mnist_classifier.build_mnist_classifier()
    classifier = keras.Model(network.input, network.output["logits"])
    classifier.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    classifier.fit(train, epochs=args.epochs, verbose=2)
    _, accuracy = classifier.evaluate(test, verbose=0)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    network.save_weights(args.out)
    print(
        f"mnist5k test accuracy: {accuracy:.4f} (500 images); weights: {args.out} "
        f"({os.path.getsize(args.out) / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
