"""Trains the contrastive image-text model that keras_gen ships for CLIPScore.

Trains `ContrastiveImageText(seed=0)` (the default encoders) on the captioned
mnist5k train split (4,500 images x 3 phrasings), reports its held-out
retrieval on the mnist5k test split (500 images against the distinct captions
of one phrasing: the share whose best caption is their own, and the share
whose best caption names their digit, thickness and slant) and writes the
weights into keras_gen/metrics/weights/.

    python scripts/train_contrastive.py
"""

import argparse
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_gen import data
from keras_gen.data import captions
from keras_gen.metrics import multimodal
from keras_gen.models import ContrastiveImageText


def held_out_retrieval(model, split="test"):
    """Retrieval of each phrasing on `split`, and what the retrieved captions name."""
    arrays = data.captioned_mnist5k_arrays(split)
    images = arrays["images"].astype("float32") / 127.5 - 1.0
    results = {}
    for template in range(len(captions.TEMPLATES)):
        texts = captions.decode_captions(arrays["captions"][:, template])
        candidates = sorted(set(texts))
        best = np.argmax(model.similarity(images, candidates), axis=1)
        retrieved = [captions.parse_caption(candidates[b]) for b in best]
        results[f"template_{template}"] = {
            "retrieval_accuracy": float(np.mean([candidates[b] == t for b, t in zip(best, texts)])),
            "candidates": len(candidates),
            **{
                f"{key}_accuracy": float(
                    np.mean([r[key] == int(arrays[k][i]) for i, r in enumerate(retrieved)])
                )
                for key, k in (("digit", "digits"), ("thickness", "thickness"), ("slant", "slant"))
            },
        }
    return results


def save_without_optimizer(model, path):
    """The weights of `model` from an uncompiled copy: the file holds no optimizer state."""
    shipped = ContrastiveImageText(seed=0)
    shipped.set_weights(model.get_weights())
    shipped.save_weights(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--out", default=multimodal.CONTRASTIVE_WEIGHTS)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    train, info = data.load("captioned_mnist5k", batch_size=args.batch_size, seed=0)
    test, _ = data.load("captioned_mnist5k", split="test", batch_size=500, shuffle=False)
    model = ContrastiveImageText(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    start = time.perf_counter()
    model.fit(train, epochs=args.epochs, validation_data=test, verbose=2)
    seconds = time.perf_counter() - start
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_without_optimizer(model, args.out)
    report = {
        "command": f"python scripts/train_contrastive.py --epochs {args.epochs}",
        "train_pairs": info.num_examples,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "train_seconds": round(seconds, 1),
        "held_out": held_out_retrieval(model),
        "weights": args.out,
        "megabytes": round(os.path.getsize(args.out) / 1e6, 2),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
