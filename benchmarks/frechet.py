"""The Frechet distance at 2048-d: full-rank and singular covariances, against the route before and scipy.

Three cases of the same random correlated features: `full_rank` (10,000
samples per side), `singular_first` (1,000 samples in the first set, whose
covariance is singular, against 10,000) and `both_singular` (1,000 against
1,000). Each is computed by keras_gen's `frechet_distance` (Cholesky factor,
pivoted Cholesky of the numerical rank when singular), by `before` (the
route up to this benchmark's singular-case rework: the symmetric square root
of sigma1 from its eigen-decomposition when Cholesky fails, kept here for the
comparison) and by pytorch-fid's formula on `scipy.linalg.sqrtm`. All sides of
all cases alternate in rounds in one process; the median times, their ratios
and each side's relative difference from keras_gen are printed.

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
    covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def before_frechet_distance(mu1, sigma1, mu2, sigma2):
    """keras_gen's route before: Cholesky, else the symmetric square root of sigma1 (eigh)."""
    try:
        factor = np.linalg.cholesky(sigma1)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(sigma1)
        factor = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    values = np.linalg.eigvalsh(factor.T @ sigma2 @ factor)
    diff = mu1 - mu2
    trace = np.sum(np.sqrt(np.clip(values, 0.0, None)))
    return diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace


SIDES = {
    "keras_gen": frechet_distance,
    "before": before_frechet_distance,
    "scipy_sqrtm": scipy_frechet_distance,
}


def make_cases(dim, samples, few):
    """Case name -> (mu1, sigma1, mu2, sigma2) of random correlated non-negative features."""
    rng = np.random.RandomState(0)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)

    def moments(count, shift):
        features = np.maximum(rng.normal(size=(count, dim)) @ mixing + shift, 0)
        return features.mean(0), np.cov(features, rowvar=False)

    many_real, many_fake = moments(samples, 0.0), moments(samples, 0.05)
    few_real, few_fake = moments(few, 0.0), moments(few, 0.05)
    return {
        "full_rank": many_real + many_fake,
        "singular_first": few_fake + many_real,
        "both_singular": few_real + few_fake,
    }


def run_rounds(cases, rounds):
    """Times every (case, side) once a round, the order reversed every other round."""
    pairs = [(case, side) for case in cases for side in SIDES]
    times = {pair: [] for pair in pairs}
    values = {}
    for round_index in range(rounds):
        for case, side in pairs if round_index % 2 == 0 else pairs[::-1]:
            start = time.perf_counter()
            values[case, side] = float(SIDES[side](*cases[case]))
            times[case, side].append(time.perf_counter() - start)
    return {pair: float(np.median(t)) for pair, t in times.items()}, times, values


def report(cases, medians, times, values, args):
    for case in cases:
        print(f"{case}:")
        for side in SIDES:
            relative = abs(values[case, side] / values[case, "keras_gen"] - 1)
            rounds = ", ".join(f"{t:.2f}" for t in times[case, side])
            print(
                f"  {side:>11}: FID {values[case, side]:.10f} (relative to keras_gen "
                f"{relative:.1e}), median {medians[case, side]:.2f} s (rounds: {rounds})"
            )
    full = medians["full_rank", "keras_gen"]
    for case in ("singular_first", "both_singular"):
        ours = medians[case, "keras_gen"]
        print(
            f"{case}: keras_gen {ours / full:.2f}x the full-rank time; "
            f"before / keras_gen {medians[case, 'before'] / ours:.1f}x, "
            f"scipy_sqrtm / keras_gen {medians[case, 'scipy_sqrtm'] / ours:.1f}x"
        )
    print(
        f"full_rank: scipy_sqrtm / keras_gen {medians['full_rank', 'scipy_sqrtm'] / full:.1f}x "
        f"(dim {args.dim}, {args.samples} and {args.few} samples, {args.rounds} rounds)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--samples", type=int, default=10000, help="samples of a full-rank side")
    parser.add_argument("--few", type=int, default=1000, help="samples of a singular side")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases = make_cases(args.dim, args.samples, args.few)
    medians, times, values = run_rounds(cases, args.rounds)
    report(cases, medians, times, values, args)


if __name__ == "__main__":
    main()
