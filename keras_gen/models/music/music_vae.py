"""MusicVAE: Roberts et al. 2018, "A Hierarchical Latent Vector Model for Learning
Long-Term Structure in Music", arXiv:1803.05428."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.data import music
from keras_gen.losses import likelihoods
from keras_gen.models.vae import vae
from keras_gen.networks import common, recurrent


@keras.saving.register_keras_serializable(package="keras_gen")
class MusicVAE(vae.VAE):
    """A VAE of piano-roll segments with a hierarchical recurrent decoder, and free bits.

    Trained with `fit()` on `keras_gen.data.load_music(representation="pianoroll")`
    windows: float32 `(frames, 88)` in {0, 1}, each key of each frame a
    Bernoulli given the latent. The objective is MusicVAE's,
    `-E_q[log p(x|z)] + beta * max(KL - free_bits, 0)` in nats per segment;
    `elbo` logs the true bound whatever `beta` and `free_bits` are.
    `keras_gen.metrics.log_likelihood(model, rolls, num_importance_samples=K)`
    is the held-out importance-weighted log-likelihood (divide by the frames
    for nats per frame). `generate` and `decode` return key probabilities in
    [0, 1]; `interpolate(a, b, steps)` decodes the line between two segments'
    posterior means.

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
    rolls = model.generate(4, seed=0) > 0.5
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

    def data_range(self):
        """[0, 1]: piano-roll keys, off or on."""
        return (0.0, 1.0)

    def log_likelihood_of(self, data, outputs):
        """`sum log p(key | z)` over the keys and frames of each segment (Bernoulli logits)."""
        return likelihoods.bernoulli_log_likelihood(2.0 * data - 1.0, outputs)

    def data_mean(self, outputs):
        """Key probabilities in [0, 1]."""
        return tf.sigmoid(outputs)

    def kl_penalty(self, kl):
        """Free bits: `max(KL - free_bits, 0)`, so the first `free_bits` nats cost nothing."""
        return tf.maximum(kl - self.free_bits, 0.0)

    def generate_pianorolls(self, num_samples, seed=None, threshold=0.5):
        """`num_samples` piano-rolls in {0, 1}: the decoded key probabilities at `threshold`."""
        return (np.asarray(self.generate(num_samples, seed=seed)) > threshold).astype("float32")

    def get_config(self):
        config = super().get_config()
        for name in ("likelihood", "num_classes"):
            config.pop(name, None)
        config.update(free_bits=self.free_bits, hidden_dim=self.hidden_dim, bars=self.bars)
        return config
