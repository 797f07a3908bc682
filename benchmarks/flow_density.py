"""Held-out negative log-likelihood of a flow on the 2-D mixtures, against the mixture's entropy.

Trains `RealNVP` or `Glow` on `data.load(DATASET)` (ring8 or grid25, scaled
into [-1, 1] as the loader scales them) for `--steps` updates, then prints the
held-out negative log-likelihood (nats per point, on the 2,500 test points)
beside the true mixture's entropy (`keras_gen.data.toy.entropy`, Monte Carlo
over 100,000 points), the floor no density model can beat in expectation, and
the gap between them, with the standard error of the held-out mean; and the
same gap paired on the test points, `mean(log p(x) - log q(x))` with the
true mixture density `p` (`toy.log_density`), an estimate of KL(p || q),
with its standard error.

Usage:
    python benchmarks/flow_density.py --dataset ring8 --model realnvp --steps 20000
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

from keras_gen import data, models  # noqa: E402
from keras_gen.data import toy  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=toy.MIXTURES, default="ring8")
    parser.add_argument("--model", choices=("realnvp", "glow"), default="realnvp")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=8, help="couplings (realnvp) or steps (glow)")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--coupling", choices=("affine", "spline"), default="affine")
    parser.add_argument("--num-bins", type=int, default=8, help="bins of each spline")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    train, info = data.load(
        args.dataset, batch_size=args.batch_size, seed=args.seed, steps_per_epoch=args.steps
    )
    test, _ = data.load(args.dataset, split="test", batch_size=2500, shuffle=False)
    test_points = np.concatenate(list(test.as_numpy_iterator()))
    if args.model == "realnvp":
        model = models.RealNVP(
            data_shape=info.shape,
            num_coupling_layers=args.layers,
            hidden_dim=args.hidden,
            coupling=args.coupling,
            num_bins=args.num_bins,
            seed=args.seed,
        )
    else:
        model = models.Glow(
            data_shape=info.shape,
            steps_per_level=args.layers,
            hidden_channels=args.hidden,
            coupling=args.coupling,
            num_bins=args.num_bins,
            seed=args.seed,
        )
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, args.steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule))
    start = time.perf_counter()
    model.fit(train, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    nll_per_point = -model.log_prob(test_points).astype("float64")
    nll = float(nll_per_point.mean())
    # Paired on the same points: the mean of log p(x) - log q(x) estimates KL(p || q).
    excess = toy.log_density(test_points, args.dataset).astype("float64") + nll_per_point
    entropy, error = toy.entropy(args.dataset)
    result = {
        "dataset": args.dataset,
        "model": args.model,
        "steps": args.steps,
        "coupling": args.coupling,
        "held_out_nll": round(nll, 4),
        "held_out_nll_standard_error": round(
            float(nll_per_point.std() / len(nll_per_point) ** 0.5), 4
        ),
        "entropy": round(entropy, 4),
        "entropy_standard_error": round(error, 4),
        "gap": round(nll - entropy, 4),
        "paired_kl": round(float(excess.mean()), 4),
        "paired_kl_standard_error": round(float(excess.std() / len(excess) ** 0.5), 4),
        "train_seconds": round(seconds, 1),
        "command": shlex.join(["python", *sys.argv]),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
