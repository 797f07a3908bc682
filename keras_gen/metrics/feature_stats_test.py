import numpy as np
import pytest

from keras_gen import metrics


def test_feature_stats_stream_merge_and_save(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.normal(size=(300, 6)) * 100 + 1e3
    a = metrics.FeatureStats(6, {"extractor": "e", "weights": "w", "resize": "r"})
    for chunk in np.array_split(x[:200], 7):
        a.update(chunk)
    b = metrics.FeatureStats(6, {"extractor": "e", "weights": "w", "resize": "r"})
    b.update(x[200:])
    a.merge(b)
    np.testing.assert_allclose(a.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(a.covariance, np.cov(x, rowvar=False), rtol=1e-9)
    path = str(tmp_path / "stats.npz")
    a.save(path)
    loaded = metrics.FeatureStats.load(path)
    assert loaded.count == 300 and loaded.full_protocol()["num_samples"] == 300
    assert loaded.frechet_distance(a) == pytest.approx(0.0, abs=1e-6)
    other = metrics.FeatureStats(6, {"extractor": "e", "weights": "other", "resize": "r"})
    other.update(x)
    with pytest.raises(ValueError, match="weights"):
        a.frechet_distance(other)
