"""Held-out log-likelihood of variational models: the importance-weighted estimate.

Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders",
arXiv:1509.00519: with `z_1..z_K ~ q(z|x)`,

    log p(x) >= log (1/K) sum_k p(x, z_k) / q(z_k|x),

a bound that rises with K towards `log p(x)` (K = 1 is the ELBO with a
sampled KL). VAE papers report it with K = 5,000 on binarized MNIST.
"""

import math
import weakref

import numpy as np
import tensorflow as tf


def _check(model, data, labels):
    if not hasattr(model, "importance_log_weights") and not hasattr(model, "log_likelihood_bound"):
        raise ValueError(
            "log_likelihood needs a VAE, BetaVAE, ConditionalVAE, MusicVAE or VQVAE. "
            f"Received: model of type {type(model).__name__}"
        )
    data = np.asarray(data, "float32")
    if tuple(data.shape[1:]) != model.data_shape or len(data) == 0:
        raise ValueError(
            f"`data` must have shape (n, *{model.data_shape}) with n > 0. "
            f"Received: data with shape {data.shape}"
        )
    if model.likelihood == "bernoulli":
        # The two values binary data take: -1 and 1, or a MusicVAE's 0 and 1.
        low, high = model.data_range() or (-1.0, 1.0)
        if not np.all(np.isin(data, (low, high))):
            raise ValueError(
                "With the Bernoulli likelihood, log p(x) is a probability only for binary data "
                f"(values {low:g} and {high:g}): load it with `keras_gen.data.load(..., "
                "binarize=True)` or threshold it. Received: data with values other than "
                f"{low:g} and {high:g}"
            )
    if model.conditional:
        labels = model.check_labels(labels, "labels", len(data))
    elif labels is not None:
        raise ValueError(f"{type(model).__name__} is not conditional. Received: labels")
    return data, labels


def importance_weighted_log_likelihoods(
    model, data, labels=None, num_importance_samples=1000, batch_size=None, seed=0
):
    """Per-example importance-weighted estimates of `log p(x)`, in nats (float64 numpy).

    Args and Raises: as for `log_likelihood`.
    """
    data, labels = _check(model, data, labels)
    k = int(num_importance_samples)
    if k < 1:
        raise ValueError(
            "`num_importance_samples` must be an int >= 1. "
            f"Received: num_importance_samples={num_importance_samples!r}"
        )
    if not hasattr(model, "importance_log_weights"):
        # A VQ-VAE's posterior is a point mass: its bound needs no sampling.
        return np.concatenate(
            [
                model.log_likelihood_bound(tf.constant(data[i : i + 256])).numpy().astype("float64")
                for i in range(0, len(data), 256)
            ]
        )
    # About 4,096 decoded samples per call bounds memory whatever K is.
    batch_size = batch_size or max(1, 4096 // k)
    function = _log_weights_function(model, k)
    base = tf.constant([seed, 0], "int64")
    estimates = []
    for i, start in enumerate(range(0, len(data), batch_size)):
        args = [tf.constant(data[start : start + batch_size])]
        args.append(tf.constant(labels[start : start + batch_size]) if model.conditional else None)
        log_weights = function(*args, tf.random.experimental.stateless_fold_in(base, i))
        log_weights = log_weights.numpy().astype("float64")
        peak = log_weights.max(axis=1, keepdims=True)
        estimates.append(peak[:, 0] + np.log(np.mean(np.exp(log_weights - peak), axis=1)))
    return np.concatenate(estimates)


def log_likelihood(model, data, labels=None, num_importance_samples=1000, batch_size=None, seed=0):
    """Mean importance-weighted estimate of `log p(x)` over `data`, in nats per example.

    For a `VQVAE` (Bernoulli likelihood) it is the bound
    `log p(x|z_q(x)) + log p_prior(z_q(x))`, whatever `num_importance_samples`.

    Args:
        model: a trained `VAE`, `BetaVAE`, `ConditionalVAE`, `MusicVAE` or `VQVAE`.
        data: samples `(n, *data_shape)` in the model's `data_range()`; binary
            for the Bernoulli likelihood (-1/1, or 0/1 for a `MusicVAE`'s keys).
        labels: class labels of a conditional model.
        num_importance_samples: K posterior draws per example.
        batch_size: examples per call (default: about 4,096 / K).
        seed: int seed of the posterior draws.

    Returns:
        A float: the mean estimate in nats (higher is better).

    Raises:
        ValueError: for another kind of model, data of the wrong shape,
            non-binary data with the Bernoulli likelihood, or bad labels.

    Example:
    ```python
    test, _ = keras_gen.data.load("mnist5k", split="test", binarize=True, shuffle=False)
    x = np.concatenate(list(test.as_numpy_iterator()))
    print(keras_gen.metrics.log_likelihood(vae, x, num_importance_samples=1000))
    ```
    """
    return float(
        np.mean(
            importance_weighted_log_likelihoods(
                model, data, labels, num_importance_samples, batch_size, seed
            )
        )
    )


def evidence_lower_bound(model, data, labels=None, batch_size=256, seed=0):
    """Mean ELBO `E_q[log p(x|z)] - KL(q || p)` over `data`, in nats (analytic KL, one draw of z).

    For a `VQVAE` the ELBO is `log_likelihood_bound` (a point-mass posterior).
    """
    data, labels = _check(model, data, labels)
    if not hasattr(model, "importance_log_weights"):
        return float(np.mean(importance_weighted_log_likelihoods(model, data, labels, 1)))
    values = []
    for i, start in enumerate(range(0, len(data), batch_size)):
        x = tf.constant(data[start : start + batch_size])
        y = tf.constant(labels[start : start + batch_size]) if model.conditional else None
        seed_i = tf.random.experimental.stateless_fold_in(tf.constant([seed, 1], "int64"), i)
        noise = tf.random.stateless_normal((len(x), model.latent_dim), seed=seed_i)
        reconstruction, kl = model.terms(x, y, noise, training=False)
        values.append(-(reconstruction + kl).numpy().astype("float64"))
    return float(np.mean(np.concatenate(values)))


# Compiled functions per model and k: a cache beside the model, not model state.
_LOG_WEIGHTS_FUNCTIONS = weakref.WeakKeyDictionary()


def _log_weights_function(model, k):
    cache = _LOG_WEIGHTS_FUNCTIONS.setdefault(model, {})
    if k not in cache:
        cache[k] = tf.function(
            lambda x, y, seed: model.importance_log_weights(x, y, k, seed), reduce_retracing=True
        )
    return cache[k]


def bits_per_dimension(log_likelihood_nats, data_shape):
    """Converts a log-likelihood in nats per example to bits per dimension (lower is better)."""
    return -float(log_likelihood_nats) / (math.prod(data_shape) * math.log(2.0))


#: Pixel levels of 8-bit images in [-1, 1].
PIXEL_LEVELS = 256


def dequantize_pixels(x, noise):
    """8-bit pixels `x = k / 127.5 - 1` to `(k + noise) / 128 - 1` in [-1, 1), `noise` in [0, 1).

    The continuous data a Gaussian `VAE` is scored on for a bound on the
    pixels' discrete likelihood: the density of `k + u` on [0, 256)^D is
    `p(x') / 128^D` (the accounting of the flows, `FlowModel`).
    """
    levels = np.round((np.asarray(x, "float64") + 1.0) * 127.5)
    return ((levels + noise) / (PIXEL_LEVELS / 2) - 1.0).astype("float32")


def held_out_bits_per_dim(model, data, num_importance_samples=100, seed=0):
    """Bits per dimension of held-out `data` for a flow or a variational model (lower is better).

    A flow (`RealNVP`, `Glow`): `model.bits_per_dim(data, seed)`, exact for
    vectors and, for images, of the pixels in [0, 256)^D under one uniform
    dequantization draw. A `VAE` or `VQVAE`: the importance-weighted bound
    `log_likelihood(model, data, num_importance_samples=K)` in bits per
    dimension, a bound on the data the model was trained on (binarized images
    for the Bernoulli likelihood, bits per binary pixel), so comparable with a
    flow only on the same data. A Gaussian `VAE` on images (`(H, W, C)`) is
    scored as the flows are, on 8-bit pixels: the bound on `dequantize_pixels(
    data, u)` with one uniform draw `u` from `seed`, minus `D log 128`, so its
    figure is a lower bound of the same discrete log-likelihood a flow's is
    and the two compare directly.

    Args:
        model: a trained flow or variational model.
        data: samples `(n, *data_shape)`, or a `tf.data.Dataset` of them.
        num_importance_samples: K of the variational bound (unused for flows).
        seed: int seed of the dequantization noise or the posterior draws.
    """
    if isinstance(data, tf.data.Dataset):  # batches of samples, or of (samples, labels)
        data = np.concatenate(
            [np.asarray(b[0] if isinstance(b, (tuple, list)) else b) for b in data]
        )
    if hasattr(model, "bits_per_dim"):
        return model.bits_per_dim(data, seed=seed)
    shape = model.data_shape
    offset = 0.0
    if getattr(model, "likelihood", None) == "gaussian" and len(shape) == 3:
        noise = np.random.default_rng(seed).uniform(size=np.shape(data))
        data = dequantize_pixels(data, noise)
        offset = math.prod(shape) * math.log(PIXEL_LEVELS / 2)
    nats = log_likelihood(model, data, num_importance_samples=num_importance_samples, seed=seed)
    return bits_per_dimension(nats - offset, shape)
