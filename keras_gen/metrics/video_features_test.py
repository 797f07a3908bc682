import numpy as np
import pytest
import scipy.linalg

from keras_gen import testing
from keras_gen.data import video as video_data
from keras_gen.metrics import video_features


class _Means:
    """A pluggable extractor: each frame's mean, one feature per frame."""

    protocol = {"extractor": "frame_means"}

    def __call__(self, clips):
        return {"features": np.asarray(clips).mean(axis=(2, 3, 4))}


def _direct_frechet(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_fvd_is_the_frechet_distance_of_the_extractors_features():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (40, 5, 4, 4, 1))
    b = rng.uniform(-1, 1, (30, 5, 4, 4, 1)) * 0.5 + 0.2
    result = video_features.frechet_video_distance(a, b, _Means())
    features = _Means()
    expected = _direct_frechet(features(a)["features"], features(b)["features"])
    np.testing.assert_allclose(result["fvd"], expected, rtol=1e-6)
    assert result["protocol"] == {"extractor": "frame_means"} and result["num_clips"] == (40, 30)
    testing.expect_value_error(
        lambda: video_features.frechet_video_distance(a[:1], b, _Means()), "clips_a"
    )


@pytest.fixture(scope="module")
def clips():
    frames, _ = video_data.moving_mnist_arrays("test", num_sequences=120)
    return frames[..., None].astype("float32") / 127.5 - 1.0


def test_shipped_network_tells_ordered_from_shuffled_clips_and_reads_the_digits(clips):
    extractor = video_features.MovingMNISTFeatures()
    assert extractor.protocol["extractor"] == "moving_mnist_video"
    assert len(extractor.protocol["weights"]) == 16
    shuffled = video_features.shuffle_frames(clips, seed=0)
    outputs = extractor.model(clips[:50], training=False)
    assert outputs["features"].shape == (50, 128)
    ordered = np.mean(outputs["order"].numpy() > 0)
    mixed = np.mean(extractor.model(shuffled[:50], training=False)["order"].numpy() > 0)
    assert ordered > 0.9 and mixed < 0.1
    # Two halves of the test clips are closer than the test clips and their shuffled frames.
    same = video_features.frechet_video_distance(clips[:60], clips[60:], extractor)["fvd"]
    other = video_features.frechet_video_distance(clips[:60], shuffled[60:], extractor)["fvd"]
    assert same < other / 3


def test_clips_are_checked():
    extractor = video_features.MovingMNISTFeatures()
    testing.expect_value_error(
        lambda: extractor(np.zeros((2, 10, 64, 64, 1))), "(2, 10, 64, 64, 1)"
    )
    testing.expect_value_error(lambda: extractor(np.full((2, 20, 64, 64, 1), 3.0)), "[3, 3]")
    with pytest.raises(FileNotFoundError, match="train_video_features"):
        video_features.MovingMNISTFeatures(weights="/nonexistent.weights.h5")
