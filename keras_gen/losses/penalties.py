"""Gradient penalties on the discriminator, per example."""

import tensorflow as tf


def _input_gradient_norm_sq(critic, images, loss_scale=None):
    """Squared L2 norm of d critic(x) / dx per example, over every non-batch axis.

    Summing the logits before differentiating gives each example's own
    gradient, because examples do not interact in a discriminator without batch
    statistics. Under `mixed_float16` the inner gradient is taken of the logits
    times `loss_scale` and divided afterwards, so that it does not underflow.
    """
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = tf.cast(critic(images), "float32")
        total = tf.reduce_sum(logits)
        if loss_scale is not None:
            total = total * tf.cast(loss_scale, "float32")
    grads = tf.cast(tape.gradient(total, images), "float32")
    if loss_scale is not None:
        grads = grads / tf.cast(loss_scale, "float32")
    axes = list(range(1, grads.shape.rank))
    return tf.reduce_sum(tf.square(grads), axis=axes)


# Gulrajani et al. 2017, arXiv:1704.00028, Algorithm 1.
def gradient_penalty(
    critic, real_images, fake_images, interpolation_weights=None, seed=None, loss_scale=None
):
    """WGAN-GP penalty `(||grad D(x_hat)||_2 - 1)^2` per example.

    `x_hat = eps * x + (1 - eps) * G(z)` with `eps ~ U[0, 1]` drawn once per
    example; the norm is taken over every non-batch axis.

    Args:
        critic: callable mapping images to logits (conditioning already bound).
        real_images: a batch of real data.
        fake_images: a batch of generated data of the same shape.
        interpolation_weights: optional `(batch,)` weights in [0, 1]; drawn
            with `tf.random.stateless_uniform(seed=seed)` when omitted.
        seed: stateless seed, shape `(2,)`, used when weights are omitted.
        loss_scale: the dynamic loss scale under `mixed_float16`, or None.

    Returns:
        Float32 tensor of shape `(batch,)`.
    """
    real_images = tf.cast(real_images, "float32")
    fake_images = tf.cast(fake_images, "float32")
    batch = tf.shape(real_images)[0]
    if interpolation_weights is None:
        if seed is None:
            raise ValueError(
                "gradient_penalty needs `interpolation_weights` or a stateless "
                "`seed`. Received: interpolation_weights=None, seed=None"
            )
        interpolation_weights = tf.random.stateless_uniform([batch], seed=seed)
    eps = tf.reshape(
        tf.cast(interpolation_weights, "float32"),
        [-1] + [1] * (real_images.shape.rank - 1),
    )
    interpolated = eps * real_images + (1.0 - eps) * fake_images
    norm = tf.sqrt(_input_gradient_norm_sq(critic, interpolated, loss_scale) + 1e-12)
    return tf.square(norm - 1.0)


# Mescheder et al. 2018, arXiv:1801.04406, equation (9) without gamma / 2.
def r1_penalty(critic, real_images, loss_scale=None):
    """R1 penalty `||grad D(x)||_2^2` on real data, per example.

    Multiply by `gamma / 2` to get the paper's regulariser.
    """
    return _input_gradient_norm_sq(critic, tf.cast(real_images, "float32"), loss_scale)
