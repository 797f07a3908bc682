"""Mode coverage on ring8, grid25 and stacked MNIST, trained and scored as PacGAN does (Tables 1-2).

Each trial trains a fresh model for `--steps` generator updates and scores
it: on the 2-D mixtures, 2,500 samples by `keras_gen.data.toy_metrics`
(PacGAN's rule: high quality strictly within 3 standard deviations of the
nearest mode, a mode covered with one high-quality sample, reverse KL of the
histogram of high-quality samples); on stacked MNIST, 26,000 samples by
`keras_gen.data.stacked_mnist.stacked_mnist_metrics` (each channel classified
by the shipped MNIST classifier, modes with one sample, KL to uniform over
1,000). One JSON line per trial is printed, then the mean and standard error
over the trials in the layout of PacGAN's tables (Lin et al. 2018,
arXiv:1712.04086): modes / high-quality samples / reverse KL, and modes / KL.

The defaults follow the published setups. On the mixtures (PacGAN, Table 1):
`--networks pacgan` (`networks.pacgan_toy_networks`), a generator of four
400-unit ReLU layers with batch norm and a linear output on a 2-d Gaussian
latent, and a discriminator of three 200-unit maxout layers of 5 pieces on
`2 * pack` inputs; Adam(1e-4, beta_1=0.8); 100 packs per update (100 * pack
samples); a fresh draw of 100,000 training points per trial. The published
budget is 400,000 updates (400 epochs of 100,000 points); `--steps` defaults to
10,000, a fortieth of it and the budget of the toy rows in docs/sample_quality.md.
On stacked MNIST (PacGAN, Table 2, the VEEGAN setting): the
model's own DCGAN networks for 28x28x3 with a 100-d latent, Adam(2e-4,
beta_1=0.5), 64 packs per update, the 128,000 training images of
`data.load("stacked_mnist")`. Models other than `gan` and `dcgan` take the
Adam settings of their command-line recipe.

Where this differs from PacGAN's code: keras_gen's layers initialise with
Glorot and batch norm keeps its statistics with momentum 0.99 (PacGAN: weights
drawn from N(0, 0.02), momentum 0.95); the training points are reshuffled
every pass instead of packed by draws with replacement; on stacked MNIST the
latents are standard normal (PacGAN: uniform in [-1, 1]) and each step makes
one generator update (PacGAN's code makes two per discriminator update).
`--steps-per-execution` (default gcd(steps, 100)) only groups steps into one
compiled call: the updates are the same (checked: equal scores with 1 and 50).

Usage:
    python benchmarks/mode_coverage.py --dataset grid25 --model gan --trials 10
    python benchmarks/mode_coverage.py --dataset ring8 --model gan --pack 2 --trials 10
    python benchmarks/mode_coverage.py --dataset stacked_mnist --model dcgan --trials 3
"""

import argparse
import json
import math
import os
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_gen import data, models, networks  # noqa: E402
from keras_gen.cli import recipes  # noqa: E402
from keras_gen.data import stacked_mnist, toy  # noqa: E402

TOYS = toy.MIXTURES
DATASETS = (*TOYS, "stacked_mnist")
#: PacGAN's settings per benchmark, and its sample counts.
SETUPS = {
    "toy": dict(
        learning_rate=1e-4, beta_1=0.8, batch_size=100, steps=10_000, latent_dim=2, samples=2_500
    ),
    "stacked_mnist": dict(
        learning_rate=2e-4,
        beta_1=0.5,
        batch_size=64,
        steps=10_000,
        latent_dim=100,
        samples=stacked_mnist.NUM_SCORED_SAMPLES,
    ),
}
PUBLISHED_MODELS = ("gan", "dcgan")
TRAINING_POINTS = 100_000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default="grid25")
    parser.add_argument("--model", default="gan", help="a keras_gen GAN: gan, dcgan, wgan_gp, ...")
    parser.add_argument("--pack", type=int, default=1, help="samples per discriminator input")
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--steps", type=int, help="generator updates (default: 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="trial t uses seed + t")
    parser.add_argument(
        "--networks",
        choices=("pacgan", "default"),
        help="pacgan: PacGAN's toy MLPs (the default on the mixtures); default: the model's own",
    )
    parser.add_argument("--batch-size", type=int, help="packs per update (default 100; 64)")
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--beta-1", type=float)
    parser.add_argument("--beta-2", type=float)
    parser.add_argument(
        "--lr-decay",
        choices=("none", "linear"),
        default="none",
        help="linear: both learning rates fall linearly to 0 over the run's updates",
    )
    parser.add_argument(
        "--momentum",
        type=float,
        help="the generator's batch-norm momentum (pacgan networks; default 0.99, PacGAN 0.95)",
    )
    parser.add_argument("--latent-dim", type=int, help="default 2 (mixtures), 100 (stacked)")
    parser.add_argument("--samples", type=int, help="samples scored (default 2,500; 26,000)")
    parser.add_argument("--jit-compile", choices=("auto", "true", "false"), default="auto")
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        help="training steps per compiled call (Keras' steps_per_execution: the same updates, "
        "fewer calls; default gcd(steps, 100))",
    )
    args = parser.parse_args(argv)
    resolve_defaults(parser, args)
    return args


def resolve_defaults(parser, args):
    """Fills the published defaults of the dataset and model in; rejects what cannot run."""
    setup = SETUPS["stacked_mnist" if args.dataset == "stacked_mnist" else "toy"]
    for key in ("batch_size", "steps", "latent_dim", "samples"):
        if getattr(args, key) is None:
            setattr(args, key, setup[key])
    adam = dict(learning_rate=setup["learning_rate"], beta_1=setup["beta_1"])
    if args.model not in PUBLISHED_MODELS and args.model in recipes.RECIPES:
        adam = dict(recipes.RECIPES[args.model].optimizer)
    for key in ("learning_rate", "beta_1", "beta_2"):
        if getattr(args, key) is not None:
            adam[key] = getattr(args, key)
    args.adam = adam
    if args.steps_per_execution is None:
        args.steps_per_execution = math.gcd(args.steps, 100)
    if args.networks is None:
        args.networks = "default" if args.dataset == "stacked_mnist" else "pacgan"
    if args.networks == "pacgan" and args.dataset == "stacked_mnist":
        parser.error("--networks pacgan is for the 2-D mixtures; stacked MNIST uses the model's")
    try:
        args.model_class = models.get(args.model)
    except ValueError as error:
        parser.error(str(error))
    if not hasattr(args.model_class, "pack_samples"):
        parser.error(f"--model {args.model}: not a GAN; this benchmark trains GANs")
    if args.model in recipes.RECIPES and recipes.RECIPES[args.model].labelled:
        parser.error(
            f"--model {args.model}: class-conditional; this benchmark trains without labels"
        )
    for key in (
        "pack",
        "trials",
        "steps",
        "batch_size",
        "latent_dim",
        "samples",
        "steps_per_execution",
    ):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1, got {getattr(args, key)}")


def adam(args):
    """One network's Adam, with the learning rate falling to 0 under `--lr-decay linear`."""
    settings = dict(args.adam)
    if args.lr_decay == "linear":
        # One optimizer update per generator update: a Keras step is one of each.
        settings["learning_rate"] = keras.optimizers.schedules.PolynomialDecay(
            settings["learning_rate"], args.steps, end_learning_rate=0.0, power=1.0
        )
    return keras.optimizers.Adam(**settings)


def build_model(args, seed):
    shape = (28, 28, 3) if args.dataset == "stacked_mnist" else (2,)
    kwargs = dict(latent_dim=args.latent_dim, seed=seed)
    if args.networks == "pacgan":
        kwargs.update(
            networks.pacgan_toy_networks(args.latent_dim, pack=args.pack, momentum=args.momentum)
        )
    else:
        kwargs["data_shape"] = shape
    if args.pack > 1:
        kwargs["pack"] = args.pack
    model = args.model_class(**kwargs)
    model.compile(
        generator_optimizer=adam(args),
        discriminator_optimizer=adam(args),
        jit_compile={"auto": "auto", "true": True, "false": False}[args.jit_compile],
        steps_per_execution=args.steps_per_execution,
    )
    return model


def training_data(args, seed):
    """`steps` batches of `batch_size * pack` samples, one epoch."""
    batch = args.batch_size * args.pack
    if args.dataset == "stacked_mnist":
        dataset, _ = data.load(
            "stacked_mnist", batch_size=batch, seed=seed, steps_per_epoch=args.steps
        )
        return dataset
    points = toy.sample(args.dataset, TRAINING_POINTS, seed=seed)
    dataset, _ = data.from_numpy(points, batch_size=batch, seed=seed, steps_per_epoch=args.steps)
    return dataset


def score(args, model, seed):
    samples = model.generate(args.samples, seed=seed)
    samples = np.asarray(samples)
    if args.dataset == "stacked_mnist":
        metrics = stacked_mnist.stacked_mnist_metrics(samples)
        return {"modes": metrics["modes"], "num_modes": metrics["num_modes"], "kl": metrics["kl"]}
    metrics = toy.toy_metrics(samples, args.dataset)
    return {key: metrics[key] for key in ("modes", "num_modes", "high_quality", "reverse_kl")}


def run_trial(args, trial):
    seed = args.seed + trial
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    model = build_model(args, seed)
    model.fit(training_data(args, seed), epochs=1, verbose=0)
    train_seconds = time.perf_counter() - start
    # Scored on latents no training step drew: another seed stream.
    metrics = score(args, model, seed=10_000 + seed)
    return {
        "dataset": args.dataset,
        "model": args.model,
        "pack": args.pack,
        "steps": args.steps,
        "seed": seed,
        "trial": trial,
        **metrics,
        "samples": args.samples,
        "networks": args.networks,
        "batch_size": args.batch_size,
        "adam": args.adam,
        "lr_decay": args.lr_decay,
        "momentum": args.momentum,
        "jit_compile": args.jit_compile,
        "steps_per_execution": args.steps_per_execution,
        "train_seconds": round(train_seconds, 2),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "command": shlex.join(["python", *sys.argv]),
    }


def mean_and_error(values):
    """Mean and standard error (sample standard deviation / sqrt(n); NaN for one value)."""
    values = np.asarray(values, "float64")
    error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return float(values.mean()), float(error)


def summary_table(args, results):
    """The trials' mean ± standard error as a row of PacGAN's table, with its header."""
    label = f"{args.model}" + (f", pack {args.pack}" if args.pack > 1 else "")
    budget = f"{args.steps:,} steps, {len(results)} trial{'s' if len(results) > 1 else ''}"
    seconds = mean_and_error([r["wall_seconds"] for r in results])[0]

    def cell(key, percent=False, digits=2):
        mean, error = mean_and_error([r[key] for r in results])
        scale, unit = (100.0, "%") if percent else (1.0, "")
        spread = "" if np.isnan(error) else f" ± {error * scale:.{digits}f}{unit}"
        return f"{mean * scale:.{digits}f}{unit}{spread}"

    if args.dataset == "stacked_mnist":
        header = "| model | budget | modes (of 1,000) | KL | s per trial |\n|---|---|---|---|---|"
        row = f"| {label} | {budget} | {cell('modes', digits=1)} | {cell('kl')} | {seconds:.0f} |"
    else:
        num_modes = results[0]["num_modes"]
        header = (
            f"| model | budget | modes (of {num_modes}) | high-quality samples | reverse KL "
            "| s per trial |\n|---|---|---|---|---|---|"
        )
        row = (
            f"| {label} | {budget} | {cell('modes', digits=1)} | "
            f"{cell('high_quality', percent=True, digits=1)} | {cell('reverse_kl')} | "
            f"{seconds:.0f} |"
        )
    return f"{args.dataset}, mean ± standard error over trials:\n{header}\n{row}"


def main(argv=None):
    args = parse_args(argv)
    results = []
    for trial in range(args.trials):
        results.append(run_trial(args, trial))
        print(json.dumps(results[-1]), flush=True)
    print()
    print(summary_table(args, results))


if __name__ == "__main__":
    main()
