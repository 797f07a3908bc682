import math

import numpy as np
import pytest

from keras_gen.models.diffusion import schedules


def test_schedules_match_their_formulas():
    betas = np.linspace(1e-4, 0.02, 1000)
    np.testing.assert_allclose(schedules.linear(1000), np.cumprod(1 - betas), rtol=1e-12)
    cosine = schedules.cosine(1000)
    f = [math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2 for t in range(1001)]
    # Unclipped steps telescope to f(t + 1) / f(0).
    np.testing.assert_allclose(cosine[:990], np.array(f[1:991]) / f[0], rtol=1e-10)
    for alpha_bar in (cosine, schedules.linear(50)):
        assert np.all(np.diff(alpha_bar) < 0) and 0 < alpha_bar[-1] < alpha_bar[0] < 1
    with pytest.raises(ValueError, match="schedule='quadratic'"):
        schedules.get("quadratic", 10)
