"""Seeded random weights for a PyTorch-named state dict, in numpy alone.

Used to check the Keras FID Inception network against pytorch-fid's with the
same weights: `scripts/make_inception_parity_fixture.py` (which imports this
file by path, beside torch) and the test in CI (without torch) draw the same
tensors from the same seed.
"""

import numpy as np


def random_state_dict(shapes, seed):
    """Tensors for `shapes` (name -> shape), drawn in sorted-name order from `seed`.

    Convolutions get He-scaled normal weights and batch norms statistics near
    the identity, so that activations keep their scale through the network.
    """
    rng = np.random.RandomState(seed)
    state = {}
    for name in sorted(shapes):
        shape = tuple(shapes[name])
        if name.endswith("running_var") or name.endswith("bn.weight"):
            value = rng.uniform(0.5, 1.5, size=shape)
        elif name.endswith("running_mean") or name.endswith("bias"):
            value = rng.normal(0.0, 0.1, size=shape)
        elif name == "fc.weight":
            value = rng.normal(0.0, 0.02, size=shape)
        else:
            value = rng.normal(0.0, np.sqrt(2.0 / np.prod(shape[1:])), size=shape)
        state[name] = value.astype(np.float32)
    return state


def random_images(seed, count=2):
    """Inputs already in the network's range: `(count, 299, 299, 3)` in [-1, 1]."""
    return np.random.RandomState(seed).uniform(-1, 1, size=(count, 299, 299, 3)).astype(np.float32)
