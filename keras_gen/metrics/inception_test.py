import os

import numpy as np
import pytest
from PIL import Image

from keras_gen.metrics import extractors, feature_stats, inception, random_weights

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


# Fixed pixels: a deterministic 8x8 RGB pattern using the whole 0..255 range.
PIXELS = ((np.arange(8 * 8 * 3).reshape(1, 8, 8, 3) * 37 + 11) % 256).astype(np.uint8)


def _bilinear_matrix(size_in, size_out, half_pixel_centres):
    """`(size_out, size_in)` weights of bilinear resizing along one axis, written out.

    Without half-pixel centres (TF1 `ResizeBilinear`, align_corners=False) output
    pixel i samples the input at i * scale; with them (`F.interpolate(mode="bilinear",
    align_corners=False)`, TF2 `tf.image.resize`) at (i + 0.5) * scale - 0.5, clamped
    at 0. Neighbours past the last pixel are the last pixel.
    """
    scale = size_in / size_out
    index = np.arange(size_out)
    source = (index + 0.5) * scale - 0.5 if half_pixel_centres else index * scale
    source = np.maximum(source, 0.0)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    matrix = np.zeros((size_out, size_in))
    np.add.at(matrix, (index, low), 1.0 - (source - low))
    np.add.at(matrix, (index, high), source - low)
    return matrix


def _bilinear(pixels, half_pixel_centres):
    rows = _bilinear_matrix(pixels.shape[1], 299, half_pixel_centres)
    columns = _bilinear_matrix(pixels.shape[2], 299, half_pixel_centres)
    return np.einsum("oh,nhwc,pw->nopc", rows, pixels.astype(np.float64), columns)


def _pil_bicubic(pixels):
    """clean-fid's resize: each channel a mode-"F" PIL image, BICUBIC to 299x299, clipped."""
    channels = [
        np.asarray(
            Image.fromarray(image[:, :, c].astype(np.float32), mode="F").resize(
                (299, 299), resample=Image.BICUBIC
            )
        )
        for image in pixels
        for c in range(3)
    ]
    return np.stack(channels).reshape(len(pixels), 3, 299, 299).transpose(0, 2, 3, 1).clip(0, 255)


REFERENCE_INPUTS = {
    # TTUR / torch-fidelity: TF1 bilinear on 0..255, then (x - 128) / 128.
    "ttur": lambda pixels: (_bilinear(pixels, False) - 128.0) / 128.0,
    # pytorch-fid: ToTensor's x / 255, F.interpolate bilinear, then 2x - 1.
    "pytorch_fid": lambda pixels: 2.0 * _bilinear(pixels / 255.0, True) - 1.0,
    # clean-fid: PIL bicubic per channel on floats, clipped, then (x - 128) / 128.
    "clean": lambda pixels: (_pil_bicubic(pixels) - 128.0) / 128.0,
}


@pytest.mark.parametrize("protocol", sorted(REFERENCE_INPUTS))
def test_each_fid_protocol_gives_its_reference_network_input(protocol):
    images = PIXELS / 127.5 - 1.0  # exactly the pixels again after quantization
    out = inception.preprocess(images.astype(np.float32), protocol).numpy()
    # float32 against float64 on values up to 255 / 128: 1e-5 absolute.
    np.testing.assert_allclose(out, REFERENCE_INPUTS[protocol](PIXELS), rtol=0, atol=1e-5)


def test_clean_protocol_downscales_as_pil_does():
    # PIL widens the bicubic filter by the scale factor when downscaling (antialiasing).
    pixels = np.random.RandomState(0).randint(0, 256, size=(1, 400, 350, 3)).astype(np.uint8)
    out = inception.preprocess((pixels / 127.5 - 1.0).astype(np.float32), "clean").numpy()
    np.testing.assert_allclose(out, REFERENCE_INPUTS["clean"](pixels), rtol=0, atol=1e-5)


def test_the_protocols_give_different_network_inputs_from_the_same_pixels():
    images = (PIXELS / 127.5 - 1.0).astype(np.float32)
    inputs = {name: inception.preprocess(images, name).numpy() for name in inception.FID_PROTOCOLS}
    assert np.abs(inputs["ttur"] - inputs["pytorch_fid"]).max() > 0.05
    assert np.abs(inputs["ttur"] - inputs["clean"]).max() > 0.05


def test_an_unknown_fid_protocol_is_refused_before_weights_are_needed():
    with pytest.raises(ValueError, match=r"Received: protocol='tf2'"):
        inception.InceptionFID(protocol="tf2")


@pytest.fixture(scope="module")
def ttur_and_clean(parity_network):
    """Extractors of one set of random weights under the "ttur" and "clean" protocols."""
    state = random_weights.random_state_dict(inception.torch_weight_shapes(parity_network[0]), 0)
    ttur = inception.InceptionFID(state_dict=state, batch_size=2)
    return ttur, inception.InceptionFID(state_dict=state, batch_size=2, protocol="clean")


def test_the_protocol_is_stamped_and_used_by_the_extractor(ttur_and_clean):
    ttur, clean = ttur_and_clean
    assert (ttur.protocol["fid_protocol"], clean.protocol["fid_protocol"]) == ("ttur", "clean")
    assert clean.protocol["resize"] == inception.FID_PROTOCOLS["clean"]
    images = np.random.RandomState(1).uniform(-1, 1, size=(2, 16, 16, 3)).astype("float32")
    network_input = inception.preprocess(images, "clean")
    expected = clean.model(network_input, training=False)["features"].numpy()
    np.testing.assert_allclose(clean(images)["features"], expected, rtol=1e-5, atol=1e-4)


def _stats(extractor):
    stats = feature_stats.FeatureStats(4, extractor.protocol)
    stats.update(np.random.RandomState(2).normal(size=(10, 4)))
    return stats


def test_statistics_of_different_fid_protocols_refuse_to_compare(ttur_and_clean):
    ttur, clean = (_stats(extractor) for extractor in ttur_and_clean)
    assert ttur.frechet_distance(ttur) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(
        ValueError, match="fid_protocol is 'ttur' for one and 'clean' for the other"
    ):
        ttur.frechet_distance(clean)


def test_statistics_saved_before_fid_protocol_compare_only_with_ttur(ttur_and_clean):
    ttur, clean = (extractor.protocol for extractor in ttur_and_clean)
    old = {key: value for key, value in ttur.items() if key != "fid_protocol"}
    feature_stats.check_comparable(old, ttur)
    with pytest.raises(ValueError, match="resize is"):
        feature_stats.check_comparable(old, clean)


def test_extractors_get_refuses_a_fid_protocol_the_extractor_lacks(ttur_and_clean):
    with pytest.raises(ValueError, match=r"fid_protocol='clean', extractor='mnist'"):
        extractors.get("mnist", fid_protocol="clean")
    assert extractors.get("mnist", fid_protocol="ttur").name == "mnist_classifier"
    clean = ttur_and_clean[1]
    assert extractors.get(clean, fid_protocol="clean") is clean
    with pytest.raises(ValueError, match="this one's fid_protocol is 'clean'"):
        extractors.get(clean, fid_protocol="ttur")
