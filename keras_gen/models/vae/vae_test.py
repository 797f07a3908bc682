import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gen
from keras_gen import losses, metrics, models, testing

ALL = [models.VAE, models.BetaVAE, models.ConditionalVAE, models.VQVAE]


def _binary(mnist_small):
    images, labels = mnist_small
    return np.where(images > 0, 1.0, -1.0).astype("float32"), labels


def _make(cls, **kwargs):
    if cls is models.ConditionalVAE:
        kwargs.setdefault("num_classes", 10)
    if cls is models.VQVAE:
        kwargs.setdefault("num_embeddings", 16)
        kwargs.setdefault("embedding_dim", 8)
    else:
        kwargs.setdefault("latent_dim", 8)
    model = cls(data_shape=(28, 28, 1), seed=5, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _kernels(model):
    return {v.path: np.array(v) for v in model.trainable_weights if "kernel" in v.path}


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_fit_save_load_generate(cls, mnist_small, tmp_path):
    images, labels = _binary(mnist_small)
    model = _make(cls)
    before = _kernels(model)
    y = labels if model.conditional else None
    history = model.fit(images, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    expected_logs = (
        {"loss", "reconstruction", "commitment", "perplexity", "usage", "prior_loss", "codebook"}
        if cls is models.VQVAE
        else {"loss", "reconstruction", "kl", "elbo"}
    )
    assert set(history.history) == expected_logs
    assert set(model.evaluate(images, y, verbose=0, return_dict=True)) == expected_logs
    after = _kernels(model)
    assert len(after) >= 4
    for path, value in before.items():
        assert not np.array_equal(value, after[path]), f"{path} did not change"
    samples = model.generate(8, seed=0)
    assert samples.shape == (8, 28, 28, 1) and samples.dtype == np.float32
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.generate(8, seed=0), samples)
    assert not np.array_equal(model.generate(8, seed=1), samples)
    np.testing.assert_allclose(
        loaded.reconstruct(images[:4], **({"labels": labels[:4]} if model.conditional else {})),
        model.reconstruct(images[:4], **({"labels": labels[:4]} if model.conditional else {})),
        atol=1e-6,
    )


def test_training_on_after_loading_matches_training_on(mnist_small, tmp_path):
    images, _ = _binary(mnist_small)
    model = _make(models.VAE, beta_warmup_steps=3)
    model.fit(images, batch_size=16, epochs=1, shuffle=False, verbose=0)
    testing.assert_save_load_continues_training(
        model,
        lambda m: m.fit(images, batch_size=16, epochs=1, shuffle=False, verbose=0),
        tmp_path,
        rtol=1e-5,
        atol=1e-6,
    )


def test_loss_is_reconstruction_plus_beta_kl_with_warmup(mnist_small):
    images, _ = _binary(mnist_small)
    model = _make(models.BetaVAE, beta_warmup_steps=8)
    assert model.beta == 4.0
    history = model.fit(images[:32], batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert float(model.kl_weight()) == pytest.approx(4.0 * 6 / 8)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert logs["elbo"] == pytest.approx(-(logs["reconstruction"] + logs["kl"]), rel=1e-5)
    # In the last epoch the weight was 4 * 4/8 then 4 * 5/8: the loss lies between.
    low = logs["reconstruction"] + 2.0 * logs["kl"]
    high = logs["reconstruction"] + 2.5 * logs["kl"]
    assert low - 1e-3 <= logs["loss"] <= high + 1e-3


@pytest.fixture(scope="module")
def trained_vae():
    dataset, _ = keras_gen.data.load("mnist5k", batch_size=64, binarize=True, seed=0)
    x = np.concatenate(list(dataset.take(16).as_numpy_iterator()))
    model = models.VAE(data_shape=(28, 28, 1), latent_dim=8, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(x, batch_size=64, epochs=4, verbose=0)
    test, _ = keras_gen.data.load(
        "mnist5k", split="test", batch_size=100, binarize=True, shuffle=False
    )
    return model, next(iter(test)).numpy()


def test_elbo_bounds_the_importance_weighted_estimate_which_rises_with_k(trained_vae):
    model, x = trained_vae
    elbo = metrics.evidence_lower_bound(model, x)
    estimates = [
        metrics.log_likelihood(model, x, num_importance_samples=k, seed=3) for k in (1, 10, 100)
    ]
    assert estimates[0] == pytest.approx(elbo, abs=3.0)  # K = 1 is an ELBO estimate
    assert elbo < estimates[1] < estimates[2] < 0
    assert estimates[2] - elbo > 1.0
    per_example = metrics.importance_weighted_log_likelihoods(
        model, x[:10], num_importance_samples=100, seed=3
    )
    assert per_example.shape == (10,) and np.all(per_example < 0)


def test_gaussian_estimate_also_rises_with_k():
    from keras_gen.data import toy

    x = toy.sample("ring8", 2048, seed=0)
    # The default networks' initial weights come from Keras' global RNG: seeded here, so the
    # figures do not depend on the tests run before this one in the process.
    keras.utils.set_random_seed(0)
    model = models.VAE(data_shape=(2,), latent_dim=2, likelihood="gaussian", seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x, batch_size=128, epochs=5, verbose=0)
    held_out = toy.sample("ring8", 256, seed=1)
    elbo = metrics.evidence_lower_bound(model, held_out)
    k1, k50 = (
        metrics.log_likelihood(model, held_out, num_importance_samples=k, seed=2) for k in (1, 50)
    )
    assert np.isfinite([elbo, k1, k50]).all()
    assert abs(k1 - elbo) < 0.5 and k50 > max(elbo, k1) + 0.02


def test_log_likelihood_rejects_what_it_cannot_measure(trained_vae):
    model, x = trained_vae
    with pytest.raises(ValueError, match="binary data"):
        metrics.log_likelihood(model, x * 0.5)
    gan = models.GAN(data_shape=(2,), seed=0)
    with pytest.raises(ValueError, match="type GAN"):
        metrics.log_likelihood(gan, x)
    with pytest.raises(ValueError, match="num_importance_samples=0"):
        metrics.log_likelihood(model, x, num_importance_samples=0)


def test_generate_is_traced_once_and_decodes_prior_draws(trained_vae):
    model, _ = trained_vae
    first = model.generate(5, seed=2)
    counts = testing.assert_traced_once(model, lambda: model.generate(7, seed=3, batch_size=3))
    assert counts == {"samples_from_latents": 1}
    latents = model.sample_latents(
        5, tf.random.experimental.stateless_fold_in(tf.constant([2, 0], "int64"), 0)
    )
    np.testing.assert_allclose(first, model.decode(latents.numpy()), atol=1e-6)
    assert first.min() >= -1 and first.max() <= 1


def test_interpolation_ends_at_the_reconstructions(trained_vae):
    model, x = trained_vae
    path = model.interpolate(x[0], x[1], steps=5)
    assert path.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(path[[0, -1]], model.reconstruct(x[:2]), atol=1e-5)


def test_vq_vae_bound_is_reconstruction_plus_prior_log_probability(mnist_small):
    images, _ = _binary(mnist_small)
    model = _make(models.VQVAE, likelihood="bernoulli")
    model.fit(images[:32], batch_size=16, epochs=1, verbose=0)
    x = images[:4]
    codes = model.encode_codes(x)
    outputs = model.decoder(tf.gather(model.codebook, codes)).numpy().astype("float64")
    p = 1 / (1 + np.exp(-outputs))
    t = (x + 1) / 2
    log_px = (t * np.log(p) + (1 - t) * np.log(1 - p)).reshape(4, -1).sum(1)
    tokens = np.concatenate([np.full((4, 1), 16), codes.reshape(4, -1)[:, :-1]], axis=1)
    logits = model.prior(tokens).numpy().astype("float64")
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    log_prior = np.take_along_axis(log_softmax, codes.reshape(4, -1, 1), -1).sum((1, 2))
    bound = metrics.importance_weighted_log_likelihoods(model, x)
    np.testing.assert_allclose(bound, log_px + log_prior, rtol=1e-4)
    assert metrics.evidence_lower_bound(model, x) == pytest.approx(bound.mean(), rel=1e-6)
    with pytest.raises(ValueError, match="likelihood='gaussian'"):
        metrics.log_likelihood(_make(models.VQVAE), x)


def test_vq_prior_positions_are_learned():
    model = _make(models.VQVAE)
    names = [v.path for v in model.prior.trainable_weights]
    assert any("position_embedding" in name for name in names)


def test_vq_nearest_codes_and_straight_through_gradient():
    model = _make(models.VQVAE)
    codebook = np.array(model.codebook)
    encoded = tf.constant(np.random.RandomState(0).normal(size=(2, 7, 7, 8)), "float32")
    indices, quantized = model.nearest_codes(encoded)
    distances = ((encoded.numpy()[..., None, :] - codebook) ** 2).sum(-1)
    np.testing.assert_array_equal(indices.numpy(), distances.argmin(-1))
    np.testing.assert_allclose(quantized.numpy(), codebook[indices.numpy()])
    with tf.GradientTape() as tape:
        tape.watch(encoded)
        straight = encoded + tf.stop_gradient(quantized - encoded)
        loss = tf.reduce_sum(3.0 * straight)
    np.testing.assert_allclose(tape.gradient(loss, encoded).numpy(), 3.0)


def test_vq_ema_update_follows_the_moving_average(mnist_small):
    images, _ = mnist_small
    model = _make(models.VQVAE, ema_decay=0.9)
    codes = model.encode_codes(images[:16])
    counts = np.bincount(codes.ravel(), minlength=16)
    model.fit(images[:16], batch_size=16, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(np.array(model.ema_cluster_size), 0.9 + 0.1 * counts, rtol=1e-5)
    assert not any(v.path.endswith("codebook") for v in model.trainable_weights)


def test_bad_arguments_are_named():
    testing.expect_value_error(
        lambda: models.VAE(data_shape=(4,), likelihood="poisson"), "likelihood='poisson'"
    )
    testing.expect_value_error(lambda: models.VAE(data_shape=(4,), beta=-1), "beta=-1")
    testing.expect_value_error(lambda: models.ConditionalVAE(data_shape=(4,)), "num_classes")
    testing.expect_value_error(
        lambda: models.VQVAE(data_shape=(28, 28, 1), ema_decay=1.5), "ema_decay=1.5"
    )
    testing.expect_value_error(
        lambda: models.VQVAE(data_shape=(28, 28, 1)).generate(2, temperature=0),
        "temperature=0",
    )
    with pytest.raises(ValueError, match="VQVAE needs `encoder` and `decoder`.*data_shape=None"):
        models.VQVAE()
    with pytest.raises(ValueError, match="Pass both `encoder` and `decoder`.*encoder=None"):
        models.VAE(decoder=keras_gen.networks.mlp_decoder(2, (4,)))
    model = models.VAE(data_shape=(4,), seed=0)
    with pytest.raises(ValueError, match="compile"):
        model.fit(np.zeros((4, 4), "float32"))
    with pytest.raises(ValueError, match="loss="):
        model.compile(optimizer="adam", loss="mse")
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        model.fit(np.zeros((4, 3), "float32"))
    assert losses.LIKELIHOODS == ("bernoulli", "gaussian")
