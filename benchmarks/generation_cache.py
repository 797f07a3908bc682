"""GPT generation with the key/value cache, without it, and with the cache's formulation before the rework.

All sides run on the same model, prompt and seed (compiled once each, warmed
up first) in alternating rounds in one process; the tokens are checked to be
identical and the ratios of the median times are printed. `legacy` is the
cached decoding step as it was written before (`TransformerBlock.step` on
`(batch, 1, hidden)` inputs through `tensordot` dense layers, one-hot cache
writes), kept here for the comparison (commit c335a0a and before).

Usage:
    python benchmarks/generation_cache.py --rounds 5 --length 256 --new-tokens 200
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import math  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gen.models.text import GPT  # noqa: E402
from keras_gen.networks import transformer  # noqa: E402


def legacy_step(block, x, keys, values, position):
    """`TransformerBlock.step` as written up to commit c335a0a, on `(batch, 1, hidden)` inputs."""
    q, k, v = block.keys_values_queries(x)
    slot = tf.one_hot(position, tf.shape(keys)[2], dtype=keys.dtype)[None, None, :, None]
    keys = keys * (1 - slot) + k * slot
    values = values * (1 - slot) + v * slot
    mask = (tf.range(tf.shape(keys)[2]) <= position)[None, None, None, :]
    scores = tf.matmul(q, keys, transpose_b=True) / math.sqrt(block.head_dim)
    weights = tf.nn.softmax(tf.where(mask, scores, tf.cast(-1e9, scores.dtype)), axis=-1)
    out = tf.transpose(tf.matmul(weights, values), (0, 2, 1, 3))
    attended = tf.reshape(out, (tf.shape(out)[0], tf.shape(out)[1], block.hidden_dim))
    return transformer.finish_block(block, x, attended, False), keys, values


def legacy_decoder(model):
    """`GPT`'s cached decoding function up to commit c335a0a: a `(1, 1, hidden)` position per step."""
    heads = (1, model.num_heads, model.sequence_length, model.hidden_dim // model.num_heads)

    def next_logits(tokens, position, caches):
        x = model._embed(tokens[:, position : position + 1], position[None, None])
        updated = []
        for i, block in enumerate(model.blocks):
            x, keys, values = legacy_step(block, x, caches[2 * i], caches[2 * i + 1], position)
            updated += [keys, values]
        return model.output_logits(x)[0, 0], updated

    @tf.function
    def run(tokens, prompt_length, total, *sampling):
        caches = [tf.zeros(heads, model.compute_dtype) for _ in range(2 * model.num_layers)]
        return model.decode_loop(tokens, prompt_length, total, sampling, next_logits, caches)

    return run


def legacy_generate(model, function, prompt, max_length, seed):
    """`model.generate(prompt, max_length, temperature=1.0, seed=seed)` through `function`."""
    tokens = list(prompt.encode("utf-8"))
    buffer = np.zeros((1, model.sequence_length), "int32")
    buffer[0, : len(tokens)] = tokens
    sampling = (
        tf.cast(model.sampling_seed(seed), tf.int64),
        tf.constant(1.0),
        tf.constant(0),
        tf.constant(1.0),
    )
    total = len(tokens) + max_length
    out = function(tf.constant(buffer), tf.constant(len(tokens)), tf.constant(total), *sampling)
    return bytes(out.numpy()[0, :total].tolist()).decode("utf-8", errors="replace")


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

    legacy = legacy_decoder(model)

    def run(side):
        if side == "legacy":
            return legacy_generate(model, legacy, prompt, args.new_tokens, seed=7)
        return model.generate(
            prompt, max_length=args.new_tokens, temperature=1.0, seed=7, use_cache=side == "cached"
        )

    sides = ("uncached", "legacy", "cached")
    texts = {side: run(side) for side in sides}  # trace and warm up
    if len(set(texts.values())) != 1:
        raise SystemExit(f"the sides generate different text: {texts}")
    times = {side: [] for side in sides}
    for round_index in range(args.rounds):
        for side in sides if round_index % 2 == 0 else sides[::-1]:
            start = time.perf_counter()
            text = run(side)
            times[side].append(time.perf_counter() - start)
            if text != texts[side]:
                raise SystemExit("generation is not reproducible")
    for side in sides:
        values = times[side]
        print(
            f"{side:>9}: median {np.median(values):.3f} s, best {min(values):.3f} s for "
            f"{args.new_tokens} tokens ({1e3 * np.median(values) / args.new_tokens:.2f} ms per token)"
        )
    for slower in ("uncached", "legacy"):
        ratio = np.median(times[slower]) / np.median(times["cached"])
        print(f"speed-up cached / {slower}: {ratio:.2f}x")
    print(
        f"(same text on every side; sequence_length {args.length}, {args.layers} layers x "
        f"{args.hidden_dim}, {args.rounds} rounds)"
    )


if __name__ == "__main__":
    main()
