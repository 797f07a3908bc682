"""RealNVP on the two moons: exact held-out log-likelihood, samples drawn through the inverse.

python examples/train_realnvp_moons.py --steps 4000
"""

import argparse
import os

import keras
import numpy as np

import keras_gen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000, help="train steps")
    parser.add_argument("--out", default="runs/example-realnvp-moons")
    args = parser.parse_args()

    dataset, info = keras_gen.data.load("moons", batch_size=256, seed=0)
    test, _ = keras_gen.data.load("moons", split="test", batch_size=2500, shuffle=False)
    test_points = np.concatenate(list(test.as_numpy_iterator()))
    model = keras_gen.models.RealNVP(
        data_shape=info.shape, num_coupling_layers=6, hidden_dim=128, seed=0
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(
        dataset.repeat(),
        steps_per_epoch=args.steps,
        epochs=1,
        verbose=2,
        callbacks=[
            keras_gen.callbacks.BitsPerDim(test_points),
            keras_gen.callbacks.TensorBoard(args.out),
        ],
    )
    nll = -model.log_prob(test_points).mean()
    print(f"held-out negative log-likelihood: {nll:.3f} nats per point")
    model.save(os.path.join(args.out, "model.keras"))


if __name__ == "__main__":
    main()
