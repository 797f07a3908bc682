"""Noise schedules: the cumulative signal fractions `alpha_bar_t`, one function per paper.

Each returns float64 `alpha_bar` of length `timesteps`, `alpha_bar_t = prod_{s<=t} (1 - beta_s)`;
`get(name, timesteps)` resolves one by name.
"""

import math

import numpy as np

SCHEDULES = ("linear", "cosine")


# Ho, Jain & Abbeel 2020, arXiv:2006.11239, section 4: betas linear from 1e-4 to 0.02 over 1000 steps.
def linear(timesteps, beta_start=1e-4, beta_end=0.02):
    """`alpha_bar` of betas spaced linearly from `beta_start` to `beta_end`.

    The endpoints are scaled by `1000 / timesteps`, so that any number of steps
    spans the same noise levels (as improved-diffusion does).
    """
    scale = 1000.0 / timesteps
    if beta_end * scale >= 1.0:
        raise ValueError(
            f"The linear schedule needs beta_end * 1000 / timesteps < 1, or the signal vanishes. "
            f"Received: timesteps={timesteps}"
        )
    betas = np.linspace(beta_start * scale, beta_end * scale, timesteps, dtype="float64")
    return np.cumprod(1.0 - betas)


# Nichol & Dhariwal 2021, arXiv:2102.09672, equation (17): betas clipped at 0.999.
def cosine(timesteps, offset=0.008, max_beta=0.999):
    """`alpha_bar_t = f(t + 1) / f(0)` with `f(t) = cos^2(((t/T + s) / (1 + s)) pi/2)`.

    Timestep t = 0 is the first noising step, so `alpha_bar_0 < 1`; betas are
    clipped at `max_beta`, which changes the last few values.
    """

    def f(t):
        return math.cos((t / timesteps + offset) / (1 + offset) * math.pi / 2) ** 2

    betas = np.array([min(1 - f(t + 1) / f(t), max_beta) for t in range(timesteps)])
    return np.cumprod(1.0 - betas)


def get(name, timesteps):
    """`alpha_bar` of the schedule `name` (`"linear"` or `"cosine"`) over `timesteps` steps."""
    if name == "linear":
        return linear(timesteps)
    if name == "cosine":
        return cosine(timesteps)
    raise ValueError(
        f"Unknown schedule. Expected one of {list(SCHEDULES)}. Received: schedule={name!r}"
    )
