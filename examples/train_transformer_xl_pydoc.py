"""Transformer-XL (Dai et al. 2019) on Python's own documentation text, with and without its memory.

Trains the same network twice with the same seed, segment length and number
of steps: once with a memory of the previous segment's states, once with the
memory switched off. Prints each one's held-out bits per byte (the test
split read in consecutive segments, memory emptied at the start) and a
sample of the model with memory.

    python examples/train_transformer_xl_pydoc.py --steps 1000
"""

import argparse
import math
import os
import time

import keras

import keras_gen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="train steps of each model")
    parser.add_argument("--out", default="runs/example-transformer-xl-pydoc")
    parser.add_argument("--segment-length", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    dataset, info = keras_gen.data.load_text(
        "pydoc", sequence_length=args.segment_length, batch_size=args.batch_size, consecutive=True
    )
    test, _ = keras_gen.data.load_text(
        "pydoc",
        sequence_length=args.segment_length,
        batch_size=args.batch_size,
        consecutive=True,
        split="test",
    )
    steps_per_epoch = info.num_tokens // (args.batch_size * args.segment_length)
    epochs = math.ceil(args.steps / steps_per_epoch)
    results = {}
    for use_memory in (True, False):
        keras.utils.set_random_seed(0)
        model = keras_gen.models.TransformerXL(
            segment_length=args.segment_length,
            memory_length=args.segment_length,
            num_layers=4,
            num_heads=4,
            hidden_dim=128,
            dropout=0.1,
            use_memory=use_memory,
            seed=0,
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        start = time.time()
        model.fit(
            dataset.repeat(),
            epochs=epochs,
            steps_per_epoch=min(args.steps, steps_per_epoch),
            verbose=2,
        )
        seconds = time.time() - start
        bits = model.evaluate(test, verbose=0, return_dict=True)["bits_per_byte"]
        name = "with memory" if use_memory else "memory off"
        results[name] = bits
        print(
            f"{name}: held-out {bits:.3f} bits per byte after "
            f"{epochs * min(args.steps, steps_per_epoch)} steps ({seconds:.0f} s)"
        )
        if use_memory:
            os.makedirs(args.out, exist_ok=True)
            model.save(os.path.join(args.out, "model.keras"))
            print(model.generate("The for statement", max_length=200, temperature=0.8, seed=0))
    print(
        f"memory lowers held-out bits per byte by "
        f"{results['memory off'] - results['with memory']:.3f}"
    )


if __name__ == "__main__":
    main()
