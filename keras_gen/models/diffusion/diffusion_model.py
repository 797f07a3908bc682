"""Denoising diffusion: DDPM training (Ho et al. 2020, arXiv:2006.11239) with DDPM and DDIM sampling."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen import networks
from keras_gen.models import base
from keras_gen.models.diffusion import samplers, schedules
from keras_gen.networks import common
from keras_gen.utils import distribution

# Streams of the stateless draws of a train step (see `GenerativeModel.draw`).
TIMESTEPS = 0
NOISE = 1
LABEL_DROPOUT = 2
VALIDATION_STREAMS = (3, 4, 5)
PREDICTIONS = ("epsilon", "v")


@keras.saving.register_keras_serializable(package="keras_gen")
class DiffusionModel(base.GenerativeModel):
    """Denoising diffusion probabilistic model trained with `fit()`.

    Each train step draws, per example, a timestep `t` uniformly from
    `[0, timesteps)` and Gaussian noise `eps` (stateless draws for the global
    batch from `seed` and the optimizer step, sliced per replica), forms
    `x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps` and minimises the mean squared
    error of the network's prediction: `eps` (Ho et al. 2020) or
    `v = sqrt(ab_t) eps - sqrt(1 - ab_t) x_0` (Salimans & Ho 2022,
    arXiv:2202.00512), averaged over the global batch. An exponential moving
    average of the network (`ema_network`) is kept and used for sampling; its
    decay warms up as `min(ema_decay, (1 + step) / (10 + step))`.

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
        self.timesteps = common.check_positive_int(timesteps, "timesteps", minimum=2)
        self.schedule = schedule
        self.alpha_bar = schedules.get(schedule, self.timesteps)
        if prediction not in PREDICTIONS:
            raise ValueError(
                f"`prediction` must be one of {list(PREDICTIONS)}. "
                f"Received: prediction={prediction!r}"
            )
        self.prediction = prediction
        if ema_decay is not None and not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(
                f"`ema_decay` must be None or in [0, 1). Received: ema_decay={ema_decay!r}"
            )
        self.ema_decay = None if ema_decay is None else float(ema_decay)
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
        self.ema_network = None
        if self.ema_decay is not None:
            self.ema_network = keras.models.clone_model(network)
            self.ema_network.set_weights(network.get_weights())
            self.ema_network.trainable = False
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self._alpha_bar32 = tf.constant(self.alpha_bar, tf.float32)
        self.built = True

    @property
    def conditional(self):
        return self.num_classes is not None

    # ------------------------------------------------------------------ the process

    def q_sample(self, x0, t, noise):
        """`x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) noise`: the forward process in closed form."""
        a = self._broadcast(tf.gather(self._alpha_bar32, t), x0)
        return tf.sqrt(a) * x0 + tf.sqrt(1.0 - a) * noise

    def _broadcast(self, values, like):
        return tf.reshape(values, [-1] + [1] * (len(like.shape) - 1))

    def split_prediction(self, output, x_t, t):
        """`(eps, x0)` from the network's output at `x_t`, whatever it predicts."""
        a = self._broadcast(tf.gather(self._alpha_bar32, t), x_t)
        if self.prediction == "v":
            eps = tf.sqrt(a) * output + tf.sqrt(1 - a) * x_t
        else:
            eps = output
        return eps, (x_t - tf.sqrt(1 - a) * eps) / tf.sqrt(a)

    def _network_inputs(self, x_t, t, labels):
        inputs = [x_t, tf.cast(t, tf.float32)]
        if self.conditional:
            inputs.append(labels)
        return inputs

    # ------------------------------------------------------------------ training

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
            labels = tf.where(drop, tf.fill(tf.shape(labels), self.num_classes), labels)
        x_t = self.q_sample(x0, t, noise)
        if self.prediction == "v":
            a = self._broadcast(tf.gather(self._alpha_bar32, t), x0)
            target = tf.sqrt(a) * noise - tf.sqrt(1 - a) * x0
        else:
            target = noise
        return x_t, t, labels, target

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
        if self.ema_network is not None:
            distribution.update_moving_average(
                self.ema_network.weights,
                self.network.weights,
                self.ema_decay_at(self.optimizer.iterations),
                ok=step_guard.ok,
            )
        step_guard.finish(self)
        self.track(self.loss_tracker, per_example, batch)
        logs = {m.name: m.result() for m in self.metrics}
        return distribution.logs_for_fit(logs, self.distribute_strategy)

    def test_step(self, data):
        x0, labels = self.unpack(data)
        x0 = tf.cast(x0, "float32")
        batch = distribution.BatchContext(x0)
        self.begin_step(batch, tf.identity(self.optimizer.iterations))
        x_t, t, labels, target = self._noised(x0, labels, VALIDATION_STREAMS)
        per_example = self._per_example_loss(x_t, t, labels, target, training=False)
        self.track(self.loss_tracker, per_example, batch)
        logs = {m.name: m.result() for m in self.metrics}
        return distribution.logs_for_fit(logs, self.distribute_strategy)

    def data_range(self):
        """[-1, 1]: the scale the noise schedule and the sampler's clipping assume."""
        return (-1.0, 1.0)

    def ema_decay_at(self, step):
        """`min(ema_decay, (1 + step) / (10 + step))`: the average forgets the random start.

        The warm-up of `tf.train.ExponentialMovingAverage(num_updates=...)`:
        with a constant 0.999, the initial weights would still hold 5% of the
        average after 3,000 steps, and short runs would sample from noise.
        """
        step = tf.cast(step, "float32")
        return tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))

    @property
    def metrics(self):
        return [self.loss_tracker]

    # ------------------------------------------------------------------ sampling

    def generate(
        self,
        num_samples,
        steps=None,
        sampler="ddim",
        seed=None,
        labels=None,
        guidance_scale=None,
        eta=0.0,
        batch_size=None,
    ):
        """Samples images by running a sampler from pure noise.

        Args:
            num_samples: number of images.
            steps: denoising steps, evenly spaced over the training timesteps
                (default: 50, or `timesteps` if fewer).
            sampler: `"ddim"` (Song et al. 2021) or `"ddpm"` (ancestral, Ho et al. 2020).
            seed: int for reproducible samples; None uses the saved seed generator.
            labels: class labels of a conditional model (default: classes in turn).
            guidance_scale: classifier-free guidance scale `s` of a conditional
                model (None or 1: no guidance).
            eta: DDIM's noise scale (0: deterministic; 1: ancestral).
            batch_size: images per sampling loop (default: all, at most 256).

        Returns:
            Float32 numpy array `(num_samples, *data_shape)` clipped to [-1, 1].
        """
        common.check_positive_int(num_samples, "num_samples")
        batch_size = common.check_positive_int(batch_size or min(num_samples, 256), "batch_size")
        samplers.get(sampler)  # checks the name
        steps = min(50, self.timesteps) if steps is None else steps
        sequence = tf.constant(samplers.timestep_sequence(self.timesteps, steps))
        labels = self.generation_labels(labels, num_samples)
        if guidance_scale is not None and not self.conditional:
            raise ValueError(
                "Classifier-free guidance needs a conditional model (num_classes). "
                f"Received: guidance_scale={guidance_scale!r}"
            )
        scale = 1.0 if guidance_scale is None else float(guidance_scale)
        if sampler == "ddpm" and eta:
            raise ValueError(
                f"The ddpm sampler has no eta (use sampler='ddim'). Received: eta={eta!r}"
            )
        eta = None if sampler == "ddpm" else float(eta)
        base_seed = self.sampling_seed(seed)
        outputs = []
        for i, start in enumerate(range(0, num_samples, batch_size)):
            size = min(batch_size, num_samples - start)
            seed_i = tf.cast(tf.random.experimental.stateless_fold_in(base_seed, i), tf.int64)
            batch_labels = (
                tf.constant(labels[start : start + size])
                if self.conditional
                else tf.zeros([size], tf.int32)
            )
            outputs.append(
                self._generate_function(sampler)(
                    tf.constant(size),
                    seed_i,
                    sequence,
                    batch_labels,
                    tf.constant(scale),
                    tf.constant(0.0 if eta is None else eta),
                ).numpy()
            )
        return np.concatenate(outputs)

    def _generate_function(self, sampler):
        cache = self._sample_function or {}
        if sampler not in cache:
            network = self.ema_network or self.network
            sample = samplers.get(sampler)

            @tf.function(
                input_signature=[
                    tf.TensorSpec([], tf.int32),
                    tf.TensorSpec([2], tf.int64),
                    tf.TensorSpec([None], tf.int32),
                    tf.TensorSpec([None], tf.int32),
                    tf.TensorSpec([], tf.float32),
                    tf.TensorSpec([], tf.float32),
                ]
            )
            def run(size, seed, sequence, labels, scale, eta):
                def predict(x, t):
                    times = tf.fill([size], t)
                    output = network(self._network_inputs(x, times, labels), training=False)
                    if self.conditional:
                        unconditional = network(
                            self._network_inputs(x, times, tf.fill([size], self.num_classes)),
                            training=False,
                        )
                        output = tf.cond(
                            tf.equal(scale, 1.0),
                            lambda: output,
                            lambda: unconditional + scale * (output - unconditional),
                        )
                    eps, x0 = self.split_prediction(tf.cast(output, tf.float32), x, times)
                    x0 = tf.clip_by_value(x0, -1.0, 1.0)
                    # eps consistent with the clipped x0, as improved-diffusion's DDIM.
                    a = self._broadcast(tf.gather(self._alpha_bar32, times), x)
                    return (x - tf.sqrt(a) * x0) / tf.sqrt(1 - a), x0

                x = tf.random.stateless_normal(
                    tf.concat([[size], self.data_shape], 0),
                    tf.random.experimental.stateless_fold_in(seed, 2**30),
                )
                kwargs = {} if sampler == "ddpm" else {"eta": eta}
                x = sample(predict, x, sequence, self._alpha_bar32, seed, **kwargs)
                return tf.clip_by_value(x, -1.0, 1.0)

            cache[sampler] = run
            self._sample_function = cache
        return self._sample_function[sampler]

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
