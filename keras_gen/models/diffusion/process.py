"""The Gaussian noise process of a diffusion model: schedule, noising, targets and sampler steps.

`GaussianDiffusion` owns everything that is the same whatever the network:
the schedule `alpha_bar`, the forward process `add_noise`, what the network
is trained to predict (`target`) and how to read a prediction back
(`noise_and_data`), and one step of each sampler (`ddim_step`, `ddpm_step`),
so that `sample` is the papers' loop. `DiffusionModel` holds the network.

Names in the code and the papers' symbols:

| code | symbol | meaning |
|---|---|---|
| `alpha_bar[t]` | `ab_t` (alpha-bar) | signal fraction after `t + 1` noising steps |
| `alpha_bar_prev` | `ab_prev` | the same at the next timestep of the sequence (1 after the last) |
| `noise`, `eps` | `eps` | the Gaussian noise in `x_t`, and its prediction |
| `x0` | `x_0` | the clean data, and its prediction |
| `beta` | `beta_t = 1 - ab_t / ab_prev` | the noise added by the step from `prev` to `t` |
| `sigma` | `sigma_t` | the noise scale of a DDIM step (Song et al. 2021, eq. 16) |
"""

import functools

import numpy as np
import tensorflow as tf

from keras_gen.models.diffusion import schedules
from keras_gen.networks import common

PREDICTIONS = ("epsilon", "v")
SAMPLERS = ("ddpm", "ddim")
#: `fold_in` index of the seed of `x_T`; the steps take 0, 1, ... (far below).
INITIAL_NOISE_STREAM = 2**30


def check_sampler(sampler):
    """Returns `sampler` if it is a known sampler name; raises ValueError otherwise."""
    if sampler not in SAMPLERS:
        raise ValueError(
            f"Unknown sampler. Expected one of {list(SAMPLERS)}. Received: sampler={sampler!r}"
        )
    return sampler


class GaussianDiffusion:
    """The DDPM forward process with its prediction targets and its DDPM and DDIM steps.

    Args:
        timesteps: int. Number of diffusion steps T (at least 2).
        schedule: str. `"cosine"` (Nichol & Dhariwal 2021) or `"linear"` (Ho et al. 2020).
        prediction: str. What the network predicts: `"epsilon"` (the noise)
            or `"v"` (Salimans & Ho 2022).

    Example:
    ```python
    process = GaussianDiffusion(timesteps=1000, schedule="cosine", prediction="v")
    x_t = process.add_noise(x0, t, noise)
    loss = tf.reduce_mean(tf.square(network([x_t, t]) - process.target(x0, t, noise)))
    ```
    """

    def __init__(self, timesteps=1000, schedule="cosine", prediction="epsilon"):
        self.timesteps = common.check_positive_int(timesteps, "timesteps", minimum=2)
        self.schedule = schedule
        #: float64 numpy `(timesteps,)`: `alpha_bar[t] = prod_{s <= t} (1 - beta_s)`.
        self.alpha_bar = schedules.get(schedule, self.timesteps)
        if prediction not in PREDICTIONS:
            raise ValueError(
                f"`prediction` must be one of {list(PREDICTIONS)}. "
                f"Received: prediction={prediction!r}"
            )
        self.prediction = prediction
        self._alpha_bar = tf.constant(self.alpha_bar, tf.float32)

    def alpha_bar_at(self, t, like):
        """`ab_t` of each example's timestep `t` `(B,)`, shaped to broadcast against `like`."""
        values = tf.gather(self._alpha_bar, t)
        return tf.reshape(values, [-1] + [1] * (len(like.shape) - 1))

    # ------------------------------------------------------------------ training

    # Ho et al. 2020, arXiv:2006.11239, equation (4): q(x_t | x_0) in closed form.
    def add_noise(self, x0, t, noise):
        """`x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) noise`, per example timestep `t` `(B,)`."""
        a = self.alpha_bar_at(t, x0)
        return tf.sqrt(a) * x0 + tf.sqrt(1.0 - a) * noise

    # Ho et al. 2020, equation (14) (eps); Salimans & Ho 2022, arXiv:2202.00512, section 4 (v).
    def target(self, x0, t, noise):
        """What the network learns to output at `add_noise(x0, t, noise)`: `eps` or `v`.

        `v = sqrt(ab_t) eps - sqrt(1 - ab_t) x_0`.
        """
        if self.prediction == "v":
            a = self.alpha_bar_at(t, x0)
            return tf.sqrt(a) * noise - tf.sqrt(1 - a) * x0
        return noise

    def noise_and_data(self, prediction, x_t, t):
        """`(eps, x0)` predicted from the network's output at `x_t`, whatever it predicts.

        With v, `eps = sqrt(ab_t) v + sqrt(1 - ab_t) x_t`; then equation (4)
        solved for `x_0`: `x0 = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t)`.
        """
        a = self.alpha_bar_at(t, x_t)
        if self.prediction == "v":
            eps = tf.sqrt(a) * prediction + tf.sqrt(1 - a) * x_t
        else:
            eps = prediction
        return eps, (x_t - tf.sqrt(1 - a) * eps) / tf.sqrt(a)

    def clipped_noise_and_data(self, prediction, x_t, t):
        """`noise_and_data` with `x0` clipped to [-1, 1] and `eps` made consistent with it.

        As improved-diffusion's DDIM: `eps = (x_t - sqrt(ab_t) x0) / sqrt(1 - ab_t)`.
        """
        _, x0 = self.noise_and_data(prediction, x_t, t)
        x0 = tf.clip_by_value(x0, -1.0, 1.0)
        a = self.alpha_bar_at(t, x_t)
        return (x_t - tf.sqrt(a) * x0) / tf.sqrt(1 - a), x0

    # ------------------------------------------------------------------ sampling

    def timestep_sequence(self, steps):
        """`steps` timesteps from `T - 1` down to 0, evenly spaced (int32 numpy, decreasing).

        One step is `[T - 1]`: a single denoising from pure noise.
        """
        if not isinstance(steps, int) or not 1 <= steps <= self.timesteps:
            raise ValueError(
                f"`steps` must be an int in [1, {self.timesteps}]. Received: steps={steps!r}"
            )
        return np.round(np.linspace(self.timesteps - 1, 0, steps)).astype("int32")

    def _alpha_bar_prev(self, t_prev):
        """`ab_prev` of the next timestep `t_prev` (a scalar); 1 when `t_prev < 0` (the end)."""
        return tf.where(
            t_prev < 0, tf.constant(1.0), tf.gather(self._alpha_bar, tf.maximum(t_prev, 0))
        )

    # Song, Meng & Ermon 2021, arXiv:2010.02502, equation (12), sigma of equation (16).
    def ddim_step(self, x_t, eps, x0, t, t_prev, noise, eta=0.0):
        """`x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma noise`.

        `sigma = eta sqrt((1 - ab_prev) / (1 - ab_t)) sqrt(1 - ab_t / ab_prev)`:
        `eta = 0` is deterministic, `eta = 1` ancestral sampling on the sequence.
        `t` and `t_prev` are scalar timesteps (`t_prev = -1` after the last);
        `x_t` is not read (`eps` carries it), as `eps` is not by `ddpm_step`.
        """
        alpha_bar_t, alpha_bar_prev = tf.gather(self._alpha_bar, t), self._alpha_bar_prev(t_prev)
        sigma = eta * tf.sqrt(
            (1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)
        )
        direction = tf.sqrt(tf.maximum(1 - alpha_bar_prev - sigma**2, 0.0)) * eps
        return tf.sqrt(alpha_bar_prev) * x0 + direction + sigma * noise

    # Ho et al. 2020, equations (6)-(7) and algorithm 2, on a subsequence of the timesteps
    # (Nichol & Dhariwal 2021, arXiv:2102.09672, section 4): beta_t = 1 - ab_t / ab_prev.
    def ddpm_step(self, x_t, eps, x0, t, t_prev, noise):
        """`x_prev = mean + sqrt(beta~_t) noise`: a draw of the posterior `q(x_prev | x_t, x0)`.

        Mean `sqrt(ab_prev) beta_t / (1 - ab_t) x0 + sqrt(1 - beta_t) (1 - ab_prev) / (1 - ab_t)
        x_t`, variance `beta~_t = (1 - ab_prev) / (1 - ab_t) beta_t` (0 at the last step); with
        the unclipped `x0` of equation (4) the mean is equation (11)'s `mu(x_t, eps)`.
        """
        alpha_bar_t, alpha_bar_prev = tf.gather(self._alpha_bar, t), self._alpha_bar_prev(t_prev)
        beta = 1 - alpha_bar_t / alpha_bar_prev
        mean = (
            tf.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar_t) * x0
            + tf.sqrt(1 - beta) * (1 - alpha_bar_prev) / (1 - alpha_bar_t) * x_t
        )
        variance = (1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta
        return mean + tf.sqrt(variance) * noise

    def sample(self, predict, x, sequence, seed, sampler="ddim", eta=0.0):
        """Runs `sampler` from `x = x_T` over the decreasing int32 timesteps `sequence`.

        Ho et al. 2020 algorithm 2 (`"ddpm"`) or Song et al. 2021 equation (12)
        (`"ddim"`, with `eta`), in one `tf.while_loop`. `predict(x_t, t)`
        returns `(eps, x0)` at the scalar timestep `t`; the noise of step `i`
        is drawn from `fold_in(seed, i)`.
        """
        if check_sampler(sampler) == "ddpm":
            step = self.ddpm_step
        else:
            step = functools.partial(self.ddim_step, eta=eta)
        count = tf.shape(sequence)[0]

        def denoise(i, x_t):
            t = sequence[i]
            t_prev = tf.where(i + 1 < count, sequence[tf.minimum(i + 1, count - 1)], -1)
            eps, x0 = predict(x_t, t)
            noise = tf.random.stateless_normal(
                tf.shape(x_t), tf.random.experimental.stateless_fold_in(seed, i)
            )
            return i + 1, step(x_t, eps, x0, t, t_prev, noise)

        _, x = tf.while_loop(lambda i, _: i < count, denoise, (tf.constant(0), x))
        return x
