"""The variational autoencoder: Kingma & Welling 2014, arXiv:1312.6114."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen import networks
from keras_gen.losses import likelihoods
from keras_gen.models import base
from keras_gen.networks import common
from keras_gen.utils import distribution

# Streams of the stateless draws (see `GenerativeModel.draw`).
POSTERIOR_NOISE = 0
VALIDATION_NOISE = 1


@keras.saving.register_keras_serializable(package="keras_gen")
class VAE(base.LatentGenerativeModel):
    """Variational autoencoder with a diagonal Gaussian posterior (Kingma & Welling 2014).

    Trained with `fit()` on the negative ELBO in nats per example,
    `-E_q[log p(x|z)] + beta * KL(q(z|x) || N(0, I))`, with one reparameterised
    sample of `z` per example and the KL term in closed form. The logs are
    `loss` (the objective), `reconstruction` (`-E_q[log p(x|z)]`), `kl` and
    `elbo` (with beta = 1, whatever `beta` is). Sums are divided by the global
    batch size, so under `tf.distribute` N replicas take the same step as one
    device, and the posterior noise is drawn for the global batch from a
    stateless seed (model `seed`, optimizer step) and sliced per replica.

    Args:
        encoder: a `keras.Model` mapping data (and labels, when conditional) to
            `2 * latent_dim` numbers: the posterior mean, then its log-variance.
            Built from `data_shape` if None.
        decoder: a `keras.Model` mapping latents (and labels) to one number per
            data dimension: Bernoulli logits or Gaussian means. Built from
            `data_shape` if None.
        latent_dim: size of the latent vector (default: read from the decoder,
            else 16).
        likelihood: `"bernoulli"` (data in [-1, 1] read as probabilities
            `(x + 1) / 2`; a probability of the data when they are binary) or
            `"gaussian"` (mean from the decoder, one learned standard deviation
            shared by all dimensions, `log_scale`).
        beta: weight of the KL term; `beta > 1` is the beta-VAE of Higgins et
            al. 2017.
        beta_warmup_steps: raise the KL weight linearly from 0 to `beta` over
            this many optimizer steps (0: no warm-up).
        seed: int seed of every random draw of training and sampling. The
            default networks' initial weights come from Keras' initializers,
            seeded by `keras.utils.set_random_seed` (call it first for a
            reproducible run).
        data_shape: shape of one sample, to build default networks (the
            convolutional pair for images, the MLP pair otherwise).
        num_classes: number of classes of a conditional model.
        **kwargs: passed to `keras.Model`.

    Example:
    ```python
    dataset, info = keras_gen.data.load("mnist5k", batch_size=64, binarize=True)
    vae = keras_gen.models.VAE(data_shape=info.shape, latent_dim=16, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(dataset, epochs=1)
    samples = vae.generate(16, seed=0)
    ```
    """

    nested_models = ("encoder", "decoder")

    def __init__(
        self,
        encoder=None,
        decoder=None,
        latent_dim=None,
        likelihood="bernoulli",
        beta=1.0,
        beta_warmup_steps=0,
        seed=None,
        data_shape=None,
        num_classes=None,
        **kwargs,
    ):
        super().__init__(seed=seed, num_classes=num_classes, **kwargs)
        self.likelihood = likelihoods.check_likelihood(likelihood)
        if not float(beta) >= 0:
            raise ValueError(f"`beta` must be >= 0. Received: beta={beta!r}")
        self.beta = float(beta)
        self.beta_warmup_steps = common.check_positive_int(
            beta_warmup_steps, "beta_warmup_steps", minimum=0
        )
        if base.builds_default_networks(self, data_shape, encoder=encoder, decoder=decoder):
            data_shape = common.check_data_shape(data_shape, ranks=(1, 2, 3))
            latent_dim = 16 if latent_dim is None else latent_dim
            common.check_positive_int(latent_dim, "latent_dim")
            encoder, decoder = self.build_networks(latent_dim, data_shape)
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim, self.data_shape = self._check_networks(latent_dim)
        # One standard deviation for every dimension of a Gaussian decoder
        # (exp(-1) ~ 0.37 at the start), learned with the networks.
        self.log_scale = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(-1.0),
            name="log_scale",
            trainable=self.likelihood == "gaussian",
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        self.built = True

    def build_networks(self, latent_dim, data_shape):
        """Default `(encoder, decoder)`: the convolutional pair for images, else the MLP pair."""
        labels = {"num_classes": self.num_classes} if self.conditional else {}
        if len(data_shape) == 3 and data_shape[0] % 4 == 0 and data_shape[1] % 4 == 0:
            return (
                networks.conv_encoder(data_shape, latent_dim, **labels),
                networks.conv_decoder(latent_dim, data_shape, **labels),
            )
        return (
            networks.mlp_encoder(data_shape, latent_dim, **labels),
            networks.mlp_decoder(latent_dim, data_shape, **labels),
        )

    def _check_networks(self, latent_dim):
        expected = 2 if self.conditional else 1
        for role, network in (("encoder", self.encoder), ("decoder", self.decoder)):
            if not getattr(network, "inputs", None):
                raise ValueError(
                    f"`{role}` must be a built model with known inputs. "
                    f"Received: {role}={base.describe(network)}"
                )
            if len(network.inputs) != expected:
                raise ValueError(
                    f"{type(self).__name__} needs an {role} with {expected} input(s). "
                    f"Received: {role} with inputs {[tuple(i.shape) for i in network.inputs]}"
                )
        decoder_latent = self.decoder.inputs[0].shape[-1]
        latent_dim = decoder_latent if latent_dim is None else latent_dim
        posterior = self.encoder.outputs[0].shape[-1]
        if decoder_latent != latent_dim or posterior != 2 * latent_dim:
            raise ValueError(
                f"The encoder must output 2 * latent_dim numbers (mean and log-variance) and "
                f"the decoder take latent_dim. Received: latent_dim={latent_dim}, encoder "
                f"output {posterior}, decoder input {decoder_latent}"
            )
        data_shape = tuple(self.encoder.inputs[0].shape[1:])
        decoded = tuple(self.decoder.outputs[0].shape[1:])
        if decoded != data_shape:
            raise ValueError(
                f"The decoder makes outputs of shape {decoded} but the encoder takes "
                f"{data_shape}. Received: decoder output {decoded}, encoder input {data_shape}"
            )
        return latent_dim, data_shape

    # ------------------------------------------------------------------ pieces

    def _inputs(self, x, labels):
        return [x, labels] if self.conditional else x

    def posterior(self, data, labels=None, training=False):
        """`(mean, log_variance)` of q(z|x), float32, each `(batch, latent_dim)`."""
        outputs = tf.cast(self.encoder(self._inputs(data, labels), training=training), "float32")
        return outputs[:, : self.latent_dim], outputs[:, self.latent_dim :]

    def decoder_outputs(self, latents, labels=None, training=False):
        """Raw decoder outputs (logits or means), float32, shape `(batch, *data_shape)`."""
        return tf.cast(self.decoder(self._inputs(latents, labels), training=training), "float32")

    def likelihood_outputs(self, latents, labels, data, training=False):
        """The decoder outputs that score `data` given `latents` (the hook of an autoregressive
        decoder, which reads the data it scores): `decoder_outputs(latents, labels)`."""
        del data
        return self.decoder_outputs(latents, labels, training=training)

    def log_likelihood_of(self, data, outputs):
        """`log p(x|z)` per example from the decoder's outputs (the likelihood hook)."""
        if self.likelihood == "bernoulli":
            return likelihoods.bernoulli_log_likelihood(data, outputs)
        return likelihoods.gaussian_log_likelihood(data, outputs, self.log_scale)

    def data_mean(self, outputs):
        """The likelihood's mean in data space ([-1, 1] for the Bernoulli likelihood)."""
        if self.likelihood == "bernoulli":
            return 2.0 * tf.sigmoid(outputs) - 1.0
        return outputs

    def data_range(self):
        """[-1, 1] for the Bernoulli likelihood (read as probabilities), else any range."""
        return (-1.0, 1.0) if self.likelihood == "bernoulli" else None

    def kl_weight(self):
        """`beta`, ramped linearly over `beta_warmup_steps` optimizer steps."""
        if not self.beta_warmup_steps:
            return tf.constant(self.beta, "float32")
        progress = tf.cast(self.optimizer.iterations, "float32") / self.beta_warmup_steps
        return self.beta * tf.minimum(progress, 1.0)

    def kl_penalty(self, kl):
        """What the objective charges for a KL of `kl` nats (the hook of free bits): `kl`."""
        return kl

    def terms(self, data, labels, noise, training):
        """Per-example `(reconstruction, kl)`: `-log p(x|z)` at `z = mean + std * noise`, and the KL."""
        mean, log_variance = self.posterior(data, labels, training=training)
        latents = mean + tf.exp(0.5 * log_variance) * noise
        outputs = self.likelihood_outputs(latents, labels, data, training=training)
        reconstruction = -self.log_likelihood_of(data, outputs)
        return reconstruction, likelihoods.gaussian_kl(mean, log_variance)

    def call(self, inputs, training=False):
        """Reconstructions (likelihood means) of `inputs` (or `[inputs, labels]`) through the posterior mean."""
        data, labels = (inputs[0], inputs[1]) if self.conditional else (inputs, None)
        mean, _ = self.posterior(data, labels, training=training)
        return self.data_mean(self.decoder_outputs(mean, labels, training=training))

    # ------------------------------------------------------------------ training

    def _noise(self, stream):
        return self.draw(
            stream, lambda n, seed: tf.random.stateless_normal((n, self.latent_dim), seed=seed)
        )

    def train_step(self, data):
        x, labels = self.unpack(data)
        batch = distribution.BatchContext(x)
        step_guard, labels = self.guard_inputs(x, labels)
        self.begin_step(batch, tf.identity(self.optimizer.iterations))
        noise = self._noise(POSTERIOR_NOISE)
        kl_weight = self.kl_weight()
        with tf.GradientTape() as tape:
            reconstruction, kl = self.terms(x, labels, noise, training=True)
            per_example = reconstruction + kl_weight * self.kl_penalty(kl)
            scaled = self.optimizer.scale_loss(batch.mean(per_example))
        variables = self.trainable_variables
        step_guard.require_finite("loss", per_example)
        step_guard.apply(self.optimizer, tape.gradient(scaled, variables), variables)
        step_guard.finish(self)
        return self._logs(per_example, reconstruction, kl, batch)

    def test_step(self, data):
        x, labels = self.unpack(data)
        batch = distribution.BatchContext(x)
        step_guard, labels = self.guard_inputs(x, labels)
        step_guard.finish(self, validation=True)
        self.begin_step(batch, tf.identity(self.optimizer.iterations))
        reconstruction, kl = self.terms(x, labels, self._noise(VALIDATION_NOISE), training=False)
        per_example = reconstruction + self.kl_weight() * self.kl_penalty(kl)
        return self._logs(per_example, reconstruction, kl, batch)

    def _logs(self, per_example, reconstruction, kl, batch):
        self.track(self.loss_tracker, per_example, batch)
        self.track(self.reconstruction_tracker, reconstruction, batch)
        self.track(self.kl_tracker, kl, batch)
        self.track(self.elbo_tracker, -(reconstruction + kl), batch)
        return self.step_logs()

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker, self.elbo_tracker]

    # ------------------------------------------------------------------ inference

    def _batched(self, function, arrays, batch_size):
        size = len(arrays[0])
        outputs = [
            function(*[a[i : i + batch_size] for a in arrays]) for i in range(0, size, batch_size)
        ]
        if isinstance(outputs[0], tuple):
            return tuple(np.concatenate([o[k] for o in outputs]) for k in range(len(outputs[0])))
        return np.concatenate(outputs)

    def _host_inputs(self, data, labels):
        data = np.asarray(data, "float32")
        if tuple(data.shape[1:]) != self.data_shape:
            raise ValueError(
                f"`data` must hold samples of shape {self.data_shape}. "
                f"Received: data with shape {data.shape}"
            )
        if self.conditional:
            if labels is None:
                raise ValueError(
                    f"{type(self).__name__} is conditional: pass `labels`. Received: labels=None"
                )
            return [data, self.check_labels(labels, "labels", len(data))]
        if labels is not None:
            raise ValueError(f"{type(self).__name__} is not conditional. Received: labels")
        return [data]

    def encode_moments(self, data, labels=None, batch_size=256):
        """Posterior `(mean, log_variance)` of each sample, numpy arrays `(n, latent_dim)`."""

        def run(*args):
            mean, log_variance = self.posterior(*args)
            return mean.numpy(), log_variance.numpy()

        return self._batched(run, self._host_inputs(data, labels), batch_size)

    def decode(self, latents, labels=None, batch_size=256):
        """Likelihood means of latents `(n, latent_dim)`: samples in data space."""
        latents = np.asarray(latents, "float32")
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise ValueError(
                f"`latents` must have shape (n, {self.latent_dim}). "
                f"Received: latents with shape {latents.shape}"
            )
        arrays = [latents]
        if self.conditional:
            arrays.append(self.check_labels(labels, "labels", len(latents)))
        return self._batched(lambda *a: self.samples_from_latents(*a).numpy(), arrays, batch_size)

    def reconstruct(self, data, labels=None, batch_size=256):
        """Decodes each sample's posterior mean: reconstructions in data space."""
        mean, _ = self.encode_moments(data, labels, batch_size)
        return self.decode(mean, labels, batch_size)

    def samples_from_latents(self, latents, labels=None):
        return self.data_mean(self.decoder_outputs(latents, labels))

    def interpolate(self, start, end, steps=8, labels=None):
        """Decodes `steps` points on the line between the posterior means of two samples.

        Args:
            start, end: one sample each, shape `data_shape`.
            steps: points including both ends (>= 2).
            labels: for a conditional model, the label of both samples (an int)
                or a pair `(start_label, end_label)`: each end is encoded with
                its own label and the path is decoded with `start_label`.

        Returns:
            `(steps, *data_shape)` decoded images.
        """
        common.check_positive_int(steps, "steps", minimum=2)
        pair = np.stack([np.asarray(start, "float32"), np.asarray(end, "float32")])
        pair_labels = path_labels = None
        if labels is not None:
            pair_labels = np.resize(np.asarray(labels, "int64"), 2)
            path_labels = np.full(steps, pair_labels[0])
        mean, _ = self.encode_moments(pair, pair_labels)
        weights = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
        path = (1 - weights) * mean[0] + weights * mean[1]
        return self.decode(path, path_labels)

    # ------------------------------------------------------------------ evaluation

    def importance_log_weights(self, data, labels, num_samples, seed):
        """`log p(x, z_k) - log q(z_k|x)` for `num_samples` posterior draws per example.

        The terms of the importance-weighted bound (Burda et al. 2016), shape
        `(batch, num_samples)`, float32, for a batch of tensors.
        """
        mean, log_variance = self.posterior(data, labels)
        batch = tf.shape(mean)[0]
        noise = tf.random.stateless_normal((num_samples, batch, self.latent_dim), seed=seed)
        latents = mean + tf.exp(0.5 * log_variance) * noise  # (k, batch, latent)
        flat = tf.reshape(latents, (-1, self.latent_dim))
        repeat = (
            lambda t: tf.reshape(  # noqa: E731
                tf.tile(t[None], [num_samples] + [1] * len(t.shape)),
                tf.concat([[-1], tf.shape(t)[1:]], 0),
            )
        )
        repeated = repeat(data)
        outputs = self.likelihood_outputs(
            flat, None if labels is None else repeat(labels), repeated
        )
        log_px = tf.reshape(self.log_likelihood_of(repeated, outputs), (num_samples, batch))
        log_pz = likelihoods.standard_normal_log_density(latents)
        log_qz = likelihoods.diagonal_gaussian_log_density(latents, mean, log_variance)
        return tf.transpose(log_px + log_pz - log_qz)

    # ------------------------------------------------------------------ saving

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "latent_dim": self.latent_dim,
                "likelihood": self.likelihood,
                "beta": self.beta,
                "beta_warmup_steps": self.beta_warmup_steps,
                "seed": self.seed,
                "num_classes": self.num_classes,
            }
        )
        return config
