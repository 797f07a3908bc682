"""What every training process of keras_gen shares, and what latent-variable models add.

`GenerativeModel`: seeded stateless draws sliced per replica, loss trackers
that add up across replicas and the logs built from them, label checks, the
`fit()` guards, the resolution of `compile()` and the saved seed state.
`LatentGenerativeModel`: `generate(num_samples, ...)` as one batching and seed
loop over a per-batch hook, by default prior latents mapped to samples.
"""

import os
import threading

import keras
import numpy as np
import tensorflow as tf

from keras_gen.data import epoch_order
from keras_gen.models import guard
from keras_gen.networks import common
from keras_gen.utils import distribution


class GenerativeModel(keras.Model):
    """Base of every keras_gen model: a `keras.Model` whose `train_step` draws noise.

    Random draws made during training come from stateless seeds derived from
    `seed`, an update counter read when the step starts and a stream number, and
    are made for the whole global batch, each replica taking its slice: the
    draws of a step are the same on one device or many, before or after a save.

    Args:
        seed: int seed of every random draw. When None it is drawn from
            Python's `random` module, as `keras.random.SeedGenerator(None)`
            draws its seed, so `keras.utils.set_random_seed(s)` makes the
            model reproducible; the drawn seed is stored in the config.
        num_classes: number of classes of a conditional model, or None (the
            model then takes no labels).
        **kwargs: passed to `keras.Model` (`name`, `dtype`).
    """

    #: Whether the class is conditional only, so that `num_classes` is required.
    requires_num_classes = False
    #: Constructor arguments that are Keras models, serialized whole in the config.
    nested_models = ()

    def __init__(self, seed=None, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = common.check_num_classes(num_classes)
        if self.requires_num_classes and self.num_classes is None:
            raise ValueError(
                f"{type(self).__name__} is conditional and needs `num_classes` "
                f"(an int >= 2). Received: num_classes={num_classes!r}"
            )
        if seed is None:
            seed = epoch_order.resolve_seed(None)  # Keras' rule, seeded by set_random_seed
        self.seed = common.check_positive_int(seed, "seed", minimum=0)
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="sampling_seed")
        # The compiled generation functions, by key (see `compiled_function`).
        self._sample_function = {}
        self._step_state = threading.local()
        # What the guard of the last train step found (see `keras_gen.models.guard`).
        self.step_status = guard.make_status()

    @property
    def conditional(self):
        """Whether training and sampling take class labels: `num_classes` is set."""
        return self.num_classes is not None

    # ------------------------------------------------------------------ compile

    def compile(self, optimizer=None, **kwargs):
        """Configures the optimizer and builds it inside the model's distribution strategy.

        The loss is the model's own (set in the constructor). Under
        `mixed_float16` Keras wraps the optimizer in a `LossScaleOptimizer`.

        Args:
            optimizer: a `keras.optimizers.Optimizer` or its name.
            **kwargs: `run_eagerly`, `jit_compile` (default "auto": see
                `resolve_compile_kwargs`), `steps_per_execution`.

        Raises:
            ValueError: if `optimizer` is missing or `loss`/`metrics` is given.
        """
        kwargs = self.refuse_compile_arguments(kwargs, ("loss", "metrics"), "only `optimizer`")
        if optimizer is None:
            raise ValueError(
                f"{type(self).__name__}.compile() needs `optimizer`, for example "
                "optimizer=keras.optimizers.Adam(1e-3). Received: optimizer=None"
            )
        optimizer = keras.optimizers.get(optimizer)
        self._compile_kwargs = dict(kwargs)  # as given: "auto" is resolved again on load
        self._user_optimizer = optimizer
        super().compile(optimizer=optimizer, **self.resolve_compile_kwargs(kwargs))
        with self.distribute_strategy.scope():
            self.optimizer.build(self.trainable_variables)

    def refuse_compile_arguments(self, kwargs, keys, takes):
        """`kwargs` without `keys`; raises ValueError for any of them given (not None).

        Args:
            kwargs: the keyword arguments of `compile()`.
            keys: the arguments the model sets itself (`"loss"`, `"metrics"`).
            takes: what `compile()` takes instead, for the message.
        """
        kwargs = dict(kwargs)
        for key in keys:
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"{type(self).__name__}.compile() takes {takes}; the loss is "
                    f"set in the constructor. Received: {key}={kwargs[key]!r}"
                )
            kwargs.pop(key, None)
        return kwargs

    #: Whether `jit_compile="auto"` means XLA on a CPU: True only for the families whose
    #: step benchmarks/train_step.py measures faster with it there (docs/benchmarks.md).
    xla_on_cpu = False

    def resolve_compile_kwargs(self, kwargs):
        """`compile()` keyword arguments with `jit_compile="auto"` resolved.

        With a GPU, "auto" means what it means in Keras: XLA, except with
        `run_eagerly` or under a distribution strategy. On a CPU, where Keras
        never takes XLA, keras_gen takes it for the families whose train step
        `benchmarks/train_step.py --mode families` measured faster with it
        (`xla_on_cpu`; see docs/benchmarks.md), except with `run_eagerly`,
        under a strategy of several replicas, or when the environment
        variable `KERAS_GEN_JIT_COMPILE=0` turns the default off. An explicit
        True or False is kept.

        Raises:
            ValueError: for a `jit_compile` other than "auto", True or False.
        """
        kwargs = dict(kwargs)
        jit_compile = kwargs.get("jit_compile", "auto")
        if jit_compile not in ("auto", True, False):
            raise ValueError(
                f"`jit_compile` must be 'auto', True or False. "
                f"Received: jit_compile={jit_compile!r}"
            )
        if jit_compile == "auto":
            on_gpu = bool(tf.config.list_physical_devices("GPU"))
            jit_compile = (
                not kwargs.get("run_eagerly")
                and self.distribute_strategy.num_replicas_in_sync == 1
                and os.environ.get("KERAS_GEN_JIT_COMPILE", "1") != "0"
                and (on_gpu or self.xla_on_cpu)
            )
        kwargs["jit_compile"] = jit_compile
        return kwargs

    def get_compile_config(self):
        if not self.compiled or getattr(self, "_user_optimizer", None) is None:
            return None
        return {
            "optimizer": keras.saving.serialize_keras_object(self._user_optimizer),
            **self._compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        config["optimizer"] = keras.saving.deserialize_keras_object(config["optimizer"])
        self.compile(**config)

    # ------------------------------------------------------------------ draws

    def begin_step(self, batch, counter):
        """Sets the batch and update counter that `draw` reads while a step is traced.

        Thread-local: MirroredStrategy traces each replica's step in its own
        thread, and the threads interleave at every optimizer update.
        """
        self._step_state.batch = batch
        self._step_state.counter = counter

    def draw(self, stream, sampler):
        """This replica's slice of a stateless draw for the step's global batch.

        Args:
            stream: an int < 64 naming what is drawn.
            sampler: `fn(global_batch_size, seed) -> tensor`.
        """
        batch = self._step_state.batch
        seed = distribution.stateless_seed(self.seed, self._step_state.counter, stream)
        # Noise carries no gradient, also when a hook draws inside a tape.
        return tf.stop_gradient(batch.local_slice(sampler(batch.global_size, seed)))

    @staticmethod
    def track(tracker, per_example, batch):
        """Adds a per-example quantity to a `Mean` tracker so replicas sum to the global mean."""
        local = tf.cast(batch.local_size, "float32")
        # A replica can get no rows of a last, short batch: weight 0, not NaN.
        tracker.update_state(
            tf.math.divide_no_nan(tf.reduce_sum(tf.cast(per_example, "float32")), local),
            sample_weight=local,
        )

    def step_logs(self):
        """The logs of a train or test step: each tracker's result under its name.

        Returned by every `train_step`, shaped for `fit()` under the model's
        strategy (`distribution.logs_for_fit`).
        """
        logs = {metric.name: metric.result() for metric in self.metrics}
        return distribution.logs_for_fit(logs, self.distribute_strategy)

    def sampling_seed(self, seed):
        """The base seed of a `generate` call: `seed`, or the next state of `seed_generator`."""
        if seed is None:
            return tf.cast(self.seed_generator.next(), "int64")
        return tf.constant([common.check_positive_int(seed, "seed", minimum=0), 0], dtype="int64")

    # ------------------------------------------------------------------ labels and data

    def check_labels(self, labels, name, num_samples):
        """Checks host-side labels: `num_samples` integers in `[0, num_classes)`; returns int32."""
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.shape != (num_samples,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"`{name}` must hold {num_samples} integer labels. Received: {name} "
                f"with shape {labels.shape} and dtype {labels.dtype}"
            )
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.size:
            raise ValueError(
                f"`{name}` must lie in [0, num_classes={self.num_classes}). "
                f"Received: {name} containing {np.unique(bad)[:5].tolist()}"
            )
        return labels.astype("int32")

    def generation_labels(self, labels, num_samples):
        """Labels for `generate`: checked, by default the classes in turn; None if unconditional."""
        if self.conditional:
            if labels is None:
                labels = np.arange(num_samples) % self.num_classes
            return self.check_labels(labels, "labels", num_samples)
        if labels is not None:
            raise ValueError(f"{type(self).__name__} is not conditional. Received: labels")
        return None

    def unpack(self, data):
        """`(x, labels)` of a training batch; labels are None when unconditional.

        What the trace can see (dtypes, shapes, labels or sample weights given
        to a model that takes none) raises ValueError while tracing; the
        values (label range, data range) are checked by `guard_inputs`.
        """
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        name = type(self).__name__
        if sample_weight is not None:
            raise ValueError(f"{name} does not take sample weights. Received: sample_weight")
        if isinstance(x, (list, tuple)):
            x = x[0]
        shape = tuple(x.shape[1:])
        if shape != self.data_shape:
            raise ValueError(
                f"The training data must have samples of shape {self.data_shape} "
                f"(the networks' data shape). Received: x with sample shape {shape}"
            )
        if not x.dtype.is_floating:
            raise ValueError(
                f"{name} trains on float data (images in [-1, 1]); integer data such as "
                f"uint8 pixels must be scaled first, e.g. x / 127.5 - 1 (keras_gen.data "
                f"does this). Received: x of dtype {x.dtype.name}"
            )
        if self.conditional and y is None:
            raise ValueError(
                f"{name} is conditional: pass labels, e.g. "
                "fit(x=images, y=labels) or a dataset of (images, labels). Received: y=None"
            )
        if not self.conditional and y is not None:
            raise ValueError(
                f"{name} is not conditional and would ignore labels: pass the data "
                "alone, e.g. fit(x=images) or a dataset of images. Received: y"
            )
        x = tf.cast(x, self.compute_dtype)
        if not self.conditional:
            return x, None
        return x, check_label_tensor(y, self.num_classes)

    def data_range(self):
        """`(low, high)` that training data must lie in, or None for any range."""
        return None

    def guard_inputs(self, x, labels):
        """`(step_guard, labels)`: a `StepGuard` with the label and data-range checks added.

        The labels come back clipped into range, so that the step computes
        (and then skips its update) instead of failing in a gather.
        """
        step_guard = guard.StepGuard(self.step_status)
        if labels is not None:
            step_guard.require_in_range(labels, 0, self.num_classes, "labels")
            labels = tf.clip_by_value(labels, 0, self.num_classes - 1)
        expected = self.data_range()
        x = tf.cast(x, "float32")
        if expected is not None:
            # The tolerance of keras_gen.data.from_numpy, for rounding in the scaling.
            low, high = tf.reduce_min(x), tf.reduce_max(x)
            step_guard.require(
                tf.logical_and(low >= expected[0] - 1e-3, high <= expected[1] + 1e-3),
                "data_range",
                tf.stack([low, high]),
            )
        step_guard.require_finite("x", x)
        return step_guard, labels

    # ------------------------------------------------------------------ fit

    def check_compiled(self):
        """Raises a ValueError saying how to compile when `fit` comes first."""
        if not self.compiled or self.optimizer is None:
            raise ValueError(f"Call {type(self).__name__}.compile(optimizer=...) before fit().")

    def fit(self, x=None, y=None, *args, callbacks=None, **kwargs):
        """`keras.Model.fit` with input checks and a guard on every step.

        Numpy inputs are checked before training starts (sample shape, dtype,
        range, labels present and within `num_classes`, none given to an
        unconditional model, at least one sample). Datasets are checked in
        each step by an in-graph guard that holds under XLA: a batch with
        labels out of range, data out of range or a non-finite loss updates
        no weight, and after that step fit raises a ValueError (or
        `keras_gen.NonFiniteLossError`) saying what was wrong, before any
        later callback (such as a checkpoint) runs. A dataset that yields no
        batch raises a ValueError instead of returning an empty history.
        """
        self.check_compiled()
        if isinstance(x, np.ndarray):
            self._check_arrays(x, y)
        if isinstance(x, tf.data.Dataset):
            if x.cardinality() == 0:
                raise ValueError("The training dataset is empty. Received: x with no batch")
            # A dataset shuffles itself; Keras would warn that shuffle=True is ignored.
            kwargs.setdefault("shuffle", False)
        first = [guard.StopOnBadStep(), epoch_order.EpochOrder()]
        counter = _CountSteps()
        history = super().fit(
            x, y, *args, callbacks=[*first, *(callbacks or []), counter], **kwargs
        )
        if counter.epochs and not counter.steps:
            raise ValueError(
                "The training data yielded no batch: nothing was trained. "
                "Received: an empty dataset or generator"
            )
        return history

    def evaluate(self, x=None, y=None, *args, callbacks=None, **kwargs):
        """`keras.Model.evaluate` with the validation steps' guard.

        A batch with tokens, labels or data out of range raises a ValueError
        naming the batch (XLA would clamp a bad id and report a wrong loss).
        """
        if not isinstance(callbacks, keras.callbacks.CallbackList):
            # fit() passes its own CallbackList, which holds StopOnBadStep already.
            callbacks = [guard.StopOnBadStep(), *(callbacks or [])]
        return super().evaluate(x, y, *args, callbacks=callbacks, **kwargs)

    def check_samples(self, x):
        """Checks numpy training samples before `fit`: some, of the data shape, float, in range."""
        name = type(self).__name__
        if len(x) == 0:
            raise ValueError(f"`x` is empty. Received: x with shape {x.shape}")
        if tuple(x.shape[1:]) != self.data_shape:
            raise ValueError(
                f"`x` must hold samples of shape {self.data_shape}, the networks' "
                f"data shape. Received: x with shape {x.shape}"
            )
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(
                f"{name} trains on float data (images in [-1, 1]); scale integer data first, "
                f"e.g. x / 127.5 - 1 for uint8 pixels. Received: x of dtype {x.dtype}"
            )
        expected = self.data_range()
        if expected is not None and (x.min() < expected[0] - 1e-3 or x.max() > expected[1] + 1e-3):
            raise ValueError(
                f"{name} needs training data in [{expected[0]:g}, {expected[1]:g}] (the range "
                f"of its generator's output). Received: x in [{x.min():.4g}, {x.max():.4g}]"
            )

    def _check_arrays(self, x, y):
        self.check_samples(x)
        name = type(self).__name__
        if not self.conditional:
            if y is not None:
                raise ValueError(
                    f"{name} is not conditional and would ignore labels: call fit(x) "
                    "without `y`. Received: y"
                )
            return
        if y is None:
            raise ValueError(
                f"{name} is conditional: pass `y` with one label per sample. Received: y=None"
            )
        self.check_labels(np.asarray(y), "y", len(x))

    # ------------------------------------------------------------------ generation

    def compiled_function(self, key, build):
        """The generation function `build()` returns, built and compiled once per `key`.

        A `generate` that calls the cached function is traced once however
        many samples, batches or seeds it is asked for (`generation_tracing_counts`).
        """
        if key not in self._sample_function:
            self._sample_function[key] = build()
        return self._sample_function[key]

    def generation_tracing_counts(self):
        """How many times each compiled generation function was traced, by key."""
        return {
            key: function.experimental_get_tracing_count()
            for key, function in self._sample_function.items()
        }

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                name: keras.saving.serialize_keras_object(getattr(self, name))
                for name in self.nested_models
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in cls.nested_models:
            if config.get(name) is not None:
                config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)

    def training_seed_generators(self):
        """The Keras seed generators that training draws from (dropout), saved with the model.

        The model's own draws are stateless; layers such as `Dropout` keep a
        `keras.random.SeedGenerator` whose state moves at every step. Saving
        it makes training after a load continue exactly as training on.
        """
        return []

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["sampling_seed_state"] = keras.ops.convert_to_numpy(self.seed_generator.state)
        for i, generator in enumerate(self.training_seed_generators()):
            store[f"training_seed_state_{i}"] = keras.ops.convert_to_numpy(generator.state)

    def load_own_variables(self, store):
        seeds = {"sampling_seed_state": self.seed_generator}
        for i, generator in enumerate(self.training_seed_generators()):
            seeds[f"training_seed_state_{i}"] = generator
        # keras.Layer.load_own_variables counts the entries: it gets the others only.
        super().load_own_variables({k: store[k] for k in store.keys() if k not in seeds})
        for key, generator in seeds.items():
            if key in store:  # files saved before 0.2 have no training seed states
                generator.state.assign(store[key])


class LatentGenerativeModel(GenerativeModel):
    """Base of the models that sample in batches from a seed: GANs, VAEs, VQ-VAE, diffusion.

    `generate` is one loop: it checks its arguments (the labels, and the
    model's own options through `generation_options`), takes the base seed,
    and calls `generate_batch` on each batch with the stateless seed
    `fold_in(base_seed, batch_index)`: the same seed and batch size give the
    same samples, before or after a save. Subclasses change `sample_latents`
    and `samples_from_latents`, or, for other samplers, `generate_batch` and
    `generation_options`.
    """

    def sample_latents(self, num_samples, seed):
        """Latent vectors from the prior, shape `(num_samples, latent_dim)`, from a stateless seed."""
        return tf.random.stateless_normal((num_samples, self.latent_dim), seed=seed)

    def samples_from_latents(self, latents, labels=None):
        """Maps prior latents (and labels) to float32 samples; the hook behind `generate`."""
        raise NotImplementedError(
            f"{type(self).__name__} does not sample from prior latents; it overrides "
            "`generate_batch` instead."
        )

    def generate(self, num_samples, seed=None, labels=None, batch_size=None, **options):
        """Draws new samples from the model.

        Args:
            num_samples: number of samples.
            seed: int for reproducible samples; None draws from the model's
                seed generator, whose state is saved with the model.
            labels: class labels of a conditional model, shape `(num_samples,)`;
                by default the classes in turn, `0, 1, ..., num_classes - 1, 0, ...`.
            batch_size: samples per call of the network (default: all, at most 256).
            **options: the model's own sampling options (`generation_options`).

        Returns:
            Float32 numpy array of shape `(num_samples, *data_shape)` (in [-1, 1]
            for tanh generators and Bernoulli decoders).

        Raises:
            ValueError: for a bad count, batch size, label or option.
        """
        common.check_positive_int(num_samples, "num_samples")
        batch_size = common.check_positive_int(batch_size or min(num_samples, 256), "batch_size")
        labels = self.generation_labels(labels, num_samples)
        options = self.generation_options(**options)
        # After the checks: a refused call leaves the seed generator where it was.
        base_seed = self.sampling_seed(seed)
        outputs = []
        for i, start in enumerate(range(0, num_samples, batch_size)):
            size = min(batch_size, num_samples - start)
            batch_seed = tf.cast(tf.random.experimental.stateless_fold_in(base_seed, i), "int64")
            batch_labels = None if labels is None else tf.constant(labels[start : start + size])
            outputs.append(np.asarray(self.generate_batch(size, batch_seed, batch_labels, options)))
        return np.concatenate(outputs, axis=0)

    def generation_options(self, **options):
        """The checked extra options of `generate`, as a dict; the default takes none.

        Raises:
            ValueError: naming an option the model does not take.
        """
        refuse_options(self, options)
        return {}

    def generate_batch(self, num_samples, seed, labels, options):
        """One batch of `generate`: `samples_from_latents(sample_latents(num_samples, seed), labels)`.

        Args:
            num_samples: the batch's size.
            seed: the batch's `(2,)` int64 stateless seed.
            labels: int32 labels `(num_samples,)` of a conditional model, else None.
            options: the dict `generation_options` returned.
        """
        latents = self.sample_latents(num_samples, seed)
        function = self.compiled_function("samples_from_latents", self._latent_sampler)
        args = (latents,) if labels is None else (latents, labels)
        return function(*args)

    def _latent_sampler(self):
        signature = [tf.TensorSpec([None, self.latent_dim], tf.float32)]
        if self.conditional:
            signature.append(tf.TensorSpec([None], tf.int32))
        return tf.function(self.samples_from_latents, input_signature=signature)


class _CountSteps(keras.callbacks.Callback):
    """Counts the epochs begun and batches trained by one `fit` call."""

    def __init__(self):
        super().__init__()
        self.epochs = self.steps = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs += 1

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


def check_label_tensor(y, num_classes):
    """Labels of a batch as int32 `(batch,)`; float and one-hot labels raise ValueError.

    The values are checked in the step's guard, where XLA cannot drop the check.
    """
    if not (y.dtype.is_integer):
        raise ValueError(
            "Labels must be integer class ids (float labels would be truncated). "
            f"Received: labels of dtype {y.dtype.name}"
        )
    if y.shape.rank is not None and (
        y.shape.rank > 2 or (y.shape.rank == 2 and y.shape[1] not in (1, None))
    ):
        raise ValueError(
            f"Labels must be class ids of shape (batch,), not one-hot vectors. Received: "
            f"labels of shape {tuple(y.shape)} (num_classes={num_classes})"
        )
    return tf.reshape(tf.cast(y, "int32"), [-1])


def loss_scaled(optimizer):
    """`optimizer` wrapped in a `LossScaleOptimizer` (for `mixed_float16`), unless it is one."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def output_range(network):
    """`(low, high)` of a network whose last layer ends in tanh or sigmoid, else None."""
    activation = getattr(network.layers[-1], "activation", None) if network.layers else None
    return {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}.get(getattr(activation, "__name__", None))


def describe(network):
    if network is None:
        return "None"
    return f"{type(network).__name__}(name={getattr(network, 'name', '?')!r})"


def builds_default_networks(model, data_shape, **networks):
    """Whether `model` builds its default pair of `networks` from `data_shape`.

    Args:
        model: the model being constructed (named in errors).
        data_shape: shape for the default networks, or None.
        **networks: the two networks as passed, by argument name.

    Raises:
        ValueError: for only one of the two networks, or neither and no `data_shape`.
    """
    (first, a), (second, b) = networks.items()
    if (a is None) != (b is None):
        raise ValueError(
            f"Pass both `{first}` and `{second}`, or neither (with `data_shape`). "
            f"Received: {first}={describe(a)}, {second}={describe(b)}"
        )
    if a is not None:
        return False
    if data_shape is None:
        raise ValueError(
            f"{type(model).__name__} needs `{first}` and `{second}`, or `data_shape` to build "
            f"default networks. Received: {first}=None, {second}=None, data_shape=None"
        )
    return True


def refuse_options(model, options):
    """ValueError naming the options of `generate` that `model` does not take, if any."""
    if options:
        raise ValueError(
            f"{type(model).__name__}.generate takes no option "
            f"{', '.join(f'`{name}`' for name in sorted(options))}. "
            f"Received: {', '.join(f'{k}={v!r}' for k, v in sorted(options.items()))}"
        )
