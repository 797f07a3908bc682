"""RealNVP (Dinh et al. 2017, arXiv:1605.08803): affine couplings in a multi-scale flow."""

import keras

from keras_gen.models.flow import flow_model
from keras_gen.models.flow import layers as flow_layers
from keras_gen.networks import common


@keras.saving.register_keras_serializable(package="keras_gen")
class RealNVP(flow_model.FlowModel):
    """Real-valued non-volume-preserving flow, trained by exact maximum likelihood.

    Vectors `(D,)`: `num_coupling_layers` affine couplings on alternating
    halves of the features, each after an `ActNorm`. Images `(H, W, C)`:
    RealNVP's multi-scale architecture (section 3.6): per scale,
    `num_coupling_layers` checkerboard couplings, a squeeze,
    `num_coupling_layers` channel couplings and half of the channels factored
    out; then `num_coupling_layers + 1` checkerboard couplings (the paper: 3,
    3 and 4). Masks alternate between couplings. Where this differs from the
    paper: `ActNorm` (Glow's data-initialised affine map) in place of batch
    normalisation, and a plain convolutional network (3x3, 1x1, 3x3) in
    each coupling in place of a residual network.

    Args:
        data_shape: `(D,)` with D >= 2, or `(H, W, C)` in [-1, 1] with H and W
            divisible by `2 ** levels` and at least `2 ** (levels + 1)` (the
            last checkerboard couplings need 2x2 positions).
        num_coupling_layers: couplings per mask kind (and scale, for images).
        hidden_dim: width of the coupling networks (units or channels).
        levels: scales of an image flow (squeezes); ignored for vectors.
        coupling: `"affine"` (RealNVP's) or `"spline"`: rational-quadratic
            spline couplings (Neural Spline Flows, Durkan et al. 2019), far
            more expressive per layer on sharp, multimodal densities.
        num_bins: bins of each spline (with `coupling="spline"`).
        seed: seed of the initial weights, the dequantization noise and `generate`.

    Example:
    ```python
    model = keras_gen.models.RealNVP(data_shape=(2,), num_coupling_layers=6, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(points, batch_size=256, epochs=20)
    model.log_prob(points[:5]), model.generate(100, seed=1)
    ```
    """

    def __init__(
        self,
        data_shape,
        num_coupling_layers=4,
        hidden_dim=128,
        levels=2,
        seed=None,
        coupling="affine",
        num_bins=8,
        **kwargs,
    ):
        super().__init__(data_shape, seed=seed, **kwargs)
        self.coupling, self.num_bins = flow_layers.check_coupling(coupling, num_bins)
        self.num_coupling_layers = common.check_positive_int(
            num_coupling_layers, "num_coupling_layers"
        )
        self.hidden_dim = common.check_positive_int(hidden_dim, "hidden_dim")
        self.num_levels = common.check_positive_int(levels, "levels")
        self._step_seed = self.seed * 1000
        if self.images:
            check_divisible(self.data_shape, self.num_levels)
            if min(self.data_shape[:2]) < 2 ** (self.num_levels + 1):
                raise ValueError(
                    f"RealNVP's last checkerboard couplings need at least 2x2 positions after "
                    f"{self.num_levels} squeezes: height and width must be >= "
                    f"{2 ** (self.num_levels + 1)}. Received: data_shape={self.data_shape}, "
                    f"levels={levels}"
                )
            self._image_levels()
        else:
            check_vector(self.data_shape)
            self.add_level(
                False, self._couplings(self.data_shape, "halves", num_coupling_layers), False
            )
        self.finish_building()

    def _couplings(self, shape, mask, count):
        steps = []
        for i in range(count):
            self._step_seed += 1
            steps.append(flow_layers.ActNorm())
            steps.append(
                flow_layers.make_coupling(
                    self.coupling,
                    shape,
                    mask,
                    i % 2,
                    self.hidden_dim,
                    self._step_seed,
                    self.num_bins,
                )
            )
        return steps

    def _image_levels(self):
        shape, count = self.data_shape, self.num_coupling_layers
        for _ in range(self.num_levels):
            self.add_level(False, self._couplings(shape, "checkerboard", count), False)
            shape = (shape[0] // 2, shape[1] // 2, shape[2] * 4)
            self.add_level(True, self._couplings(shape, "channel", count), True)
            shape = (*shape[:-1], shape[-1] - shape[-1] // 2)
        self.add_level(False, self._couplings(shape, "checkerboard", count + 1), False)

    def get_config(self):
        return {
            **super().get_config(),
            "num_coupling_layers": self.num_coupling_layers,
            "hidden_dim": self.hidden_dim,
            "levels": self.num_levels,
            "coupling": self.coupling,
            "num_bins": self.num_bins,
        }


def check_divisible(data_shape, levels):
    """ValueError unless the image's height and width halve `levels` times."""
    factor = 2**levels
    if data_shape[0] % factor or data_shape[1] % factor:
        raise ValueError(
            f"An image flow with levels={levels} squeezes {levels} times: height and width "
            f"must be divisible by {factor}. Received: data_shape={data_shape}"
        )


def check_vector(data_shape):
    """ValueError for vectors of one feature: a coupling needs two halves."""
    if data_shape[0] < 2:
        raise ValueError(
            "A flow over vectors couples two halves of the features: D must be >= 2. "
            f"Received: data_shape={data_shape}"
        )
