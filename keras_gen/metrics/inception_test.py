import os

import numpy as np
import pytest

from keras_gen.metrics import inception, random_weights

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")


@pytest.fixture(scope="module")
def parity_network():
    fixture = np.load(os.path.join(TESTDATA, "inception_parity.npz"))
    model = inception.build_inception_fid()
    state = random_weights.random_state_dict(
        inception.torch_weight_shapes(model), int(fixture["weight_seed"])
    )
    inception.load_torch_state_dict(model, state)
    return model, fixture


def test_features_and_logits_equal_pytorch_fid_with_the_same_weights(parity_network):
    model, fixture = parity_network
    images = random_weights.random_images(int(fixture["image_seed"]), count=1)
    out = model(images, training=False)
    # Made by scripts/make_inception_parity_fixture.py with pytorch-fid's network.
    np.testing.assert_allclose(out["features"].numpy(), fixture["features"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(out["logits"].numpy(), fixture["logits"], rtol=0, atol=1e-4)


def test_architecture_matches_the_fid_graph():
    model = inception.build_inception_fid()
    shapes = inception.torch_weight_shapes(model)
    assert shapes["fc.weight"] == (1008, 2048)
    assert model.get_layer("fc").use_bias is False
    assert model.get_layer("Mixed_7c.max_pool").__class__.__name__ == "MaxPooling2D"
    assert model.get_layer("Mixed_7b.avg_pool").__class__.__name__ == "AveragePooling2D"
    assert model.get_layer("Conv2d_1a_3x3.bn").epsilon == 1e-3
    assert model.output["features"].shape[-1] == 2048


def test_average_pool_does_not_count_padding():
    import keras

    pool = keras.layers.AveragePooling2D(3, strides=1, padding="same")
    out = pool(np.ones((1, 4, 4, 1), "float32")).numpy()
    np.testing.assert_allclose(out, 1.0)  # a padded count would give 4/9 in the corners


def test_preprocess_quantizes_and_resizes_without_half_pixel_centres():
    import tensorflow as tf

    images = np.linspace(-1, 1, 2 * 8 * 8 * 3, dtype="float32").reshape(2, 8, 8, 3)
    out = inception.preprocess(images).numpy()
    assert out.shape == (2, 299, 299, 3)
    quantized = np.round((images + 1) * 127.5)
    # align_corners=False without half-pixel centres samples source pixel i * 8/299.
    expected = tf.compat.v1.image.resize_bilinear(quantized, [299, 299]).numpy()
    np.testing.assert_allclose(out, (expected - 128) / 128, atol=1e-6)
    np.testing.assert_allclose(out[:, 0, 0], (quantized[:, 0, 0] - 128) / 128, atol=1e-6)


def test_missing_weights_say_which_file_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GEN_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"pt_inception-2015-12-05-6726825d\.pth") as e:
        inception.InceptionFID()
    assert str(tmp_path) in str(e.value)


def test_inception_fid_extractor_end_to_end_with_given_weights(parity_network):
    model, fixture = parity_network
    state = random_weights.random_state_dict(
        inception.torch_weight_shapes(model), int(fixture["weight_seed"])
    )
    extractor = inception.InceptionFID(state_dict=state, batch_size=2)
    images = np.random.RandomState(0).uniform(-1, 1, size=(3, 28, 28, 1)).astype("float32")
    out = extractor(images)
    assert out["features"].shape == (3, 2048) and out["logits"].shape == (3, 1008)
    expected = model(inception.preprocess(images), training=False)["features"].numpy()
    np.testing.assert_allclose(out["features"], expected, rtol=1e-5, atol=1e-4)
    assert extractor.protocol["extractor"] == "inception_fid"


def test_keras_inception_v3_is_labelled_not_comparable():
    extractor = inception.KerasInceptionV3(weights=None)
    out = extractor(np.zeros((1, 32, 32, 3), "float32"))
    assert out["features"].shape == (1, 2048) and out["logits"].shape == (1, 1000)
    assert "not comparable" in extractor.protocol["extractor"]


def test_fetch_weights_checks_the_sha256_and_writes_atomically(tmp_path, monkeypatch):
    import hashlib

    source = tmp_path / "source.pth"
    source.write_bytes(b"not the inception weights")
    target = tmp_path / "cache"
    with pytest.raises(ValueError, match="does not start with 6726825d"):
        inception.fetch_weights(str(target), url=source.as_uri())
    assert not any(target.iterdir())
    prefix = hashlib.sha256(source.read_bytes()).hexdigest()[:8]
    monkeypatch.setattr(inception, "WEIGHTS_SHA256_PREFIX", prefix)
    path = inception.fetch_weights(str(target), url=source.as_uri())
    assert open(path, "rb").read() == source.read_bytes()
    assert os.path.basename(path) == inception.WEIGHTS_FILE
