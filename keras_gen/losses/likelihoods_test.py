import numpy as np
from scipy import stats

from keras_gen.losses import likelihoods


def test_kl_matches_its_closed_form_and_a_monte_carlo_estimate():
    rng = np.random.RandomState(0)
    mean = rng.normal(size=(3, 4)).astype("float32")
    log_variance = rng.normal(scale=0.5, size=(3, 4)).astype("float32")
    kl = likelihoods.gaussian_kl(mean, log_variance).numpy()
    variance = np.exp(log_variance.astype("float64"))
    closed = 0.5 * np.sum(variance + mean.astype("float64") ** 2 - 1 - log_variance, axis=1)
    np.testing.assert_allclose(kl, closed, rtol=1e-6)
    # E_q[log q(z) - log p(z)] with 200,000 draws per row.
    z = mean[:, None] + np.sqrt(variance)[:, None] * rng.normal(size=(3, 200_000, 4))
    log_q = stats.norm.logpdf(z, mean[:, None], np.sqrt(variance)[:, None]).sum(-1)
    log_p = stats.norm.logpdf(z).sum(-1)
    np.testing.assert_allclose(kl, (log_q - log_p).mean(1), rtol=0.02)


def test_bernoulli_and_gaussian_terms_match_direct_computations():
    rng = np.random.RandomState(1)
    data = np.where(rng.uniform(size=(2, 5, 5, 1)) > 0.5, 1.0, -1.0).astype("float32")
    logits = rng.normal(scale=3, size=(2, 5, 5, 1)).astype("float32")
    targets = (data.astype("float64") + 1) / 2
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    direct = (targets * np.log(p) + (1 - targets) * np.log(1 - p)).reshape(2, -1).sum(1)
    np.testing.assert_allclose(
        likelihoods.bernoulli_log_likelihood(data, logits), direct, rtol=1e-5
    )
    mean = rng.normal(size=data.shape).astype("float32")
    log_scale = np.float32(-0.7)
    direct = stats.norm.logpdf(data, mean, np.exp(log_scale)).reshape(2, -1).sum(1)
    np.testing.assert_allclose(
        likelihoods.gaussian_log_likelihood(data, mean, log_scale), direct, rtol=1e-5
    )
