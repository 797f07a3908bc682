"""Invertible steps of a normalizing flow, each with its log-determinant.

Every step maps `x -> (y, log_det)` in `forward` and `y -> x` in `inverse`,
where `log_det` is `log |det dy/dx|` per example, float32. The arithmetic of
the flow itself (shifts, scales, log-determinants) is float32 under every
dtype policy; only the coupling networks follow the global policy (their
outputs are cast to float32 before they touch the data).

- `ActNorm`: a per-channel affine map with data-dependent initialisation
  (Glow, Kingma & Dhariwal 2018, section 3.1).
- `InvertibleLinear`: a learned invertible map of the channels, LU-decomposed
  (Glow's invertible 1x1 convolution, section 3.2; for vectors a dense map).
- `AffineCoupling`: `y = m * x + (1 - m) * (x * exp(s) + t)` with `s, t`
  computed from `m * x` (RealNVP, Dinh et al. 2017, eq. 9).
- `SplineCoupling`: the masked-out entries through a monotone
  rational-quadratic spline whose knots are computed from `m * x` (Neural
  Spline Flows, Durkan et al. 2019, arXiv:1906.04032).
- `checkerboard_mask`, `channel_mask`, `halves_mask`: the masks `m`.
"""

import math

import keras
import numpy as np
import scipy.linalg
import tensorflow as tf

from keras_gen.networks import common


def _per_example_count(x):
    """Positions each channel is applied at per example: `H * W` for images, 1 for vectors."""
    return tf.cast(tf.reduce_prod(tf.shape(x)[1:-1]), "float32")


@keras.saving.register_keras_serializable(package="keras_gen")
class ActNorm(keras.layers.Layer):
    """`y = (x + bias) * exp(log_scale)` per channel, initialised from data.

    `initialize(x)` sets `bias` and `log_scale` so that `forward(x)` has zero
    mean and unit variance per channel on that batch; `initialized` (saved
    with the weights) keeps a later call from doing it again.
    """

    def __init__(self, **kwargs):
        kwargs.pop("dtype", None)  # float32 under every policy
        super().__init__(dtype="float32", **kwargs)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")
        self.log_scale = self.add_weight(shape=(channels,), initializer="zeros", name="log_scale")
        self.initialized = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="initialized"
        )

    def initialize(self, x):
        """Sets the weights from the batch `x`: zero mean, unit variance per channel."""
        x = tf.cast(x, "float32")
        axes = list(range(len(x.shape) - 1))
        mean, variance = tf.nn.moments(x, axes)
        self.bias.assign(-mean)
        self.log_scale.assign(-0.5 * tf.math.log(variance + 1e-6))
        self.initialized.assign(1.0)

    def forward(self, x):
        y = (x + self.bias) * tf.exp(self.log_scale)
        log_det = tf.reduce_sum(self.log_scale) * _per_example_count(x)
        return y, tf.fill(tf.shape(x)[:1], log_det)

    def inverse(self, y):
        return y * tf.exp(-self.log_scale) - self.bias


@keras.saving.register_keras_serializable(package="keras_gen")
class InvertibleLinear(keras.layers.Layer):
    """`y = x @ W^T` over the channels, `W = P L (U + diag(sign * exp(log_s)))`.

    Glow's LU-decomposed invertible 1x1 convolution (section 3.2): `P` and
    `sign` are fixed, `L` (unit lower-triangular), `U` (strictly upper) and
    `log_s` are trained, and `log |det W| = sum(log_s)` per position. `W`
    starts as a random rotation drawn from `seed`.
    """

    def __init__(self, seed=0, **kwargs):
        kwargs.pop("dtype", None)  # float32 under every policy
        super().__init__(dtype="float32", **kwargs)
        self.seed = common.check_positive_int(seed, "seed", minimum=0)

    def build(self, input_shape):
        channels = input_shape[-1]
        rotation, _ = np.linalg.qr(np.random.default_rng(self.seed).normal(size=(channels,) * 2))
        permutation, lower, upper = scipy.linalg.lu(rotation)
        diagonal = np.diag(upper)
        self.permutation = self.add_weight(
            shape=(channels, channels), trainable=False, initializer="zeros", name="permutation"
        )
        # Zeros, then the decomposition: no initializer draws from the random state.
        self.sign = self.add_weight(
            shape=(channels,), initializer="zeros", trainable=False, name="sign"
        )
        self.lower = self.add_weight(shape=(channels, channels), initializer="zeros", name="lower")
        self.upper = self.add_weight(shape=(channels, channels), initializer="zeros", name="upper")
        self.log_s = self.add_weight(shape=(channels,), initializer="zeros", name="log_s")
        self.permutation.assign(permutation)
        self.sign.assign(np.sign(diagonal))
        self.lower.assign(np.tril(lower, -1))
        self.upper.assign(np.triu(upper, 1))
        self.log_s.assign(np.log(np.abs(diagonal)))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}

    def weight_matrix(self):
        channels = self.log_s.shape[0]
        lower = tf.linalg.band_part(self.lower, -1, 0) - tf.linalg.band_part(self.lower, 0, 0)
        upper = tf.linalg.band_part(self.upper, 0, -1) - tf.linalg.band_part(self.upper, 0, 0)
        lower = lower + tf.eye(channels)
        upper = upper + tf.linalg.diag(self.sign * tf.exp(self.log_s))
        return self.permutation @ lower @ upper

    def forward(self, x):
        y = tf.einsum("...i,ji->...j", x, self.weight_matrix())
        log_det = tf.reduce_sum(self.log_s) * _per_example_count(x)
        return y, tf.fill(tf.shape(x)[:1], log_det)

    def inverse(self, y):
        return tf.einsum("...i,ji->...j", y, tf.linalg.inv(self.weight_matrix()))


@keras.saving.register_keras_serializable(package="keras_gen")
class AffineCoupling(keras.layers.Layer):
    """RealNVP's masked affine coupling: the masked-out entries are scaled and shifted.

    `s, t = split(network(concat(m * x, m)))`; `s = scale * tanh(s)` (a
    trained per-channel `scale`, RealNVP's bounded log-scale), both masked by
    `1 - m`; `y = m * x + (1 - m) * (x * exp(s) + t)` and `log_det = sum(s)`.
    The network's last layer starts at zero, so the step starts as identity.

    Args:
        shape: the data shape `(D,)` or `(H, W, C)` the step applies to.
        mask: `"halves"` (vectors), `"checkerboard"` or `"channel"` (images).
        parity: 0 or 1, which of the two halves of the mask passes unchanged.
        hidden: width of the network (units for vectors, channels for images).
        num_hidden_layers: hidden layers of the network.
        seed: seed of the network's initial weights.
    """

    def __init__(self, shape, mask, parity=0, hidden=256, num_hidden_layers=2, seed=0, **kwargs):
        kwargs.pop("dtype", None)  # float32 under every policy; the network follows the policy
        super().__init__(dtype="float32", **kwargs)
        self.shape = tuple(int(n) for n in shape)
        if mask not in MASKS:
            raise ValueError(f"`mask` must be one of {sorted(MASKS)}. Received: mask={mask!r}")
        if parity not in (0, 1):
            raise ValueError(f"`parity` must be 0 or 1. Received: parity={parity!r}")
        self.mask_kind, self.parity = mask, parity
        self.mask = MASKS[mask](self.shape, parity)
        self.hidden = common.check_positive_int(hidden, "hidden")
        self.num_hidden_layers = common.check_positive_int(num_hidden_layers, "num_hidden_layers")
        self.seed = common.check_positive_int(seed, "seed", minimum=0)
        self.network = self._network()

    #: Network outputs per transformed channel: a log-scale and a shift.
    params_per_channel = 2

    def _network(self):
        images = len(self.shape) == 3
        outputs = self.params_per_channel * self.shape[-1]
        layers = [keras.Input((*self.shape[:-1], 2 * self.shape[-1]))]
        for i in range(self.num_hidden_layers):
            initializer = keras.initializers.GlorotUniform(seed=self.seed * 16 + i)
            if images:
                kernel = 3 if i == 0 else 1
                layers.append(
                    keras.layers.Conv2D(
                        self.hidden, kernel, padding="same", kernel_initializer=initializer
                    )
                )
            else:
                layers.append(keras.layers.Dense(self.hidden, kernel_initializer=initializer))
            layers.append(keras.layers.ReLU())
        # Zero at the start: the step starts as the identity.
        if images:
            layers.append(
                keras.layers.Conv2D(outputs, 3, padding="same", kernel_initializer="zeros")
            )
        else:
            layers.append(keras.layers.Dense(outputs, kernel_initializer="zeros"))
        return keras.Sequential(layers, name="coupling_network")

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(self.shape[-1],), initializer="ones", name="scale")
        self.network.build((None, *self.shape[:-1], 2 * self.shape[-1]))

    def get_config(self):
        return {
            **super().get_config(),
            "shape": self.shape,
            "mask": self.mask_kind,
            "parity": self.parity,
            "hidden": self.hidden,
            "num_hidden_layers": self.num_hidden_layers,
            "seed": self.seed,
        }

    def _shift_and_log_scale(self, kept):
        mask = tf.constant(self.mask)
        raw = self.network(tf.concat([kept, tf.broadcast_to(mask, tf.shape(kept))], axis=-1))
        log_scale, shift = tf.split(tf.cast(raw, "float32"), 2, axis=-1)
        changed = 1.0 - mask
        return changed * self.scale * tf.tanh(log_scale), changed * shift

    def forward(self, x):
        mask = tf.constant(self.mask)
        log_scale, shift = self._shift_and_log_scale(mask * x)
        y = mask * x + (1.0 - mask) * (x * tf.exp(log_scale) + shift)
        return y, tf.reduce_sum(tf.reshape(log_scale, [tf.shape(x)[0], -1]), axis=1)

    def inverse(self, y):
        mask = tf.constant(self.mask)
        log_scale, shift = self._shift_and_log_scale(mask * y)
        return mask * y + (1.0 - mask) * (y - shift) * tf.exp(-log_scale)


@keras.saving.register_keras_serializable(package="keras_gen")
class SplineCoupling(AffineCoupling):
    """A masked coupling whose transform is a rational-quadratic spline (Durkan et al. 2019).

    Each masked-out entry goes through its own monotone rational-quadratic
    spline on `[-tail_bound, tail_bound]` with `num_bins` bins (section 3.1
    of the paper); the bin widths, heights and inner knot derivatives come
    from the network on `m * x`, the outer derivatives are 1, and outside
    the interval the map is the identity (linear tails). The network's last
    layer starts at zero, so every spline starts as the identity. Other
    arguments as for `AffineCoupling`.

    Args:
        num_bins: bins of each spline (`3 * num_bins - 1` network outputs per channel).
        tail_bound: half-width of the interval the spline covers.
    """

    def __init__(self, shape, mask, parity=0, *, num_bins=8, tail_bound=3.0, **kwargs):
        self.num_bins = check_num_bins(num_bins)
        if isinstance(tail_bound, bool) or not (
            isinstance(tail_bound, (int, float, np.floating)) and 0 < tail_bound < math.inf
        ):
            raise ValueError(
                f"`tail_bound` must be a finite number > 0. Received: tail_bound={tail_bound!r}"
            )
        self.tail_bound = float(tail_bound)
        super().__init__(shape, mask, parity=parity, **kwargs)

    @property
    def params_per_channel(self):
        return 3 * self.num_bins - 1

    def build(self, input_shape):
        self.network.build((None, *self.shape[:-1], 2 * self.shape[-1]))

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "tail_bound": self.tail_bound}

    def _knots(self, kept):
        mask = tf.constant(self.mask)
        raw = self.network(tf.concat([kept, tf.broadcast_to(mask, tf.shape(kept))], axis=-1))
        raw = tf.cast(raw, "float32")
        raw = tf.reshape(raw, tf.concat([tf.shape(kept), [self.params_per_channel]], axis=0))
        return tf.split(raw, [self.num_bins, self.num_bins, self.num_bins - 1], axis=-1)

    def forward(self, x):
        mask = tf.constant(self.mask)
        y, log_det = rational_quadratic_spline(x, *self._knots(mask * x), self.tail_bound)
        y = mask * x + (1.0 - mask) * y
        log_det = (1.0 - mask) * log_det
        return y, tf.reduce_sum(tf.reshape(log_det, [tf.shape(x)[0], -1]), axis=1)

    def inverse(self, y):
        mask = tf.constant(self.mask)
        x = rational_quadratic_spline(y, *self._knots(mask * y), self.tail_bound, inverse=True)
        return mask * y + (1.0 - mask) * x


#: Smallest bin width and height (as fractions of the interval) and knot derivative.
MIN_BIN, MIN_DERIVATIVE = 1e-3, 1e-3
#: softplus(DERIVATIVE_OFFSET) + MIN_DERIVATIVE == 1: a zero network output gives slope 1.
DERIVATIVE_OFFSET = math.log(math.expm1(1.0 - MIN_DERIVATIVE))


def check_num_bins(num_bins):
    """`num_bins` if it is an int with 2 <= num_bins and num_bins * MIN_BIN < 1, else ValueError."""
    common.check_positive_int(num_bins, "num_bins", minimum=2)
    if num_bins * MIN_BIN >= 1.0:
        raise ValueError(
            f"`num_bins` must be < {round(1 / MIN_BIN)} (each bin is at least {MIN_BIN} of the "
            f"interval). Received: num_bins={num_bins}"
        )
    return num_bins


def _knot_positions(raw, tail_bound):
    """Unnormalised bin sizes `(..., K)` to `K + 1` knot positions on `[-B, B]` and the K sizes."""
    num_bins = raw.shape[-1]
    sizes = MIN_BIN + (1.0 - MIN_BIN * num_bins) * tf.nn.softmax(raw, axis=-1)
    knots = tf.concat([tf.zeros_like(raw[..., :1]), tf.cumsum(sizes, axis=-1)], axis=-1)
    # The last knot is B exactly, whatever the rounding of the cumulative sum.
    knots = tf.concat([knots[..., :-1], tf.ones_like(raw[..., :1])], axis=-1)
    knots = (2.0 * knots - 1.0) * tail_bound
    return knots, knots[..., 1:] - knots[..., :-1]


def rational_quadratic_spline(
    inputs, raw_widths, raw_heights, raw_derivatives, tail_bound, inverse=False
):
    """The monotone rational-quadratic spline of Durkan et al. 2019 (eqs. 4-6 and appendix A).

    Args:
        inputs: `x` (forward) or `y` (inverse), any shape `S`.
        raw_widths, raw_heights: `S + (K,)` unnormalised bin widths and heights.
        raw_derivatives: `S + (K - 1,)` unnormalised derivatives at the inner knots.
        tail_bound: B; outside `[-B, B]` the spline is the identity.
        inverse: compute `x` from `y`.

    Returns:
        forward: `(y, log |dy/dx|)`, both of shape `S`; inverse: `x`.
    """
    inputs = tf.cast(inputs, "float32")
    raw_widths, raw_heights, raw_derivatives = (
        tf.cast(raw, "float32") for raw in (raw_widths, raw_heights, raw_derivatives)
    )
    x_knots, widths = _knot_positions(raw_widths, tail_bound)
    y_knots, heights = _knot_positions(raw_heights, tail_bound)
    ones = tf.ones_like(raw_derivatives[..., :1])
    derivatives = MIN_DERIVATIVE + tf.nn.softplus(raw_derivatives + DERIVATIVE_OFFSET)
    derivatives = tf.concat([ones, derivatives, ones], axis=-1)
    inside = tf.abs(inputs) < tail_bound
    clipped = tf.clip_by_value(inputs, -tail_bound, tail_bound)
    # The bin of each input: how many of the inner knots lie at or below it.
    knots = y_knots if inverse else x_knots
    num_bins = raw_widths.shape[-1]
    below = tf.cast(clipped[..., None] >= knots[..., 1:-1], "int32")
    pick = tf.one_hot(tf.reduce_sum(below, axis=-1), num_bins, dtype="float32")

    def at_bin(values):
        return tf.reduce_sum(pick * values[..., :num_bins], axis=-1)

    x_k, width, y_k, height = at_bin(x_knots), at_bin(widths), at_bin(y_knots), at_bin(heights)
    d_k, d_k1 = at_bin(derivatives), at_bin(derivatives[..., 1:])
    slope = height / width
    curvature = d_k1 + d_k - 2.0 * slope
    if inverse:
        shifted = clipped - y_k
        a = height * (slope - d_k) + shifted * curvature
        b = height * d_k - shifted * curvature
        c = -slope * shifted
        root = tf.sqrt(tf.maximum(b * b - 4.0 * a * c, 0.0))  # >= 0 but for rounding
        xi = 2.0 * c / (-b - root)
        return tf.where(inside, xi * width + x_k, inputs)
    xi = (clipped - x_k) / width
    mixed = xi * (1.0 - xi)
    denominator = slope + curvature * mixed
    y = y_k + height * (slope * xi * xi + d_k * mixed) / denominator
    derivative = slope * slope * (d_k1 * xi * xi + 2.0 * slope * mixed + d_k * (1.0 - xi) ** 2)
    log_det = tf.math.log(derivative) - 2.0 * tf.math.log(denominator)
    return tf.where(inside, y, inputs), tf.where(inside, log_det, 0.0)


def checkerboard_mask(shape, parity=0):
    """Images `(H, W, C)`: 1 where `(row + column) % 2 == parity`, the same for every channel."""
    rows, columns = np.indices(shape[:2])
    board = ((rows + columns) % 2 == parity).astype("float32")
    return np.repeat(board[:, :, None], shape[2], axis=2)


def channel_mask(shape, parity=0):
    """Images `(H, W, C)`: 1 on the first half of the channels (parity 0) or the second."""
    half = shape[-1] // 2
    kept = np.zeros(shape[-1], "float32")
    kept[:half] = 1.0
    kept = kept if parity == 0 else 1.0 - kept
    return np.broadcast_to(kept, shape).copy()


def halves_mask(shape, parity=0):
    """Vectors `(D,)`: 1 on the first half of the features (parity 0) or the second."""
    return channel_mask(shape, parity)


def squeeze(x):
    """`(N, H, W, C) -> (N, H / 2, W / 2, 4 C)`: each 2x2 patch into channels (RealNVP, Fig. 3)."""
    return tf.nn.space_to_depth(x, 2)


def unsqueeze(x):
    """The inverse of `squeeze`."""
    return tf.nn.depth_to_space(x, 2)


COUPLINGS = ("affine", "spline")


def check_coupling(coupling, num_bins):
    """ValueError unless `coupling` is one of COUPLINGS and `num_bins` an int >= 2."""
    if coupling not in COUPLINGS:
        raise ValueError(f"`coupling` must be one of {COUPLINGS}. Received: coupling={coupling!r}")
    return coupling, check_num_bins(num_bins)


def make_coupling(coupling, shape, mask, parity, hidden, seed, num_bins=8):
    """An `AffineCoupling` (`coupling="affine"`) or a `SplineCoupling` (`"spline"`)."""
    if coupling == "spline":
        return SplineCoupling(shape, mask, parity, num_bins=num_bins, hidden=hidden, seed=seed)
    return AffineCoupling(shape, mask, parity, hidden=hidden, seed=seed)


MASKS = {"halves": halves_mask, "checkerboard": checkerboard_mask, "channel": channel_mask}
