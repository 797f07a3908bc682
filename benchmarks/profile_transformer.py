"""Where the time of a GPT / Transformer-XL train step goes: per-op time from the TensorFlow profiler.

Trains `--warmup` steps, then profiles `--steps` steps of `fit()` and groups the
framework ops' self time by what they do (attention, layer norm, GELU, dense
layers, embedding, optimizer, dropout, loss, guard and logs). Needs the
profiler's converter (`pip install tensorboard-plugin-profile`), which the
TensorBoard Profile tab uses as well; the trace is left in `--logdir`.

Usage:
    python benchmarks/profile_transformer.py --model gpt --steps 20
    python benchmarks/profile_transformer.py --model transformer_xl --steps 20
"""

import argparse
import collections
import glob
import json
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_GEN_JIT_COMPILE", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gen import models  # noqa: E402

DENSE = ("qkv", "mlp_in", "mlp_out", "attention_out", "head", "query", "key_value", "position")


def category(name, op_type):
    """What an op of the step does, from its type and the layer scope in its name."""
    lower = name.lower()
    if "adam" in lower or "optimizer" in lower or op_type.startswith(("ResourceApply", "Assign")):
        return "optimizer update"
    if "drop" in lower or "Random" in op_type:
        return "dropout"
    if "norm" in lower:
        return "layer norm"
    if "embedding" in lower:
        return "embedding (and its gradient)"
    if "crossentropy" in lower or "SoftmaxCrossEntropy" in op_type:
        return "loss"
    if "gelu" in lower or op_type == "Erf":
        return "gelu"
    if any(f"/{layer}" in lower for layer in DENSE):
        return "dense layers (matmul, bias)"
    if "/block_" in lower:
        return "attention (scores, mask, softmax, head reshapes)"
    return "other (guard, logs, casts, adds)"


def build(name, context, batch):
    if name == "gpt":
        model = models.GPT(
            sequence_length=context, num_layers=4, num_heads=4, hidden_dim=128, dropout=0.1, seed=0
        )
    else:
        model = models.TransformerXL(
            segment_length=context,
            memory_length=context,
            num_layers=4,
            num_heads=4,
            hidden_dim=128,
            dropout=0.1,
            seed=0,
        )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    tokens = np.random.RandomState(0).randint(0, 256, (batch * 8, context + 1)).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((tokens[:, :-1], tokens[:, 1:])).batch(batch)
    return model, data.repeat()


def op_stats(logdir):
    """`(host_or_device, type, operation, total_self_time_us)` rows of the framework-op table."""
    from xprof.convert import raw_to_tool_data

    paths = glob.glob(os.path.join(logdir, "plugins/profile/*/*.xplane.pb"))
    data, _ = raw_to_tool_data.xspace_to_tool_data(paths, "framework_op_stats", {})
    table = json.loads(data)[0]
    ids = [column["id"] for column in table["cols"]]
    for row in table["rows"]:
        values = dict(zip(ids, (cell.get("v") if cell else None for cell in row["c"])))
        yield (
            values["host_or_device"],
            values["type"],
            values["operation"],
            float(values["total_self_time"]),
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["gpt", "transformer_xl"], default="gpt")
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args()
    model, data = build(args.model, args.context, args.batch_size)
    model.fit(data, steps_per_epoch=args.warmup, epochs=1, verbose=0)
    logdir = args.logdir or tempfile.mkdtemp(prefix="profile-")
    tf.profiler.experimental.start(logdir)
    model.fit(data, steps_per_epoch=args.steps, epochs=1, verbose=0)
    tf.profiler.experimental.stop()
    totals = collections.Counter()
    for where, op_type, name, self_time in op_stats(logdir):
        if where.lower().startswith("host") and op_type != "IDLE":
            totals[category(name, op_type)] += self_time
    whole = sum(totals.values())
    print(f"{args.model}, batch {args.batch_size}, context {args.context}, {args.steps} steps")
    for label, value in totals.most_common():
        print(f"{label:>34}: {value / whole:6.1%}  ({value / args.steps / 1e3:7.2f} ms/step)")
    print(f"trace: {logdir}")


if __name__ == "__main__":
    main()
