"""The checks every model family's tests make, as plain functions usable from pytest.

keras-hub's `TestCase` idea without the class: each function runs one check
on a model and raises `AssertionError` saying what differs.

- `assert_save_load_continues_training`: a `.keras` round trip keeps the
  weights and every optimizer's state, and training the reloaded model on
  gives the weights that training the original on gives.
- `assert_replicas_match_one_device`: one update on two replicas
  (`two_replica_strategy`, the two logical CPUs of conftest.py) equals the
  update on one device.
- `assert_traced_once`: the compiled generation functions are traced once
  however `generate` is called.
- `expect_value_error`: a call raises ValueError whose message names the argument.
"""

import functools
import os

import keras
import numpy as np
import tensorflow as tf


def optimizers_of(model):
    """The distinct `keras.optimizers.Optimizer` objects held as attributes of `model`."""
    found = {}
    for value in vars(model).values():
        if isinstance(value, keras.optimizers.Optimizer):
            found.setdefault(id(value), value)
    return list(found.values())


def _assert_variables_equal(expected, actual, what, rtol=0.0, atol=0.0):
    if len(expected) != len(actual):
        raise AssertionError(f"{what}: {len(expected)} variables, then {len(actual)}")
    for a, b in zip(expected, actual):
        np.testing.assert_allclose(
            np.asarray(b), np.asarray(a), rtol=rtol, atol=atol, err_msg=f"{what}: {a.path}"
        )


def assert_save_load_continues_training(model, train, directory, rtol=0.0, atol=1e-6):
    """Saves `model` as `.keras`, reloads it, trains both with `train` and compares them.

    Checks that the reloaded model is of the same class with the same weights
    and optimizer state, then that `train(model)` and `train(loaded)` end with
    the same weights (within `rtol`, `atol`).

    Args:
        model: a compiled, trained model.
        train: `fn(model)` training it on (the same data for both).
        directory: where the file is written (pytest's `tmp_path`).

    Returns:
        The reloaded model, trained on.
    """
    path = os.path.join(str(directory), "round_trip.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    if type(loaded) is not type(model):
        raise AssertionError(f"reloaded a {type(loaded).__name__}, saved a {type(model).__name__}")
    _assert_variables_equal(model.weights, loaded.weights, "weights after loading")
    saved, restored = optimizers_of(model), optimizers_of(loaded)
    if len(saved) != len(restored):
        raise AssertionError(f"{len(saved)} optimizers saved, {len(restored)} reloaded")
    for a, b in zip(saved, restored):
        _assert_variables_equal(a.variables, b.variables, "optimizer state after loading")
    train(model)
    train(loaded)
    _assert_variables_equal(model.weights, loaded.weights, "training on", rtol=rtol, atol=atol)
    return loaded


@functools.cache
def two_replica_strategy():
    """One `MirroredStrategy` over the first two logical CPUs, shared by the whole test process.

    A second `MirroredStrategy` over the same devices made the collective
    all-reduces of the next model disagree in shape: every test uses this one.
    """
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        raise AssertionError("two logical CPU devices are needed (conftest.py configures them)")
    return tf.distribute.MirroredStrategy([device.name for device in devices[:2]])


def assert_replicas_match_one_device(build, train, tolerance=1e-5):
    """One update on two replicas equals the update on one device.

    Args:
        build: `fn() -> compiled model`, called inside each strategy's scope;
            it must make the same initial weights each time (seed them).
        train: `fn(model)` making one update on the global batch.
        tolerance: largest difference of a weight relative to its largest
            value (at least 1e-3).

    Returns:
        `(before, one_device, two_replicas)`: lists of weight arrays.
    """
    results = []
    for strategy in (tf.distribute.get_strategy(), two_replica_strategy()):
        with strategy.scope():
            model = build()
        before = [np.array(w) for w in model.get_weights()]
        train(model)
        results.append((before, model.get_weights()))
    (before, one), (before_two, two) = results
    for a, b in zip(before, before_two):
        np.testing.assert_array_equal(a, b, err_msg="the two models start from different weights")
    if all(np.array_equal(w0, w1) for w0, w1 in zip(before, one)):
        raise AssertionError("the update changed no weight: nothing was compared")
    for i, (w1, w2) in enumerate(zip(one, two)):
        difference = np.abs(w1 - w2).max() / np.maximum(np.abs(w1).max(), 1e-3)
        if not difference < tolerance:
            raise AssertionError(
                f"weight {i} differs between one device and two replicas by {difference:.3g} "
                f"of its scale (tolerance {tolerance:g})"
            )
    return before, one, two


def assert_traced_once(model, *calls):
    """Runs each of `calls` (`fn()`, e.g. `lambda: model.generate(5, seed=0)`) and checks
    that every compiled generation function of `model` was traced exactly once.

    Returns:
        `model.generation_tracing_counts()`.
    """
    for call in calls:
        call()
    counts = model.generation_tracing_counts()
    if not counts:
        raise AssertionError(f"{type(model).__name__} compiled no generation function")
    retraced = {key: count for key, count in counts.items() if count != 1}
    if retraced:
        raise AssertionError(f"generation functions traced more than once: {retraced}")
    return counts


def expect_value_error(fn, *names):
    """Calls `fn()`, checks that it raises ValueError naming each of `names`; returns the message.

    Args:
        fn: `fn()`, the call with a bad argument.
        *names: strings the message must contain, such as the argument with
            its value (`"ema_decay=1.5"`).
    """
    try:
        fn()
    except ValueError as error:
        message = str(error)
    else:
        raise AssertionError(f"no ValueError was raised (expected one naming {names})")
    missing = [name for name in names if name not in message]
    if missing:
        raise AssertionError(f"the ValueError does not name {missing}: {message!r}")
    return message
