"""What the autoregressive language models (GPT, Transformer-XL) share.

Their size arguments, the output layers (final layer norm and vocabulary head),
the token batches and their guard, the cross-entropy logs, and `generate`: the
prompt checks, one token drawn per position (greedy, temperature, top-k,
nucleus) from a stateless seed folded with the position, and the loop that
writes the drawn tokens after the prompt.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gen.models import base, guard
from keras_gen.networks import common

#: `tf.function` input signature of the sampling arguments: seed, temperature, top_k, top_p.
SAMPLING_SIGNATURE = [
    tf.TensorSpec([2], tf.int64),
    tf.TensorSpec([], tf.float32),
    tf.TensorSpec([], tf.int32),
    tf.TensorSpec([], tf.float32),
]


class LanguageModel(base.GenerativeModel):
    """Base of keras_gen's language models over byte tokens, trained on next-token cross-entropy.

    The loss is the mean cross-entropy per token in nats, per example, summed
    and divided by the global batch, so N replicas take the same step as one
    device; `bits_per_byte` logs the same in bits. `data_shape` is
    `(longest training sequence,)`. A subclass builds its embeddings and
    blocks, then calls `make_output_layers`, and implements `generate_tokens`.

    Args:
        vocabulary_size: number of token ids (256 for bytes).
        num_layers: Transformer blocks.
        num_heads: attention heads per block.
        hidden_dim: model width.
        dropout: dropout rate (its noise comes from Keras' seed generators,
            not the model's stateless draws).
        seed: int seed of sampling.
        **kwargs: passed to `keras.Model`.
    """

    def __init__(
        self,
        vocabulary_size=256,
        num_layers=4,
        num_heads=4,
        hidden_dim=128,
        dropout=0.1,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.vocabulary_size = common.check_positive_int(
            vocabulary_size, "vocabulary_size", minimum=2
        )
        self.num_layers = common.check_positive_int(num_layers, "num_layers")
        self.num_heads = common.check_positive_int(num_heads, "num_heads")
        self.hidden_dim = common.check_positive_int(hidden_dim, "hidden_dim")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.bits_tracker = keras.metrics.Mean(name="bits_per_byte")

    def make_output_layers(self):
        """Creates the final layer norm and the vocabulary head (after the blocks, as before 0.2).

        Called by the subclass once its blocks exist: the layers' random
        initial weights are drawn in the order the layers are made.
        """
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.head = keras.layers.Dense(self.vocabulary_size, name="head")

    def build_output_layers(self):
        self.final_norm.build((None, None, self.hidden_dim))
        self.head.build((None, None, self.hidden_dim))

    def output_logits(self, x):
        """Next-token logits, float32, of the last block's output `x` `(..., hidden)`."""
        return tf.cast(self.head(self.final_norm(x)), "float32")

    # ------------------------------------------------------------------ training

    def unpack_tokens(self, data):
        """`(inputs, targets)` int32 of a batch, checked where the trace can see.

        Float tokens, sample weights, a missing target, mismatched shapes and
        sequences longer than `data_shape[0]` raise ValueError while tracing;
        the token values are checked by `guard_tokens`.
        """
        inputs, targets, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        name, max_length = type(self).__name__, self.data_shape[0]
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

    def guard_tokens(self, inputs, targets):
        """`(step_guard, inputs, targets)`: a step guard with the token-range and length checks.

        The tokens come back clipped into the vocabulary, so that the step
        computes (and then skips its update) instead of failing in a gather.
        """
        step_guard = guard.StepGuard(self.step_status)
        max_length = self.data_shape[0]
        clipped = []
        for tokens in (inputs, targets):
            step_guard.require_in_range(tokens, 0, self.vocabulary_size, "tokens")
            clipped.append(tf.clip_by_value(tokens, 0, self.vocabulary_size - 1))
        if inputs.shape[1] is None:
            length = tf.shape(inputs)[1]
            step_guard.require(length <= max_length, "sequence_length", tf.fill([1], length))
            clipped = [tokens[:, :max_length] for tokens in clipped]
        return (step_guard, *clipped)

    @staticmethod
    def token_losses(logits, targets):
        """Mean next-token cross-entropy of each example, in nats, shape `(batch,)`."""
        cross_entropy = keras.losses.sparse_categorical_crossentropy(
            targets, logits, from_logits=True
        )
        return tf.reduce_mean(cross_entropy, axis=1)

    def token_logs(self, per_example, batch):
        """Tracks the per-example loss in nats and in bits; returns the step's logs."""
        self.track(self.loss_tracker, per_example, batch)
        self.track(self.bits_tracker, per_example / math.log(2.0), batch)
        return self.step_logs()

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
        max_length = self.data_shape[0]
        if x.ndim != 2 or x.shape[1] > max_length:
            raise ValueError(
                f"`x` must hold token sequences of at most {max_length} "
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
        self, prompt, max_length=100, temperature=1.0, top_k=None, top_p=None, seed=None, **options
    ):
        """Continues `prompt` by `max_length` tokens; returns prompt and continuation.

        Args:
            prompt: a str (encoded as UTF-8 bytes), bytes, or a list of token ids.
            max_length: tokens to add.
            temperature: divides the logits; 0 picks the most likely token (greedy).
            top_k: sample among the `top_k` most likely tokens only.
            top_p: sample among the smallest set of tokens whose probabilities
                add up to `top_p` (nucleus sampling, Holtzman et al. 2020).
            seed: int for reproducible text; None uses the saved seed generator.
            **options: the model's own options (`generation_options`).

        Returns:
            A str (bytes decoded as UTF-8, invalid bytes replaced) for a str
            prompt, else a list of token ids.
        """
        tokens, as_text = self.check_generation_arguments(
            prompt, max_length, temperature, top_k, top_p
        )
        options = self.generation_options(len(tokens), max_length, **options)
        sampling = (
            tf.cast(self.sampling_seed(seed), tf.int64),
            tf.constant(float(temperature)),
            tf.constant(top_k or 0),
            tf.constant(1.0 if top_p is None else float(top_p)),
        )
        generated = self.generate_tokens(tokens, len(tokens) + max_length, sampling, options)
        return bytes(generated).decode("utf-8", errors="replace") if as_text else generated

    def check_generation_arguments(self, prompt, max_length, temperature, top_k, top_p):
        """`(token ids, whether the prompt was a str)`, after checking `generate`'s arguments."""
        as_text = isinstance(prompt, str)
        if not isinstance(prompt, (str, bytes, list, tuple, np.ndarray)):
            raise ValueError(
                f"`prompt` must be a str, bytes or a list of token ids. "
                f"Received: prompt={prompt!r:.80} of type {type(prompt).__name__}"
            )
        tokens = list(prompt.encode("utf-8") if as_text else prompt)
        if not tokens or not all(
            isinstance(t, (int, np.integer)) and 0 <= t < self.vocabulary_size for t in tokens
        ):
            raise ValueError(
                f"`prompt` must be a non-empty str, bytes or list of token ids in "
                f"[0, {self.vocabulary_size}). Received: prompt={prompt!r:.80}"
            )
        common.check_positive_int(max_length, "max_length")
        check_sampling(temperature, top_k, top_p)
        return tokens, as_text

    def generation_options(self, prompt_length, max_length, **options):
        """The checked extra options of `generate` as a dict; the default takes none.

        Raises:
            ValueError: naming an option the model does not take.
        """
        base.refuse_options(self, options)
        return {}

    def generate_tokens(self, tokens, total, sampling, options):
        """The hook behind `generate`: the prompt `tokens` continued to `total` ids, a list.

        Args:
            tokens: the prompt's token ids.
            total: prompt length plus `max_length`.
            sampling: `(seed, temperature, top_k, top_p)` tensors (`SAMPLING_SIGNATURE`).
            options: the dict `generation_options` returned.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `generate_tokens`.")

    def decode_loop(self, tokens, prompt_length, total, sampling, next_logits, state):
        """Fills `tokens` `(1, n)` from `prompt_length` to `total` one position at a time.

        Args:
            tokens: int32 `(1, n)`, the prompt in front, `n >= total`.
            prompt_length, total: int32 scalars.
            sampling: the `(seed, temperature, top_k, top_p)` tensors.
            next_logits: `fn(tokens, position, state) -> (logits (vocabulary,), state)`,
                the logits of the token after `position`.
            state: what `next_logits` carries from one position to the next (caches, memory).

        Returns:
            `tokens` with the continuation written after the prompt.
        """
        seed, temperature, top_k, top_p = sampling

        def body(position, tokens, state):
            logits, state = next_logits(tokens, position, state)
            drawn = sample_token(
                logits,
                temperature,
                top_k,
                top_p,
                tf.random.experimental.stateless_fold_in(seed, position),
            )
            token = tf.where(position + 1 < prompt_length, tokens[0, position + 1], drawn)
            slot = tf.one_hot(position + 1, tf.shape(tokens)[1], dtype=tf.int32)[None]
            return position + 1, tokens * (1 - slot) + token * slot, state

        _, tokens, _ = tf.while_loop(
            lambda position, *_: position < total - 1,
            body,
            (tf.constant(0), tokens, state),
            shape_invariants=(
                tf.TensorShape([]),
                tokens.shape,
                tf.nest.map_structure(lambda t: t.shape, state),
            ),
        )
        return tokens

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "dropout": self.dropout,
                "seed": self.seed,
            }
        )
        return config


def check_sampling(temperature, top_k, top_p):
    """Raises ValueError, naming the argument, for a sampling option `sample_token` cannot take."""
    if not float(temperature) >= 0:  # NaN too
        raise ValueError(f"`temperature` must be >= 0. Received: temperature={temperature!r}")
    if top_k is not None:
        common.check_positive_int(top_k, "top_k")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise ValueError(f"`top_p` must be in (0, 1]. Received: top_p={top_p!r}")


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
