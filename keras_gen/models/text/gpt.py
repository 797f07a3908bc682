"""GPT: a causal Transformer language model (Radford et al. 2018, 2019) trained with `fit()`."""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gen.models import base, guard
from keras_gen.networks import common
from keras_gen.networks.transformer import TransformerBlock
from keras_gen.utils import distribution


@keras.saving.register_keras_serializable(package="keras_gen")
class GPT(base.GenerativeModel):
    """Decoder-only Transformer over byte tokens, trained on next-token cross-entropy.

    `fit()` takes `(inputs, targets)` int32 batches of `sequence_length` tokens
    (`keras_gen.data.load_text`). The loss is the mean cross-entropy per token
    in nats, per example, summed and divided by the global batch, so N replicas
    take the same step as one device; `bits_per_byte` is the same in bits.
    `generate` continues a prompt with a key/value cache, compiled once.

    Args:
        vocabulary_size: number of token ids (256 for bytes).
        sequence_length: the longest context (learned position embeddings).
        num_layers: Transformer blocks.
        num_heads: attention heads per block.
        hidden_dim: model width.
        dropout: dropout rate (its noise comes from Keras' seed generators,
            not the model's stateless draws).
        seed: int seed of sampling.
        **kwargs: passed to `keras.Model`.

    Example:
    ```python
    dataset, info = keras_gen.data.load_text("pydoc", sequence_length=128, batch_size=32)
    gpt = keras_gen.models.GPT(sequence_length=128, num_layers=2, hidden_dim=128, seed=0)
    gpt.compile(optimizer=keras.optimizers.Adam(1e-3))
    gpt.fit(dataset, epochs=1)
    print(gpt.generate("The for statement", max_length=60, temperature=0.8, seed=0))
    ```
    """

    def __init__(
        self,
        vocabulary_size=256,
        sequence_length=128,
        num_layers=4,
        num_heads=4,
        hidden_dim=128,
        dropout=0.1,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        set_size(self, vocabulary_size, num_layers, num_heads, hidden_dim, dropout)
        self.sequence_length = common.check_positive_int(sequence_length, "sequence_length")
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, name="token_embedding"
        )
        self.position_embedding = keras.layers.Embedding(
            sequence_length, hidden_dim, name="position_embedding"
        )
        self.blocks = [
            TransformerBlock(hidden_dim, num_heads, dropout, name=f"block_{i}")
            for i in range(num_layers)
        ]
        add_output_layers(self)
        self.data_shape = (sequence_length,)
        self.build((None, sequence_length))

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        self.position_embedding.build((None, self.sequence_length))
        for block in self.blocks:
            block.build((None, None, self.hidden_dim))
        self.final_norm.build((None, None, self.hidden_dim))
        self.head.build((None, None, self.hidden_dim))
        self.built = True

    def _embed(self, tokens, positions):
        return self.token_embedding(tokens) + self.position_embedding(positions)

    def _logits(self, x):
        return tf.cast(self.head(self.final_norm(x)), "float32")

    def call(self, tokens, training=False):
        """Next-token logits `(batch, length, vocabulary_size)` of `tokens` `(batch, length)`."""
        tokens = tf.cast(tokens, "int32")
        x = self._embed(tokens, tf.range(tf.shape(tokens)[1])[None])
        for block in self.blocks:
            x = block(x, training=training)
        return self._logits(x)

    # ------------------------------------------------------------------ training

    def _unpack_text(self, data):
        return unpack_tokens(self, data, self.sequence_length)

    def _per_example_loss(self, logits, targets):
        cross_entropy = keras.losses.sparse_categorical_crossentropy(
            targets, logits, from_logits=True
        )
        return tf.reduce_mean(cross_entropy, axis=1)

    def train_step(self, data):
        inputs, targets = self._unpack_text(data)
        batch = distribution.BatchContext(inputs)
        step_guard, inputs, targets = guard_tokens(self, inputs, targets, self.sequence_length)
        with tf.GradientTape() as tape:
            per_example = self._per_example_loss(self(inputs, training=True), targets)
            scaled = self.optimizer.scale_loss(batch.mean(per_example))
        step_guard.require_finite("loss", per_example)
        step_guard.apply(
            self.optimizer,
            tape.gradient(scaled, self.trainable_variables),
            self.trainable_variables,
        )
        step_guard.finish(self)
        return self._logs(per_example, batch)

    def test_step(self, data):
        inputs, targets = self._unpack_text(data)
        per_example = self._per_example_loss(self(inputs, training=False), targets)
        return self._logs(per_example, distribution.BatchContext(inputs))

    def _logs(self, per_example, batch):
        self.track(self.loss_tracker, per_example, batch)
        self.track(self.bits_tracker, per_example / math.log(2.0), batch)
        logs = {m.name: m.result() for m in self.metrics}
        return distribution.logs_for_fit(logs, self.distribute_strategy)

    @property
    def metrics(self):
        return [self.loss_tracker, self.bits_tracker]

    def fit(self, x=None, y=None, *args, **kwargs):
        if isinstance(x, np.ndarray) and y is None:
            raise ValueError(
                f"{type(self).__name__}.fit needs targets: fit(inputs, targets) or "
                "a dataset of (inputs, targets). Received: y=None"
            )
        return super().fit(x, y, *args, **kwargs)

    def _check_arrays(self, x, y):
        if x.ndim != 2 or x.shape[1] > self.sequence_length:
            raise ValueError(
                f"`x` must hold token sequences of at most {self.sequence_length} "
                f"tokens. Received: x with shape {x.shape}"
            )
        for name, tokens in (("x", x), ("y", np.asarray(y))):
            if tokens.shape != x.shape or not np.issubdtype(tokens.dtype, np.integer):
                raise ValueError(
                    f"`{name}` must hold integer token ids of shape {x.shape}. "
                    f"Received: {name} of shape {tokens.shape} and dtype "
                    f"{tokens.dtype}"
                )
            if tokens.size and (tokens.min() < 0 or tokens.max() >= self.vocabulary_size):
                raise ValueError(
                    f"`{name}` must hold token ids in [0, vocabulary_size="
                    f"{self.vocabulary_size}). Received: {name} in "
                    f"[{tokens.min()}, {tokens.max()}]"
                )

    def training_seed_generators(self):
        """The dropout layers' seed generators, one per block (none with `dropout=0`)."""
        return [
            block.drop.seed_generator
            for block in self.blocks
            if getattr(block.drop, "seed_generator", None) is not None
        ]

    # ------------------------------------------------------------------ generation

    def generate(
        self,
        prompt,
        max_length=100,
        temperature=1.0,
        top_k=None,
        top_p=None,
        seed=None,
        use_cache=True,
    ):
        """Continues `prompt` by `max_length` tokens; returns prompt and continuation.

        Args:
            prompt: a str (encoded as UTF-8 bytes), bytes, or a list of token ids.
            max_length: tokens to add; prompt plus continuation must fit in
                `sequence_length`.
            temperature: divides the logits; 0 picks the most likely token (greedy).
            top_k: sample among the `top_k` most likely tokens only.
            top_p: sample among the smallest set of tokens whose probabilities
                add up to `top_p` (nucleus sampling, Holtzman et al. 2020).
            seed: int for reproducible text; None uses the saved seed generator.
            use_cache: keep each layer's keys and values instead of running the
                whole prefix again at every step (same tokens, faster).

        Returns:
            A str (bytes decoded as UTF-8, invalid bytes replaced) for a str
            prompt, else a list of token ids.
        """
        tokens, as_text = check_generation_arguments(
            self.vocabulary_size, prompt, max_length, temperature, top_k, top_p
        )
        total = len(tokens) + max_length
        if total > self.sequence_length:
            raise ValueError(
                f"The prompt ({len(tokens)} tokens) plus max_length must fit in "
                f"sequence_length={self.sequence_length}. Received: max_length={max_length}"
            )
        buffer = np.zeros((1, self.sequence_length), "int32")
        buffer[0, : len(tokens)] = tokens
        function = self._generate_function(bool(use_cache))
        out = function(
            tf.constant(buffer),
            tf.constant(len(tokens)),
            tf.constant(total),
            tf.cast(self.sampling_seed(seed), tf.int64),
            tf.constant(float(temperature)),
            tf.constant(top_k or 0),
            tf.constant(1.0 if top_p is None else float(top_p)),
        )
        generated = out.numpy()[0, :total].tolist()
        return bytes(generated).decode("utf-8", errors="replace") if as_text else generated

    def _generate_function(self, use_cache):
        cache = self._sample_function or {}
        if use_cache not in cache:

            @tf.function(
                input_signature=[
                    tf.TensorSpec([1, self.sequence_length], tf.int32),
                    tf.TensorSpec([], tf.int32),
                    tf.TensorSpec([], tf.int32),
                    tf.TensorSpec([2], tf.int64),
                    tf.TensorSpec([], tf.float32),
                    tf.TensorSpec([], tf.int32),
                    tf.TensorSpec([], tf.float32),
                ]
            )
            def run(tokens, prompt_length, total, seed, temperature, top_k, top_p):
                shape = (1, self.num_heads, self.sequence_length, self.hidden_dim // self.num_heads)
                caches = [tf.zeros(shape, self.compute_dtype) for _ in range(2 * self.num_layers)]

                def next_logits(tokens, position, caches):
                    if not use_cache:
                        return self(tokens, training=False)[0, position], caches
                    x = self._embed(tokens[:, position : position + 1], position[None, None])
                    updated = []
                    for i, block in enumerate(self.blocks):
                        x, keys, values = block.step(x, caches[2 * i], caches[2 * i + 1], position)
                        updated += [keys, values]
                    return self._logits(x)[0, 0], updated

                def body(position, tokens, caches):
                    logits, caches = next_logits(tokens, position, caches)
                    drawn = sample_token(
                        logits,
                        temperature,
                        top_k,
                        top_p,
                        tf.random.experimental.stateless_fold_in(seed, position),
                    )
                    keep = position + 1 < prompt_length
                    token = tf.where(keep, tokens[0, position + 1], drawn)
                    slot = tf.one_hot(position + 1, self.sequence_length, dtype=tf.int32)[None]
                    tokens = tokens * (1 - slot) + token * slot
                    return position + 1, tokens, caches

                _, tokens, _ = tf.while_loop(
                    lambda p, *_: p < total - 1, body, (tf.constant(0), tokens, caches)
                )
                return tokens

            cache[use_cache] = run
            self._sample_function = cache
        return self._sample_function[use_cache]

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "dropout": self.dropout,
                "seed": self.seed,
            }
        )
        return config


def unpack_tokens(model, data, max_length):
    """`(inputs, targets)` int32 of a language model's batch, checked where the trace can see.

    Float tokens, sample weights, a missing target, mismatched shapes and
    sequences longer than `max_length` raise ValueError while tracing; the
    token values are checked by `guard_tokens`.
    """
    inputs, targets, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    name = type(model).__name__
    if targets is None or sample_weight is not None:
        raise ValueError(
            f"{name} trains on (inputs, targets) token batches without sample "
            "weights, e.g. from keras_gen.data.load_text. Received: "
            f"{'targets=None' if targets is None else 'sample_weight'}"
        )
    for role, tokens in (("inputs", inputs), ("targets", targets)):
        if not tokens.dtype.is_integer:
            raise ValueError(
                f"{name} needs integer token ids. Received: {role} of dtype {tokens.dtype.name}"
            )
        length = tokens.shape[1] if tokens.shape.rank == 2 else "?"
        if tokens.shape.rank != 2 or (length is not None and length > max_length):
            raise ValueError(
                f"{name} needs {role} of shape (batch, length) with length <= "
                f"{max_length}. Received: {role} of shape {tuple(tokens.shape)}"
            )
    return tf.cast(inputs, "int32"), tf.cast(targets, "int32")


def guard_tokens(model, inputs, targets, max_length):
    """`(step_guard, inputs, targets)`: a step guard with the token-range and length checks.

    The tokens come back clipped into the vocabulary, so that the step
    computes (and then skips its update) instead of failing in a gather.
    """
    step_guard = guard.StepGuard(model.step_status)
    clipped = []
    for tokens in (inputs, targets):
        step_guard.require_in_range(tokens, 0, model.vocabulary_size, "tokens")
        clipped.append(tf.clip_by_value(tokens, 0, model.vocabulary_size - 1))
    if inputs.shape[1] is None:
        length = tf.shape(inputs)[1]
        step_guard.require(length <= max_length, "sequence_length", tf.fill([1], length))
        clipped = [tokens[:, :max_length] for tokens in clipped]
    return (step_guard, *clipped)


def set_size(model, vocabulary_size, num_layers, num_heads, hidden_dim, dropout):
    """Checks a language model's size arguments and sets them as attributes."""
    model.vocabulary_size = common.check_positive_int(vocabulary_size, "vocabulary_size", minimum=2)
    model.num_layers = common.check_positive_int(num_layers, "num_layers")
    model.num_heads = common.check_positive_int(num_heads, "num_heads")
    model.hidden_dim = common.check_positive_int(hidden_dim, "hidden_dim")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
    model.dropout = float(dropout)


def add_output_layers(model):
    """The final layer norm, the vocabulary head and the loss and bits-per-byte trackers."""
    model.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
    model.head = keras.layers.Dense(model.vocabulary_size, name="head")
    model.loss_tracker = keras.metrics.Mean(name="loss")
    model.bits_tracker = keras.metrics.Mean(name="bits_per_byte")


def check_generation_arguments(vocabulary_size, prompt, max_length, temperature, top_k, top_p):
    """`(token ids, whether the prompt was a str)`, after checking `generate`'s arguments."""
    as_text = isinstance(prompt, str)
    if not isinstance(prompt, (str, bytes, list, tuple, np.ndarray)):
        raise ValueError(
            f"`prompt` must be a str, bytes or a list of token ids. "
            f"Received: prompt={prompt!r:.80} of type {type(prompt).__name__}"
        )
    tokens = list(prompt.encode("utf-8") if as_text else prompt)
    if not tokens or not all(
        isinstance(t, (int, np.integer)) and 0 <= t < vocabulary_size for t in tokens
    ):
        raise ValueError(
            f"`prompt` must be a non-empty str, bytes or list of token ids in "
            f"[0, {vocabulary_size}). Received: prompt={prompt!r:.80}"
        )
    common.check_positive_int(max_length, "max_length")
    if float(temperature) < 0:
        raise ValueError(f"`temperature` must be >= 0. Received: temperature={temperature!r}")
    if top_k is not None:
        common.check_positive_int(top_k, "top_k")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise ValueError(f"`top_p` must be in (0, 1]. Received: top_p={top_p!r}")
    return tokens, as_text


def sample_token(logits, temperature, top_k, top_p, seed):
    """One token id from `(vocabulary,)` float32 logits: greedy at temperature 0, else sampled.

    `top_k` > 0 keeps the k largest logits; `top_p` < 1 keeps the smallest set
    of most likely tokens whose probabilities reach `top_p`.
    """
    greedy = tf.argmax(logits, output_type=tf.int32)
    scaled = logits / tf.maximum(temperature, 1e-6)
    vocabulary = tf.shape(scaled)[0]
    k = tf.where(top_k > 0, tf.minimum(top_k, vocabulary), vocabulary)
    kth = tf.math.top_k(scaled, k).values[-1]
    scaled = tf.where(scaled < kth, tf.cast(-1e9, scaled.dtype), scaled)
    order = tf.argsort(scaled, direction="DESCENDING")
    probabilities = tf.nn.softmax(tf.gather(scaled, order))
    before = tf.cumsum(probabilities, exclusive=True)
    # A token stays if the tokens more likely than it hold less than top_p.
    keep_sorted = before < top_p
    keep = tf.scatter_nd(order[:, None], keep_sorted, [vocabulary])
    scaled = tf.where(keep, scaled, tf.cast(-1e9, scaled.dtype))
    drawn = tf.random.stateless_categorical(scaled[None], 1, seed, dtype=tf.int32)[0, 0]
    return tf.where(temperature > 0, drawn, greedy)
