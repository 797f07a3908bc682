"""MusicVAE: Roberts et al. 2018, "A Hierarchical Latent Vector Model for Learning
Long-Term Structure in Music", arXiv:1803.05428."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.data import music
from keras_gen.losses import likelihoods
from keras_gen.models import base
from keras_gen.models.vae import vae
from keras_gen.networks import common, recurrent


@keras.saving.register_keras_serializable(package="keras_gen")
class MusicVAE(vae.VAE):
    """A VAE of piano-roll segments with a hierarchical recurrent decoder, and free bits.

    Trained with `fit()` on `keras_gen.data.load_music(representation="pianoroll")`
    windows: float32 `(frames, 88)` in {0, 1}, each key of each frame a
    Bernoulli given the latent. The objective is MusicVAE's,
    `-E_q[log p(x|z)] + beta * max(KL - free_bits, 0)` in nats per segment;
    `elbo` logs the true bound whatever `beta` and `free_bits` are. The
    decoder is autoregressive over frames (`networks.hierarchical_decoder`),
    so `keras_gen.metrics.log_likelihood(model, rolls, num_importance_samples=K)`
    is the held-out importance-weighted log-likelihood of whole segments
    (divide by the frames for nats per frame). `generate` samples piano-rolls
    in {0, 1} frame by frame; `decode` and `interpolate(a, b, steps)` (the
    line between two segments' posterior means) write the likelier value of
    every key instead.

    Args:
        encoder, decoder: as for `VAE`; built from `data_shape` if None
            (`networks.recurrent_encoder`, `networks.hierarchical_decoder`).
        latent_dim: size of the latent (default 64).
        beta: weight of the KL term.
        beta_warmup_steps: optimizer steps over which the KL weight rises from 0.
        free_bits: nats of KL per segment left unpenalised (MusicVAE's tau).
        hidden_dim: LSTM units of the default networks.
        bars: bars of the default decoder's conductor.
        seed: int seed of every random draw of training and sampling.
        data_shape: `(frames, 88)` of one segment.
        **kwargs: passed to `keras.Model`.

    Example:
    ```python
    dataset, info = keras_gen.data.load_music("bach_chorales", sequence_length=64)
    model = keras_gen.models.MusicVAE(data_shape=info.shape, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(dataset, epochs=1)
    rolls = model.generate_pianorolls(4, seed=0)
    ```
    """

    def __init__(
        self,
        encoder=None,
        decoder=None,
        latent_dim=None,
        beta=1.0,
        beta_warmup_steps=0,
        free_bits=0.0,
        hidden_dim=256,
        bars=4,
        seed=None,
        data_shape=(64, music.NUM_KEYS),
        **kwargs,
    ):
        kwargs.pop("likelihood", None)  # a saved config carries it; always Bernoulli
        kwargs.pop("num_classes", None)
        if not float(free_bits) >= 0:
            raise ValueError(f"`free_bits` must be >= 0. Received: free_bits={free_bits!r}")
        self.free_bits = float(free_bits)
        self.hidden_dim = common.check_positive_int(hidden_dim, "hidden_dim")
        self.bars = common.check_positive_int(bars, "bars")
        super().__init__(
            encoder=encoder,
            decoder=decoder,
            latent_dim=64 if latent_dim is None and decoder is None else latent_dim,
            likelihood="bernoulli",
            beta=beta,
            beta_warmup_steps=beta_warmup_steps,
            seed=seed,
            data_shape=None if encoder is not None else data_shape,
            **kwargs,
        )

    def build_networks(self, latent_dim, data_shape):
        """`(networks.recurrent_encoder, networks.hierarchical_decoder)` of `data_shape`."""
        return (
            recurrent.recurrent_encoder(data_shape, latent_dim, self.hidden_dim),
            recurrent.hierarchical_decoder(latent_dim, data_shape, self.bars, self.hidden_dim),
        )

    def _check_networks(self, latent_dim):
        """The encoder maps frames to `2 * latent_dim`; the decoder `[latents, frames]` to logits."""
        decoder = self.decoder
        names = ("conductor_input", "conductor", "bar_embedding", "bar_state", "bar_decoder")
        layers = {layer.name for layer in getattr(decoder, "layers", [])}
        if len(getattr(decoder, "inputs", None) or []) != 2 or not set(names) <= layers:
            raise ValueError(
                "`decoder` must map [latents, frames] to logits with the layers of "
                f"networks.hierarchical_decoder ({', '.join(names)}, key_logits). "
                f"Received: decoder={base.describe(decoder)}"
            )
        latent_dim = decoder.inputs[0].shape[-1] if latent_dim is None else latent_dim
        frames = tuple(self.encoder.inputs[0].shape[1:])
        if (
            self.encoder.outputs[0].shape[-1] != 2 * latent_dim
            or tuple(decoder.outputs[0].shape[1:]) != frames
            or tuple(decoder.inputs[1].shape[1:]) != frames
        ):
            raise ValueError(
                "The encoder must map frames to 2 * latent_dim numbers and the decoder "
                "[latents, frames] to logits of the frames' shape. Received: encoder "
                f"{tuple(self.encoder.inputs[0].shape[1:])} -> {self.encoder.outputs[0].shape[-1]}, "
                f"decoder -> {tuple(decoder.outputs[0].shape[1:])}, latent_dim={latent_dim}"
            )
        self.bars = decoder.get_layer("repeat_bars").n if "repeat_bars" in layers else self.bars
        return latent_dim, frames

    def data_range(self):
        """[0, 1]: piano-roll keys, off or on."""
        return (0.0, 1.0)

    def likelihood_outputs(self, latents, labels, data, training=False):
        """Logits of each frame given the latent and the frames before it (teacher forcing)."""
        del labels
        return tf.cast(self.decoder([latents, data], training=training), "float32")

    def decoder_outputs(self, latents, labels=None, training=False):
        """Refused: the decoder reads the frames before each frame (`likelihood_outputs`, `autoregress`)."""
        raise ValueError(
            "MusicVAE's decoder is autoregressive: score frames with likelihood_outputs(latents, "
            "None, frames) and write them with autoregress(latents). Received: latents alone"
        )

    def log_likelihood_of(self, data, outputs):
        """`sum log p(key | z, frames before)` over the keys and frames of each segment."""
        return likelihoods.bernoulli_log_likelihood(2.0 * data - 1.0, outputs)

    def data_mean(self, outputs):
        """Key probabilities in [0, 1]."""
        return tf.sigmoid(outputs)

    def kl_penalty(self, kl):
        """Free bits: `max(KL - free_bits, 0)`, so the first `free_bits` nats cost nothing."""
        return tf.maximum(kl - self.free_bits, 0.0)

    def call(self, inputs, training=False):
        """Key probabilities of each frame of `inputs` given the frames before and the posterior mean."""
        mean, _ = self.posterior(inputs, training=training)
        return self.data_mean(self.likelihood_outputs(mean, None, inputs, training=training))

    # ------------------------------------------------------------------ sampling

    def autoregress(self, latents, thresholds=None, temperature=1.0):
        """Piano-rolls written one frame at a time by the decoder's layers, float32 in {0, 1}.

        Args:
            latents: `(batch, latent_dim)`.
            thresholds: `(batch, frames, keys)` in [0, 1): a key is on where its
                probability exceeds its threshold (uniform noise: a sample of
                the model); None: 0.5 (the likelier value of every key).
            temperature: divides the key logits (below 1: fewer unlikely keys).
        """
        layer = self.decoder.get_layer
        frames, keys = self.data_shape
        per_bar = frames // self.bars
        z = layer("conductor_input")(latents)
        embedding = layer("bar_embedding")(
            layer("conductor")(keras.ops.repeat(z[:, None], self.bars, 1))
        )
        cell = layer("bar_decoder").cell
        hidden = cell.units
        previous = tf.zeros((tf.shape(latents)[0], keys), embedding.dtype)
        written = []
        for bar in range(self.bars):
            bar_embedding = embedding[:, bar]
            state = layer("bar_state")(bar_embedding)
            states = [state[:, :hidden], state[:, hidden:]]
            for _ in range(per_bar):
                output, states = cell(tf.concat([bar_embedding, previous], -1), states)
                logits = tf.cast(layer("key_logits")(output), "float32")
                probability = tf.sigmoid(logits / temperature)
                limit = 0.5 if thresholds is None else thresholds[:, len(written)]
                written.append(tf.cast(probability > limit, "float32"))
                previous = tf.cast(written[-1], embedding.dtype)
        return tf.stack(written, axis=1)

    def samples_from_latents(self, latents, labels=None):
        """The likelier piano-roll of each latent, frame by frame (`decode`, `interpolate`)."""
        del labels
        return self.autoregress(latents)

    def generation_options(self, temperature=1.0, **options):
        """`temperature` of the keys' Bernoullis: 1 samples the model, 0 takes the likelier value."""
        base.refuse_options(self, options)
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, (int, float))
            or not (temperature >= 0)
        ):
            raise ValueError(
                f"`temperature` must be a number >= 0. Received: temperature={temperature!r}"
            )
        return {"temperature": float(temperature)}

    def generate_batch(self, num_samples, seed, labels, options):
        """Latents from the prior and keys drawn from their Bernoullis, frame by frame."""
        latents = self.sample_latents(num_samples, seed)
        if options["temperature"] == 0:
            return self.compiled_function("likelier_frames", self._latent_sampler)(latents)
        thresholds = tf.random.stateless_uniform(
            (num_samples, *self.data_shape),
            seed=tf.random.experimental.stateless_fold_in(seed, 1),
        )
        function = self.compiled_function(
            "sampled_frames",
            lambda: tf.function(
                self.autoregress,
                input_signature=[
                    tf.TensorSpec((None, self.latent_dim), "float32"),
                    tf.TensorSpec((None, *self.data_shape), "float32"),
                    tf.TensorSpec((), "float32"),
                ],
            ),
        )
        return function(latents, thresholds, tf.constant(options["temperature"]))

    def generate_pianorolls(self, num_samples, seed=None, temperature=1.0):
        """`num_samples` piano-rolls `(frames, 88)` in {0, 1} (numpy), keys drawn at `temperature`."""
        return np.asarray(self.generate(num_samples, seed=seed, temperature=temperature), "float32")

    def get_config(self):
        config = super().get_config()
        for name in ("likelihood", "num_classes"):
            config.pop(name, None)
        config.update(free_bits=self.free_bits, hidden_dim=self.hidden_dim, bars=self.bars)
        return config
