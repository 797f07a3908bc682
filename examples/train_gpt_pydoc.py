"""GPT (Radford et al. 2018, 2019) on Python's own documentation text, byte by byte.

Prints the held-out bits per byte and a sample; writes the model into --out.

    python examples/train_gpt_pydoc.py --steps 1000
"""

import argparse
import math
import os

import keras

import keras_gen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="train steps")
    parser.add_argument("--out", default="runs/example-gpt-pydoc")
    args = parser.parse_args()

    dataset, info = keras_gen.data.load_text("pydoc", sequence_length=128, batch_size=32, seed=0)
    test, _ = keras_gen.data.load_text(
        "pydoc", sequence_length=128, batch_size=32, split="test", shuffle=False
    )
    model = keras_gen.models.GPT(
        sequence_length=128, num_layers=4, num_heads=4, hidden_dim=128, dropout=0.1, seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    steps_per_epoch = min(args.steps, info.num_tokens // (32 * 128))
    model.fit(
        dataset.repeat(),
        epochs=math.ceil(args.steps / steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        verbose=2,
        callbacks=[keras_gen.callbacks.TextSampleCallback("The ", log_dir=args.out)],
    )
    print(
        f"held-out bits per byte: {keras_gen.metrics.text_metrics(model, test)['bits_per_byte']:.3f}"
    )
    print(model.generate("The for statement", max_length=100, temperature=0.8, seed=0))
    os.makedirs(args.out, exist_ok=True)
    model.save(os.path.join(args.out, "model.keras"))


if __name__ == "__main__":
    main()
