"""Glow (Kingma & Dhariwal 2018, arXiv:1807.03039): actnorm, invertible 1x1 convolution, coupling."""

import keras

from keras_gen.models.flow import flow_model, realnvp
from keras_gen.models.flow import layers as flow_layers
from keras_gen.networks import common


@keras.saving.register_keras_serializable(package="keras_gen")
class Glow(flow_model.FlowModel):
    """Glow's multi-scale flow of steps `ActNorm -> invertible 1x1 conv -> affine coupling`.

    Images `(H, W, C)`: `levels` levels, each a squeeze, `steps_per_level`
    steps and (but the last) half of the channels factored out (Fig. 2).
    Vectors `(D,)`: one level of `steps_per_level` steps without squeeze, the
    1x1 convolution a learned invertible dense map. The coupling transforms
    the second half of the channels from the first (the 1x1 convolution
    mixes them between steps). Where this differs from the paper: the
    factored-out latents have a standard normal prior (Glow learns a
    conditional prior for them), and the coupling scale is
    `scale * tanh(.)` as in RealNVP (Glow: `sigmoid(. + 2)`).

    Args:
        data_shape: `(D,)` with D >= 2, or `(H, W, C)` in [-1, 1] with H and W
            divisible by `2 ** levels`.
        levels: levels of an image flow; ignored for vectors (one level).
        steps_per_level: flow steps per level (Glow: K).
        hidden_channels: width of the coupling networks (Glow: 512).
        coupling: `"affine"` (Glow's) or `"spline"` (rational-quadratic
            spline couplings, Durkan et al. 2019).
        num_bins: bins of each spline (with `coupling="spline"`).
        seed: seed of the initial weights, the dequantization noise and `generate`.

    Example:
    ```python
    model = keras_gen.models.Glow(data_shape=(28, 28, 1), levels=2, steps_per_level=8, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(images, batch_size=64, epochs=10)
    model.bits_per_dim(test_images), model.generate(16, temperature=0.7)
    ```
    """

    def __init__(
        self,
        data_shape,
        levels=2,
        steps_per_level=8,
        hidden_channels=128,
        seed=None,
        coupling="affine",
        num_bins=8,
        **kwargs,
    ):
        super().__init__(data_shape, seed=seed, **kwargs)
        self.coupling, self.num_bins = flow_layers.check_coupling(coupling, num_bins)
        self.num_levels = common.check_positive_int(levels, "levels")
        self.steps_per_level = common.check_positive_int(steps_per_level, "steps_per_level")
        self.hidden_channels = common.check_positive_int(hidden_channels, "hidden_channels")
        self._step_seed = self.seed * 1000
        if self.images:
            realnvp.check_divisible(self.data_shape, self.num_levels)
            shape = self.data_shape
            for level in range(self.num_levels):
                shape = (shape[0] // 2, shape[1] // 2, shape[2] * 4)
                last = level == self.num_levels - 1
                self.add_level(True, self._steps(shape, "channel"), not last)
                shape = shape if last else (*shape[:-1], shape[-1] - shape[-1] // 2)
        else:
            realnvp.check_vector(self.data_shape)
            self.add_level(False, self._steps(self.data_shape, "halves"), False)
        self.finish_building()

    def _steps(self, shape, mask):
        steps = []
        for _ in range(self.steps_per_level):
            self._step_seed += 1
            steps.append(flow_layers.ActNorm())
            steps.append(flow_layers.InvertibleLinear(seed=self._step_seed))
            steps.append(
                flow_layers.make_coupling(
                    self.coupling,
                    shape,
                    mask,
                    0,
                    self.hidden_channels,
                    self._step_seed,
                    self.num_bins,
                )
            )
        return steps

    def get_config(self):
        return {
            **super().get_config(),
            "levels": self.num_levels,
            "steps_per_level": self.steps_per_level,
            "hidden_channels": self.hidden_channels,
            "coupling": self.coupling,
            "num_bins": self.num_bins,
        }
