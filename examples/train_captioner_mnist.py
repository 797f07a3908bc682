"""Image-to-text on captioned digits: an image-prefixed byte decoder that writes "a bold 7 leaning right".

Trains `keras_gen.models.ImageCaptioner` (the default image encoder, 4 prefix
vectors, a 2-layer decoder of width 64) on `data.load("captioned_mnist5k")`
for --steps, saves it, then captions the 500 held-out mnist5k test images
(greedy, temperature 0) and reports how often the caption's digit, thickness
and slant (`keras_gen.data.captions.parse_caption`) are the image's own (its
label and the attributes measured on it), with the held-out nats per byte.

    python examples/train_captioner_mnist.py --steps 3000
"""

import argparse
import json
import math
import os
import time

import keras
import numpy as np

import keras_gen
from keras_gen.data import captions


def caption_accuracy(model, split="test", count=None):
    """Shares of `split`'s images whose greedy caption names their digit, thickness, slant, and all three."""
    arrays = keras_gen.data.captioned_mnist5k_arrays(split)
    count = count or len(arrays["digits"])
    images = arrays["images"][:count].astype("float32") / 127.5 - 1.0
    written = [captions.parse_caption(text) for text in model.generate(images, temperature=0)]
    truth = {key: arrays[key][:count] for key in ("digits", "thickness", "slant")}
    matches = {
        key: np.array([w[field] == truth[key][i] for i, w in enumerate(written)])
        for key, field in (("digits", "digit"), ("thickness", "thickness"), ("slant", "slant"))
    }
    every = matches["digits"] & matches["thickness"] & matches["slant"]
    return {
        "images": count,
        "digit_accuracy": float(matches["digits"].mean()),
        "thickness_accuracy": float(matches["thickness"].mean()),
        "slant_accuracy": float(matches["slant"].mean()),
        "all_accuracy": float(every.mean()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="train steps (211 per epoch)")
    parser.add_argument("--out", default="runs/example-captioner-mnist")
    parser.add_argument("--images", type=int, default=500, help="held-out images captioned")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    dataset, info = keras_gen.data.load("captioned_mnist5k", batch_size=64, seed=0)
    test, _ = keras_gen.data.load("captioned_mnist5k", split="test", batch_size=500, shuffle=False)
    model = keras_gen.models.ImageCaptioner(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    epochs = math.ceil(args.steps * 64 / info.num_examples)
    steps_per_epoch = math.ceil(args.steps / epochs)
    start = time.time()
    history = model.fit(
        dataset.repeat(),
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        validation_data=test,
        verbose=2,
    )
    train_seconds = time.time() - start
    os.makedirs(args.out, exist_ok=True)
    model.save(os.path.join(args.out, "model.keras"))
    report = {
        "steps": steps_per_epoch * epochs,
        "train_seconds": round(train_seconds),
        "held_out_nats_per_byte": round(history.history["val_loss"][-1], 4),
        "held_out": caption_accuracy(model, count=args.images),
        "examples": model.generate(
            keras_gen.data.captioned_mnist5k_arrays("test")["images"][:4].astype("float32") / 127.5
            - 1.0,
            temperature=0,
        ),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
