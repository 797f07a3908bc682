"""`FlowModel`: a normalizing flow trained by exact maximum likelihood.

A flow is a stack of levels. Each level of an image flow may first squeeze
(`(H, W, C) -> (H/2, W/2, 4C)`), then applies its invertible steps, then
factors half of the channels out as latents (RealNVP's multi-scale
architecture, Dinh et al. 2017, section 3.6); the last level keeps all. The
latents of every level, flattened and concatenated, are `z` with a standard
normal prior, and

    log p(x) = log N(z; 0, I) + sum of the steps' log |det dy/dx|.

Images (in [-1, 1], 256 levels) are dequantized uniformly: with pixel values
`k = (x + 1) * 127.5` in {0, ..., 255}, the flow models `y = (k + u) / 256 - 1/2`,
`u ~ U[0, 1)^D`, and the log-likelihood of the pixels in [0, 256)^D is
`log p(y) - D log 256` (Theis et al. 2016; Dinh et al. 2017, section 4.1), a
lower bound in expectation over `u` of the discrete log-likelihood; bits per
dimension are its negative divided by `D ln 2`. Vector data is modelled as
it is: `log_prob` is its exact density in nats.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gen.models import base
from keras_gen.models.flow import layers as flow_layers
from keras_gen.networks import common
from keras_gen.utils import distribution

#: Stream numbers of the model's stateless draws.
TRAINING_NOISE, VALIDATION_NOISE = 0, 1
#: Pixel levels of images in [-1, 1].
LEVELS = 256


class FlowModel(base.LatentGenerativeModel):
    """Base of the flows: the levels, the likelihood, training, sampling, encode and decode.

    Subclasses call `add_level(squeeze, steps, factor_out)` for each level
    in their constructor, then `finish_building()`; `steps` are layers with
    `forward(x) -> (y, log_det)` and `inverse(y) -> x`. The model computes
    in float32 (the data, the likelihood); the steps' networks follow the
    global dtype policy.

    Args:
        data_shape: `(D,)` for vectors or `(H, W, C)` for images in [-1, 1].
        seed: seed of the dequantization noise and of `generate`.
    """

    def __init__(self, data_shape, seed=None, **kwargs):
        kwargs.pop("dtype", None)  # pixels and log-likelihoods stay float32 (see the docstring)
        super().__init__(seed=seed, dtype="float32", **kwargs)
        self.data_shape = common.check_data_shape(data_shape)
        self.images = len(self.data_shape) == 3
        self.num_dims = int(np.prod(self.data_shape))
        self.flow_steps = []
        self.level_plan = []  # (squeeze, number of steps, factor_out) per level
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.bits_tracker = keras.metrics.Mean(name="bits_per_dim")

    @property
    def latent_dim(self):
        """Size of `z`, the concatenated latents: the data's number of dimensions."""
        return self.num_dims

    def add_level(self, squeeze, steps, factor_out):
        """Appends a level: an optional squeeze, the invertible `steps`, an optional factor-out."""
        self.flow_steps.extend(steps)
        self.level_plan.append((bool(squeeze), len(steps), bool(factor_out)))

    @property
    def levels(self):
        """`(squeeze, steps, factor_out)` per level, in the order of the forward pass."""
        levels, start = [], 0
        for squeeze, count, factor_out in self.level_plan:
            levels.append((squeeze, self.flow_steps[start : start + count], factor_out))
            start += count
        return levels

    def finish_building(self):
        """Builds every step on its input shape; subclasses call it after filling `levels`."""
        shape = self.data_shape
        for squeeze, steps, factor_out in self.levels:
            if squeeze:
                shape = (shape[0] // 2, shape[1] // 2, shape[2] * 4)
            for step in steps:
                step.build((None, *shape))
            if factor_out:
                shape = (*shape[:-1], shape[-1] - shape[-1] // 2)
        self.built = True

    # ------------------------------------------------------------------ the flow

    def to_flow_space(self, x, noise=None):
        """Data to what the flow models: images dequantized (`noise` in [0, 1), default 1/2)."""
        x = tf.cast(x, "float32")
        if not self.images:
            return x
        noise = 0.5 if noise is None else noise
        return ((x + 1.0) * 127.5 + noise) / LEVELS - 0.5

    def from_flow_space(self, y):
        """The inverse of `to_flow_space` at the bin centres; images clipped into [-1, 1]."""
        if not self.images:
            return y
        return tf.clip_by_value(((y + 0.5) * LEVELS - 0.5) / 127.5 - 1.0, -1.0, 1.0)

    def forward(self, y):
        """`(z, log_det)`: flow-space data to the flat latents, and the total log-determinant."""
        log_det = tf.zeros(tf.shape(y)[:1])
        latents = []
        for squeeze, steps, factor_out in self.levels:
            if squeeze:
                y = flow_layers.squeeze(y)
            for step in steps:
                y, step_log_det = step.forward(y)
                log_det += step_log_det
            if factor_out:
                half = y.shape[-1] // 2
                latents.append(tf.reshape(y[..., :half], [tf.shape(y)[0], -1]))
                y = y[..., half:]
        latents.append(tf.reshape(y, [tf.shape(y)[0], -1]))
        return tf.concat(latents, axis=1), log_det

    def inverse(self, z):
        """Flat latents to flow-space data: `forward` run backwards."""
        z, batch = tf.cast(z, "float32"), tf.shape(z)[0]
        shapes, shape = [], self.data_shape  # each level's shape after its squeeze
        for squeeze, _, factor_out in self.level_plan:
            shape = (shape[0] // 2, shape[1] // 2, shape[2] * 4) if squeeze else shape
            shapes.append(shape)
            shape = (*shape[:-1], shape[-1] - shape[-1] // 2) if factor_out else shape
        # `forward` concatenates the factored-out halves in order, then what is left.
        sizes = [
            int(np.prod(s[:-1])) * (s[-1] // 2)
            for s, (_, _, factor_out) in zip(shapes, self.level_plan)
            if factor_out
        ]
        pieces = tf.split(z, [*sizes, int(np.prod(shape))], axis=1)
        y = tf.reshape(pieces.pop(), [batch, *shape])
        for (squeeze, steps, factor_out), shape in reversed(list(zip(self.levels, shapes))):
            if factor_out:
                factored = tf.reshape(pieces.pop(), [batch, *shape[:-1], shape[-1] // 2])
                y = tf.concat([factored, y], axis=-1)
            for step in reversed(steps):
                y = step.inverse(y)
            if squeeze:
                y = flow_layers.unsqueeze(y)
        return y

    def log_density(self, y):
        """`log p(y)` of flow-space data per example, nats: prior of `z` plus log-determinant."""
        z, log_det = self.forward(y)
        prior = -0.5 * tf.reduce_sum(tf.square(z), axis=1) - 0.5 * self.num_dims * math.log(
            2 * math.pi
        )
        return prior + log_det

    def data_log_likelihood(self, x, noise=None):
        """Per-example log-likelihood of data, nats (of the pixels in [0, 256)^D for images)."""
        log_p = self.log_density(self.to_flow_space(x, noise))
        if self.images:
            log_p -= self.num_dims * math.log(LEVELS)
        return log_p

    def call(self, inputs, training=False):
        """The flat latents `z` of `inputs` (images at their bins' centres)."""
        return self.forward(self.to_flow_space(inputs))[0]

    # ------------------------------------------------------------------ training

    def data_range(self):
        return (-1.0, 1.0) if self.images else None

    def initialize(self, x):
        """Data-dependent initialisation of every `ActNorm` from the batch `x`, once.

        Each ActNorm is set from its input on `x` (images at their bins'
        centres), in forward order. `fit` calls it on the first batch of its
        data when the model is not yet initialised; a saved model is.
        """
        norms = [s for s in self.flow_steps if isinstance(s, flow_layers.ActNorm)]
        if not norms or all(float(norm.initialized.numpy()) == 1.0 for norm in norms):
            return
        y = self.to_flow_space(np.asarray(x, "float32"))
        for squeeze, steps, factor_out in self.levels:
            if squeeze:
                y = flow_layers.squeeze(y)
            for step in steps:
                if isinstance(step, flow_layers.ActNorm):
                    step.initialize(y)
                y, _ = step.forward(y)
            if factor_out:
                y = y[..., y.shape[-1] // 2 :]

    def compile(self, optimizer=None, **kwargs):
        """`GenerativeModel.compile`; under `mixed_float16` the optimizer scales the loss.

        Keras adds loss scaling for a model whose own policy is
        `mixed_float16`; a flow's own policy is float32 (its networks follow
        the global one), so it wraps the optimizer itself.
        """
        if optimizer is not None and any(
            getattr(getattr(step, "network", None), "compute_dtype", None) == "float16"
            for step in self.flow_steps
        ):
            optimizer = base.loss_scaled(keras.optimizers.get(optimizer))
        super().compile(optimizer, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`GenerativeModel.fit`, after initialising the ActNorms from the first batch of `x`.

        The first batch is checked before it initialises anything (shape,
        float dtype, finite values, the [-1, 1] range of images): a bad one
        raises ValueError and leaves the model as it was.

        Raises:
            ValueError: for bad data, or `x` other than an array or a `tf.data.Dataset`.
        """
        self.check_compiled()
        if isinstance(x, np.ndarray):
            self._check_arrays(x, y)
        self.initialize(self._checked_first_batch(x, kwargs.get("batch_size")))
        return super().fit(x, y, *args, **kwargs)

    def _checked_first_batch(self, x, batch_size):
        """The first batch of `fit`'s `x` (a dataset's first element, an array's first rows), checked."""
        if isinstance(x, tf.data.Dataset):
            if x.cardinality() == 0:
                raise ValueError("The training dataset is empty. Received: x with no batch")
            first = next(iter(x))
            first = np.asarray(first[0] if isinstance(first, (tuple, list)) else first)
        elif isinstance(x, np.ndarray):
            first = x[: batch_size or 32]
        else:
            raise ValueError(
                f"{type(self).__name__}.fit() takes a numpy array or a tf.data.Dataset (its "
                f"first batch initialises ActNorm). Received: x of type {type(x).__name__}"
            )
        if tuple(first.shape[1:]) != self.data_shape or not np.issubdtype(first.dtype, np.floating):
            raise ValueError(
                f"The training data must be float samples of shape {self.data_shape}. "
                f"Received: x with batches of shape {first.shape} and dtype {first.dtype}"
            )
        if not np.all(np.isfinite(first)):
            raise ValueError("The training data must be finite. Received: x with NaN or inf")
        expected = self.data_range()
        if expected is not None and (first.min() < -1 - 1e-3 or first.max() > 1 + 1e-3):
            raise ValueError(
                f"{type(self).__name__} models images in [-1, 1] (x / 127.5 - 1 for 8-bit "
                f"pixels). Received: x in [{first.min():.4g}, {first.max():.4g}]"
            )
        return first

    def _noise(self, stream):
        return self.draw(
            stream,
            lambda n, seed: tf.random.stateless_uniform((n, *self.data_shape), seed=seed),
        )

    def _per_example_nll(self, x, stream):
        noise = self._noise(stream) if self.images else None
        return -self.data_log_likelihood(x, noise)

    def train_step(self, data):
        x, _ = self.unpack(data)
        batch = distribution.BatchContext(x)
        step_guard, _ = self.guard_inputs(x, None)
        self.begin_step(batch, tf.identity(self.optimizer.iterations))
        with tf.GradientTape() as tape:
            nll = self._per_example_nll(x, TRAINING_NOISE)
            scaled = self.optimizer.scale_loss(batch.mean(nll))
        variables = self.trainable_variables
        step_guard.require_finite("loss", nll)
        step_guard.apply(self.optimizer, tape.gradient(scaled, variables), variables)
        step_guard.finish(self)
        return self._logs(nll, batch)

    def test_step(self, data):
        x, _ = self.unpack(data)
        batch = distribution.BatchContext(x)
        self.guard_inputs(x, None)[0].finish(self, validation=True)
        self.begin_step(batch, tf.identity(self.optimizer.iterations))
        return self._logs(self._per_example_nll(x, VALIDATION_NOISE), batch)

    def _logs(self, nll, batch):
        self.track(self.loss_tracker, nll, batch)
        self.track(self.bits_tracker, nll / (self.num_dims * math.log(2.0)), batch)
        return self.step_logs()

    @property
    def metrics(self):
        return [self.loss_tracker, self.bits_tracker]

    # ------------------------------------------------------------------ inference

    def _host_data(self, x, name="x"):
        x = np.asarray(x, "float32")
        if tuple(x.shape[1:]) != self.data_shape:
            raise ValueError(
                f"`{name}` must hold samples of shape {self.data_shape}. "
                f"Received: {name} with shape {x.shape}"
            )
        return x

    @property
    def jit_inference(self):
        """Whether `log_prob`, `bits_per_dim`, `encode` and `decode` run compiled with XLA.

        By default for vectors only, as a first (loaded-machine) run of
        `benchmarks/flow_log_prob.py` suggested (docs/models/flow.md). Settable;
        not saved with the model.
        """
        return getattr(self, "_jit_inference", not self.images)

    @jit_inference.setter
    def jit_inference(self, value):
        self._jit_inference = bool(value)

    def _batched(self, key, function, x, batch_size, signature_shape):
        jit_compile = bool(self.jit_inference)
        compiled = self.compiled_function(
            (key, jit_compile),
            lambda: tf.function(
                function,
                input_signature=[tf.TensorSpec([None, *signature_shape], tf.float32)],
                jit_compile=jit_compile,
            ),
        )
        batch_size = common.check_positive_int(batch_size, "batch_size")
        outputs = [compiled(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate([np.asarray(o) for o in outputs], axis=0)

    def log_prob(self, x, seed=0, batch_size=256):
        """Log-likelihood of each sample, nats.

        Vectors: the exact density. Images: of the pixels in [0, 256)^D under
        one uniform dequantization draw from `seed` (a stochastic lower bound
        of the discrete log-likelihood, the quantity papers report).
        """
        x = self._host_data(x)
        if not self.images:
            return self._batched("log_prob", self.data_log_likelihood, x, batch_size, x.shape[1:])
        noise = np.asarray(
            tf.random.stateless_uniform(
                x.shape, seed=[common.check_positive_int(seed, "seed", 0), 1]
            )
        )
        joined = np.concatenate([x, noise], axis=-1)
        channels = self.data_shape[-1]

        def likelihood(both):
            return self.data_log_likelihood(both[..., :channels], both[..., channels:])

        return self._batched("log_prob_images", likelihood, joined, batch_size, joined.shape[1:])

    def bits_per_dim(self, x, seed=0, batch_size=256):
        """Mean negative log-likelihood of `x` in bits per dimension (`log_prob`'s, over `D ln 2`)."""
        return float(-np.mean(self.log_prob(x, seed, batch_size)) / (self.num_dims * math.log(2.0)))

    def encode(self, x, batch_size=256):
        """Flat latents `z`, `(N, D)`, of data `x` (images at their bins' centres)."""
        x = self._host_data(x)
        return self._batched(
            "encode", lambda v: self.forward(self.to_flow_space(v))[0], x, batch_size, x.shape[1:]
        )

    def decode(self, z, batch_size=256):
        """Data from flat latents `z`: the inverse of `encode` (images clipped into [-1, 1])."""
        z = np.asarray(z, "float32")
        if z.ndim != 2 or z.shape[1] != self.num_dims:
            raise ValueError(
                f"`z` must have shape (N, {self.num_dims}). Received: z with shape {z.shape}"
            )
        return self._batched(
            "decode",
            lambda v: self.from_flow_space(self.inverse(v)),
            z,
            batch_size,
            (self.num_dims,),
        )

    def generation_options(self, temperature=1.0, **options):
        base.refuse_options(self, options)
        if not (isinstance(temperature, (int, float)) and temperature > 0):
            raise ValueError(
                f"`temperature` must be a number > 0. Received: temperature={temperature!r}"
            )
        return {"temperature": float(temperature)}

    def generate(self, num_samples, seed=None, temperature=1.0, batch_size=None, **options):
        """Samples `decode(temperature * z)`, `z ~ N(0, I)` (Glow's reduced-temperature sampling).

        Args:
            num_samples: number of samples.
            seed: int for reproducible samples; None draws from the seed generator.
            temperature: standard deviation of the latents (1 samples the model).
            batch_size: samples per call (default: all, at most 256).

        Raises:
            ValueError: for a bad count, batch size or temperature, or another option.
        """
        return super().generate(
            num_samples, seed=seed, batch_size=batch_size, temperature=temperature, **options
        )

    def generate_batch(self, num_samples, seed, labels, options):
        latents = self.sample_latents(num_samples, seed) * options["temperature"]
        function = self.compiled_function("samples_from_latents", self._latent_sampler)
        return function(latents)

    def samples_from_latents(self, latents, labels=None):
        return self.from_flow_space(self.inverse(latents))

    def get_config(self):
        return {**super().get_config(), "data_shape": self.data_shape, "seed": self.seed}
