"""Trains the Moving MNIST video network that keras_gen ships for the Fréchet video distance.

Clips of mnist5k's training digits (seed 1, so not the video models' training
clips of seed 0); half of each batch with shuffled frames. Two losses: digit
presence (ten sigmoid cross-entropies) and frame order (one). Reports both
accuracies on the fixed test set (test digits) and writes the weights into
keras_gen/metrics/weights/.

    python scripts/train_video_features.py
"""

import argparse
import os

import keras
import numpy as np
import tensorflow as tf

from keras_gen.data import video
from keras_gen.metrics import video_features


def batches(split, batch_size, seed):
    """Endless `(clips, targets)`: clips in [-1, 1], half with shuffled frames."""
    digits, labels = video._digits(split)
    index = 0
    rng = np.random.default_rng(seed)
    while True:
        made = [
            video.moving_mnist_sequence(digits, labels, (seed, index + i))
            for i in range(batch_size)
        ]
        index += batch_size
        clips = np.stack([m.frames for m in made]).astype("float32")[..., None] / 127.5 - 1
        presence = np.zeros((batch_size, 10), "float32")
        for row, m in enumerate(made):
            presence[row, m.labels] = 1.0
        shuffled = rng.random(batch_size) < 0.5
        clips[shuffled] = video_features.shuffle_frames(clips[shuffled], rng.integers(1 << 31))
        yield clips, {"logits": presence, "order": (~shuffled).astype("float32")[:, None]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default=video_features.WEIGHTS)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    network = video_features.build_video_network()
    model = keras.Model(network.input, {k: network.output[k] for k in ("logits", "order")})
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss={"logits": bce, "order": bce},
        metrics={
            "logits": [keras.metrics.BinaryAccuracy(threshold=0.0)],
            "order": [keras.metrics.BinaryAccuracy(threshold=0.0)],
        },
        jit_compile=True,
    )
    model.fit(
        batches("train", args.batch_size, 1), steps_per_epoch=args.steps // 10, epochs=10, verbose=2
    )
    results = model.evaluate(
        batches("test", 50, video.TEST_SEED), steps=20, verbose=0, return_dict=True
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    network.save_weights(args.out)
    print(f"test (1,000 clips of test digits): {results}")
    print(f"weights: {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB)")


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
