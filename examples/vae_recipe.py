"""The shared recipe of the variational MNIST examples.

Loads mnist5k binarized (the data a Bernoulli likelihood is a probability
of), trains for --steps, writes sample, reconstruction and interpolation
grids, saves the model and prints the held-out log-likelihood of the 500 test
digits in nats.
"""

import argparse
import math
import os

import keras
import numpy as np

import keras_gen


def run(model_class, description, default_out, conditional=False, **model_kwargs):
    """Trains `model_class` on binarized mnist5k with the flags --steps, --out, --importance-samples.

    Args:
        model_class: `VAE`, `BetaVAE`, `ConditionalVAE` or `VQVAE`.
        description: the script's one-line description.
        default_out: default output directory.
        conditional: train with labels; each row of the sample grid is then one digit.
        **model_kwargs: further constructor arguments.

    Returns:
        `(model, held-out log-likelihood in nats)`.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=2100, help="train steps (70 per epoch)")
    parser.add_argument("--out", default=default_out)
    parser.add_argument(
        "--importance-samples",
        type=int,
        default=100,
        help="K of the importance-weighted log-likelihood estimate",
    )
    args = parser.parse_args()
    # The default networks' initial weights follow Keras' global seed.
    keras.utils.set_random_seed(0)

    dataset, info = keras_gen.data.load(
        "mnist5k", batch_size=64, labels=conditional, seed=0, binarize=True
    )
    test, _ = keras_gen.data.load(
        "mnist5k", split="test", batch_size=500, labels=conditional, shuffle=False, binarize=True
    )
    x_test, y_test = next(iter(test)) if conditional else (next(iter(test)), None)
    x_test = x_test.numpy()
    y_test = None if y_test is None else y_test.numpy()
    labels = {"num_classes": info.num_classes} if conditional else {}
    model = model_class(
        data_shape=info.shape, seed=0, likelihood="bernoulli", **labels, **model_kwargs
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    grid = {"num_samples": 100, "labels": np.repeat(np.arange(10), 10)} if conditional else {}
    pictures = [
        keras_gen.callbacks.ImageGridCallback(png_dir=args.out, **grid),
        keras_gen.callbacks.ReconstructionGridCallback(
            x_test[:8], png_dir=args.out, labels=None if y_test is None else y_test[:8]
        ),
    ]
    epochs = math.ceil(args.steps * 64 / info.num_examples)
    model.fit(
        dataset.repeat(),
        steps_per_epoch=math.ceil(args.steps / epochs),
        epochs=epochs,
        verbose=2,
        callbacks=pictures,
    )
    model.save(os.path.join(args.out, "model.keras"))
    log_likelihood = keras_gen.metrics.log_likelihood(
        model, x_test, y_test, num_importance_samples=args.importance_samples
    )
    kind = (
        "bound log p(x|z_q) + log p(z_q)"
        if model_class is keras_gen.models.VQVAE
        else f"importance-weighted, K={args.importance_samples}"
    )
    print(
        f"held-out log-likelihood: {log_likelihood:.2f} nats ({kind}; "
        f"{len(x_test)} binarized mnist5k test digits)"
    )
    print(f"pictures and model in {args.out}")
    return model, log_likelihood


__all__ = ["run"]
