"""The adversarial training process that every GAN of keras_gen specialises."""

import re

import keras
import numpy as np
import tensorflow as tf

from keras_gen import losses, networks
from keras_gen.models import base, ema
from keras_gen.networks import common
from keras_gen.utils import distribution

# Streams of the stateless random draws; each draw's seed is
# (seed, optimizer step * 64 + stream), so the draws of a step depend only on
# the model's seed and the step, on one device or many, before or after a save.
LATENTS_FOR_DISCRIMINATOR = 0
LATENTS_FOR_GENERATOR = 1
PENALTY_DRAWS = 2


@keras.saving.register_keras_serializable(package="keras_gen")
class GAN(base.LatentGenerativeModel):
    """Generative adversarial network (Goodfellow et al. 2014, arXiv:1406.2661).

    The base class owns `train_step`: per batch it updates the discriminator
    `discriminator_steps` times (fresh latents each time) and then the
    generator once. Subclasses change the objective through small hooks:
    `sample_latents`, `discriminator_loss`, `generator_loss`,
    `discriminator_penalty` (and, for auxiliary classifiers,
    `discriminator_auxiliary_loss` / `generator_auxiliary_loss`).

    Every loss is a per-example vector summed and divided by the global batch
    size, so under `tf.distribute` N replicas take the same step as one device
    on the same global batch. Random draws (latents, penalty weights) come from
    stateless seeds derived from `seed` and the optimizer step, and each replica
    takes its own slice of the global batch's draw.

    Packing (PacGAN, Lin et al. 2018, arXiv:1712.04086): with `pack=m` the
    discriminator judges `m` samples at once, concatenated along the last
    axis (features for vectors, channels for images): `m` consecutive real
    samples of a replica's slice of the batch form a real pack, `m`
    consecutive generated samples a fake pack. Every discriminator and
    generator loss, penalty and log is then a per-pack vector summed and
    divided by the global number of packs. The global batch must be
    divisible by `pack` times the number of replicas (checked when `fit`
    starts where the batch size is known, else for each batch outside the
    compiled step). Conditional models refuse `pack > 1`: a pack of real
    samples drawn from the data mixes classes, so one label per pack would
    be false for its other members, and packing by class would need a data
    order that `fit` does not guarantee.

    Args:
        generator: a `keras.Model` mapping latents (and labels, when
            conditional) to data in [-1, 1]. Built from `data_shape` if None.
        discriminator: a `keras.Model` mapping data (and labels, for a
            projection discriminator) to logits. Built from `data_shape` if None.
        latent_dim: size of the latent vector (default: read from the given
            generator, else 128).
        loss: an adversarial loss name for `keras_gen.losses.get`.
        discriminator_steps: discriminator updates per generator update.
        ema_decay: if set, keep an exponential moving average of the
            generator's weights (`ema_generator`) and sample from it: the
            decay warms up as `min(ema_decay, (1 + step) / (10 + step))` and
            batch-norm statistics are copied (`keras_gen.models.ema`).
        seed: int seed of every random draw the model makes (drawn at random
            and stored in the config when None).
        data_shape: shape of one sample, used to build default networks: the
            MLP pair for rank-1 shapes such as `(2,)`, the DCGAN pair for images.
        num_classes: number of classes of a conditional model.
        pack: int, samples per discriminator input (1: no packing). A given
            discriminator must take inputs of `packed_shape(data_shape)`;
            the default one is built for it.
        **kwargs: passed to `keras.Model` (`name`, `dtype`).

    Raises:
        ValueError: for a bad argument, networks whose shapes do not fit,
            or `pack > 1` with `num_classes`.

    Example:
    ```python
    x = (np.random.rand(256, 2) * 2 - 1).astype("float32")
    gan = keras_gen.models.GAN(data_shape=(2,), latent_dim=8, seed=0)
    gan.compile(generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    gan.fit(x, batch_size=64, epochs=1)
    samples = gan.generate(16, seed=0)
    ```
    """

    #: Log key of `discriminator_penalty`'s term, or None when there is none.
    penalty_name = None
    #: Log keys of the auxiliary classifier terms, or None.
    auxiliary_names = None
    #: Default loss of the class (subclasses fix their paper's loss).
    default_loss = "nonsaturating"
    #: The networks, serialized whole in the config.
    nested_models = ("generator", "discriminator")

    def __init__(
        self,
        generator=None,
        discriminator=None,
        latent_dim=None,
        loss=None,
        discriminator_steps=1,
        ema_decay=None,
        seed=None,
        data_shape=None,
        num_classes=None,
        pack=1,
        **kwargs,
    ):
        super().__init__(seed=seed, num_classes=num_classes, **kwargs)
        self.pack = self._check_pack(pack)
        self.discriminator_steps = common.check_positive_int(
            discriminator_steps, "discriminator_steps"
        )
        self.ema_decay = ema.check_decay(ema_decay)
        self.adversarial_loss = losses.get(self.default_loss if loss is None else loss)

        if base.builds_default_networks(
            self, data_shape, generator=generator, discriminator=discriminator
        ):
            data_shape = common.check_data_shape(data_shape)
            latent_dim = 128 if latent_dim is None else latent_dim
            common.check_positive_int(latent_dim, "latent_dim")
            generator, discriminator = self.build_networks(latent_dim, data_shape)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim, self.data_shape = self._check_networks(latent_dim)

        self.ema = self.ema_generator = None
        if self.ema_decay is not None:
            self.ema = ema.ExponentialMovingAverage(self.ema_decay)
            self.ema_generator = ema.average_copy(generator)

        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self._extra_trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ([self.penalty_name] if self.penalty_name else [])
            + list(self.auxiliary_names or [])
        }
        self.generator_optimizer = None
        self.discriminator_optimizer = None
        # The networks are built; marking the model built stops `fit()` from
        # tracing `call` on a data batch (which takes latents, not data).
        self.built = True

    # ------------------------------------------------------------------ networks

    def build_networks(self, latent_dim, data_shape):
        """Default `(generator, discriminator)` for `data_shape`.

        The MLP pair for rank-1 data, the DCGAN pair for images. Subclasses
        override `discriminator_kwargs` to change the discriminator.
        """
        labels = dict(num_classes=self.num_classes) if self.conditional else {}
        conditioning = "auxiliary" if self.auxiliary_names else "projection"
        d_kwargs = self.discriminator_kwargs()
        # With packing the discriminator's first layer takes `pack` samples side by side.
        d_shape = self.packed_shape(data_shape)
        if len(data_shape) == 1:
            return (
                networks.mlp_generator(latent_dim, data_shape, **labels),
                networks.mlp_discriminator(
                    d_shape,
                    **labels,
                    conditioning=conditioning,
                    spectral_norm=d_kwargs.get("spectral_norm", False),
                ),
            )
        return (
            networks.dcgan_generator(latent_dim, data_shape, **labels),
            networks.dcgan_discriminator(d_shape, **labels, conditioning=conditioning, **d_kwargs),
        )

    def discriminator_kwargs(self):
        """Keyword arguments of the default DCGAN discriminator."""
        return {}

    # ------------------------------------------------------------------ packing

    def _check_pack(self, pack):
        pack = common.check_positive_int(pack, "pack")
        if pack > 1 and self.conditional:
            raise ValueError(
                f"{type(self).__name__} is conditional and cannot pack: the samples of a pack "
                "come from the data in any order and mix classes, so one label per pack "
                "would be false for its other members. Train with pack=1. "
                f"Received: pack={pack!r}, num_classes={self.num_classes!r}"
            )
        return pack

    def packed_shape(self, data_shape):
        """The discriminator's input shape for samples of `data_shape`: the last axis times `pack`.

        `(d,)` becomes `(d * pack,)` (features side by side), `(h, w, c)`
        becomes `(h, w, c * pack)` (channels side by side).
        """
        data_shape = tuple(data_shape)
        return (*data_shape[:-1], data_shape[-1] * self.pack)

    def pack_samples(self, samples):
        """Packs of `pack` consecutive samples, the discriminator's input.

        Args:
            samples: `(n, *data_shape)` with `n` divisible by `pack`.

        Returns:
            `(n / pack, *packed_shape(data_shape))`: pack `i` holds samples
            `i * pack, ..., i * pack + pack - 1` concatenated along the last
            axis, in that order. With `pack=1`, `samples` itself.
        """
        if self.pack == 1:
            return samples
        rank = len(self.data_shape)
        local = samples.shape[0]
        if local is not None and local % self.pack:
            raise ValueError(
                f"Each replica's batch must be divisible by pack={self.pack}. "
                f"Received: a batch of {local} samples"
            )
        x = tf.reshape(samples, [-1, self.pack, *self.data_shape])  # (packs, pack, *shape)
        if rank > 1:  # (packs, h, w, pack, c): the pack's channels end up side by side
            x = tf.transpose(x, [0, *range(2, rank + 1), 1, rank + 1])
        return tf.reshape(x, [-1, *self.packed_shape(self.data_shape)])

    def draw_per_pack(self, stream, sampler):
        """This replica's slice of a stateless draw of one row per pack of the global batch.

        The draw for the global batch's packs, as `draw` makes for its
        samples (the same seed: with `pack=1` it is `draw`). Each replica
        holds whole packs, so its packs' rows are a contiguous slice.

        Args:
            stream: an int < 64 naming what is drawn.
            sampler: `fn(global_number_of_packs, seed) -> tensor`.
        """
        if self.pack == 1:
            return self.draw(stream, sampler)
        pack = self.pack
        # One row per sample (each pack's row repeated), sliced as samples, one row per pack kept.
        rows = self.draw(stream, lambda n, seed: tf.repeat(sampler(n // pack, seed), pack, axis=0))
        return rows[::pack]

    def _check_pack_batches(self, x, args, kwargs):
        """`x`, with the global batch checked to be divisible by `pack * replicas`.

        Arrays and datasets of a static batch size are checked now; a dataset
        of unknown batch size is returned with a check on each batch in its
        `tf.data` pipeline, which runs outside the compiled step (XLA).
        """
        replicas = self.distribute_strategy.num_replicas_in_sync
        multiple = self.pack * replicas
        if isinstance(x, tf.data.Dataset):
            size = tf.nest.flatten(x.element_spec)[0].shape[0]
            if size is None:
                return x.map(lambda *element: _checked_batch(element, multiple))
            sizes, source = [size], "the dataset"
        elif isinstance(x, np.ndarray):
            batch_size = (args[0] if args else kwargs.get("batch_size")) or 32  # Keras' default
            sizes = [min(batch_size, len(x)), len(x) % batch_size]
            source = f"{len(x)} samples in batches of batch_size={batch_size}"
        else:
            return x
        for size in sizes:
            if size % multiple:
                raise ValueError(_pack_batch_message(self.pack, replicas, size, source))
        return x

    @property
    def xla_on_cpu(self):
        """XLA for `jit_compile="auto"` on a CPU: for vector data, not for images.

        `benchmarks/train_step.py --mode families` measured the vector GANs'
        step 1.25-1.81x faster with XLA on the CI machine (the grid25 setup,
        GAN and WGAN-GP on moons) and the DCGAN step on images slower
        (docs/benchmarks.md).
        """
        return len(self.data_shape) == 1

    def data_range(self):
        """The range of the generator's output (tanh: [-1, 1]) that training data must lie in."""
        return base.output_range(self.generator)

    @property
    def _projection(self):
        return self.conditional and not self.auxiliary_names

    def _check_networks(self, latent_dim):
        g_inputs = self.generator.inputs
        d_inputs = self.discriminator.inputs
        if not g_inputs or not d_inputs:
            raise ValueError(
                "`generator` and `discriminator` must be built models with known "
                f"inputs (functional or Sequential with an Input). Received: "
                f"generator={base.describe(self.generator)}, "
                f"discriminator={base.describe(self.discriminator)}"
            )
        expected_inputs = 2 if self.conditional else 1
        if len(g_inputs) != expected_inputs:
            raise ValueError(
                f"{type(self).__name__} needs a generator with {expected_inputs} "
                f"input(s) ({'[latents, labels]' if self.conditional else 'latents'}). "
                f"Received: generator with inputs {[tuple(i.shape) for i in g_inputs]}"
            )
        g_latent = g_inputs[0].shape[-1]
        if latent_dim is None:
            latent_dim = g_latent
        if g_latent != latent_dim:
            raise ValueError(
                f"`latent_dim` does not match the generator's latent input of size "
                f"{g_latent}. Received: latent_dim={latent_dim!r}"
            )
        data_shape = tuple(self.generator.outputs[0].shape[1:])
        d_shape = tuple(d_inputs[0].shape[1:])
        if self.packed_shape(data_shape) != d_shape:
            packs = f" in packs of pack={self.pack}" if self.pack > 1 else ""
            raise ValueError(
                f"The generator makes samples of shape {data_shape} but the "
                f"discriminator takes {d_shape}{packs} (expected "
                f"{self.packed_shape(data_shape)}). Received: generator output "
                f"{data_shape}, discriminator input {d_shape}"
            )
        return latent_dim, data_shape

    # ------------------------------------------------------------------ compile

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Configures the two optimizers.

        Both are built on their networks' variables here, inside the model's
        distribution strategy, so that they are never created lazily inside a
        replica. Under `mixed_float16` each is wrapped in a
        `keras.optimizers.LossScaleOptimizer`. No third optimizer is created.

        Args:
            generator_optimizer: a `keras.optimizers.Optimizer` (or its name).
            discriminator_optimizer: a `keras.optimizers.Optimizer` (or its name).
            **kwargs: `run_eagerly`, `jit_compile` (default "auto": XLA on CPU
                too, see `GenerativeModel.resolve_compile_kwargs`),
                `steps_per_execution`.

        Raises:
            ValueError: if an optimizer is missing or `loss`/`optimizer` is given.
        """
        kwargs = self.refuse_compile_arguments(
            kwargs,
            ("optimizer", "loss", "metrics"),
            "`generator_optimizer` and `discriminator_optimizer`",
        )
        for name, optimizer in (
            ("generator_optimizer", generator_optimizer),
            ("discriminator_optimizer", discriminator_optimizer),
        ):
            if optimizer is None:
                raise ValueError(
                    f"{type(self).__name__}.compile() needs `{name}`, for example "
                    f"{name}=keras.optimizers.Adam(2e-4, beta_1=0.5). Received: {name}=None"
                )
        generator_optimizer = keras.optimizers.get(generator_optimizer)
        discriminator_optimizer = keras.optimizers.get(discriminator_optimizer)
        if generator_optimizer is discriminator_optimizer:
            raise ValueError(
                "`generator_optimizer` and `discriminator_optimizer` must be two "
                "optimizer objects: each keeps state for its own network."
            )
        # Not the one-optimizer base; "auto" is kept in the config and resolved again on load.
        keras.Model.compile(self, optimizer=None, **self.resolve_compile_kwargs(kwargs))
        self._compile_kwargs = dict(kwargs)
        self._user_optimizers = (generator_optimizer, discriminator_optimizer)
        if self.dtype_policy.name == "mixed_float16":
            generator_optimizer = base.loss_scaled(generator_optimizer)
            discriminator_optimizer = base.loss_scaled(discriminator_optimizer)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        with self.distribute_strategy.scope():
            generator_optimizer.build(self.generator.trainable_variables)
            discriminator_optimizer.build(self.discriminator.trainable_variables)

    def get_compile_config(self):
        if not self.compiled or self.generator_optimizer is None:
            return None
        config = {
            "generator_optimizer": keras.saving.serialize_keras_object(self._user_optimizers[0]),
            "discriminator_optimizer": keras.saving.serialize_keras_object(
                self._user_optimizers[1]
            ),
        }
        config.update(self._compile_kwargs)
        return config

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    # ------------------------------------------------------------------ hooks

    def discriminator_loss(self, real_logits, fake_logits):
        """Per-example (per-pack, with packing) discriminator loss, shape `(batch,)`."""
        return self.adversarial_loss.discriminator(real_logits, fake_logits)

    def generator_loss(self, fake_logits):
        """Per-example (per-pack, with packing) generator loss, shape `(batch,)`."""
        return self.adversarial_loss.generator(fake_logits)

    def discriminator_penalty(self, real_data, fake_data, labels):
        """Per-example regulariser added to the discriminator loss, or None.

        `real_data` and `fake_data` are the discriminator's inputs: with
        packing, packs (`pack_samples`), and the regulariser is per pack (its
        random draws come from `draw_per_pack`). Logged under
        `penalty_name`. The default adds nothing.
        """
        return None

    def discriminator_auxiliary_loss(self, real_aux, fake_aux, labels):
        """Per-example auxiliary term of the discriminator, or None."""
        return None

    def generator_auxiliary_loss(self, fake_aux, labels):
        """Per-example auxiliary term of the generator, or None."""
        return None

    # ------------------------------------------------------------------ pieces

    def call(self, inputs, training=False):
        """Maps latents (or `[latents, labels]`) to samples with the generator."""
        return self.generator(inputs, training=training)

    def run_generator(self, latents, labels, training, generator=None):
        generator = generator or self.generator
        inputs = [latents, labels] if self.conditional else latents
        return generator(inputs, training=training)

    def run_discriminator(self, data, labels, training):
        """Returns `(logits, auxiliary_outputs)` in float32.

        `data` is the discriminator's input: samples, or with packing the
        packs of `pack_samples`.
        """
        inputs = [data, labels] if self._projection else data
        outputs = self.discriminator(inputs, training=training)
        if isinstance(outputs, (list, tuple)):
            return (tf.cast(outputs[0], "float32"), tf.cast(outputs[1], "float32"))
        return tf.cast(outputs, "float32"), None

    @property
    def loss_scale(self):
        """The discriminator optimizer's dynamic loss scale, or None."""
        optimizer = self.discriminator_optimizer
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.dynamic_scale
        return None

    # ------------------------------------------------------------------ training

    def train_step(self, data):
        real, labels = self.unpack(data)
        batch = distribution.BatchContext(real)
        # Losses and logs count packs; the draws are made per sample on `batch`.
        packs = batch if self.pack == 1 else PackContext(batch, self.pack)
        step_guard, labels = self.guard_inputs(real, labels)
        # The step counts are read once, before any update, so every draw of
        # this step has a seed that is fixed when the step starts: even counters
        # for discriminator updates, odd ones for the generator's.
        d_start = tf.identity(self.discriminator_optimizer.iterations)
        g_start = tf.identity(self.generator_optimizer.iterations)
        for i in range(self.discriminator_steps):
            self.begin_step(batch, 2 * (d_start + i))
            self._discriminator_step(real, labels, packs, step_guard)
        self.begin_step(batch, 2 * g_start + 1)
        self._generator_step(labels, packs, step_guard)
        step_guard.finish(self)
        return self.step_logs()

    def _discriminator_step(self, real, labels, batch, step_guard):
        latents = self.draw(LATENTS_FOR_DISCRIMINATOR, self.sample_latents)
        real = self.pack_samples(real)
        with tf.GradientTape() as tape:
            fake = self.pack_samples(self.run_generator(latents, labels, training=True))
            real_logits, real_aux = self.run_discriminator(real, labels, training=True)
            fake_logits, fake_aux = self.run_discriminator(fake, labels, training=True)
            per_example = self.discriminator_loss(real_logits, fake_logits)
            penalty = self.discriminator_penalty(real, fake, labels)
            if penalty is not None:
                per_example += penalty
                self.track(self._extra_trackers[self.penalty_name], penalty, batch)
            auxiliary = self.discriminator_auxiliary_loss(real_aux, fake_aux, labels)
            if auxiliary is not None:
                per_example += auxiliary
                self.track(self._extra_trackers[self.auxiliary_names[0]], auxiliary, batch)
            loss = batch.mean(per_example)
            scaled = self.discriminator_optimizer.scale_loss(loss)
        variables = self.discriminator.trainable_variables
        step_guard.require_finite("d_loss", per_example)
        step_guard.apply(
            self.discriminator_optimizer, tape.gradient(scaled, variables), variables, name="d_loss"
        )
        self.track(self.d_loss_tracker, per_example, batch)
        self.track(self.d_real_tracker, tf.reshape(real_logits, [-1]), batch)
        self.track(self.d_fake_tracker, tf.reshape(fake_logits, [-1]), batch)

    def _generator_step(self, labels, batch, step_guard):
        latents = self.draw(LATENTS_FOR_GENERATOR, self.sample_latents)
        with tf.GradientTape() as tape:
            fake = self.pack_samples(self.run_generator(latents, labels, training=True))
            fake_logits, fake_aux = self.run_discriminator(fake, labels, training=True)
            per_example = self.generator_loss(fake_logits)
            auxiliary = self.generator_auxiliary_loss(fake_aux, labels)
            if auxiliary is not None:
                per_example += auxiliary
                self.track(self._extra_trackers[self.auxiliary_names[1]], auxiliary, batch)
            loss = batch.mean(per_example)
            scaled = self.generator_optimizer.scale_loss(loss)
        variables = self.generator.trainable_variables
        step_guard.require_finite("g_loss", per_example)
        step_guard.apply(
            self.generator_optimizer, tape.gradient(scaled, variables), variables, name="g_loss"
        )
        self.track(self.g_loss_tracker, per_example, batch)
        if self.ema_generator is not None:
            self.ema.update(
                self.ema_generator,
                self.generator,
                self.generator_optimizer.iterations,
                ok=step_guard.ok,
            )

    def fit(self, x=None, y=None, *args, **kwargs):
        """`GenerativeModel.fit`, with the global batch checked against `pack` first.

        Raises:
            ValueError: with `pack > 1`, for a global batch (the last, short
                one included) not divisible by `pack` times the replicas;
                and as `GenerativeModel.fit`.
        """
        if self.pack == 1:
            return super().fit(x, y, *args, **kwargs)
        x = self._check_pack_batches(x, args, kwargs)
        try:
            return super().fit(x, y, *args, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            found = re.search(re.escape(PACK_BATCH_MARK) + r"(\d+)", error.message)
            if found is None:
                raise
            replicas = self.distribute_strategy.num_replicas_in_sync
            raise ValueError(_pack_batch_message(self.pack, replicas, int(found[1]))) from None

    def check_compiled(self):
        if self.generator_optimizer is None:
            raise ValueError(
                f"Call {type(self).__name__}.compile(generator_optimizer=..., "
                "discriminator_optimizer=...) before fit()."
            )

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_real_tracker,
            self.d_fake_tracker,
            *self._extra_trackers.values(),
        ]

    # ------------------------------------------------------------------ sampling

    def samples_from_latents(self, latents, labels=None):
        """Samples of the generator (the moving average, if kept), in float32."""
        generator = self.ema_generator or self.generator
        return tf.cast(
            self.run_generator(latents, labels, training=False, generator=generator), "float32"
        )

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "latent_dim": self.latent_dim,
                "loss": self.adversarial_loss.name,
                "discriminator_steps": self.discriminator_steps,
                "ema_decay": self.ema_decay,
                "seed": self.seed,
                "num_classes": self.num_classes,
                "pack": self.pack,
            }
        )
        return config


class PackContext:
    """The packs of a `BatchContext`: sizes that count each pack of `pack` samples once.

    A loss per pack summed over a replica's packs and divided by the global
    number of packs (`mean`) gives N replicas the update of one device, as
    `BatchContext.mean` does for losses per sample. Every replica holds
    whole packs (its batch is divisible by `pack`).
    """

    def __init__(self, batch, pack):
        self.local_size = batch.local_size // pack
        self.global_size = batch.global_size // pack

    def mean(self, per_pack):
        """Sum over the local packs divided by the global number of packs."""
        return tf.reduce_sum(per_pack) / tf.cast(self.global_size, per_pack.dtype)


def _pack_batch_message(pack, replicas, size, source="the dataset"):
    return (
        f"With pack={pack} on {replicas} replica(s) every global batch must be divisible by "
        f"pack * replicas = {pack * replicas}, so that each replica forms whole packs of its "
        f"slice; choose a batch size (and a number of samples) that is. Received: a batch "
        f"of {size} samples from {source}"
    )


def _checked_batch(element, multiple):
    """`element` of a dataset, after a check that its batch is divisible by `multiple`."""
    size = tf.shape(tf.nest.flatten(element)[0])[0]
    check = tf.debugging.Assert(
        tf.equal(size % multiple, 0),
        [tf.strings.format(PACK_BATCH_MARK + "{}", size)],
    )
    with tf.control_dependencies([check]):
        element = tf.nest.map_structure(tf.identity, element)
    return element if len(element) > 1 else element[0]


#: Begins the message of a batch that `_checked_batch` refused, followed by its size.
PACK_BATCH_MARK = "keras_gen pack check: batch of "
