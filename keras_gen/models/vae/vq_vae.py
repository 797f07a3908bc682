"""VQ-VAE: van den Oord, Vinyals & Kavukcuoglu 2017, arXiv:1711.00937."""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gen import networks
from keras_gen.losses import likelihoods
from keras_gen.models import base, ema
from keras_gen.networks import common
from keras_gen.utils import distribution

# Stream of the stateless draws of sampling from the prior, per position.
PRIOR_SAMPLING = 0


@keras.saving.register_keras_serializable(package="keras_gen")
class VQVAE(base.LatentGenerativeModel):
    """Vector-quantised VAE with an autoregressive prior over its codes.

    The encoder maps an image to a grid of vectors; each is replaced by its
    nearest codebook entry, and the decoder maps the grid of entries back.
    Gradients pass the quantisation straight through (`z_e + sg(z_q - z_e)`).
    The loss per example is

        reconstruction + mean((sg(z_e) - z_q)^2) + commitment_cost * mean((z_e - sg(z_q))^2)

    with `reconstruction` the mean squared error per dimension (the paper's
    choice, `likelihood="gaussian"`) or, with `likelihood="bernoulli"` for
    binary images, `-log p(x|z_q) / dimensions` with the decoder's outputs as
    Bernoulli logits;
    the codebook term is replaced by exponential moving averages of the
    assigned encoder outputs when `ema_decay` is set (the paper's appendix A.1).
    Logs: `loss`, `reconstruction`, `codebook` (without EMA), `commitment`,
    `perplexity` (exp of the entropy of the batch's code histogram) and `usage`
    (fraction of codes used in the batch), all over the global batch.

    A prior is needed to make new images: a small causal Transformer over the
    flattened code grid (`prior`) learns the codes the encoder assigns in the
    same `fit()`, on stop-gradient codes, so it does not change the
    autoencoder; its cross-entropy is logged as `prior_loss` (nats per code).
    `generate` samples codes from it position by position and decodes them.

    Args:
        encoder: a `keras.Model` image -> `(h, w, embedding_dim)`; built from
            `data_shape` if None.
        decoder: a `keras.Model` `(h, w, embedding_dim)` -> image.
        prior: a `keras.Model` tokens `(h * w,)` -> logits `(h * w, num_embeddings)`,
            token `num_embeddings` being the start token; built if None.
        num_embeddings: codebook size K.
        embedding_dim: size D of each code vector (read from the encoder if given).
        commitment_cost: beta of the commitment term (0.25 in the paper).
        likelihood: `"gaussian"` (squared error) or `"bernoulli"` (binary data;
            gives `log_likelihood_bound` a likelihood in nats).
        ema_decay: None for the codebook loss, or the decay of EMA codebook
            updates (0.99 in the paper).
        seed: int seed of every random draw.
        data_shape: image shape, to build default networks.
        **kwargs: passed to `keras.Model`.

    Example:
    ```python
    dataset, info = keras_gen.data.load("mnist5k", batch_size=64)
    model = keras_gen.models.VQVAE(data_shape=info.shape, num_embeddings=64, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(dataset, epochs=1)
    codes = model.encode_codes(next(iter(dataset))[:4])   # (4, 7, 7) int32
    samples = model.generate(16, seed=0)
    ```
    """

    nested_models = ("encoder", "decoder", "prior")

    def __init__(
        self,
        encoder=None,
        decoder=None,
        prior=None,
        num_embeddings=64,
        embedding_dim=None,
        commitment_cost=0.25,
        ema_decay=None,
        seed=None,
        data_shape=None,
        epsilon=1e-5,
        likelihood="gaussian",
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.likelihood = likelihoods.check_likelihood(likelihood)
        self.num_embeddings = common.check_positive_int(num_embeddings, "num_embeddings", minimum=2)
        if not float(commitment_cost) >= 0:
            raise ValueError(
                f"`commitment_cost` must be >= 0. Received: commitment_cost={commitment_cost!r}"
            )
        self.commitment_cost = float(commitment_cost)
        self.ema_decay = ema.check_decay(ema_decay)
        self.epsilon = float(epsilon)
        if base.builds_default_networks(self, data_shape, encoder=encoder, decoder=decoder):
            data_shape = common.check_data_shape(data_shape, ranks=(3,))
            embedding_dim = 32 if embedding_dim is None else embedding_dim
            encoder = networks.vq_encoder(data_shape, embedding_dim)
            decoder = networks.vq_decoder(tuple(encoder.outputs[0].shape[1:]), data_shape)
        self.encoder = encoder
        self.decoder = decoder
        self.grid_shape = tuple(encoder.outputs[0].shape[1:3])
        self.embedding_dim = encoder.outputs[0].shape[-1]
        if embedding_dim is not None and embedding_dim != self.embedding_dim:
            raise ValueError(
                f"`embedding_dim` does not match the encoder's {self.embedding_dim} "
                f"channels. Received: embedding_dim={embedding_dim!r}"
            )
        self.data_shape = tuple(encoder.inputs[0].shape[1:])
        if tuple(decoder.outputs[0].shape[1:]) != self.data_shape:
            raise ValueError(
                f"The decoder makes {tuple(decoder.outputs[0].shape[1:])} but the encoder "
                f"takes {self.data_shape}. Received: decoder={base.describe(decoder)}"
            )
        self.sequence_length = self.grid_shape[0] * self.grid_shape[1]
        if prior is None:
            prior = networks.code_transformer(self.num_embeddings, self.sequence_length)
        self.prior = prior
        self._make_codebook()
        names = ["loss", "reconstruction", "commitment", "perplexity", "usage", "prior_loss"]
        if self.ema_decay is None:
            names.insert(2, "codebook")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.built = True

    def _make_codebook(self):
        """The codebook `(K, D)`, and with `ema_decay` the moving averages that replace its loss."""
        # Uniform in +-sqrt(3 / K): unit fan-in variance scaling, as sonnet's VQ-VAE.
        limit = math.sqrt(3.0 / self.num_embeddings)
        shape = (self.num_embeddings, self.embedding_dim)
        self.codebook = self.add_weight(
            shape=shape,
            name="codebook",
            trainable=self.ema_decay is None,
            initializer=keras.initializers.RandomUniform(-limit, limit, seed=self.seed),
        )
        if self.ema_decay is not None:
            # Started as one assignment of each code to itself, so that codes no
            # encoder output picks keep their initial vectors instead of
            # collapsing to zero.
            self.ema_cluster_size = self.add_weight(
                shape=(self.num_embeddings,),
                initializer="ones",
                trainable=False,
                name="ema_cluster_size",
            )
            self.ema_embedding_sum = self.add_weight(
                shape=shape,
                trainable=False,
                name="ema_embedding_sum",
                initializer=keras.initializers.RandomUniform(-limit, limit, seed=self.seed),
            )

    # ------------------------------------------------------------------ quantisation

    def nearest_codes(self, encoded):
        """Nearest codebook entries of a grid of vectors.

        Returns:
            `(indices, quantized)`: int32 `(batch, h, w)` and float32 `(batch, h, w, D)`.
        """
        encoded = tf.cast(encoded, "float32")
        flat = tf.reshape(encoded, (-1, self.embedding_dim))
        # float32 also inside `call`, where mixed precision would autocast the read.
        codebook = tf.cast(tf.convert_to_tensor(self.codebook), "float32")
        distances = (
            tf.reduce_sum(tf.square(flat), 1, keepdims=True)
            - 2.0 * tf.matmul(flat, codebook, transpose_b=True)
            + tf.reduce_sum(tf.square(codebook), 1)[None]
        )
        indices = tf.reshape(
            tf.argmin(distances, axis=1, output_type=tf.int32), tf.shape(encoded)[:-1]
        )
        return indices, tf.gather(codebook, indices)

    def reconstruction_error(self, data, outputs):
        """Per-example reconstruction term: squared error or Bernoulli nats, per dimension."""
        if self.likelihood == "bernoulli":
            dimensions = float(np.prod(self.data_shape))
            return -likelihoods.bernoulli_log_likelihood(data, outputs) / dimensions
        return _mean_per_example(tf.square(outputs - tf.cast(data, "float32")))

    def data_mean(self, outputs):
        """Decoder outputs in data space ([-1, 1] for the Bernoulli likelihood)."""
        if self.likelihood == "bernoulli":
            return 2.0 * tf.sigmoid(outputs) - 1.0
        return outputs

    def log_likelihood_bound(self, data):
        """`log p(x|z_q(x)) + log p_prior(z_q(x))` per example, in nats (Bernoulli likelihood).

        The ELBO of a VQ-VAE: its posterior puts all its mass on the nearest
        codes, so the bound has no entropy term (van den Oord et al. 2017, section 3.2).
        """
        if self.likelihood != "bernoulli":
            raise ValueError(
                "log_likelihood_bound needs likelihood='bernoulli' (squared error "
                "is not a likelihood). Received: likelihood="
                f"{self.likelihood!r}"
            )
        indices, quantized = self.nearest_codes(self.encoder(data, training=False))
        outputs = tf.cast(self.decoder(quantized, training=False), "float32")
        targets, tokens = self._prior_tokens(indices)
        prior = -tf.reduce_sum(
            keras.losses.sparse_categorical_crossentropy(
                targets, tf.cast(self.prior(tokens, training=False), "float32"), from_logits=True
            ),
            axis=1,
        )
        return likelihoods.bernoulli_log_likelihood(data, outputs) + prior

    def _prior_tokens(self, indices):
        flat = tf.reshape(indices, (-1, self.sequence_length))
        start = tf.fill((tf.shape(flat)[0], 1), self.num_embeddings)
        return flat, tf.concat([start, flat[:, :-1]], axis=1)

    # ------------------------------------------------------------------ training

    def terms(self, x, training):
        """The per-example loss terms of a batch, its prior loss, code indices and encodings."""
        encoded = tf.cast(self.encoder(x, training=training), "float32")
        indices, quantized = self.nearest_codes(encoded)
        straight_through = encoded + tf.stop_gradient(quantized - encoded)
        reconstruction = tf.cast(self.decoder(straight_through, training=training), "float32")
        terms = {
            "reconstruction": self.reconstruction_error(x, reconstruction),
            "commitment": self.commitment_cost
            * _mean_per_example(tf.square(encoded - tf.stop_gradient(quantized))),
        }
        if self.ema_decay is None:
            terms["codebook"] = _mean_per_example(tf.square(tf.stop_gradient(encoded) - quantized))
        targets, tokens = self._prior_tokens(indices)
        prior_loss = tf.reduce_mean(
            keras.losses.sparse_categorical_crossentropy(
                targets, tf.cast(self.prior(tokens, training=training), "float32"), from_logits=True
            ),
            axis=1,
        )
        return terms, prior_loss, indices, encoded

    def train_step(self, data):
        x, _ = self.unpack(data)
        batch = distribution.BatchContext(x)
        step_guard, _ = self.guard_inputs(x, None)
        with tf.GradientTape() as tape:
            terms, prior_loss, indices, encoded = self.terms(x, training=True)
            per_example = tf.add_n(list(terms.values())) + prior_loss
            scaled = self.optimizer.scale_loss(batch.mean(per_example))
        variables = self.trainable_variables
        step_guard.require_finite("loss", per_example)
        step_guard.apply(self.optimizer, tape.gradient(scaled, variables), variables)
        one_hot = tf.one_hot(tf.reshape(indices, [-1]), self.num_embeddings)
        counts = _sum_over_replicas(tf.reduce_sum(one_hot, axis=0))
        if self.ema_decay is not None:
            flat = tf.reshape(encoded, (-1, self.embedding_dim))
            sums = _sum_over_replicas(tf.matmul(one_hot, flat, transpose_a=True))
            self._ema_update(counts, sums, step_guard.ok)
        step_guard.finish(self)
        return self._logs(terms, prior_loss, counts, batch)

    def test_step(self, data):
        x, _ = self.unpack(data)
        batch = distribution.BatchContext(x)
        self.guard_inputs(x, None)[0].finish(self, validation=True)
        terms, prior_loss, indices, _ = self.terms(x, training=False)
        counts = _sum_over_replicas(
            tf.reduce_sum(tf.one_hot(tf.reshape(indices, [-1]), self.num_embeddings), axis=0)
        )
        return self._logs(terms, prior_loss, counts, batch)

    def _logs(self, terms, prior_loss, counts, batch):
        for name, value in terms.items():
            self.track(self.trackers[name], value, batch)
        self.track(self.trackers["loss"], tf.add_n(list(terms.values())), batch)
        self.track(self.trackers["prior_loss"], prior_loss, batch)
        probabilities = counts / tf.maximum(tf.reduce_sum(counts), 1.0)
        entropy = -tf.reduce_sum(probabilities * tf.math.log(probabilities + 1e-10))
        # Batch-level statistics, identical on every replica after the all-reduce.
        self.trackers["perplexity"].update_state(tf.exp(entropy))
        self.trackers["usage"].update_state(tf.reduce_mean(tf.cast(counts > 0, "float32")))
        return self.step_logs()

    def _ema_update(self, counts, sums, ok):
        decay = self.ema_decay
        distribution.update_moving_average(
            [self.ema_cluster_size, self.ema_embedding_sum], [counts, sums], decay, ok=ok
        )
        size = tf.convert_to_tensor(self.ema_cluster_size)
        total = tf.reduce_sum(size)
        # Laplace smoothing keeps unused codes from dividing by zero.
        smoothed = (size + self.epsilon) / (total + self.num_embeddings * self.epsilon) * total
        codebook = tf.convert_to_tensor(self.ema_embedding_sum) / smoothed[:, None]
        distribution.update_moving_average([self.codebook], [codebook], 0.0, ok=ok)

    @property
    def metrics(self):
        return list(self.trackers.values())

    # ------------------------------------------------------------------ inference

    def encode_codes(self, images, batch_size=256):
        """Code indices of images, int32 numpy array `(n, h, w)`."""
        images = np.asarray(images, "float32")
        if tuple(images.shape[1:]) != self.data_shape:
            raise ValueError(
                f"`images` must have shape (n, *{self.data_shape}). "
                f"Received: images with shape {images.shape}"
            )
        return np.concatenate(
            [
                self.nearest_codes(self.encoder(images[i : i + batch_size], training=False))[
                    0
                ].numpy()
                for i in range(0, len(images), batch_size)
            ]
        )

    def decode_codes(self, indices):
        """Images of a grid of code indices `(n, h, w)`, float32."""
        return self.data_mean(
            tf.cast(self.decoder(tf.gather(self.codebook, indices), training=False), "float32")
        )

    def reconstruct(self, images, batch_size=256):
        """Images through encoder, quantisation and decoder."""
        codes = self.encode_codes(images, batch_size)
        return np.concatenate(
            [
                self.decode_codes(codes[i : i + batch_size]).numpy()
                for i in range(0, len(codes), batch_size)
            ]
        )

    def call(self, inputs, training=False):
        """Reconstructions of `inputs` through the nearest codes."""
        encoded = self.encoder(inputs, training=training)
        return self.data_mean(
            tf.cast(self.decoder(self.nearest_codes(encoded)[1], training=training), "float32")
        )

    def generate(self, num_samples, seed=None, labels=None, batch_size=None, *, temperature=1.0):
        """New images: codes drawn from the prior position by position, then decoded.

        Args:
            num_samples: number of images.
            seed: int for reproducible samples, or None (the saved seed generator).
            labels: must be None (the model is not conditional).
            batch_size: images per sampling loop (default: all, at most 256).
            temperature: divides the prior's logits (1.0: the learned distribution).

        Returns:
            Float32 numpy array `(num_samples, *data_shape)`.
        """
        return super().generate(num_samples, seed, labels, batch_size, temperature=temperature)

    def generation_options(self, temperature=1.0):
        """`{"temperature": t}`; raises ValueError unless `temperature` > 0."""
        if not float(temperature) > 0:
            raise ValueError(f"`temperature` must be > 0. Received: temperature={temperature!r}")
        return {"temperature": float(temperature)}

    def generate_batch(self, num_samples, seed, labels, options):
        """Codes drawn from the prior at `options["temperature"]`, decoded (compiled once)."""
        function = self.compiled_function("prior", self._prior_sampler)
        return function(tf.constant(num_samples), seed, tf.constant(options["temperature"]))

    def _prior_sampler(self):
        @tf.function(
            input_signature=[
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([2], tf.int64),
                tf.TensorSpec([], tf.float32),
            ]
        )
        def sample(size, seed, temperature):
            tokens = tf.fill((size, self.sequence_length), self.num_embeddings)
            codes = tf.zeros((size, self.sequence_length), tf.int32)
            for position in tf.range(self.sequence_length):
                inputs = tf.concat([tokens[:, :1], codes[:, :-1]], axis=1)
                logits = self.prior(inputs, training=False)[:, position] / temperature
                drawn = tf.random.stateless_categorical(
                    logits,
                    1,
                    tf.random.experimental.stateless_fold_in(seed, position),
                    dtype=tf.int32,
                )[:, 0]
                mask = tf.one_hot(position, self.sequence_length, dtype=tf.int32)[None]
                codes = codes * (1 - mask) + drawn[:, None] * mask
            grid = tf.reshape(codes, (size, *self.grid_shape))
            return self.decode_codes(grid)

        return sample

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_embeddings": self.num_embeddings,
                "embedding_dim": self.embedding_dim,
                "commitment_cost": self.commitment_cost,
                "ema_decay": self.ema_decay,
                "seed": self.seed,
                "epsilon": self.epsilon,
                "likelihood": self.likelihood,
            }
        )
        return config


def _mean_per_example(values):
    return tf.reduce_mean(values, axis=list(range(1, len(values.shape))))


def _sum_over_replicas(value):
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce("sum", value)
