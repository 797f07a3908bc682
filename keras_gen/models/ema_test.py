import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import testing
from keras_gen.models import ema


@pytest.mark.parametrize("bad", [1.0, -0.5, "slow", [0.9]])
def test_check_decay_refuses_what_is_not_in_0_1(bad):
    testing.expect_value_error(lambda: ema.check_decay(bad), f"ema_decay={bad!r}")


def test_check_decay_takes_none_and_floats():
    assert ema.check_decay(None) is None
    assert ema.check_decay(0) == 0.0 and ema.check_decay(np.float32(0.5)) == 0.5


def test_decay_warms_up_as_num_updates():
    average = ema.ExponentialMovingAverage(0.999)
    assert float(average.decay_at(0)) == pytest.approx(0.1)
    assert float(average.decay_at(90)) == pytest.approx(0.91)
    assert float(average.decay_at(10**6)) == pytest.approx(0.999)
    assert float(ema.ExponentialMovingAverage(0.9, warmup=False).decay_at(0)) == pytest.approx(0.9)


def _network():
    inputs = keras.Input((3,))
    outputs = keras.layers.BatchNormalization()(keras.layers.Dense(2)(inputs))
    return keras.Model(inputs, outputs)


def test_update_averages_trainable_weights_and_copies_the_others():
    network = _network()
    average_network = ema.average_copy(network)
    assert not average_network.trainable
    start = [np.array(w) for w in average_network.weights]
    for variable in network.weights:
        variable.assign(np.asarray(variable) + 1.0)
    ema.ExponentialMovingAverage(0.9).update(average_network, network, step=5)
    decay = min(0.9, 6 / 15)
    for old, average, variable in zip(start, average_network.weights, network.weights):
        if variable.trainable:
            expected = decay * old + (1 - decay) * np.asarray(variable)
        else:
            expected = np.asarray(variable)
        np.testing.assert_allclose(np.asarray(average), expected, rtol=1e-6, err_msg=variable.path)


def test_update_is_skipped_when_the_guard_failed():
    network = _network()
    average_network = ema.average_copy(network)
    start = [np.array(w) for w in average_network.weights]
    for variable in network.weights:
        variable.assign(np.asarray(variable) + 1.0)
    ema.ExponentialMovingAverage(0.9).update(average_network, network, 5, ok=tf.constant(False))
    for old, average in zip(start, average_network.weights):
        np.testing.assert_array_equal(np.asarray(average), old)
