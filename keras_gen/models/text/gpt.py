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

        Arguments as for `LanguageModel.generate`; prompt plus continuation
        must fit in `sequence_length`, and:

        Args:
            use_cache: keep each layer's keys and values instead of running the
                whole prefix again at every step (same tokens, faster).
        """
        return super().generate(
            prompt, max_length, temperature, top_k, top_p, seed, use_cache=use_cache
        )

    def generation_options(self, prompt_length, max_length, use_cache=True):
        """`{"use_cache": bool}`; raises ValueError when the text would not fit the context."""
        if prompt_length + max_length > self.sequence_length:
            raise ValueError(
                f"The prompt ({prompt_length} tokens) plus max_length must fit in "
                f"sequence_length={self.sequence_length}. Received: max_length={max_length}"
            )
        return {"use_cache": bool(use_cache)}

    def generate_tokens(self, tokens, total, sampling, options):
        buffer = np.zeros((1, self.sequence_length), "int32")
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
        """
        heads = (1, self.num_heads, self.sequence_length, self.hidden_dim // self.num_heads)

        @tf.function(jit_compile=True, reduce_retracing=True)
        def cached_logits(token, position, caches):
            x = self._embed(token, position[None])  # (1, hidden): one position
            updated = []
            for i, block in enumerate(self.blocks):
                x, keys, values = block.step(x, caches[2 * i], caches[2 * i + 1], position)
                updated += [keys, values]
            return self.output_logits(x)[0], updated

        def next_logits(tokens, position, caches):
            if use_cache:
                return cached_logits(tokens[:, position], position, caches)
            return self(tokens, training=False)[0, position], caches

        @tf.function(
            input_signature=[
                tf.TensorSpec([1, self.sequence_length], tf.int32),
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

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config["sequence_length"] = self.sequence_length
        return config
