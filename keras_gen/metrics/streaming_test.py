import numpy as np
import pytest
import tensorflow as tf

from keras_gen import metrics


def _reference(rng, dim=6):
    reference = metrics.FeatureStats(dim, {"extractor": "test"})
    reference.update(rng.normal(size=(200, dim)))
    return reference


def test_streaming_fid_equals_the_function_on_all_features():
    rng = np.random.RandomState(0)
    reference = _reference(rng)
    features = rng.normal(size=(90, 6)) + 0.3
    fid = metrics.FrechetDistance(reference)
    for chunk in np.array_split(features, 4):
        fid.update_state(chunk)
    expected = metrics.frechet_distance(reference.mean, reference.covariance,
                                        features.mean(0), np.cov(features, rowvar=False))
    assert float(fid.result()) == pytest.approx(expected, rel=1e-10)
    fid.reset_state()
    assert fid.feature_stats().count == 0


def test_streaming_state_adds_up_across_two_replicas():
    devices = [d.name for d in tf.config.list_logical_devices("CPU")[:2]]
    strategy = tf.distribute.MirroredStrategy(devices)
    rng = np.random.RandomState(1)
    reference = _reference(rng)
    features = (rng.normal(size=(64, 6)) * 2).astype("float32")
    with strategy.scope():
        fid = metrics.FrechetDistance(reference)
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(features).batch(16))

    @tf.function
    def update(batch):
        strategy.run(fid.update_state, args=(batch,))

    for batch in dataset:
        update(batch)
    single = metrics.FrechetDistance(reference)
    single.update_state(features)
    state = fid.feature_stats()
    assert state.count == 64
    np.testing.assert_allclose(state.outer, single.feature_stats().outer, rtol=1e-12)
    assert float(fid.result()) == pytest.approx(float(single.result()), rel=1e-10)


def test_reference_must_be_feature_stats():
    with pytest.raises(ValueError, match="FeatureStats"):
        metrics.FrechetDistance(np.zeros((3, 3)))
