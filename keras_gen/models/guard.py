"""In-graph checks of a train step that hold under XLA: a failed check skips the update.

XLA drops `tf.debugging` asserts inside a compiled step, and an `Embedding`
gather clamps out-of-range ids, so a bad batch would train silently. A
`StepGuard` instead turns each check into a boolean that is the same on every
replica; every update of the step (optimizer steps, moving averages, memories)
runs only when all checks passed, and the step writes what failed into the
model's status variable. `StopOnBadStep`, the first callback of
`GenerativeModel.fit`, reads that variable after the step and raises, so a
bad batch leaves every weight as it was, with `jit_compile=True` or not, on
one device or many.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.utils.errors import NonFiniteLossError

# Each reason is a bit of the status; two float slots per reason keep the
# smallest and largest offending value seen.
REASONS = ("labels", "tokens", "sequence_length", "data_range", "non_finite")
_BIT = {name: 1 << i for i, name in enumerate(REASONS)}


def make_status():
    """The `(flags, details)` variables a model's steps report into (created in its strategy scope)."""
    kwargs = dict(
        trainable=False,
        synchronization=tf.VariableSynchronization.ON_WRITE,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
    )
    flags = tf.Variable(0, dtype=tf.int32, name="step_status", **kwargs)
    details = tf.Variable(np.zeros(2 * len(REASONS), "float32"), name="step_details", **kwargs)
    return flags, details


def _all_replicas(value, reduction):
    """The MIN or MAX of a scalar over the replicas (all-reduce has only SUM and MEAN)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    gathered = context.all_gather(tf.reshape(value, [1]), axis=0)
    return tf.reduce_min(gathered) if reduction == "MIN" else tf.reduce_max(gathered)


class StepGuard:
    """Collects the checks of one train step and gates its updates on them.

    Args:
        status: the model's `(flags, details)` variables (`make_status`). A
            step that starts with flags already set (an earlier step of the
            same `steps_per_execution` call failed) updates nothing either.
    """

    def __init__(self, status):
        self.flags_variable, self.details_variable = status
        self.flags = tf.constant(0, tf.int32)
        self.details = [tf.zeros([2], "float32") for _ in REASONS]
        self.ok = tf.equal(self.flags_variable.read_value(), 0)
        #: What each finiteness check looked at, in order (read back by `describe_failure`).
        self.finite_names = []
        self._first_non_finite = tf.constant(-1.0)

    def require(self, good, reason, values=None):
        """Adds a check: `good` is this replica's scalar bool; `values` what is reported if not."""
        good = tf.cast(_all_replicas(tf.cast(good, tf.float32), "MIN"), tf.bool)
        self.flags = self.flags | tf.where(good, 0, _BIT[reason])
        if values is not None:
            values = tf.cast(tf.reshape(values, [-1]), "float32")
            low = _all_replicas(tf.reduce_min(values), "MIN")
            high = _all_replicas(tf.reduce_max(values), "MAX")
            self.details[REASONS.index(reason)] = tf.stack([low, high])
        self.ok = tf.logical_and(self.ok, good)
        return self.ok

    def require_in_range(self, values, low, high, reason):
        """Checks `low <= values < high` (`high` None: no upper bound)."""
        values = tf.reshape(values, [-1])
        good = tf.reduce_all(values >= low)
        if high is not None:
            good = tf.logical_and(good, tf.reduce_all(values < high))
        return self.require(good, reason, values)

    def require_finite(self, name, *tensors):
        """Checks that every entry of `tensors` (the batch, a loss, gradients) is finite.

        Args:
            name: what the tensors are, named in the error (`"d_loss"`).
        """
        good = tf.constant(True)
        for tensor in tensors:
            if tensor is not None:
                good = tf.logical_and(
                    good, tf.reduce_all(tf.math.is_finite(tf.cast(tensor, "float32")))
                )
        good = self.require(good, "non_finite")
        index = float(len(self.finite_names))
        self.finite_names.append(name)
        self._first_non_finite = tf.where(
            tf.logical_and(self._first_non_finite < 0, tf.logical_not(good)),
            index,
            self._first_non_finite,
        )
        self.details[REASONS.index("non_finite")] = tf.stack([self._first_non_finite] * 2)
        return good

    def apply(self, optimizer, gradients, variables, name="loss"):
        """`optimizer.apply(gradients, variables)` if every check so far passed.

        Under a `LossScaleOptimizer` non-finite gradients are part of its
        loss-scale search and are left to it; otherwise they count as a
        failed check (named "gradients of `name`").
        """
        if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            self.require_finite(f"the gradients of {name}", *gradients)
        apply_if(self.ok, optimizer, gradients, variables)

    def select(self, new, old):
        """`new` where the step is good, else `old`: for state updated by assignment."""
        return tf.where(self.ok, new, old)

    def finish(self, model, validation=False):
        """Writes the step's status into `model`'s variables (first replica's copy).

        Args:
            validation: a `test_step`'s guard: its check names are kept apart
                from the train step's, which trace at other times.
        """
        before = self.flags_variable.read_value()
        self.flags_variable.assign(before | self.flags)
        # The first failing step of a `steps_per_execution` call keeps its details: the steps
        # after it update nothing and would report their own (good) batches.
        self.details_variable.assign(
            tf.where(tf.equal(before, 0), tf.concat(self.details, axis=0), self.details_variable)
        )
        # Read on the host by `describe_failure`: the names are fixed when the step is traced.
        names = "validation_check_names" if validation else "finite_check_names"
        setattr(model, names, tuple(self.finite_names))


def apply_if(ok, optimizer, gradients, variables):
    """`optimizer.apply(gradients, variables)` when `ok`, a bool equal on every replica.

    The condition is taken in cross-replica context, as `LossScaleOptimizer`
    does, because a replica-context `cond` cannot hold the optimizer's
    `merge_call`.
    """

    def cross_replica(strategy, ok, gradients):
        ok = strategy.experimental_local_results(ok)[0]

        def update():
            strategy.run(lambda g: optimizer.apply(g, variables), args=(gradients,))

        keras.ops.cond(ok, update, lambda: None)

    tf.distribute.get_replica_context().merge_call(cross_replica, args=(ok, list(gradients)))


def describe_failure(model, flags, details, batch, validation=False):
    """The error for a step whose `flags` are set: NonFiniteLossError or ValueError.

    Args:
        validation: the step was a validation (`test_step`) step, which updates nothing.
    """
    found = {
        name: details[2 * i : 2 * i + 2] for i, name in enumerate(REASONS) if flags & _BIT[name]
    }
    if validation:
        where = f"at validation batch {batch} (validation changes no weight)"
    else:
        where = (
            f"at batch {batch}; the update of that batch was skipped, so the model "
            "is as it was before it"
        )
    name = type(model).__name__
    if "labels" in found:
        low, high = found["labels"]
        return ValueError(
            f"{name} needs integer labels in [0, num_classes={model.num_classes}) {where}. "
            f"Received: labels in [{low:g}, {high:g}]"
        )
    if "tokens" in found:
        low, high = found["tokens"]
        return ValueError(
            f"{name} needs token ids in [0, vocabulary_size={model.vocabulary_size}) {where}. "
            f"Received: tokens in [{low:g}, {high:g}]"
        )
    if "sequence_length" in found:
        return ValueError(
            f"{name} takes sequences of at most {model.data_shape[0]} tokens {where}. "
            f"Received: sequences of {found['sequence_length'][1]:g} tokens"
        )
    if "non_finite" in found:
        names = getattr(model, "validation_check_names" if validation else "finite_check_names", ())
        index = int(found["non_finite"][0])
        what = names[index] if 0 <= index < len(names) else "a loss or gradient"
        return NonFiniteLossError(
            f"{name}: `{what}` held NaN or infinite values {where}. "
            + (
                "Check the data for NaN."
                if what == "x"
                else "Lower the learning rates, or check the data."
            )
        )
    if "data_range" in found:
        low, high = found["data_range"]
        expected = model.data_range()
        return ValueError(
            f"{name} needs {'validation' if validation else 'training'} data in "
            f"[{expected[0]:g}, {expected[1]:g}] (the range of its generator's output) {where}. "
            "Scale the data, e.g. x / 127.5 - 1 for 8-bit images. "
            f"Received: x in [{low:.4g}, {high:.4g}]"
        )
    return NonFiniteLossError(f"{name}: the step failed a check {where}.")


class StopOnBadStep(keras.callbacks.Callback):
    """Raises after a step whose guard failed; `GenerativeModel.fit` and `evaluate` put it first.

    Training steps raise before any later callback runs; validation steps
    (which a guard checks for the same token, label and range errors, since
    XLA would clamp a bad id there too) raise in the same way. It also raises
    `NonFiniteLossError` for a non-finite value in the training logs.
    """

    def on_train_begin(self, logs=None):
        self.model.step_status[0].assign(0)

    def on_test_begin(self, logs=None):
        self.model.step_status[0].assign(0)

    def on_test_batch_end(self, batch, logs=None):
        self._raise_if_failed(batch, validation=True)

    def _raise_if_failed(self, batch, validation):
        flags_variable, details_variable = self.model.step_status
        flags = int(flags_variable.numpy())
        if flags:
            raise describe_failure(
                self.model, flags, details_variable.numpy(), batch, validation=validation
            )

    def on_train_batch_end(self, batch, logs=None):
        self._raise_if_failed(batch, validation=False)
        for name, value in (logs or {}).items():
            value = np.asarray(value, dtype="float64")
            if not np.all(np.isfinite(value)):
                raise NonFiniteLossError(
                    f"`{name}` became {value.reshape(-1)[0]} at batch {batch}; "
                    "training stopped before any later callback (checkpoints "
                    "included) ran. Lower the learning rates or check the data."
                )
