"""Glow on the mnist5k digits: held-out bits per dimension of the dequantized pixels, samples at
temperature 0.7.

python examples/train_glow_mnist.py --steps 2000
"""

import argparse
import os

import keras
import numpy as np

import keras_gen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="train steps")
    parser.add_argument("--out", default="runs/example-glow-mnist")
    args = parser.parse_args()

    dataset, info = keras_gen.data.load("mnist5k", batch_size=64, seed=0)
    test, _ = keras_gen.data.load("mnist5k", split="test", batch_size=500, shuffle=False)
    test_images = np.concatenate(list(test.as_numpy_iterator()))
    model = keras_gen.models.Glow(
        data_shape=info.shape, levels=2, steps_per_level=4, hidden_channels=64, seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(
        dataset.repeat(),
        steps_per_epoch=args.steps,
        epochs=1,
        verbose=2,
        callbacks=[keras_gen.callbacks.TensorBoard(args.out)],
    )
    print(f"held-out bits per dimension: {model.bits_per_dim(test_images):.3f}")
    samples = model.generate(64, seed=1, temperature=0.7)
    keras_gen.utils.images.save_png(
        keras_gen.utils.images.picture(samples), os.path.join(args.out, "samples.png")
    )
    model.save(os.path.join(args.out, "model.keras"))


if __name__ == "__main__":
    main()
