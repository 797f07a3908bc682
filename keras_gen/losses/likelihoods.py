"""Log-densities and KL terms of the variational family, per example, in nats.

Data lie in [-1, 1] as everywhere in keras_gen; the Bernoulli likelihood reads
them as probabilities `(x + 1) / 2`, which makes it a probability of the data
only when the data are binary ({-1, 1}).
"""

import math

import tensorflow as tf

LIKELIHOODS = ("bernoulli", "gaussian")


def _sum_per_example(values):
    # Over the named axes, not a reshape to (batch, -1), which fails on an empty batch.
    return tf.reduce_sum(values, axis=list(range(1, len(values.shape))))


def bernoulli_log_likelihood(data, logits):
    """`sum_d [t_d log sigmoid(l_d) + (1 - t_d) log(1 - sigmoid(l_d))]` with `t = (x + 1) / 2`.

    Computed as `t l - softplus(l)`, stable for large logits.

    Args:
        data: `(batch, ...)` in [-1, 1].
        logits: decoder outputs of the same shape.

    Returns:
        `(batch,)` float32 log-likelihoods.
    """
    targets = (tf.cast(data, "float32") + 1.0) / 2.0
    logits = tf.cast(logits, "float32")
    return _sum_per_example(targets * logits - tf.math.softplus(logits))


def gaussian_log_likelihood(data, mean, log_scale):
    """`sum_d log N(x_d; mean_d, exp(log_scale)^2)`.

    Args:
        data: `(batch, ...)`.
        mean: decoder outputs of the same shape.
        log_scale: log standard deviation, broadcastable to `data`.

    Returns:
        `(batch,)` float32 log-densities.
    """
    data = tf.cast(data, "float32")
    log_scale = tf.cast(log_scale, "float32")
    z = (data - tf.cast(mean, "float32")) * tf.exp(-log_scale)
    return _sum_per_example(
        -0.5 * tf.square(z) - log_scale - 0.5 * math.log(2.0 * math.pi) + tf.zeros_like(data)
    )


def diagonal_gaussian_log_density(z, mean, log_variance):
    """`log N(z; mean, diag(exp(log_variance)))` summed over the last axis."""
    return tf.reduce_sum(
        -0.5
        * (math.log(2.0 * math.pi) + log_variance + tf.square(z - mean) * tf.exp(-log_variance)),
        axis=-1,
    )


def standard_normal_log_density(z):
    """`log N(z; 0, I)` summed over the last axis."""
    return tf.reduce_sum(-0.5 * (math.log(2.0 * math.pi) + tf.square(z)), axis=-1)


def gaussian_kl(mean, log_variance):
    """`KL(N(mean, diag(exp(log_variance))) || N(0, I))` in closed form, summed over the last axis.

    `0.5 * sum(exp(log_variance) + mean^2 - 1 - log_variance)` (Kingma & Welling
    2014, appendix B).
    """
    return 0.5 * tf.reduce_sum(tf.exp(log_variance) + tf.square(mean) - 1.0 - log_variance, axis=-1)


def check_likelihood(likelihood):
    if likelihood not in LIKELIHOODS:
        raise ValueError(
            f"`likelihood` must be one of {list(LIKELIHOODS)}. Received: likelihood={likelihood!r}"
        )
    return likelihood
