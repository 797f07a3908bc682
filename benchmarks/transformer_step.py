"""Transformer train-step speed: keras_gen's GPT and Transformer-XL against a hand-written Keras GPT.

Three sides train on the same shapes (4 layers, width 128, 4 heads, byte
vocabulary, dropout 0.1, Adam 1e-3): `keras_gen.models.GPT`,
`keras_gen.models.TransformerXL` (segment and memory of one context each, so
its attention spans twice the context) and `HandWrittenGPT`, a minimal
pre-norm GPT with its own `train_step`. Each side is compiled once without
and once with XLA (`jit_compile`), on random byte tokens. At every context
the batch is chosen so that a step holds `--tokens-per-step` tokens. After a
warm-up fit (tracing and compilation excluded), each round runs every side
for `--steps` steps, in alternating order from round to round, all in one
process so that machine noise hits the sides alike. A callback times each
step; a round's rate is its median step time, which this VM's stalls move
less than a whole fit's time. Medians and bests over the rounds are printed,
with the ratios keras_gen / hand-written (same XLA setting) and XLA / no XLA.

Then, unless `--no-generation`, the cached `GPT.generate` (context 256,
200 new tokens) is timed after one warm-up call.

Usage:
    python benchmarks/transformer_step.py
    python benchmarks/transformer_step.py --contexts 128 --rounds 1 --steps 2 --generation-rounds 1
    python benchmarks/transformer_step.py --sides gpt,hand_written --jit on --rounds 5 --steps 20
"""

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# As in train_step.py: nothing outside decides for the library; every side passes jit_compile.
os.environ.pop("KERAS_GEN_JIT_COMPILE", None)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gen import models  # noqa: E402

SIZE = dict(num_layers=4, num_heads=4, hidden_dim=128, dropout=0.1)
VOCABULARY = 256
SIDES = ("gpt", "transformer_xl", "hand_written")
JIT = {"off": False, "on": True}
WARMUP_STEPS = 3
GENERATION_CONTEXT = 256
GENERATION_TOKENS = 200
PROMPT = "The for statement is used to iterate"


class HandWrittenBlock(keras.layers.Layer):
    """Pre-norm Transformer block: causal self-attention, then a GELU MLP, each residual."""

    def __init__(self, hidden_dim, num_heads, dropout, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim, self.num_heads = hidden_dim, num_heads
        self.head_dim = hidden_dim // num_heads
        self.norm_0 = keras.layers.LayerNormalization(epsilon=1e-5)
        self.qkv = keras.layers.Dense(3 * hidden_dim)
        self.attention_out = keras.layers.Dense(hidden_dim)
        self.norm_1 = keras.layers.LayerNormalization(epsilon=1e-5)
        self.mlp_in = keras.layers.Dense(4 * hidden_dim, activation="gelu")
        self.mlp_out = keras.layers.Dense(hidden_dim)
        self.drop = keras.layers.Dropout(dropout)

    def attention(self, x):
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        qkv = tf.reshape(self.qkv(x), (batch, length, 3, self.num_heads, self.head_dim))
        q, k, v = tf.unstack(tf.transpose(qkv, (2, 0, 3, 1, 4)))  # each (B, nh, T, hs)
        scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(self.head_dim)  # (B, nh, T, T)
        mask = tf.linalg.band_part(tf.ones((length, length), tf.bool), -1, 0)
        scores = tf.where(mask[None, None], scores, tf.cast(-1e9, scores.dtype))
        out = tf.matmul(tf.nn.softmax(scores, axis=-1), v)  # (B, nh, T, hs)
        out = tf.reshape(tf.transpose(out, (0, 2, 1, 3)), (batch, length, self.hidden_dim))
        return self.attention_out(out)

    def call(self, x, training=False):
        x = x + self.drop(self.attention(self.norm_0(x)), training=training)
        return x + self.drop(self.mlp_out(self.mlp_in(self.norm_1(x))), training=training)


class HandWrittenGPT(keras.Model):
    """Minimal GPT with learned positions and its own `train_step` (GradientTape, Adam)."""

    def __init__(self, context, num_layers, num_heads, hidden_dim, dropout):
        super().__init__()
        self.token_embedding = keras.layers.Embedding(VOCABULARY, hidden_dim)
        self.position_embedding = keras.layers.Embedding(context, hidden_dim)
        self.blocks = [HandWrittenBlock(hidden_dim, num_heads, dropout) for _ in range(num_layers)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5)
        self.head = keras.layers.Dense(VOCABULARY)

    def call(self, tokens, training=False):
        positions = tf.range(tf.shape(tokens)[1])[None]
        x = self.token_embedding(tokens) + self.position_embedding(positions)
        for block in self.blocks:
            x = block(x, training=training)
        return self.head(self.final_norm(x))  # (B, T, vocabulary)

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            logits = self(inputs, training=True)
            loss = tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
            )
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"loss": loss}


class StepTimes(keras.callbacks.Callback):
    """Wall time of each train step, from `on_train_batch_begin` to `on_train_batch_end`.

    Overriding `on_train_batch_end` makes Keras dispatch callbacks in order and
    turn the logs into numbers first, so a step's time includes waiting for it.
    """

    def on_train_begin(self, logs=None):
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def build(side, context, jit_compile):
    """One side, compiled with Adam 1e-3 and the given `jit_compile`."""
    keras.utils.set_random_seed(0)
    if side == "gpt":
        model = models.GPT(sequence_length=context, seed=0, **SIZE)
    elif side == "transformer_xl":
        model = models.TransformerXL(segment_length=context, memory_length=context, seed=0, **SIZE)
    elif side == "hand_written":
        model = HandWrittenGPT(context, **SIZE)
        model(tf.zeros((1, context), tf.int32))  # build the weights
    else:
        raise ValueError(f"unknown side {side!r}")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile)
    if side == "hand_written":
        model.optimizer.build(model.trainable_variables)
    return model


def token_dataset(context, batch):
    """Repeated `(inputs, targets)` batches of random bytes, the same for every side."""
    tokens = np.random.RandomState(0).randint(0, VOCABULARY, (batch * 8, context + 1))
    tokens = tokens.astype("int32")
    dataset = tf.data.Dataset.from_tensor_slices((tokens[:, :-1], tokens[:, 1:]))
    # drop_remainder: Transformer-XL needs a static batch size for its memory.
    return dataset.batch(batch, drop_remainder=True).repeat().prefetch(2)


def alternate(sides, dataset, rounds, steps):
    """Median step time of each side in each round, sides in alternating order, after a warm-up."""
    for model in sides.values():  # trace, compile and warm up
        model.fit(dataset, steps_per_epoch=WARMUP_STEPS, epochs=1, verbose=0, shuffle=False)
    step_times = {name: [] for name in sides}
    for round_index in range(rounds):
        order = list(sides) if round_index % 2 == 0 else list(sides)[::-1]
        for name in order:
            clock = StepTimes()
            sides[name].fit(
                dataset,
                steps_per_epoch=steps,
                epochs=1,
                verbose=0,
                shuffle=False,
                callbacks=[clock],
            )
            step_times[name].append(float(np.median(clock.times)))
    return step_times


def measure_context(context, args):
    """`{(side, jit): {"median": tokens/s, "best": tokens/s, "rounds": [...]}}` at `context`."""
    batch = args.tokens_per_step // context
    tokens = batch * context
    keys = [(side, jit) for side in args.sides for jit in args.jit]
    sides = {key: build(key[0], context, JIT[key[1]]) for key in keys}
    step_times = alternate(sides, token_dataset(context, batch), args.rounds, args.steps)
    print(f"\ncontext {context}, batch {batch} ({tokens} tokens per step)")
    rates = {}
    for (side, jit), times in step_times.items():
        per_round = [tokens / t for t in times]
        rates[side, jit] = {
            "median": float(np.median(per_round)),
            "best": max(per_round),
            "tokens": tokens,
        }
        print(
            f"{side:>15} jit {jit:>3}: median {rates[side, jit]['median']:9.0f}, best "
            f"{max(per_round):9.0f} tokens/s (rounds: {', '.join(f'{r:.0f}' for r in per_round)})"
        )
    print_ratios(rates, args)
    return rates


def ratio_text(rates, top, bottom):
    median = rates[top]["median"] / rates[bottom]["median"]
    return f"median {median:.3f}, best {rates[top]['best'] / rates[bottom]['best']:.3f}"


def print_ratios(rates, args):
    """keras_gen / hand-written at each XLA setting, and XLA / no XLA of each side."""
    for side in args.sides:
        for jit in args.jit:
            if side != "hand_written" and "hand_written" in args.sides:
                text = ratio_text(rates, (side, jit), ("hand_written", jit))
                print(f"ratio {side} / hand_written (jit {jit}): {text}")
        if set(JIT) <= set(args.jit):
            print(f"ratio XLA / no XLA ({side}): {ratio_text(rates, (side, 'on'), (side, 'off'))}")


def print_table(results):
    """The Markdown table of every context, side and XLA setting."""
    print("\n| context | side | jit | steps/s | tokens/s | ratio to hand-written |")
    print("|---|---|---|---|---|---|")
    for context, rates in results.items():
        for (side, jit), rate in rates.items():
            baseline = rates.get(("hand_written", jit))
            ratio = f"{rate['median'] / baseline['median']:.2f}" if baseline else "-"
            steps = rate["median"] / rate["tokens"]
            print(f"| {context} | {side} | {jit} | {steps:.2f} | {rate['median']:.0f} | {ratio} |")


def measure_generation(rounds):
    """Times the cached `GPT.generate` of `GENERATION_TOKENS` tokens after one warm-up call."""
    keras.utils.set_random_seed(0)
    model = models.GPT(sequence_length=GENERATION_CONTEXT, **{**SIZE, "dropout": 0.0}, seed=0)

    def run():
        return model.generate(PROMPT, max_length=GENERATION_TOKENS, temperature=1.0, seed=7)

    expected = run()  # trace and warm up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        text = run()
        times.append(time.perf_counter() - start)
        if text != expected:
            raise SystemExit("cached generation is not reproducible")
    median, best = float(np.median(times)), min(times)
    print(
        f"\ncached generation (context {GENERATION_CONTEXT}, {GENERATION_TOKENS} new tokens, "
        f"{rounds} rounds): median {1e3 * median / GENERATION_TOKENS:.2f} ms/token "
        f"({GENERATION_TOKENS / median:.0f} tokens/s), best "
        f"{1e3 * best / GENERATION_TOKENS:.2f} ms/token ({GENERATION_TOKENS / best:.0f} tokens/s)"
    )


def choices(text, allowed, flag, parser):
    """The comma-separated `text` as a list, each item one of `allowed`."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in items if item not in allowed]
    if not items or unknown:
        parser.error(f"{flag} takes a comma-separated subset of {','.join(allowed)}; got {text!r}")
    return items


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="train steps per side and round")
    parser.add_argument("--contexts", default="128,256,512", help="comma-separated contexts")
    parser.add_argument("--tokens-per-step", type=int, default=4096, help="batch x context")
    parser.add_argument("--sides", default=",".join(SIDES), help="subset of " + ",".join(SIDES))
    parser.add_argument("--jit", default="off,on", help="subset of off,on (XLA)")
    parser.add_argument("--generation-rounds", type=int, default=5)
    parser.add_argument("--no-generation", action="store_true", help="skip the generation timing")
    args = parser.parse_args()
    args.sides = choices(args.sides, SIDES, "--sides", parser)
    args.jit = choices(args.jit, tuple(JIT), "--jit", parser)
    args.contexts = [int(context) for context in args.contexts.split(",")]
    for context in args.contexts:
        if not 0 < context <= args.tokens_per_step:
            parser.error(f"each context must be in [1, --tokens-per-step]; got {context}")
    if min(args.rounds, args.steps, args.generation_rounds) < 1:
        parser.error("--rounds, --steps and --generation-rounds must be at least 1")
    return args


def main():
    args = parse_args()
    results = {context: measure_context(context, args) for context in args.contexts}
    print_table(results)
    if not args.no_generation:
        measure_generation(args.generation_rounds)


if __name__ == "__main__":
    main()
