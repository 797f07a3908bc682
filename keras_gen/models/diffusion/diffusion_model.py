"""Denoising diffusion: DDPM training (Ho et al. 2020, arXiv:2006.11239) with DDPM and DDIM sampling."""

import keras
import tensorflow as tf

from keras_gen import networks
from keras_gen.models import base, ema
from keras_gen.models.diffusion import process
from keras_gen.networks import common
from keras_gen.utils import distribution

# Streams of the stateless draws of a train step (see `GenerativeModel.draw`).
TIMESTEPS = 0
NOISE = 1
LABEL_DROPOUT = 2
VALIDATION_STREAMS = (3, 4, 5)


@keras.saving.register_keras_serializable(package="keras_gen")
class DiffusionModel(base.LatentGenerativeModel):
    """Denoising diffusion probabilistic model trained with `fit()`.

    Each train step draws, per example, a timestep `t` uniformly from
    `[0, timesteps)` and Gaussian noise `eps` (stateless draws for the global
    batch from `seed` and the optimizer step, sliced per replica), forms
    `x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps` and minimises the mean squared
    error of the network's prediction: `eps` (Ho et al. 2020) or
    `v = sqrt(ab_t) eps - sqrt(1 - ab_t) x_0` (Salimans & Ho 2022,
    arXiv:2202.00512), averaged over the global batch. The noise process (the
    schedule, the noising, the targets and the sampler steps) is `process`, a
    `GaussianDiffusion`; the model holds the network. An exponential moving
    average of the network (`ema_network`, `keras_gen.models.ema`) is kept and
    used for sampling; its decay warms up as `min(ema_decay, (1 + step) / (10 + step))`.

    With `num_classes`, labels are replaced by the "no label" index
    `num_classes` with probability `label_dropout`, so one network learns the
    conditional and the unconditional model, and `generate(...,
    guidance_scale=s)` uses classifier-free guidance (Ho & Salimans 2022,
    arXiv:2207.12598): `eps = eps_uncond + s * (eps_cond - eps_uncond)`
    (`s = 1`: plain conditional sampling).

    Args:
        network: a `keras.Model` `[x_t, t(, labels)] -> prediction` of the
            image shape; built with `keras_gen.networks.unet` from `data_shape` if None.
        timesteps: number of diffusion steps T.
        schedule: `"cosine"` (Nichol & Dhariwal 2021) or `"linear"` (Ho et al. 2020).
        prediction: `"epsilon"` or `"v"`.
        ema_decay: decay of the network's moving average (None: sample from
            the trained network).
        label_dropout: probability of dropping a label during training.
        seed: int seed of every random draw.
        data_shape: image shape, to build the default U-Net.
        num_classes: number of classes for class conditioning, or None.
        **kwargs: passed to `keras.Model`.

    Example:
    ```python
    dataset, info = keras_gen.data.load("mnist5k", batch_size=64)
    model = keras_gen.models.DiffusionModel(data_shape=info.shape, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(dataset, epochs=1)
    samples = model.generate(16, steps=50, sampler="ddim", seed=0)
    ```
    """

    #: XLA makes the U-Net step faster on a CPU too (docs/benchmarks.md).
    xla_on_cpu = True

    nested_models = ("network",)

    def __init__(
        self,
        network=None,
        timesteps=1000,
        schedule="cosine",
        prediction="epsilon",
        ema_decay=0.999,
        label_dropout=0.1,
        seed=None,
        data_shape=None,
        num_classes=None,
        **kwargs,
    ):
        super().__init__(seed=seed, num_classes=num_classes, **kwargs)
        self.process = process.GaussianDiffusion(timesteps, schedule, prediction)
        self.timesteps = self.process.timesteps
        self.schedule = schedule
        self.prediction = prediction
        self.ema_decay = ema.check_decay(ema_decay)
        if not 0.0 <= float(label_dropout) < 1.0:
            raise ValueError(
                f"`label_dropout` must be in [0, 1). Received: label_dropout={label_dropout!r}"
            )
        self.label_dropout = float(label_dropout)
        if network is None:
            if data_shape is None:
                raise ValueError(
                    "DiffusionModel needs `network` or `data_shape`. "
                    "Received: network=None, data_shape=None"
                )
            network = networks.unet(
                common.check_data_shape(data_shape, ranks=(3,)), num_classes=self.num_classes
            )
        self.network = network
        expected = 3 if self.conditional else 2
        if len(getattr(network, "inputs", None) or []) != expected:
            raise ValueError(
                f"`network` must take {expected} inputs ([x_t, t{', labels' if expected == 3 else ''}]"
                f"). Received: network={base.describe(network)}"
            )
        self.data_shape = tuple(network.inputs[0].shape[1:])
        if tuple(network.outputs[0].shape[1:]) != self.data_shape:
            raise ValueError(
                f"`network` must output its input's shape {self.data_shape}. Received: "
                f"output shape {tuple(network.outputs[0].shape[1:])}"
            )
        self.ema = self.ema_network = None
        if self.ema_decay is not None:
            self.ema = ema.ExponentialMovingAverage(self.ema_decay)
            self.ema_network = ema.average_copy(network)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    # ------------------------------------------------------------------ training

    def _network_inputs(self, x_t, t, labels):
        inputs = [x_t, tf.cast(t, tf.float32)]
        if self.conditional:
            inputs.append(labels)
        return inputs

    def _noised(self, x0, labels, streams):
        """`(x_t, t, labels, target)` of a batch, from the step's stateless draws."""
        t = self.draw(
            streams[0],
            lambda n, seed: tf.random.stateless_uniform(
                [n], seed, 0, self.timesteps, dtype=tf.int32
            ),
        )
        noise = self.draw(
            streams[1],
            lambda n, seed: tf.random.stateless_normal(tf.concat([[n], self.data_shape], 0), seed),
        )
        if self.conditional:
            drop = (
                self.draw(streams[2], lambda n, seed: tf.random.stateless_uniform([n], seed))
                < self.label_dropout
            )
            labels = self.dropped_condition(labels, drop)
        return self.process.add_noise(x0, t, noise), t, labels, self.process.target(x0, t, noise)

    # The conditioning hooks: class labels here, caption tokens in TextToImageDiffusion.

    def dropped_condition(self, labels, drop):
        """`labels` with the rows where `drop` is True replaced by the null condition."""
        return tf.where(drop, tf.fill(tf.shape(labels), self.num_classes), labels)

    def null_condition(self, size):
        """The null condition ("no label") of `size` examples, for the unconditional output."""
        return tf.fill([size], self.num_classes)

    def condition_spec(self):
        """The `tf.TensorSpec` of a batch of conditions in the compiled sampling loop."""
        return tf.TensorSpec([None], tf.int32)

    def _per_example_loss(self, x_t, t, labels, target, training):
        output = tf.cast(
            self.network(self._network_inputs(x_t, t, labels), training=training), "float32"
        )
        return tf.reduce_mean(tf.square(output - target), axis=list(range(1, len(output.shape))))

    def train_step(self, data):
        x0, labels = self.unpack(data)
        x0 = tf.cast(x0, "float32")
        batch = distribution.BatchContext(x0)
        step_guard, labels = self.guard_inputs(x0, labels)
        self.begin_step(batch, tf.identity(self.optimizer.iterations))
        x_t, t, labels, target = self._noised(x0, labels, (TIMESTEPS, NOISE, LABEL_DROPOUT))
        with tf.GradientTape() as tape:
            per_example = self._per_example_loss(x_t, t, labels, target, training=True)
            scaled = self.optimizer.scale_loss(batch.mean(per_example))
        variables = self.network.trainable_variables
        step_guard.require_finite("loss", per_example)
        step_guard.apply(self.optimizer, tape.gradient(scaled, variables), variables)
        if self.ema is not None:
            self.ema.update(
                self.ema_network, self.network, self.optimizer.iterations, ok=step_guard.ok
            )
        step_guard.finish(self)
        self.track(self.loss_tracker, per_example, batch)
        return self.step_logs()

    def test_step(self, data):
        x0, labels = self.unpack(data)
        x0 = tf.cast(x0, "float32")
        batch = distribution.BatchContext(x0)
        step_guard, labels = self.guard_inputs(x0, labels)
        step_guard.finish(self, validation=True)
        self.begin_step(batch, tf.identity(self.optimizer.iterations))
        x_t, t, labels, target = self._noised(x0, labels, VALIDATION_STREAMS)
        per_example = self._per_example_loss(x_t, t, labels, target, training=False)
        self.track(self.loss_tracker, per_example, batch)
        return self.step_logs()

    def data_range(self):
        """[-1, 1]: the scale the noise schedule and the sampler's clipping assume."""
        return (-1.0, 1.0)

    @property
    def metrics(self):
        return [self.loss_tracker]

    # ------------------------------------------------------------------ sampling

    def generate(
        self,
        num_samples,
        seed=None,
        labels=None,
        batch_size=None,
        *,
        steps=None,
        sampler="ddim",
        guidance_scale=None,
        eta=0.0,
    ):
        """Samples images by running a sampler from pure noise.

        Args:
            num_samples: number of images.
            seed: int for reproducible samples; None uses the saved seed generator.
            labels: class labels of a conditional model (default: classes in turn).
            batch_size: images per sampling loop (default: all, at most 256).
            steps: denoising steps, evenly spaced over the training timesteps
                (default: 50, or `timesteps` if fewer).
            sampler: `"ddim"` (Song et al. 2021) or `"ddpm"` (ancestral, Ho et al. 2020).
            guidance_scale: classifier-free guidance scale `s` of a conditional
                model (None or 1: no guidance).
            eta: DDIM's noise scale (0: deterministic; 1: ancestral).

        Returns:
            Float32 numpy array `(num_samples, *data_shape)` clipped to [-1, 1].
        """
        return super().generate(
            num_samples,
            seed,
            labels,
            batch_size,
            steps=steps,
            sampler=sampler,
            guidance_scale=guidance_scale,
            eta=eta,
        )

    def generation_options(self, steps=None, sampler="ddim", guidance_scale=None, eta=0.0):
        """The checked sampler options of `generate`: sampler, timestep sequence, scale, eta."""
        process.check_sampler(sampler)
        steps = min(50, self.timesteps) if steps is None else steps
        sequence = self.process.timestep_sequence(steps)
        if guidance_scale is not None and not self.conditional:
            raise ValueError(
                "Classifier-free guidance needs a conditional model (num_classes). "
                f"Received: guidance_scale={guidance_scale!r}"
            )
        if sampler == "ddpm" and eta:
            raise ValueError(
                f"The ddpm sampler has no eta (use sampler='ddim'). Received: eta={eta!r}"
            )
        return {
            "sampler": sampler,
            "sequence": tf.constant(sequence),
            "scale": tf.constant(1.0 if guidance_scale is None else float(guidance_scale)),
            "eta": tf.constant(0.0 if sampler == "ddpm" else float(eta)),
        }

    def generate_batch(self, num_samples, seed, labels, options):
        """One batch of `generate`: the sampler's loop, compiled once per sampler."""
        if labels is None:  # the compiled loop takes labels; an unconditional network ignores them
            labels = tf.zeros([num_samples], tf.int32)
        sampler = options["sampler"]
        run = self.compiled_function(sampler, lambda: self._sampling_loop(sampler))
        return run(
            tf.constant(num_samples),
            seed,
            options["sequence"],
            labels,
            options["scale"],
            options["eta"],
        )

    def _sampling_loop(self, sampler):
        network = self.ema_network or self.network

        @tf.function(
            input_signature=[
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([2], tf.int64),
                tf.TensorSpec([None], tf.int32),
                self.condition_spec(),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.float32),
            ]
        )
        def run(size, seed, sequence, labels, scale, eta):
            def predict(x_t, t):
                times = tf.fill([size], t)
                output = self._guided_output(network, x_t, times, labels, scale)
                return self.process.clipped_noise_and_data(output, x_t, times)

            x_T = tf.random.stateless_normal(  # noqa: N806 (the paper's name)
                tf.concat([[size], self.data_shape], 0),
                tf.random.experimental.stateless_fold_in(seed, process.INITIAL_NOISE_STREAM),
            )
            x_0 = self.process.sample(predict, x_T, sequence, seed, sampler, eta)
            return tf.clip_by_value(x_0, -1.0, 1.0)

        return run

    # Ho & Salimans 2022, arXiv:2207.12598, equation (6).
    def _guided_output(self, network, x_t, times, labels, scale):
        """The network's float32 output; `u + s (c - u)` of a conditional model unless `s = 1`."""
        output = network(self._network_inputs(x_t, times, labels), training=False)
        if self.conditional:

            def guided():
                # Shaped `[batch]` as `times` is made: `tf.shape(times)` gives grappler another
                # graph, and guided samples that differ in the last bits.
                no_labels = self.null_condition(tf.shape(times)[0])
                unconditional = network(self._network_inputs(x_t, times, no_labels), training=False)
                return unconditional + scale * (output - unconditional)

            # The unconditional pass runs only when it is used (scale != 1).
            output = tf.cond(tf.equal(scale, 1.0), lambda: output, guided)
        return tf.cast(output, tf.float32)

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "timesteps": self.timesteps,
                "schedule": self.schedule,
                "prediction": self.prediction,
                "ema_decay": self.ema_decay,
                "label_dropout": self.label_dropout,
                "seed": self.seed,
                "num_classes": self.num_classes,
            }
        )
        return config
