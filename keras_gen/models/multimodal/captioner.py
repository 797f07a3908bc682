"""Image-to-text: image features as the prefix of a GPT-style caption decoder (ClipCap-style)."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen import networks
from keras_gen.data import captions as caption_data
from keras_gen.models import base
from keras_gen.models.multimodal import pairs
from keras_gen.models.text import language_model
from keras_gen.networks import common, transformer
from keras_gen.networks.transformer import TransformerBlock
from keras_gen.utils import distribution

#: The begin-of-caption token, after the 256 bytes.
BOS = pairs.VOCABULARY_SIZE


def caption_mask(tokens):
    """1.0 for the tokens a caption's loss counts: every byte up to and including its first padding.

    The first padding token is the end of the caption, so the decoder learns where to stop.
    """
    pads_before = tf.cumsum(
        tf.cast(tf.equal(tokens, caption_data.PAD), tf.int32), axis=1, exclusive=True
    )
    return tf.cast(tf.equal(pads_before, 0), "float32")


@keras.saving.register_keras_serializable(package="keras_gen")
class ImageCaptioner(pairs.TrainsOnPairs, base.GenerativeModel):
    """Captions images: an image encoder's features, mapped to `prefix_length` vectors, prefix a causal decoder.

    As in ClipCap (Mokady et al. 2021, arXiv:2111.09734), the image is a
    prefix of learned vectors in front of the caption; unlike it, the image
    encoder and the decoder (GPT-2 pre-norm blocks, `TransformerBlock`) are
    small and trained together from scratch. The decoder reads `[prefix, BOS,
    c_0, ..., c_{L-2}]` and predicts `c_0, ..., c_{L-1}`; the loss is the mean
    cross entropy (nats per byte) of each caption's bytes up to and including
    its first padding token, which marks the caption's end.

    Trains on `(images, caption_tokens)` batches such as
    `data.load("captioned_mnist5k")`.

    Args:
        image_encoder: `keras.Model` `images -> (batch, features)`; built with
            `networks.image_encoder(data_shape)` if None.
        data_shape: image shape, for the default image encoder.
        caption_length: caption tokens (bytes, padded with 0).
        prefix_length: prefix vectors per image.
        num_layers, hidden_dim, num_heads, dropout: the decoder's size.
        seed: int seed of the sampling (and the base class's seeded state).
        **kwargs: passed to `keras.Model`.

    Example:
    ```python
    dataset, _ = keras_gen.data.load("captioned_mnist5k", batch_size=64)
    model = keras_gen.models.ImageCaptioner(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(dataset, epochs=5)
    model.generate(images[:4], temperature=0)  # ["a bold 7 leaning right", ...]
    ```
    """

    nested_models = ("image_encoder",)
    #: XLA makes the step faster on a CPU (1.44x float32, 1.25x bfloat16: docs/benchmarks.md).
    xla_on_cpu = True

    def __init__(
        self,
        image_encoder=None,
        data_shape=(28, 28, 1),
        caption_length=caption_data.CAPTION_LENGTH,
        prefix_length=4,
        num_layers=2,
        hidden_dim=64,
        num_heads=4,
        dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        if image_encoder is None:
            image_encoder = networks.image_encoder(data_shape)
        pairs.check_image_encoder(image_encoder)
        self.image_encoder = image_encoder
        self.data_shape = tuple(image_encoder.inputs[0].shape[1:])
        self.caption_length = common.check_positive_int(caption_length, "caption_length")
        self.prefix_length = common.check_positive_int(prefix_length, "prefix_length")
        self.num_layers = common.check_positive_int(num_layers, "num_layers")
        transformer.head_width(hidden_dim, num_heads)
        self.hidden_dim, self.num_heads, self.dropout = hidden_dim, num_heads, float(dropout)
        self.prefix = keras.layers.Dense(prefix_length * hidden_dim, name="prefix")
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size + 1, hidden_dim, name="token_embedding"
        )
        self.position_embedding = keras.layers.Embedding(
            prefix_length + self.caption_length, hidden_dim, name="position_embedding"
        )
        self.blocks = [
            TransformerBlock(hidden_dim, num_heads, dropout, name=f"block_{i}")
            for i in range(self.num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.head = keras.layers.Dense(self.vocabulary_size, name="head")
        sequence = (None, prefix_length + self.caption_length, hidden_dim)
        self.prefix.build(image_encoder.outputs[0].shape)
        self.token_embedding.build((None, self.caption_length))
        self.position_embedding.build((None, sequence[1]))
        for block in self.blocks:
            block.build(sequence)
        self.final_norm.build(sequence)
        self.head.build(sequence)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    # ------------------------------------------------------------------ the network

    def logits(self, images, inputs, training=False):
        """Float32 logits `(batch, caption_length, 256)` of the next byte after each input token.

        Args:
            images: `(batch, *data_shape)` in [-1, 1].
            inputs: int32 `(batch, caption_length)`, `[BOS, c_0, ..., c_{L-2}]`.
        """
        features = self.image_encoder(images, training=training)
        prefix = tf.reshape(self.prefix(features), (-1, self.prefix_length, self.hidden_dim))
        x = tf.concat([tf.cast(prefix, self.compute_dtype), self.token_embedding(inputs)], axis=1)
        x = x + self.position_embedding(tf.range(self.prefix_length + self.caption_length))[None]
        for block in self.blocks:
            x = block(x, training=training)
        x = self.final_norm(x[:, self.prefix_length :])
        return tf.cast(self.head(x), "float32")

    @staticmethod
    def shifted(tokens):
        """The decoder's inputs for targets `tokens`: `[BOS, tokens[:, :-1]]`."""
        return tf.concat([tf.fill([tf.shape(tokens)[0], 1], BOS), tokens[:, :-1]], axis=1)

    # ------------------------------------------------------------------ training

    def _per_example_loss(self, images, tokens, training):
        logits = self.logits(images, self.shifted(tokens), training=training)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tokens, logits)
        mask = caption_mask(tokens)
        return tf.reduce_sum(losses * mask, axis=1) / tf.reduce_sum(mask, axis=1)

    def _tracked_loss(self, images, tokens, training):
        batch = distribution.BatchContext(images)
        per_example = self._per_example_loss(images, tokens, training)
        return batch, per_example, [(self.loss_tracker, per_example)]

    def train_step(self, data):
        return pairs.train_step(self, data, self._tracked_loss)

    def test_step(self, data):
        images, tokens = pairs.guarded_validation_batch(self, data)
        batch = distribution.BatchContext(images)
        self.track(self.loss_tracker, self._per_example_loss(images, tokens, False), batch)
        return self.step_logs()

    @property
    def metrics(self):
        return [self.loss_tracker]

    def training_seed_generators(self):
        return [
            block.drop.seed_generator
            for block in self.blocks
            if getattr(block.drop, "seed_generator", None) is not None
        ]

    # ------------------------------------------------------------------ generation

    def generate(self, images, max_length=None, temperature=1.0, top_k=None, top_p=None, seed=None):
        """Captions `images`: one string per image, sampled byte by byte until the end token.

        Args:
            images: `(n, *data_shape)` in [-1, 1].
            max_length: most bytes per caption (default and at most `caption_length`).
            temperature: divides the logits; 0 picks the most likely byte (greedy).
            top_k: sample among the `top_k` most likely bytes.
            top_p: sample among the most likely bytes of total probability `top_p`.
            seed: int for reproducible captions; None uses the saved seed generator.

        Returns:
            A list of `n` strings.
        """
        images = np.asarray(images, "float32")
        if images.ndim != len(self.data_shape) + 1 or tuple(images.shape[1:]) != self.data_shape:
            raise ValueError(
                f"`images` must have shape (n, {', '.join(map(str, self.data_shape))}). "
                f"Received: images with shape {images.shape}"
            )
        if len(images) == 0:
            raise ValueError("`images` is empty. Received: images with shape (0, ...)")
        max_length = self.caption_length if max_length is None else max_length
        common.check_positive_int(max_length, "max_length")
        if max_length > self.caption_length:
            raise ValueError(
                f"`max_length` must be at most caption_length={self.caption_length}. "
                f"Received: max_length={max_length}"
            )
        language_model.check_sampling(temperature, top_k, top_p)
        run = self.compiled_function("captions", self._decoding_loop)
        tokens = run(
            tf.constant(images),
            tf.cast(self.sampling_seed(seed), tf.int64),
            tf.constant(float(temperature)),
            tf.constant(top_k or 0),
            tf.constant(1.0 if top_p is None else float(top_p)),
            tf.constant(max_length),
        )
        return caption_data.decode_captions(np.asarray(tokens))

    def _decoding_loop(self):
        length = self.caption_length

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, *self.data_shape], tf.float32),
                tf.TensorSpec([2], tf.int64),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.int32),
            ]
        )
        def run(images, seed, temperature, top_k, top_p, max_length):
            count = tf.shape(images)[0]
            rows = tf.range(count)

            def body(position, tokens):
                logits = self.logits(images, self.shifted(tokens))[:, position]
                step_seed = tf.random.experimental.stateless_fold_in(seed, position)
                seeds = tf.map_fn(
                    lambda row: tf.cast(
                        tf.random.experimental.stateless_fold_in(step_seed, row), tf.int64
                    ),
                    rows,
                    fn_output_signature=tf.TensorSpec([2], tf.int64),
                )
                drawn = tf.map_fn(
                    lambda args: language_model.sample_token(
                        args[0], temperature, top_k, top_p, args[1]
                    ),
                    (logits, seeds),
                    fn_output_signature=tf.int32,
                )
                # After the end token (padding) a caption stays ended.
                ended = tf.reduce_any(
                    tf.logical_and(tf.equal(tokens, caption_data.PAD), tf.range(length) < position),
                    axis=1,
                )
                drawn = tf.where(ended, caption_data.PAD, drawn)
                slot = tf.one_hot(position, length, dtype=tf.int32)[None]
                return position + 1, tokens * (1 - slot) + drawn[:, None] * slot

            tokens = tf.fill([count, length], BOS)
            _, tokens = tf.while_loop(
                lambda position, _: position < max_length, body, (tf.constant(0), tokens)
            )
            written = tf.range(length)[None] < max_length
            return tf.where(written, tokens, caption_data.PAD)

        return run

    def get_config(self):
        config = super().get_config()
        config.update(
            caption_length=self.caption_length,
            prefix_length=self.prefix_length,
            num_layers=self.num_layers,
            hidden_dim=self.hidden_dim,
            num_heads=self.num_heads,
            dropout=self.dropout,
            seed=self.seed,
        )
        return config
