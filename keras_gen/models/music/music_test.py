import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import metrics, testing
from keras_gen.data import music
from keras_gen.losses import likelihoods
from keras_gen.models import MusicTransformerXL, MusicVAE

FRAMES = 8


def _rolls(n=8, seed=0):
    """Piano-rolls of `n` short segments: a held triad that moves each half."""
    rng = np.random.RandomState(seed)
    rolls = np.zeros((n, FRAMES, music.NUM_KEYS), "float32")
    for i in range(n):
        for half in range(2):
            root = 30 + rng.randint(0, 12)
            rolls[i, half * 4 : half * 4 + 4, [root, root + 4, root + 7]] = 1.0
    return rolls


def _vae(optimizer=None, **kwargs):
    keras.utils.set_random_seed(0)  # the same initial weights every time
    model = MusicVAE(
        data_shape=(FRAMES, music.NUM_KEYS), latent_dim=4, hidden_dim=8, bars=2, seed=0, **kwargs
    )
    model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-2))
    return model


def test_objective_is_bernoulli_keys_plus_kl_above_the_free_bits():
    model = _vae(free_bits=2.0)
    x = tf.constant(_rolls(4))
    noise = tf.random.stateless_normal((4, 4), seed=[1, 2])
    reconstruction, kl = model.terms(x, None, noise, training=False)
    mean, log_variance = model.posterior(x)
    logits = model.likelihood_outputs(mean + tf.exp(0.5 * log_variance) * noise, None, x)
    p = tf.sigmoid(logits).numpy().astype("float64")
    direct = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2))
    np.testing.assert_allclose(reconstruction, direct, rtol=1e-4)
    np.testing.assert_allclose(kl, likelihoods.gaussian_kl(mean, log_variance), rtol=1e-6)
    np.testing.assert_allclose(model.kl_penalty(kl), np.maximum(kl - 2.0, 0.0), rtol=1e-6)
    assert model.data_range() == (0.0, 1.0)
    assert float(tf.reduce_min(model.data_mean(logits))) >= 0.0


def test_the_decoder_is_causal_and_frame_by_frame_sampling_agrees_with_it():
    model = _vae()
    latents = tf.random.stateless_normal((3, 4), seed=[0, 1])
    frames = tf.constant(_rolls(3))
    changed = tf.concat([frames[:, :5], 1.0 - frames[:, 5:]], axis=1)
    # Frame t's logits read frames before t only.
    np.testing.assert_allclose(
        model.likelihood_outputs(latents, None, changed)[:, :6],
        model.likelihood_outputs(latents, None, frames)[:, :6],
        atol=1e-6,
    )
    # The likelier roll written frame by frame is what the parallel decoder, fed that
    # roll, finds likelier at every key: the two graphs compute the same model.
    written = model.autoregress(latents)
    probabilities = tf.sigmoid(model.likelihood_outputs(latents, None, written))
    np.testing.assert_array_equal(written, tf.cast(probabilities > 0.5, "float32"))
    thresholds = tf.random.stateless_uniform((3, FRAMES, 88), seed=[2, 3])
    for temperature in (1.0, 0.5):
        sampled = model.autoregress(latents, thresholds, temperature)
        logits = model.likelihood_outputs(latents, None, sampled)
        expected = tf.cast(tf.sigmoid(logits / temperature) > thresholds, "float32")
        np.testing.assert_array_equal(sampled, expected)


def test_importance_weights_are_log_p_x_z_plus_log_p_z_minus_log_q():
    model = _vae()
    x = tf.constant(_rolls(2))
    seed = tf.constant([3, 4], "int64")
    weights = model.importance_log_weights(x, None, 3, seed).numpy()
    mean, log_variance = model.posterior(x)
    noise = tf.random.stateless_normal((3, 2, 4), seed=seed)
    for k in range(3):
        z = mean + tf.exp(0.5 * log_variance) * noise[k]
        log_px = model.log_likelihood_of(x, model.likelihood_outputs(z, None, x))
        log_pz = likelihoods.standard_normal_log_density(z)
        log_qz = likelihoods.diagonal_gaussian_log_density(z, mean, log_variance)
        np.testing.assert_allclose(weights[:, k], log_px + log_pz - log_qz, rtol=1e-5)
    with pytest.raises(ValueError, match="autoregressive"):
        model.decoder_outputs(mean)


def test_learns_segments_and_interpolates():
    rolls = _rolls(8)
    model = _vae()
    before = metrics.log_likelihood(model, rolls, num_importance_samples=8)
    model.fit(rolls, batch_size=8, epochs=60, verbose=0)
    after = metrics.log_likelihood(model, rolls, num_importance_samples=8)
    assert after > before + 100  # nats per segment of 8 x 88 keys
    path = model.interpolate(rolls[0], rolls[1], steps=3)
    assert path.shape == (3, FRAMES, music.NUM_KEYS)
    np.testing.assert_array_equal(path[0], model.reconstruct(rolls[:1])[0])
    sampled = model.generate_pianorolls(2, seed=0)
    assert set(np.unique(sampled)) <= {0.0, 1.0}
    np.testing.assert_array_equal(sampled, model.generate_pianorolls(2, seed=0))
    greedy = model.generate_pianorolls(2, seed=0, temperature=0)
    seed = tf.random.experimental.stateless_fold_in(tf.cast(model.sampling_seed(0), "int64"), 0)
    np.testing.assert_array_equal(greedy, model.autoregress(model.sample_latents(2, seed)))
    with pytest.raises(ValueError, match="temperature"):
        model.generate_pianorolls(1, temperature=-1)


def test_two_replicas_equal_one_device():
    rolls = _rolls(8)
    testing.assert_replicas_match_one_device(
        lambda: _vae(optimizer=keras.optimizers.SGD(0.1), free_bits=1.0),
        lambda model: model.fit(rolls, batch_size=8, epochs=1, verbose=0),
    )


def test_save_load_continues_training(tmp_path):
    rolls = _rolls(8)
    model = _vae(free_bits=1.0, beta_warmup_steps=10)

    def train(m):
        m.fit(rolls, batch_size=4, epochs=1, verbose=0, shuffle=False)

    train(model)
    loaded = testing.assert_save_load_continues_training(model, train, tmp_path)
    assert (loaded.free_bits, loaded.bars, loaded.hidden_dim) == (1.0, 2, 8)


def test_bad_input_is_named():
    model = _vae()
    with pytest.raises(ValueError, match=r"training data in \[0, 1\]"):
        model.fit(_rolls(4) * 2 - 1, verbose=0)
    with pytest.raises(ValueError, match="free_bits"):
        MusicVAE(data_shape=(FRAMES, 88), free_bits=-1)
    with pytest.raises(ValueError, match="divide into `bars`"):
        MusicVAE(data_shape=(10, 88), bars=4)
    with pytest.raises(ValueError, match="values 0 and 1"):
        metrics.log_likelihood(model, _rolls(2) * 0.5)


def _events(batch=2, length=8):
    pieces = [music.Piece("p", np.asarray([(0, 60 + i, 2 * i, 2) for i in range(6)]), 12)] * 6
    tokens = music.event_stream(pieces)
    usable = (len(tokens) - 1) // (batch * length) * batch * length
    inputs = tokens[:usable].reshape(-1, length)
    targets = tokens[1 : usable + 1].reshape(-1, length)
    return tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(batch, drop_remainder=True)


def test_music_transformer_xl_learns_and_generates_pieces(tmp_path):
    keras.utils.set_random_seed(0)
    model = MusicTransformerXL(
        segment_length=8,
        memory_length=8,
        num_layers=1,
        num_heads=2,
        hidden_dim=32,
        dropout=0.0,
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(_events(), epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    events = model.generate_events(num_tokens=40, temperature=0, seed=0)
    # Greedy decoding after END writes the piece it learned: its rising line of six notes.
    np.testing.assert_array_equal(
        music.notes_from_events(events)[:, 1:], [(60 + i, 2 * i, 2) for i in range(6)]
    )
    roll = model.generate_pianorolls(1, num_tokens=40, temperature=0, seed=0)[0]
    np.testing.assert_array_equal(roll, music.pianoroll_from_events(events))
    assert roll.shape[1] == music.NUM_KEYS and roll.sum() > 0
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is MusicTransformerXL
    np.testing.assert_array_equal(loaded.generate_events(40, temperature=0, seed=0), events)
    with pytest.raises(ValueError, match="vocabulary_size"):
        MusicTransformerXL(vocabulary_size=256)
