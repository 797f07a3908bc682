"""A contrastive image-text model (CLIP, Radford et al. 2021, arXiv:2103.00020) trained with `fit()`."""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gen import networks
from keras_gen.data import captions as caption_data
from keras_gen.models import base
from keras_gen.models.multimodal import pairs
from keras_gen.networks import common, encoders
from keras_gen.utils import distribution

#: CLIP's cap on the learned logit scale (exp of the inverse temperature).
MAX_LOGIT_SCALE = 100.0


def _normalized(x):
    return tf.math.l2_normalize(tf.cast(x, "float32"), axis=-1)


def gather_replicas(x):
    """`x` of every replica concatenated along the batch, in replica order (x itself on one device).

    Differentiable: the gradient of each replica's slice is the sum of what
    every replica sends back for it, so the summed replica gradients are the
    gradient of the global loss.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return x
    return context.all_gather(x, axis=0)


def info_nce(
    image_embeddings,
    text_embeddings,
    all_images,
    all_texts,
    scale,
    offset,
    tokens=None,
    all_tokens=None,
):
    """Per-example symmetric InfoNCE of a replica's rows against the global batch.

    Example `i` (global index `offset + i`) contributes half the cross entropy
    of its image against every caption of the global batch plus half that of
    its caption against every image, the target being its own pair: the mean
    over the global batch is CLIP's loss.

    Args:
        image_embeddings, text_embeddings: this replica's normalized `(b, d)`.
        all_images, all_texts: the global batch's `(B, d)` (`gather_replicas`).
        scale: the logit scale (inverse temperature).
        offset: this replica's first row in the global batch.
        tokens, all_tokens: this replica's and the global batch's caption
            tokens: with them an image's best caption is correct when its tokens
            are the image's own (a batch can hold one caption twice), else
            only when it is the image's own pair.

    Returns:
        `(per_example_loss (b,), image_to_text_correct (b,))`.
    """
    targets = offset + tf.range(tf.shape(image_embeddings)[0], dtype=offset.dtype)
    image_logits = scale * tf.matmul(image_embeddings, all_texts, transpose_b=True)
    text_logits = scale * tf.matmul(text_embeddings, all_images, transpose_b=True)
    loss = 0.5 * (
        tf.nn.sparse_softmax_cross_entropy_with_logits(targets, image_logits)
        + tf.nn.sparse_softmax_cross_entropy_with_logits(targets, text_logits)
    )
    best = tf.argmax(image_logits, -1, output_type=offset.dtype)
    if tokens is None:
        return loss, tf.cast(tf.equal(best, targets), "float32")
    same = tf.reduce_all(tf.equal(tf.gather(all_tokens, best), tokens), axis=1)
    return loss, tf.cast(same, "float32")


@keras.saving.register_keras_serializable(package="keras_gen")
class ContrastiveImageText(pairs.TrainsOnPairs, base.GenerativeModel):
    """Image and text encoders trained to agree, with CLIP's symmetric InfoNCE loss.

    Each train step embeds the images and captions of the batch (the encoders'
    features, a linear projection to `embedding_dim`, L2-normalized), forms
    the similarities of every image with every caption of the *global* batch
    scaled by a learned inverse temperature (capped at 100, as CLIP caps it),
    and minimises the mean of the image-to-caption and caption-to-image cross
    entropies with each pair as its own target. Under `tf.distribute` the
    embeddings are gathered across the replicas, so every example's negatives
    are the whole global batch and N replicas take the update of one device.

    Trains on `(images, caption_tokens)` batches, e.g.
    `data.load("captioned_mnist5k")`: images in [-1, 1], captions int32 byte
    tokens padded with 0 (`keras_gen.data.captions`).

    Args:
        image_encoder: `keras.Model` `images -> (batch, features)`; built with
            `networks.image_encoder(data_shape)` if None.
        text_encoder: `keras.Model` `tokens (batch, length) -> (batch, length,
            features)`; built with `networks.text_encoder(caption_length)` if
            None. Its features are averaged over the non-padding tokens.
        embedding_dim: width of the shared embedding.
        temperature: initial temperature (CLIP: 0.07); learned.
        data_shape: image shape, for the default image encoder.
        caption_length: tokens per caption, for the default text encoder.
        seed: int seed (the model draws nothing at random in training; kept
            for the base class's seeded state and the config).
        **kwargs: passed to `keras.Model`.

    Example:
    ```python
    dataset, _ = keras_gen.data.load("captioned_mnist5k", batch_size=128)
    model = keras_gen.models.ContrastiveImageText(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(dataset, epochs=1)
    model.similarity(images, ["a bold 7 leaning right", "a thin 1 upright"])
    ```
    """

    nested_models = ("image_encoder", "text_encoder")
    #: XLA makes the float32 step faster on a CPU (1.26x, docs/benchmarks.md).
    xla_on_cpu = True

    def __init__(
        self,
        image_encoder=None,
        text_encoder=None,
        embedding_dim=64,
        temperature=0.07,
        data_shape=(28, 28, 1),
        caption_length=caption_data.CAPTION_LENGTH,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.embedding_dim = common.check_positive_int(embedding_dim, "embedding_dim")
        if not isinstance(temperature, (int, float)) or not 1.0 / MAX_LOGIT_SCALE <= temperature:
            raise ValueError(
                f"`temperature` must be a number >= {1.0 / MAX_LOGIT_SCALE}. "
                f"Received: temperature={temperature!r}"
            )
        self.temperature = float(temperature)
        if image_encoder is None:
            image_encoder = networks.image_encoder(data_shape)
        if text_encoder is None:
            text_encoder = encoders.text_encoder(caption_length)
        self.image_encoder, self.text_encoder = image_encoder, text_encoder
        pairs.check_image_encoder(image_encoder)
        if len(text_encoder.inputs) != 1 or len(text_encoder.outputs[0].shape) != 3:
            raise ValueError(
                "`text_encoder` must map tokens (batch, length) to (batch, length, features). "
                f"Received: text_encoder={base.describe(text_encoder)}"
            )
        self.data_shape = tuple(image_encoder.inputs[0].shape[1:])
        self.caption_length = int(text_encoder.inputs[0].shape[1])
        self.image_projection = keras.layers.Dense(
            self.embedding_dim, use_bias=False, name="image_projection"
        )
        self.text_projection = keras.layers.Dense(
            self.embedding_dim, use_bias=False, name="text_projection"
        )
        self.image_projection.build(image_encoder.outputs[0].shape)
        self.text_projection.build(text_encoder.outputs[0].shape[::2])
        self.logit_scale = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(math.log(1.0 / self.temperature)),
            name="log_inverse_temperature",
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="accuracy")
        self.built = True

    # ------------------------------------------------------------------ embeddings

    def embed_images(self, images, training=False):
        """Normalized float32 image embeddings `(batch, embedding_dim)` of a tensor batch."""
        return _normalized(self.image_projection(self.image_encoder(images, training=training)))

    def embed_tokens(self, tokens, training=False):
        """Normalized float32 caption embeddings `(batch, embedding_dim)` of token tensors.

        The text encoder's features are averaged over the tokens that are not padding.
        """
        features = tf.cast(self.text_encoder(tokens, training=training), "float32")
        valid = tf.cast(tf.not_equal(tokens, caption_data.PAD), "float32")[..., None]
        pooled = tf.reduce_sum(features * valid, 1) / tf.maximum(tf.reduce_sum(valid, 1), 1.0)
        return _normalized(self.text_projection(pooled))

    def scale(self):
        """The inverse temperature, `exp(log_inverse_temperature)` capped at 100."""
        return tf.exp(tf.minimum(self.logit_scale, math.log(MAX_LOGIT_SCALE)))

    # ------------------------------------------------------------------ training

    def _loss(self, images, tokens, training):
        batch = distribution.BatchContext(images)
        image_embeddings = self.embed_images(images, training=training)
        text_embeddings = self.embed_tokens(tokens, training=training)
        per_example, correct = info_nce(
            image_embeddings,
            text_embeddings,
            gather_replicas(image_embeddings),
            gather_replicas(text_embeddings),
            self.scale(),
            batch.offset,
            tokens,
            gather_replicas(tokens),
        )
        return batch, per_example, correct

    def _tracked_loss(self, images, tokens, training):
        batch, per_example, correct = self._loss(images, tokens, training)
        return (
            batch,
            per_example,
            [(self.loss_tracker, per_example), (self.accuracy_tracker, correct)],
        )

    def train_step(self, data):
        return pairs.train_step(self, data, self._tracked_loss)

    def test_step(self, data):
        images, tokens = pairs.guarded_validation_batch(self, data)
        batch, per_example, correct = self._loss(images, tokens, training=False)
        self.track(self.loss_tracker, per_example, batch)
        self.track(self.accuracy_tracker, correct, batch)
        return self.step_logs()

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    def training_seed_generators(self):
        return [
            layer.seed_generator
            for encoder in (self.image_encoder, self.text_encoder)
            for layer in encoder._flatten_layers()
            if isinstance(layer, keras.layers.Dropout)
            and getattr(layer, "seed_generator", None) is not None
        ]

    # ------------------------------------------------------------------ scoring

    def _tokens(self, captions):
        return pairs.caption_tokens(captions, self.caption_length, "captions")

    def _embed(self, key, embed, values, batch_size):
        function = self.compiled_function(
            key, lambda: tf.function(lambda x: embed(x, training=False), reduce_retracing=True)
        )
        parts = [
            np.asarray(function(tf.constant(values[i : i + batch_size])))
            for i in range(0, len(values), batch_size)
        ]
        return np.concatenate(parts)

    def encode_images(self, images, batch_size=256):
        """Normalized embeddings `(n, embedding_dim)` of images in [-1, 1] (numpy)."""
        images = np.asarray(images, "float32")
        if images.ndim == len(self.data_shape):
            images = images[None]
        if tuple(images.shape[1:]) != self.data_shape or len(images) == 0:
            raise ValueError(
                f"`images` must have shape (n, {', '.join(map(str, self.data_shape))}), n > 0. "
                f"Received: images with shape {images.shape}"
            )
        return self._embed("images", self.embed_images, images, batch_size)

    def encode_captions(self, captions, batch_size=256):
        """Normalized embeddings `(n, embedding_dim)` of caption strings or token arrays."""
        return self._embed("captions", self.embed_tokens, self._tokens(captions), batch_size)

    def similarity(self, images, captions):
        """Cosine similarities `(num_images, num_captions)` of every image with every caption."""
        return self.encode_images(images) @ self.encode_captions(captions).T

    def retrieval_accuracy(self, images, captions):
        """Share of images whose most similar caption, among the distinct `captions`, is their own.

        `captions[i]` is image `i`'s caption; the candidates are the distinct
        captions of the list, so identical captions of two images count as one.
        """
        texts = caption_data.decode_captions(self._tokens(captions))
        if len(texts) != len(np.asarray(images)):
            raise ValueError(
                f"`captions` must hold one caption per image ({len(np.asarray(images))}). "
                f"Received: {len(texts)} captions"
            )
        candidates = sorted(set(texts))
        best = np.argmax(self.similarity(images, candidates), axis=1)
        return float(np.mean([candidates[b] == t for b, t in zip(best, texts)]))

    def get_config(self):
        config = super().get_config()
        config.update(
            embedding_dim=self.embedding_dim,
            temperature=self.temperature,
            seed=self.seed,
        )
        return config
