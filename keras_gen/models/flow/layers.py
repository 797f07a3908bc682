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
- `checkerboard_mask`, `channel_mask`, `halves_mask`: the masks `m`.
"""

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

    def _network(self):
        images = len(self.shape) == 3
        outputs = 2 * self.shape[-1]
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


MASKS = {"halves": halves_mask, "checkerboard": checkerboard_mask, "channel": channel_mask}
