"""GPT: a causal Transformer language model (Radford et al. 2018, 2019) trained with `fit()`."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.models.text import language_model
from keras_gen.networks import common
from keras_gen.networks.transformer import TransformerBlock
from keras_gen.utils import distribution


@keras.saving.register_keras_serializable(package="keras_gen")
class GPT(language_model.LanguageModel):
    """Decoder-only Transformer over byte tokens, trained on next-token cross-entropy.

    `fit()` takes `(inputs, targets)` int32 batches of `sequence_length` tokens
    (`keras_gen.data.load_text`). The loss is the mean cross-entropy per token
    in nats, per example, summed and divided by the global batch, so N replicas
    take the same step as one device; `bits_per_byte` is the same in bits.
    `generate` continues a prompt with a key/value cache, compiled once; past
    `sequence_length` its window slides by half a window.

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
        super().__init__(
            vocabulary_size, num_layers, num_heads, hidden_dim, dropout, seed, **kwargs
        )
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
        self.make_output_layers()
        self.data_shape = (sequence_length,)
        self.build((None, sequence_length))

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        self.position_embedding.build((None, self.sequence_length))
        for block in self.blocks:
            block.build((None, None, self.hidden_dim))
        self.build_output_layers()
        self.built = True

    def _embed(self, tokens, positions):
        return self.token_embedding(tokens) + self.position_embedding(positions)

    def call(self, tokens, training=False):
        """Next-token logits `(batch, length, vocabulary_size)` of `tokens` `(batch, length)`."""
        tokens = tf.cast(tokens, "int32")
        x = self._embed(tokens, tf.range(tf.shape(tokens)[1])[None])
        for block in self.blocks:
            x = block(x, training=training)
        return self.output_logits(x)

    # ------------------------------------------------------------------ training

    def train_step(self, data):
        inputs, targets = self.unpack_tokens(data)
        batch = distribution.BatchContext(inputs)
        step_guard, inputs, targets = self.guard_tokens(inputs, targets)
        with tf.GradientTape() as tape:
            per_example = self.token_losses(self(inputs, training=True), targets)
            scaled = self.optimizer.scale_loss(batch.mean(per_example))
        step_guard.require_finite("loss", per_example)
        step_guard.apply(
            self.optimizer,
            tape.gradient(scaled, self.trainable_variables),
            self.trainable_variables,
        )
        step_guard.finish(self)
        return self.token_logs(per_example, batch)

    def test_step(self, data):
        inputs, targets = self.unpack_tokens(data)
        step_guard, inputs, targets = self.guard_tokens(inputs, targets)
        step_guard.finish(self, validation=True)
        per_example = self.token_losses(self(inputs, training=False), targets)
        return self.token_logs(per_example, distribution.BatchContext(inputs))

    # ------------------------------------------------------------------ generation

    def generate(
        self,
        prompt,
        max_length=100,
        temperature=1.0,
        top_k=None,
        top_p=None,
        seed=None,
        *,
        use_cache=True,
    ):
        """Continues `prompt` by `max_length` tokens; returns prompt and continuation.

        Arguments as for `LanguageModel.generate`. Text of any length: past
        `sequence_length` the window slides by half its length
        (`window_start`), so every token is drawn from the last
        `sequence_length // 2 + 1` to `sequence_length` tokens; the tokens
        inside the first window are those of a run that fits in it.

        Args:
            use_cache: keep each layer's keys and values instead of running the
                whole window again at every step (same tokens, faster).
        """
        return super().generate(
            prompt, max_length, temperature, top_k, top_p, seed, use_cache=use_cache
        )

    def generation_options(self, prompt_length, max_length, use_cache=True):
        """`{"use_cache": bool}`: GPT's own option of `generate`."""
        return {"use_cache": bool(use_cache)}

    @property
    def window_shift(self):
        """How far the generation window slides once it is full: half of `sequence_length`."""
        return max(1, self.sequence_length // 2)

    def generate_tokens(self, tokens, total, sampling, options):
        # At least one window long, so that the first window's tokens are computed as before.
        buffer = np.zeros((1, max(total, self.sequence_length)), "int32")
        buffer[0, : len(tokens)] = tokens
        use_cache = options["use_cache"]
        function = self.compiled_function(
            "cached" if use_cache else "uncached", lambda: self._decoder(use_cache)
        )
        out = function(tf.constant(buffer), tf.constant(len(tokens)), tf.constant(total), *sampling)
        return out.numpy()[0, :total].tolist()

    def _decoder(self, use_cache):
        """The compiled `generate` loop; with the cache, each position's network runs under XLA.

        The loop and the sampling stay in TensorFlow's executor, so tokens are
        drawn by the same kernels as without the cache; the network of one
        position (embedding, blocks, head: some 180 small ops) is one XLA
        cluster: on a CPU 3-4x faster per token than running those ops one by
        one (docs/benchmarks.md).

        Past `sequence_length` the window slides by `window_shift` tokens at a
        time. Learned absolute position embeddings make every cached key and
        value depend on its position, so a slid window cannot reuse them: the
        cache is filled again for the kept tokens in one XLA pass
        (`_cache_filler`), then decoding goes on with it. Sliding by one token
        would keep the context always full but cost a whole window's forward
        pass per token, what `use_cache=False` costs (19x the cached time per
        token at 256 positions, docs/benchmarks.md); sliding by half a window
        costs one pass over half a window per half window of tokens, and
        leaves every token at least half a window of context.
        """
        length, kept = self.sequence_length, self.sequence_length - self.window_shift
        heads = (1, self.num_heads, length, self.hidden_dim // self.num_heads)
        cached_logits, fill_cache = self._cached_step(), self._cache_filler(kept)

        def next_logits(tokens, position, caches):
            start = window_start(position, length, self.window_shift)
            local = position - start  # the position inside the window
            if not use_cache:
                return self(tokens[:, start : start + length], training=False)[0, local], caches
            if kept:
                caches = tf.cond(
                    (position >= length) & (local == kept),  # the window has just slid
                    lambda: fill_cache(tf.reshape(tokens[:, start:position], (1, kept)), caches),
                    lambda: caches,
                )
            return cached_logits(tokens[:, position], local, caches)

        @tf.function(
            input_signature=[
                tf.TensorSpec([1, None], tf.int32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.int32),
                *language_model.SAMPLING_SIGNATURE,
            ]
        )
        def run(tokens, prompt_length, total, seed, temperature, top_k, top_p):
            caches = [tf.zeros(heads, self.compute_dtype) for _ in range(2 * self.num_layers)]
            sampling = (seed, temperature, top_k, top_p)
            return self.decode_loop(tokens, prompt_length, total, sampling, next_logits, caches)

        return run

    def _cached_step(self):
        """`fn(token (1,), position, caches) -> (logits, caches)`: one position, under XLA."""

        @tf.function(jit_compile=True, reduce_retracing=True)
        def cached_logits(token, position, caches):
            x = self._embed(token, position[None])  # (1, hidden): one position
            updated = []
            for i, block in enumerate(self.blocks):
                x, keys, values = block.step(x, caches[2 * i], caches[2 * i + 1], position)
                updated += [keys, values]
            return self.output_logits(x)[0], updated

        return cached_logits

    def _cache_filler(self, kept):
        """`fn(tokens (1, kept), caches) -> caches`: their keys and values at positions 0 to kept - 1.

        The entries after them stay as they were; decoding writes each before
        it is read (a position sees only the positions up to itself).
        """

        @tf.function(jit_compile=True)
        def fill_cache(tokens, caches):
            x = self._embed(tokens, tf.range(kept)[None])  # (1, kept, hidden)
            updated = []
            for i, block in enumerate(self.blocks):
                _, keys, values = block.keys_values_queries(x)  # (1, heads, kept, head_dim)
                for new, old in ((keys, caches[2 * i]), (values, caches[2 * i + 1])):
                    updated.append(tf.concat([tf.cast(new, old.dtype), old[:, :, kept:]], axis=2))
                if i + 1 < len(self.blocks):
                    x = block(x, training=False)
            return updated

        return fill_cache

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config["sequence_length"] = self.sequence_length
        return config


def window_start(position, length, shift):
    """Where the generation window of `length` tokens starts when it ends at `position`.

    0 while `position < length`; then the window moves `shift` tokens at a time,
    each time `position` reaches its end: `shift * ((position - length) // shift + 1)`.
    Works on int32 tensors and on ints.
    """
    slid = shift * ((position - length) // shift + 1)
    if isinstance(position, int):
        return 0 if position < length else slid
    return tf.where(position < length, 0, slid)
