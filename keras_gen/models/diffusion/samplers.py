"""Samplers of a trained denoiser, with one interface: `sample(predict, x_T, timesteps, alpha_bar, ...)`.

`predict(x, t)` returns `(eps, x0)` predicted at integer timestep `t` (a
scalar tensor); `timesteps` is the decreasing int32 sequence to visit (from
`T - 1`, ending at 0 when it has more than one step); `alpha_bar` the float32
schedule. Both samplers work with any
subsequence of the training timesteps.
"""

import numpy as np
import tensorflow as tf

SAMPLERS = ("ddpm", "ddim")


def _previous(alpha_bar, timesteps, i):
    """`alpha_bar` of the step after `timesteps[i]` in the sequence (1 after the last)."""
    last = i + 1 >= tf.shape(timesteps)[0]
    index = tf.minimum(i + 1, tf.shape(timesteps)[0] - 1)
    return tf.where(last, tf.constant(1.0, alpha_bar.dtype), tf.gather(alpha_bar, timesteps[index]))


def _loop(step, x, timesteps):
    def body(i, x):
        return i + 1, step(i, x)

    _, x = tf.while_loop(lambda i, x: i < tf.shape(timesteps)[0], body, (tf.constant(0), x))
    return x


def ddim_update(x0, eps, alpha_bar_prev, sigma, noise):
    """One DDIM step: `sqrt(ab_prev) x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma noise`."""
    direction = tf.sqrt(tf.maximum(1 - alpha_bar_prev - sigma**2, 0.0)) * eps
    return tf.sqrt(alpha_bar_prev) * x0 + direction + sigma * noise


# Song, Meng & Ermon 2021, arXiv:2010.02502, equation (12).
def ddim(predict, x, timesteps, alpha_bar, seed, eta=0.0):
    """DDIM: `x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma z`.

    `sigma = eta * sqrt((1 - ab_prev) / (1 - ab_t)) * sqrt(1 - ab_t / ab_prev)`:
    `eta=0` is deterministic, `eta=1` is ancestral sampling on the subsequence.
    """

    def step(i, x):
        t = timesteps[i]
        a_t, a_prev = tf.gather(alpha_bar, t), _previous(alpha_bar, timesteps, i)
        eps, x0 = predict(x, t)
        sigma = eta * tf.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
        noise = tf.random.stateless_normal(
            tf.shape(x), tf.random.experimental.stateless_fold_in(seed, i)
        )
        return ddim_update(x0, eps, a_prev, sigma, noise)

    return _loop(step, x, timesteps)


# Ho, Jain & Abbeel 2020, arXiv:2006.11239, algorithm 2, on a subsequence of the timesteps
# (Nichol & Dhariwal 2021, section 4): beta_t = 1 - ab_t / ab_prev.
def ddpm(predict, x, timesteps, alpha_bar, seed, eta=None):
    """Ancestral DDPM: the posterior `q(x_prev | x_t, x0)` mean plus `sqrt(beta~_t)` noise.

    Mean `sqrt(ab_prev) beta_t / (1 - ab_t) x0 + sqrt(1 - beta_t) (1 - ab_prev) / (1 - ab_t) x_t`,
    variance `beta~_t = (1 - ab_prev) / (1 - ab_t) beta_t`; no noise at the last step.
    `eta` is accepted for the common interface and must be None.
    """
    if eta is not None:
        raise ValueError(f"The ddpm sampler has no eta. Received: eta={eta!r}")

    def step(i, x):
        t = timesteps[i]
        a_t, a_prev = tf.gather(alpha_bar, t), _previous(alpha_bar, timesteps, i)
        beta = 1 - a_t / a_prev
        _, x0 = predict(x, t)
        mean = (
            tf.sqrt(a_prev) * beta / (1 - a_t) * x0
            + tf.sqrt(1 - beta) * (1 - a_prev) / (1 - a_t) * x
        )
        variance = (1 - a_prev) / (1 - a_t) * beta
        noise = tf.random.stateless_normal(
            tf.shape(x), tf.random.experimental.stateless_fold_in(seed, i)
        )
        return mean + tf.sqrt(variance) * noise

    return _loop(step, x, timesteps)


def get(name):
    if name == "ddim":
        return ddim
    if name == "ddpm":
        return ddpm
    raise ValueError(
        f"Unknown sampler. Expected one of {list(SAMPLERS)}. Received: sampler={name!r}"
    )


def timestep_sequence(timesteps, steps):
    """`steps` timesteps from `timesteps - 1` down to 0, evenly spaced (int32, decreasing).

    One step is `[timesteps - 1]`: a single denoising from pure noise.
    """
    if not isinstance(steps, int) or not 1 <= steps <= timesteps:
        raise ValueError(f"`steps` must be an int in [1, {timesteps}]. Received: steps={steps!r}")
    return np.round(np.linspace(timesteps - 1, 0, steps)).astype("int32")
