"""DDPM training with DDIM sampling (Ho et al. 2020; Song et al. 2021) on the built-in MNIST digits.

Trains `keras_gen.models.DiffusionModel` (cosine schedule, `--prediction`
v or epsilon, EMA 0.999) for --steps, writes a grid of 50-step DDIM samples
every --grid-every epochs, saves the model, then prints, for each number of
sampling steps in --fid-steps, the FID (shipped MNIST-classifier features) of
--fid-samples samples against the mnist5k train split and the share of samples
the shipped classifier gives one class with probability >= 0.9 (beside the
same share for the held-out test digits). With --conditional the model is
class-conditional (label dropout 0.1) and samples with classifier-free
guidance 2.

    python examples/train_diffusion_mnist.py --steps 6000
"""

import argparse
import math
import os
import time

import keras
import numpy as np

import keras_gen


def confident(extractor, images, threshold=0.9):
    """Share of `images` the MNIST classifier puts in one class with probability >= threshold."""
    logits = extractor(images)["logits"]
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return float(np.mean(probabilities.max(axis=1) >= threshold))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000, help="train steps (70 per epoch)")
    parser.add_argument("--out", default="runs/example-diffusion-mnist")
    parser.add_argument("--base-channels", type=int, default=16, help="U-Net width")
    parser.add_argument("--prediction", default="v", choices=["v", "epsilon"])
    parser.add_argument("--grid-every", type=int, default=10, help="epochs between grids")
    parser.add_argument("--conditional", action="store_true")
    parser.add_argument("--fid-samples", type=int, default=1000)
    parser.add_argument(
        "--fid-steps",
        default="50",
        help="comma-separated sampling steps to measure, e.g. 10,25,50,100",
    )
    args = parser.parse_args()

    dataset, info = keras_gen.data.load("mnist5k", batch_size=64, labels=args.conditional, seed=0)
    num_classes = info.num_classes if args.conditional else None
    network = keras_gen.networks.unet(
        info.shape, base_channels=args.base_channels, num_classes=num_classes
    )
    model = keras_gen.models.DiffusionModel(
        network, prediction=args.prediction, num_classes=num_classes, seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    grid = {"num_samples": 100, "labels": np.repeat(np.arange(10), 10)} if num_classes else {}
    grid["every"] = args.grid_every
    epochs = math.ceil(args.steps * 64 / info.num_examples)
    steps_per_epoch = math.ceil(args.steps / epochs)
    start = time.time()
    model.fit(
        dataset.repeat(),
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        verbose=2,
        callbacks=[keras_gen.callbacks.ImageGridCallback(png_dir=args.out, **grid)],
    )
    print(f"trained {steps_per_epoch * epochs} steps in {time.time() - start:.0f} s")
    os.makedirs(args.out, exist_ok=True)
    model.save(os.path.join(args.out, "model.keras"))

    extractor = keras_gen.metrics.MNISTClassifier()
    reference, _ = keras_gen.data.load("mnist5k", batch_size=500, shuffle=False)
    real = np.concatenate([extractor(x)["features"] for x in reference.as_numpy_iterator()])
    test_split, _ = keras_gen.data.load("mnist5k", split="test", batch_size=500, shuffle=False)
    test_digits = np.concatenate(list(test_split.as_numpy_iterator()))
    print(
        f"held-out test digits: {confident(extractor, test_digits):.1%} classified with "
        "probability >= 0.9"
    )
    guidance = {"guidance_scale": 2.0} if num_classes else {}
    for steps in [int(s) for s in args.fid_steps.split(",")]:
        start = time.time()
        samples = model.generate(args.fid_samples, steps=steps, sampler="ddim", seed=1, **guidance)
        seconds = time.time() - start
        fid = keras_gen.metrics.fid_from_features(real, extractor(samples)["features"])
        print(
            f"DDIM {steps:3d} steps: FID {fid:.2f} ({args.fid_samples} samples vs "
            f"{len(real)} train digits, MNIST-classifier features; sampling {seconds:.0f} s); "
            f"{confident(extractor, samples):.1%} classified with probability >= 0.9"
        )
    print(f"samples and model in {args.out}")


if __name__ == "__main__":
    main()
