import functools

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
    expected = metrics.frechet_distance(
        reference.mean, reference.covariance, features.mean(0), np.cov(features, rowvar=False)
    )
    assert float(fid.result()) == pytest.approx(expected, rel=1e-10)
    fid.reset_state()
    assert fid.feature_stats().count == 0


@functools.cache
def _two_replicas():
    # One strategy per process (see tests/distribution_test.py).
    devices = [d.name for d in tf.config.list_logical_devices("CPU")[:2]]
    return tf.distribute.MirroredStrategy(devices)


def test_streaming_state_adds_up_across_two_replicas():
    strategy = _two_replicas()
    rng = np.random.RandomState(1)
    reference = _reference(rng)
    features = (rng.normal(size=(64, 6)) * 2).astype("float32")
    with strategy.scope():
        fid = metrics.FrechetDistance(reference)
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(features).batch(16)
    )

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


def _stream(metric, values, strategy=None, batch=16):
    """Feeds `values` in global batches of `batch`, on two replicas when `strategy` is given."""
    dataset = tf.data.Dataset.from_tensor_slices(values).batch(batch)
    if strategy is None:
        for chunk in dataset:
            metric.update_state(chunk)
        return metric.result()
    dataset = strategy.experimental_distribute_dataset(dataset)

    @tf.function
    def update(chunk):
        strategy.run(metric.update_state, args=(chunk,))

    for chunk in dataset:
        update(chunk)
    return metric.result()


def _as_floats(result):
    return {k: float(v) for k, v in result.items()}


def test_streaming_inception_score_equals_the_function_on_one_and_two_replicas():
    rng = np.random.RandomState(2)
    logits = (rng.normal(size=(70, 12)) * 3).astype("float32")
    # 64 of the 70 logits count; the contiguous splits of 64 into 10 are uneven.
    mean, std = metrics.inception_score(logits[:64], splits=10)
    one = _as_floats(_stream(metrics.InceptionScore(64, num_classes=12), logits))
    assert one == pytest.approx({"inception_score": mean, "inception_score_std": std}, rel=1e-6)
    with _two_replicas().scope():
        metric = metrics.InceptionScore(64, num_classes=12)
    two = _as_floats(_stream(metric, logits, _two_replicas()))
    assert two == pytest.approx(one, rel=1e-9)
    # Order matters for the splits: shuffled logits score differently.
    shuffled = _as_floats(
        _stream(metrics.InceptionScore(64, num_classes=12), logits[rng.permutation(70)])
    )
    assert shuffled["inception_score_std"] != pytest.approx(std, rel=1e-3)


@pytest.mark.parametrize(
    "cls, function, names",
    [
        (
            metrics.KernelInceptionDistance,
            lambda r, f: metrics.kernel_inception_distance(
                r, f, num_subsets=5, subset_size=20, seed=0
            ),
            ("kid", "kid_std"),
        ),
        (metrics.PrecisionRecall, metrics.precision_recall, ("precision", "recall")),
        (metrics.DensityCoverage, metrics.density_coverage, ("density", "coverage")),
    ],
)
def test_streaming_feature_metrics_equal_the_functions_on_one_and_two_replicas(
    cls, function, names
):
    rng = np.random.RandomState(3)
    real = rng.normal(size=(40, 5))
    fake = (rng.normal(size=(52, 5)) + 0.4).astype("float32")
    kwargs = {"num_subsets": 5, "subset_size": 20, "seed": 0} if "kid" in names else {}
    expected = dict(zip(names, function(real, fake[:48].astype("float64"))))
    one = _as_floats(_stream(cls(real, capacity=48, **kwargs), fake))
    assert one == pytest.approx(expected, rel=1e-6)
    with _two_replicas().scope():
        metric = cls(real, capacity=48, **kwargs)
    assert _as_floats(_stream(metric, fake, _two_replicas())) == pytest.approx(one, rel=1e-9)
    np.testing.assert_array_equal(metric.fake_features(), fake[:48])
    metric.reset_state()
    assert metric.fake_features().shape == (0, 5)


def test_streaming_metrics_name_bad_arguments():
    with pytest.raises(ValueError, match="num_samples=5, splits=10"):
        metrics.InceptionScore(5, splits=10)
    with pytest.raises(ValueError, match="capacity=1"):
        metrics.PrecisionRecall(np.zeros((4, 2)), capacity=1)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        metrics.KernelInceptionDistance(np.zeros(4))
