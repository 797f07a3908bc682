"""Flow `log_prob` throughput: keras_gen's `log_prob` with and without XLA.

Builds the command-line recipe of `glow` (mnist5k, 28x28x1) or `realnvp`
(moons, 2-d), trains it for a few steps (so that ActNorm is initialised),
then times `model.log_prob(x)` over `--examples` examples in batches of
`--batch-size`, with `model.jit_inference` False (a `tf.function`) and True
(the same function compiled with XLA, the default), in alternating rounds in
one process. Prints examples per second, the medians and their ratio.

Usage:
    python benchmarks/flow_log_prob.py --model glow --rounds 5
    python benchmarks/flow_log_prob.py --model realnvp --rounds 5 --examples 100000
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_gen import data, models  # noqa: E402
from keras_gen.cli import recipes  # noqa: E402


def build(name):
    keras.utils.set_random_seed(0)
    dataset, info = data.load(recipes.RECIPES[name].default_dataset, batch_size=64, seed=0)
    model = recipes.build_model(models.get(name), name, info.shape, seed=0)
    recipes.compile_model(model, name)
    model.fit(dataset.take(3), epochs=1, verbose=0)
    return model, info.shape


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("glow", "realnvp"), default="glow")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    model, shape = build(args.model)
    x = np.random.default_rng(0).uniform(-1, 1, (args.examples, *shape)).astype("float32")

    def timed(jit_inference):
        def run():
            model.jit_inference = jit_inference
            model.log_prob(x, batch_size=args.batch_size)

        return run

    sides = {"no XLA": timed(False), "XLA": timed(True)}
    for run in sides.values():  # trace and compile
        run()
    rates = {name: [] for name in sides}
    for round_index in range(args.rounds):
        order = list(sides) if round_index % 2 == 0 else list(sides)[::-1]
        for name in order:
            start = time.perf_counter()
            sides[name]()
            rates[name].append(args.examples / (time.perf_counter() - start))
    medians = {name: float(np.median(values)) for name, values in rates.items()}
    for name, values in rates.items():
        print(
            f"{name:>20}: median {medians[name]:10.1f} examples/s (rounds: {np.round(values, 1)})"
        )
    print(f"{args.model}: XLA / no XLA = {medians['XLA'] / medians['no XLA']:.2f}")


if __name__ == "__main__":
    main()
