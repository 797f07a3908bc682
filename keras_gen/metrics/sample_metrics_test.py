import numpy as np
import pytest

from keras_gen import metrics, models, testing
from keras_gen.metrics import extractors


@pytest.fixture(scope="module")
def extractor():
    return extractors.get("mnist")


def _gan():
    return models.GAN(data_shape=(28, 28, 1), latent_dim=8, seed=1)


def test_evaluate_model_equals_the_functions_on_the_generated_features(mnist_small, extractor):
    images, _ = mnist_small
    model = _gan()
    results, _ = metrics.evaluate_model(
        model, images, extractor, num_samples=100, seed=3, kid_subsets=4, kid_subset_size=32
    )
    features, logits = extractors.model_outputs(model, extractor, 100, seed=3)
    real = extractor(images)["features"].astype("float64")
    expected = {"fid": metrics.fid_from_features(real, features)}
    expected["inception_score"], expected["inception_score_std"] = metrics.inception_score(logits)
    expected["kid"], expected["kid_std"] = metrics.kernel_inception_distance(
        real, features, num_subsets=4, subset_size=32, seed=3
    )
    expected["precision"], expected["recall"] = metrics.precision_recall(real, features, k=3)
    expected["density"], expected["coverage"] = metrics.density_coverage(real, features, k=5)
    assert results == pytest.approx(expected, rel=1e-6)


def test_protocol_names_the_extractor_samples_and_reference(mnist_small, extractor, tmp_path):
    images, _ = mnist_small
    path = str(tmp_path / "reference.npz")
    extractors.dataset_stats(images, extractor).save(path)
    _, protocol = metrics.evaluate_model(
        _gan(), path, extractor, metrics=("fid",), num_samples=20, seed=7
    )
    assert protocol == {
        **extractor.protocol,
        "num_generated": 20,
        "sampling_seed": 7,
        "reference": metrics.FeatureStats.load(path).full_protocol(),
    }
    assert protocol["reference"]["num_samples"] == 64


def test_inception_score_needs_no_reference(extractor):
    results, protocol = metrics.evaluate_model(_gan(), None, extractor, ("is",), num_samples=20)
    assert set(results) == {"inception_score", "inception_score_std"}
    assert "reference" not in protocol


def _two_replicas():
    return testing.two_replica_strategy()  # the one strategy of the test process


def test_a_model_on_two_replicas_gives_the_metrics_of_one_device(mnist_small, extractor):
    images, _ = mnist_small
    one = _gan()
    one.generate(1)  # builds the networks
    with _two_replicas().scope():
        two = _gan()
        two.generate(1)
    two.set_weights(one.get_weights())
    evaluate = metrics.SampleMetrics(
        images, extractor, ("fid", "kid"), num_samples=40, kid_subset_size=20
    )
    assert evaluate(two)[0] == evaluate(one)[0]


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match=r"Received: metrics=\('fid', 'ppl'\)"):
        metrics.SampleMetrics(np.zeros((4, 28, 28, 1)), metrics=("fid", "ppl"))


def test_distance_metrics_need_a_reference():
    with pytest.raises(ValueError, match="reference=None"):
        metrics.SampleMetrics(None, metrics=("kid",))


def test_statistics_without_features_are_refused_for_kid(mnist_small, extractor):
    images, _ = mnist_small
    stats = extractors.dataset_stats(images, extractor, keep_features=0)
    with pytest.raises(ValueError, match="without features"):
        metrics.SampleMetrics(stats, extractor, ("kid",)).reference_stats()
