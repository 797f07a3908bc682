"""The Frechet distance at 2048-d: keras_gen's eigenvalue route against scipy.linalg.sqrtm.

Both sides take the same means and covariances (of random correlated features),
alternate in one process, and the speed-up and relative difference are printed.

Usage:
    python benchmarks/frechet.py --dim 2048 --rounds 3
"""

import argparse
import time

import numpy as np
import scipy.linalg

from keras_gen.metrics import frechet_distance


def scipy_frechet_distance(mu1, sigma1, mu2, sigma2):
    """pytorch-fid's formula with `scipy.linalg.sqrtm`."""
    covmean, _ = scipy.linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.RandomState(0)
    mixing = rng.normal(size=(args.dim, args.dim)) / np.sqrt(args.dim)
    real = np.maximum(rng.normal(size=(args.samples, args.dim)) @ mixing, 0)
    fake = np.maximum(rng.normal(size=(args.samples, args.dim)) @ mixing + 0.05, 0)
    inputs = (real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False))
    sides = {"scipy_sqrtm": scipy_frechet_distance, "keras_gen": frechet_distance}
    times = {name: [] for name in sides}
    values = {}
    for round_index in range(args.rounds):
        order = list(sides) if round_index % 2 == 0 else list(sides)[::-1]
        for name in order:
            start = time.perf_counter()
            values[name] = sides[name](*inputs)
            times[name].append(time.perf_counter() - start)
    for name in sides:
        print(
            f"{name:>12}: FID {values[name]:.10f}, median {np.median(times[name]):.2f} s "
            f"(rounds: {', '.join(f'{t:.2f}' for t in times[name])})"
        )
    speedup = np.median(times["scipy_sqrtm"]) / np.median(times["keras_gen"])
    relative = abs(values["keras_gen"] - values["scipy_sqrtm"]) / abs(values["scipy_sqrtm"])
    print(
        f"speed-up keras_gen / scipy_sqrtm: {speedup:.1f}x, relative difference {relative:.2e} "
        f"(dim {args.dim}, {args.rounds} rounds)"
    )


if __name__ == "__main__":
    main()
