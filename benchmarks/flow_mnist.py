"""Held-out bits per dimension of a flow (or a Gaussian VAE) on mnist5k after a stated number of updates.

Trains `Glow` or `RealNVP` with the command line's recipe (`keras-gen train
glow|realnvp`: Glow 2 levels x 4 steps, RealNVP 2 scales x 4 couplings, 64
hidden channels, Adam 1e-3) on the 4,500 mnist5k training digits, batch 64,
for `--steps` updates, then prints, as JSON, the bits per dimension of the 500
test digits (pixels in [0, 256), one uniform dequantization draw, seed 0), the
training wall time and the command. `--evaluations` splits training into that
many epochs and records the held-out figure after each (the curve).

`--model vae`: the comparison the flows are the reference point for, a
`VAE(latent_dim=16, likelihood="gaussian")` (default convolutional pair, Adam
1e-3) trained on the same digits dequantized as the flows see them (`k + u`,
fresh `u` every batch, divided by 128 into [-1, 1)), scored by its
importance-weighted bound (K = 100) on the 8-bit test digits in the flows'
units (`keras_gen.metrics.held_out_bits_per_dim`).

Usage:
    python benchmarks/flow_mnist.py --model glow --steps 6000
    python benchmarks/flow_mnist.py --model realnvp --steps 6000
    python benchmarks/flow_mnist.py --model vae --steps 6000
"""

import argparse
import json
import os
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gen import callbacks, data, models  # noqa: E402
from keras_gen.cli import recipes  # noqa: E402


def dequantized(dataset, seed):
    """8-bit pixel batches to `(k + u) / 128 - 1`, a fresh `u` per batch from `(seed, batch)`."""

    def noisy(index, x):
        u = tf.random.stateless_uniform(tf.shape(x), tf.stack([tf.constant(seed, "int64"), index]))
        return (tf.round((x + 1.0) * 127.5) + u) / 128.0 - 1.0

    return dataset.enumerate().map(noisy)


def build(name, shape, seed):
    if name == "vae":
        model = models.VAE(data_shape=shape, latent_dim=16, likelihood="gaussian", seed=seed)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        return model
    model = recipes.build_model(models.get(name), name, shape, seed=seed)
    recipes.compile_model(model, name)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("glow", "realnvp", "vae"), default="glow")
    parser.add_argument("--steps", type=int, default=6000, help="updates in all")
    parser.add_argument("--evaluations", type=int, default=10, help="held-out figures on the way")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.steps < 1 or args.evaluations < 1 or args.steps % args.evaluations:
        parser.error(
            f"--steps must be a positive multiple of --evaluations. "
            f"Received: --steps {args.steps} --evaluations {args.evaluations}"
        )
    keras.utils.set_random_seed(args.seed)
    train, info = data.load("mnist5k", batch_size=64, seed=args.seed)
    test, _ = data.load("mnist5k", split="test", batch_size=500, shuffle=False)
    model = build(args.model, info.shape, args.seed)
    held_out = callbacks.BitsPerDim(test)
    train = train.repeat()
    if args.model == "vae":
        train = dequantized(train, args.seed)
    start = time.perf_counter()
    history = model.fit(
        train,
        steps_per_epoch=args.steps // args.evaluations,
        epochs=args.evaluations,
        verbose=2,
        callbacks=[held_out],
    )
    seconds = time.perf_counter() - start
    curve = [round(float(v), 4) for v in history.history["held_out_bits_per_dim"]]
    result = {
        "model": args.model,
        "config": {k: v for k, v in model.get_config().items() if k not in ("name", "trainable")},
        "steps": args.steps,
        "batch_size": 64,
        "held_out_bits_per_dim": curve[-1],
        "curve": curve,
        "train_loss": round(float(history.history["loss"][-1]), 4),
        "train_seconds_with_evaluations": round(seconds, 1),
        "command": shlex.join(["python", *sys.argv]),
    }
    print(json.dumps(result, default=str))
    return np.asarray(curve)


if __name__ == "__main__":
    main()
