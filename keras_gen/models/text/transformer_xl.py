"""Transformer-XL: segment-level recurrence with relative positions (Dai et al. 2019, arXiv:1901.02860)."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.models.text import language_model
from keras_gen.networks import common
from keras_gen.networks.transformer_xl import TransformerXLBlock
from keras_gen.utils import distribution


class ResetMemory(keras.callbacks.Callback):
    """Empties a Transformer-XL's memory when an epoch starts."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.reset_memory()


@keras.saving.register_keras_serializable(package="keras_gen")
class TransformerXL(language_model.LanguageModel):
    """Language model whose context reaches past its segment through a memory of hidden states.

    Trained with `fit()` on `keras_gen.data.load_text(..., consecutive=True)`:
    row `b` of each batch continues row `b` of the previous one, so the memory
    (each layer's inputs of the last `memory_length` positions, without
    gradient) carries context across batches. The memory lives in per-replica
    variables (each replica keeps the rows it trains on) and is emptied when
    an epoch or an evaluation starts. Attention uses relative positions
    (`TransformerXLBlock`). The loss is the mean next-token cross-entropy per
    example, summed and divided by the global batch; logs `loss` (nats per
    byte) and `bits_per_byte`.

    Args:
        vocabulary_size: number of token ids (256 for bytes).
        segment_length: tokens per training segment.
        memory_length: positions kept in memory (0: no memory).
        num_layers, num_heads, hidden_dim, dropout: the Transformer's size.
        use_memory: False switches the memory off (same network, context of
            one segment), for comparisons.
        seed: int seed of sampling.
        **kwargs: passed to `keras.Model`.
    """

    def __init__(
        self,
        vocabulary_size=256,
        segment_length=64,
        memory_length=64,
        num_layers=4,
        num_heads=4,
        hidden_dim=128,
        dropout=0.1,
        use_memory=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            vocabulary_size, num_layers, num_heads, hidden_dim, dropout, seed, **kwargs
        )
        self.segment_length = common.check_positive_int(segment_length, "segment_length")
        self.memory_length = common.check_positive_int(memory_length, "memory_length", minimum=0)
        self.use_memory = bool(use_memory)
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, name="token_embedding"
        )
        self.blocks = [
            TransformerXLBlock(hidden_dim, num_heads, dropout, name=f"block_{i}")
            for i in range(num_layers)
        ]
        self.make_output_layers()
        self.data_shape = (segment_length,)
        # A plain object: the memory variables in it are state of a run, not of the model file.
        self.memory = Memory()
        self.build((None, segment_length))

    @property
    def active_memory_length(self):
        return self.memory_length if self.use_memory else 0

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        for block in self.blocks:
            block.build((None, None, self.hidden_dim))
        self.build_output_layers()
        self.built = True

    def forward(self, tokens, memory, memory_valid, training=False, update_memory=True):
        """`(logits, new_memory)` of a segment given `memory` `(layers, batch, M, d)`.

        With `update_memory=False` the memory comes back as given (for
        `call`, whose input may be shorter than the memory).
        """
        x = self.token_embedding(tf.cast(tokens, "int32"))
        keep = self.active_memory_length if update_memory else 0
        new_memory = []
        for layer, block in enumerate(self.blocks):
            if keep:
                context = tf.concat([tf.cast(memory[layer], x.dtype), x], axis=1)
                recent = tf.ensure_shape(context[:, -keep:], [None, keep, self.hidden_dim])
                new_memory.append(tf.stop_gradient(tf.cast(recent, "float32")))
            x = block(x, memory[layer], memory_valid, training=training)
        logits = self.output_logits(x)
        if not keep:
            return logits, memory
        return logits, tf.stack(new_memory)

    def call(self, tokens, training=False):
        """Logits of `tokens` `(batch, length)` with an empty memory."""
        batch = tf.shape(tokens)[0]
        empty = tf.zeros((self.num_layers, batch, 0, self.hidden_dim))
        return self.forward(tokens, empty, tf.constant(0), training, update_memory=False)[0]

    # ------------------------------------------------------------------ memory

    def _create_memory(self, global_batch):
        replicas = self.distribute_strategy.num_replicas_in_sync
        if global_batch % replicas:
            raise ValueError(
                f"The batch size must divide among the {replicas} replicas. "
                f"Received: batch size {global_batch}"
            )
        shape = (
            self.num_layers,
            global_batch // replicas,
            self.active_memory_length,
            self.hidden_dim,
        )
        if self.memory.states is not None and tuple(self.memory.states.shape) == shape:
            return
        with self.distribute_strategy.scope():
            self.memory.create(shape)

    def reset_memory(self):
        """Empties the memory before the next segment (done at each epoch and evaluation start)."""
        if self.memory.reset is not None:
            self.memory.reset.assign(1)

    def read_memory(self):
        """`(states, valid)`: the memory `(layers, batch, M, d)` and how many positions hold context."""
        memory = self.memory
        keep = tf.cast(1 - memory.reset.read_value(), tf.float32)
        return memory.states.read_value() * keep, memory.valid.read_value() * tf.cast(
            keep, tf.int32
        )

    def _write_memory(self, new_states, valid, step_guard=None):
        memory = self.memory
        new_valid = tf.minimum(valid + self.segment_length, self.active_memory_length)
        new_reset = tf.constant(0, memory.reset.dtype)
        if step_guard is not None:  # a skipped step leaves the memory as it was
            new_states = step_guard.select(new_states, memory.states.read_value())
            new_valid = step_guard.select(new_valid, memory.valid.read_value())
            new_reset = step_guard.select(new_reset, memory.reset.read_value())
        memory.states.assign(new_states)
        memory.valid.assign(new_valid)
        memory.reset.assign(new_reset)

    # ------------------------------------------------------------------ training

    def _step(self, data, training):
        inputs, targets = self.unpack_tokens(data)
        batch = distribution.BatchContext(inputs)
        # Validation is guarded too: XLA would clamp a bad id into a wrong loss.
        step_guard, inputs, targets = self.guard_tokens(inputs, targets)
        memory, valid = self.read_memory()
        with tf.GradientTape() as tape:
            logits, new_memory = self.forward(inputs, memory, valid, training=training)
            per_example = self.token_losses(logits, targets)
            scaled = self.optimizer.scale_loss(batch.mean(per_example))
        if training:
            step_guard.require_finite("loss", per_example)
            step_guard.apply(
                self.optimizer,
                tape.gradient(scaled, self.trainable_variables),
                self.trainable_variables,
            )
        if self.active_memory_length:
            self._write_memory(new_memory, valid, step_guard)
        step_guard.finish(self, validation=not training)
        return self.token_logs(per_example, batch)

    def train_step(self, data):
        return self._step(data, training=True)

    def test_step(self, data):
        return self._step(data, training=False)

    def _prepare(self, x, kwargs):
        if not isinstance(x, tf.data.Dataset):
            raise ValueError(
                "TransformerXL reads consecutive segments: pass a dataset from "
                "keras_gen.data.load_text(..., consecutive=True). Received: x of type "
                f"{type(x).__name__}"
            )
        batch = x.element_spec[0].shape[0]
        if batch is None:
            raise ValueError(
                "The dataset's batch size must be static (load_text(..., "
                "consecutive=True) gives one). Received: batch size None"
            )
        validation = kwargs.get("validation_data")
        if isinstance(validation, tf.data.Dataset) and validation.element_spec[0].shape[0] != batch:
            raise ValueError(
                "Validation segments must come in batches of the training batch size, which "
                f"the memory is shaped for ({batch}). Received: validation batch size "
                f"{validation.element_spec[0].shape[0]}"
            )
        self._create_memory(int(batch))

    def fit(self, x=None, y=None, *args, **kwargs):
        self._prepare(x, kwargs)
        kwargs.setdefault("shuffle", False)
        kwargs["callbacks"] = [ResetMemory(), *(kwargs.get("callbacks") or [])]
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        # Also the validation inside fit(), whose next epoch empties the memory again.
        self._prepare(x, kwargs)
        self.reset_memory()
        return super().evaluate(x, y, *args, **kwargs)

    # ------------------------------------------------------------------ generation

    def generate(self, prompt, max_length=100, temperature=1.0, top_k=None, top_p=None, seed=None):
        """Continues `prompt` by `max_length` tokens, one position at a time on the memory.

        Each new token attends to itself and the memory of the last
        `memory_length` positions (with the memory switched off, to itself
        only), so the text can be longer than a segment. Arguments as for
        `LanguageModel.generate`; returns a str for a str prompt, else token ids.
        """
        return super().generate(prompt, max_length, temperature, top_k, top_p, seed)

    def generate_tokens(self, tokens, total, sampling, options):
        buffer = np.zeros((1, total), "int32")
        buffer[0, : len(tokens)] = tokens
        function = self.compiled_function("memory", self._decoder)
        out = function(tf.constant(buffer), tf.constant(len(tokens)), tf.constant(total), *sampling)
        return out.numpy()[0].tolist()

    def _decoder(self):
        keep = self.active_memory_length

        def next_logits(tokens, position, state):
            memory, valid = state
            logits, memory = self.forward(tokens[:, position : position + 1], memory, valid)
            return logits[0, 0], (memory, tf.minimum(valid + 1, keep))

        @tf.function(
            input_signature=[
                tf.TensorSpec([1, None], tf.int32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.int32),
                *language_model.SAMPLING_SIGNATURE,
            ]
        )
        def run(tokens, prompt_length, total, seed, temperature, top_k, top_p):
            state = (tf.zeros((self.num_layers, 1, keep, self.hidden_dim)), tf.constant(0))
            sampling = (seed, temperature, top_k, top_p)
            return self.decode_loop(tokens, prompt_length, total, sampling, next_logits, state)

        return run

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "segment_length": self.segment_length,
                "memory_length": self.memory_length,
                "use_memory": self.use_memory,
            }
        )
        return config


class Memory:
    """A Transformer-XL's memory: the per-replica states, their valid length and a reset flag.

    A plain object, so that Keras and TensorFlow track none of its variables:
    the memory is state of a run, not of the saved model. The variables are
    made by `TransformerXL.fit` once the batch size is known.
    """

    def __init__(self):
        self.states = self.valid = self.reset = None

    def create(self, shape):
        """Makes the variables for a memory of `shape` (called in the strategy's scope)."""
        # Per replica (ON_READ): each replica remembers the rows it trains on.
        per_replica = dict(
            trainable=False,
            synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.NONE,
        )
        self.states = tf.Variable(tf.zeros(shape), name="memory", **per_replica)
        self.valid = tf.Variable(0, name="memory_valid", **per_replica)
        self.reset = tf.Variable(
            1,
            trainable=False,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            name="memory_reset",
        )
