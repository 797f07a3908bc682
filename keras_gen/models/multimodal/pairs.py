"""What the models trained on `(images, caption_tokens)` pairs share: the checks of their batches."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.data import captions as caption_data
from keras_gen.data import text

#: Captions are bytes.
VOCABULARY_SIZE = text.VOCABULARY_SIZE


class TrainsOnPairs:
    """Mixin of the models trained on `(images, caption_tokens)`: their batch and array checks.

    Put before the Keras base class (`class M(TrainsOnPairs, GenerativeModel)`);
    the model has `data_shape` and `caption_length`.
    """

    #: Captions are bytes (named in the error for a token out of range).
    vocabulary_size = VOCABULARY_SIZE

    def unpack(self, data):
        """`(images, tokens)` of a batch, checked for what the trace can see."""
        return unpack_pairs(self, data)

    def data_range(self):
        """[-1, 1]: the images' range."""
        return (-1.0, 1.0)

    def _check_arrays(self, x, y):
        check_pair_arrays(self, x, y)


def unpack_pairs(model, data):
    """`(images, tokens)` of a traced batch; what the trace can see raises ValueError.

    Args:
        model: a model with `data_shape`, `caption_length` and `compute_dtype`.
        data: the batch `fit()` passes to `train_step`.
    """
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    name = type(model).__name__
    if sample_weight is not None or y is None:
        raise ValueError(
            f"{name} trains on (images, caption_tokens) pairs, e.g. "
            'data.load("captioned_mnist5k"). Received: '
            + ("sample weights" if sample_weight is not None else "images alone (y=None)")
        )
    if tuple(x.shape[1:]) != model.data_shape or not x.dtype.is_floating:
        raise ValueError(
            f"The images must be floats of shape {model.data_shape}. Received: x of "
            f"sample shape {tuple(x.shape[1:])} and dtype {x.dtype.name}"
        )
    if y.shape.rank != 2 or y.shape[1] != model.caption_length or not y.dtype.is_integer:
        raise ValueError(
            f"The captions must be integer tokens of shape (batch, {model.caption_length}). "
            f"Received: y of shape {tuple(y.shape)} and dtype {y.dtype.name}"
        )
    return tf.cast(x, model.compute_dtype), tf.cast(y, "int32")


def guard_tokens(step_guard, tokens):
    """Adds the check `0 <= tokens < 256` to a `StepGuard`; returns the tokens clipped into range.

    A token out of range skips the update (an XLA gather would clamp it silently).
    """
    step_guard.require_in_range(tokens, 0, VOCABULARY_SIZE, "tokens")
    return tf.clip_by_value(tokens, 0, VOCABULARY_SIZE - 1)


def guarded_validation_batch(model, data):
    """`(images, tokens)` of a validation batch, its checks written for `StopOnBadStep`."""
    images, tokens = model.unpack(data)
    step_guard, _ = model.guard_inputs(images, None)
    tokens = guard_tokens(step_guard, tokens)
    step_guard.finish(model, validation=True)
    return images, tokens


def check_pair_arrays(model, x, y):
    """Checks `fit(images, tokens)` numpy arrays before training starts."""
    if y is None:
        raise ValueError(
            f"{type(model).__name__} trains on (images, caption_tokens) pairs: call "
            "fit(images, tokens). Received: images alone (y=None)"
        )
    model.check_samples(x)
    y = np.asarray(y)
    if y.shape != (len(x), model.caption_length) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"`y` must hold {len(x)} captions as integer tokens of shape (n, "
            f"{model.caption_length}). Received: y with shape {y.shape} and dtype {y.dtype}"
        )
    if y.min() < 0 or y.max() >= VOCABULARY_SIZE:
        raise ValueError(
            f"`y` tokens must lie in [0, {VOCABULARY_SIZE}). Received: y in [{y.min()}, {y.max()}]"
        )


def caption_tokens(captions, length, name):
    """`(n, length)` int32 tokens of strings (checked as prompts) or of a token array (checked)."""
    array = None if isinstance(captions, (list, tuple, str, bytes)) else np.asarray(captions)
    if array is not None and array.ndim == 2 and np.issubdtype(array.dtype, np.integer):
        if array.shape[1] != length or len(array) == 0:
            raise ValueError(
                f"`{name}` as tokens must have shape (n, {length}), n > 0. "
                f"Received: {name} with shape {array.shape}"
            )
        if array.min() < 0 or array.max() >= VOCABULARY_SIZE:
            raise ValueError(
                f"`{name}` tokens must lie in [0, {VOCABULARY_SIZE}). "
                f"Received: {name} in [{array.min()}, {array.max()}]"
            )
        return array.astype("int32")
    if array is not None and array.ndim == 1:
        captions = array.tolist()
    return caption_data.encode_captions(captions, length, name=name)


def check_image_encoder(image_encoder):
    """Raises ValueError unless `image_encoder` maps one image input to `(batch, features)`."""
    if len(image_encoder.inputs) != 1 or len(image_encoder.outputs[0].shape) != 2:
        from keras_gen.models import base

        raise ValueError(
            "`image_encoder` must map one image input to (batch, features). "
            f"Received: image_encoder={base.describe(image_encoder)}"
        )


def train_step(model, data, losses):
    """One guarded update of a model of pairs, and its logs.

    Args:
        model: the model (`unpack`, `guard_inputs`, `optimizer`, `track`).
        data: the batch.
        losses: `fn(images, tokens, training) -> (batch_context, per_example_loss,
            tracked)`, `tracked` a list of `(Mean tracker, per-example values)`
            (the loss's own tracker among them).

    The images' range and finiteness and the tokens' range are checked in the
    graph (`StepGuard`), and a failed check or a non-finite loss updates nothing.
    """
    images, tokens = model.unpack(data)
    step_guard, _ = model.guard_inputs(images, None)
    tokens = guard_tokens(step_guard, tokens)
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        batch, per_example, tracked = losses(images, tokens, True)
        scaled = model.optimizer.scale_loss(batch.mean(per_example))
    step_guard.require_finite("loss", per_example)
    step_guard.apply(model.optimizer, tape.gradient(scaled, variables), variables)
    step_guard.finish(model)
    for tracker, values in tracked:
        model.track(tracker, values, batch)
    return model.step_logs()
