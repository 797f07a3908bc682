"""GPT generation with the key/value cache against the same generation without it.

Both sides run `GPT.generate` on the same model, prompt and seed (compiled
once each, warmed up first) in alternating rounds in one process; the tokens
are checked to be identical and the ratio of the median times is printed.

Usage:
    python benchmarks/generation_cache.py --rounds 5 --length 256 --new-tokens 200
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_gen.models.text import GPT  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--length", type=int, default=256, help="the model's sequence_length")
    parser.add_argument("--new-tokens", type=int, default=200)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden-dim", type=int, default=128)
    args = parser.parse_args()

    model = GPT(
        sequence_length=args.length,
        num_layers=args.layers,
        num_heads=4,
        hidden_dim=args.hidden_dim,
        dropout=0.0,
        seed=0,
    )
    prompt = "The for statement is used to iterate"

    def run(use_cache):
        return model.generate(
            prompt, max_length=args.new_tokens, temperature=1.0, seed=7, use_cache=use_cache
        )

    texts = {side: run(side) for side in (False, True)}  # trace and warm up
    if texts[True] != texts[False]:
        raise SystemExit("cached and uncached generation differ")
    times = {True: [], False: []}
    for round_index in range(args.rounds):
        for side in (True, False) if round_index % 2 == 0 else (False, True):
            start = time.perf_counter()
            text = run(side)
            times[side].append(time.perf_counter() - start)
            if text != texts[side]:
                raise SystemExit("generation is not reproducible")
    for side, name in ((False, "uncached"), (True, "cached")):
        values = times[side]
        print(
            f"{name:>9}: median {np.median(values):.3f} s, best {min(values):.3f} s "
            f"for {args.new_tokens} tokens"
        )
    ratio = np.median(times[False]) / np.median(times[True])
    print(
        f"speed-up cached / uncached: {ratio:.2f}x (same tokens; sequence_length "
        f"{args.length}, {args.layers} layers x {args.hidden_dim}, {args.rounds} rounds)"
    )


if __name__ == "__main__":
    main()
