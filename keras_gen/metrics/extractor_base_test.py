import hashlib

import numpy as np
import pytest
import tensorflow as tf

from keras_gen.metrics import extractor_base


class _MeanExtractor(extractor_base.FeatureExtractor):
    """Features: per-channel means; logits: the per-image maximum (a tiny, checkable forward)."""

    name = "mean"
    resize = "none"
    feature_dim = 1
    channels = (1,)

    def __init__(self, batch_size=2):
        super().__init__("abc123", batch_size)

    def forward(self, batch):
        return {
            "features": tf.reduce_mean(batch, axis=(1, 2)),
            "logits": tf.reduce_max(batch, axis=(1, 2, 3))[:, None],
        }


def _images(n=5):
    return np.linspace(-1, 1, n * 4, dtype="float32").reshape(n, 2, 2, 1)


def test_features_and_logits_over_batches_equal_one_pass():
    images = _images(5)
    outputs = _MeanExtractor(batch_size=2)(images)
    np.testing.assert_allclose(outputs["features"], images.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(outputs["logits"][:, 0], images.max(axis=(1, 2, 3)), rtol=1e-6)
    assert outputs["features"].shape == (5, 1)


def test_run_in_batches_calls_forward_once_per_batch():
    sizes = []

    def forward(batch):
        sizes.append(int(batch.shape[0]))
        return {"features": batch[:, 0, 0], "logits": batch[:, 0, 0]}

    outputs = extractor_base.run_in_batches(forward, _images(5), batch_size=2)
    assert sizes == [2, 2, 1]
    assert outputs["features"].shape == (5, 1)


def test_protocol_names_extractor_weights_and_resize():
    assert _MeanExtractor().protocol == {"extractor": "mean", "weights": "abc123", "resize": "none"}


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 2, 2, 3), "float32"), r"shape \(n, h, w, 1\).*Received: images with shape"),
        (np.zeros((2, 2, 2), "float32"), r"Received: images with shape \(2, 2, 2\)"),
        (np.full((1, 2, 2, 1), np.nan, "float32"), "4 NaN or infinite values"),
        (
            np.full((1, 2, 2, 1), 255.0, "float32"),
            r"x / 127.5 - 1.*Received: images in \[255, 255\]",
        ),
    ],
)
def test_bad_images_are_refused_with_the_extractors_name(images, message):
    with pytest.raises(ValueError, match=f"_MeanExtractor takes.*{message}"):
        _MeanExtractor()(images)


def test_the_forward_hook_must_be_defined():
    class NoForward(extractor_base.FeatureExtractor):
        pass

    with pytest.raises(NotImplementedError, match="NoForward must define forward"):
        NoForward("h", 1)(_images(1))


def test_file_hash_is_the_sha256_prefix(tmp_path):
    path = tmp_path / "weights.bin"
    payload = bytes(range(256)) * 5000  # over one read chunk of 1 MiB
    path.write_bytes(payload)
    assert extractor_base.file_hash(path) == hashlib.sha256(payload).hexdigest()[:16]
    assert extractor_base.file_hash(path, length=8) == hashlib.sha256(payload).hexdigest()[:8]


def test_resize_images_repeats_channels_and_skips_same_size():
    images = tf.constant(_images(2))
    same = extractor_base.resize_images(images, (2, 2))
    assert same is images
    resized = extractor_base.resize_images(images, (4, 4), channels=3)
    assert resized.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(resized[..., 0], resized[..., 2])
