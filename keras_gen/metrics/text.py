"""Held-out quality of language models: cross-entropy in nats, bits per byte and perplexity."""

import math

import keras
import numpy as np
import tensorflow as tf


class BitsPerByte(keras.metrics.Metric):
    """Mean next-byte cross-entropy in bits, from `(targets, logits)`; float64 SUM state.

    `update_state(targets, logits)` with int targets `(batch, length)` and
    logits `(batch, length, vocabulary)`; the sums add up across replicas.
    `result()` is the bits per byte; `perplexity()` is `2 ** bits`.
    """

    def __init__(self, name="bits_per_byte", **kwargs):
        super().__init__(name=name, dtype="float64", **kwargs)
        self.total = self.add_variable(
            (), "zeros", dtype="float64", aggregation="sum", name="total"
        )
        self.count = self.add_variable(
            (), "zeros", dtype="float64", aggregation="sum", name="count"
        )

    def update_state(self, targets, logits, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("BitsPerByte takes no sample weights. Received: sample_weight")
        cross_entropy = keras.losses.sparse_categorical_crossentropy(
            tf.cast(targets, "int32"), tf.cast(logits, "float32"), from_logits=True
        )
        self.total.assign_add(tf.reduce_sum(tf.cast(cross_entropy, "float64")))
        self.count.assign_add(tf.cast(tf.size(cross_entropy), "float64"))

    def result(self):
        return self.total / tf.maximum(self.count, 1.0) / math.log(2.0)

    def perplexity(self):
        return tf.pow(tf.constant(2.0, "float64"), self.result())

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


def text_metrics(model, dataset):
    """Cross-entropy of a language model on a dataset of `(inputs, targets)`, every token counted.

    Returns:
        `{"nats_per_byte", "bits_per_byte", "perplexity"}` (perplexity per byte).
    """
    metric = BitsPerByte()
    for inputs, targets in dataset:
        metric.update_state(targets, model(inputs, training=False))
    bits = float(metric.result())
    return {
        "nats_per_byte": bits * math.log(2.0),
        "bits_per_byte": bits,
        "perplexity": float(np.exp2(bits)),
    }
