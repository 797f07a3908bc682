"""Maxout units (Goodfellow et al. 2013, arXiv:1302.4389) and the PacGAN toy discriminator."""

import keras

from keras_gen.networks import common, mlp


@keras.saving.register_keras_serializable(package="keras_gen")
class Maxout(keras.layers.Layer):
    """Dense maxout layer: `h_i = max_j (x W_ij + b_ij)` over `pieces` affine maps per unit.

    One dense map to `units * pieces` outputs, then the maximum over each
    unit's `pieces` (Goodfellow et al. 2013, arXiv:1302.4389, equation (1)).
    The discriminators of the original GAN and of PacGAN's toy experiments
    use it.

    Args:
        units: int, number of output units.
        pieces: int, affine pieces per unit (5 in PacGAN's toy discriminator).
        kernel_initializer: initializer of the dense kernel.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`).

    Example:
    >>> layer = Maxout(200, pieces=5)
    >>> layer(np.zeros((3, 4), "float32")).shape
    (3, 200)
    """

    def __init__(self, units, pieces=5, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = common.check_positive_int(units, "units")
        self.pieces = common.check_positive_int(pieces, "pieces")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.dense = keras.layers.Dense(
            self.units * self.pieces,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="dense",
        )

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs):
        x = self.dense(inputs)  # (..., units * pieces)
        x = keras.ops.reshape(x, (*keras.ops.shape(x)[:-1], self.units, self.pieces))
        return keras.ops.max(x, axis=-1)  # (..., units)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "pieces": self.pieces,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config


def maxout_discriminator(
    data_shape,
    hidden_units=(200, 200, 200),
    pieces=5,
    name="maxout_discriminator",
):
    """Fully connected maxout discriminator returning one logit per example.

    With the defaults, PacGAN's toy discriminator (Lin et al. 2018,
    arXiv:1712.04086, appendix: three hidden layers of 200 maxout units with
    5 pieces). For a packed GAN pass the packed shape (`GAN.packed_shape`).

    Args:
        data_shape: shape of one discriminator input, e.g. `(2,)`, or `(4,)`
            for packs of two 2-d samples.
        hidden_units: widths of the maxout layers.
        pieces: affine pieces per maxout unit.
        name: model name.

    Returns:
        A functional `keras.Model` returning float32 logits of shape `(batch, 1)`.

    Example:
    >>> d = maxout_discriminator((4,))
    >>> d.output_shape
    (None, 1)
    """
    data_shape = common.check_data_shape(data_shape, ranks=(1, 2, 3))
    data = keras.Input(shape=data_shape, name="data")
    x = keras.layers.Flatten(name="flatten")(data) if len(data_shape) > 1 else data
    for i, units in enumerate(hidden_units):
        x = Maxout(units, pieces=pieces, name=f"maxout_{i}")(x)
    return common.discriminator_head([data], x, None, None, "projection", False, name)


def pacgan_toy_networks(latent_dim=2, data_dim=2, pack=1, momentum=None):
    """PacGAN's generator and discriminator for 2-D mixtures, as a `GAN`'s two networks.

    The toy pair of Lin et al. 2018 (arXiv:1712.04086, appendix): a
    generator of four 400-unit ReLU layers with batch norm and a linear
    output, and `maxout_discriminator`'s three 200-unit maxout layers of 5
    pieces on `data_dim * pack` inputs (one pack of samples, features side by
    side, as `GAN(pack=...)` forms them). The `keras-gen train gan --dataset
    grid25|ring8` recipe and `benchmarks/mode_coverage.py` train these
    (docs/sample_quality.md).

    Args:
        latent_dim: size of the generator's latent vector.
        data_dim: size of one sample.
        pack: samples per discriminator input.
        momentum: the generator's batch-norm momentum (None: Keras' 0.99;
            PacGAN's code uses 0.95).

    Returns:
        `{"generator": ..., "discriminator": ...}`, to pass as `GAN(**networks,
        pack=pack)`.

    Example:
    >>> pair = pacgan_toy_networks(pack=2)
    >>> pair["discriminator"].input_shape
    (None, 4)
    """
    common.check_positive_int(data_dim, "data_dim")
    common.check_positive_int(pack, "pack")
    if momentum is not None and not 0.0 <= momentum < 1.0:
        raise ValueError(f"`momentum` must be in [0, 1) or None. Received: momentum={momentum!r}")
    generator = mlp.mlp_generator(
        latent_dim,
        (data_dim,),
        hidden_units=(400, 400, 400, 400),
        activation="relu",
        normalization="batch",
        output_activation=None,
        name="pacgan_generator",
    )
    if momentum is not None:
        for layer in generator.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = momentum
    discriminator = maxout_discriminator((data_dim * pack,))
    return {"generator": generator, "discriminator": discriminator}
