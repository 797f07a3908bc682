import numpy as np
import pytest

from keras_gen import data
from keras_gen.data import captions


def _sheared_bar(width, shear, size=100, top=10, bottom=90):
    """A bar `width` pixels wide whose column moves `shear` pixels right per pixel upwards."""
    image = np.zeros((size, size), "uint8")
    middle = (top + bottom) / 2
    for row in range(top, bottom):
        left = int(round(size / 2 + shear * (middle - row)))
        image[row, left : left + width] = 255
    return image


@pytest.mark.parametrize("width", [1, 2, 3, 5])
def test_thickness_of_a_long_bar_is_its_width(width):
    measured = captions.measure_attributes(_sheared_bar(width, 0.0)[None])["thickness"][0]
    # 2 * area / perimeter of a w x L rectangle is w L / (w + L): w within 6% at L = 80.
    assert measured == pytest.approx(width * 80 / (width + 80), rel=1e-9)
    assert measured == pytest.approx(width, rel=0.06)


@pytest.mark.parametrize("shear", [-0.4, -0.1, 0.0, 0.2, 0.5])
def test_slant_of_a_sheared_bar_is_its_shear(shear):
    image = _sheared_bar(3, shear)
    measured = captions.measure_attributes(image[None])["slant"][0]
    assert measured == pytest.approx(shear, abs=0.01)
    # The same image in the generators' [-1, 1] float range and with a channel axis.
    floats = image[None, ..., None].astype("float32") / 127.5 - 1.0
    assert captions.measure_attributes(floats)["slant"][0] == pytest.approx(measured, abs=1e-9)


def test_attribute_words_follow_the_thresholds():
    classes = captions.attribute_classes(
        {
            "thickness": np.array([1.0, 1.944, 1.945, 4.0]),
            "slant": np.array([-0.3, -0.15, 0.1, 0.2]),
        }
    )
    np.testing.assert_array_equal(classes["thickness"], [0, 0, 1, 1])
    np.testing.assert_array_equal(classes["slant"], [0, 1, 1, 2])
    bold_right = _sheared_bar(5, 0.5, size=28, top=4, bottom=24)
    thin_left = _sheared_bar(1, -0.4, size=28, top=4, bottom=24)
    texts = captions.captions_for(np.stack([bold_right, thin_left]), [7, 1])
    assert texts == ["a bold 7 leaning right", "a thin 1 leaning left"]


def test_blank_image_measures_zero_without_warnings():
    with np.errstate(all="raise"):
        measured = captions.measure_attributes(np.zeros((2, 28, 28), "uint8"))
    assert measured["thickness"].tolist() == [0.0, 0.0]
    assert measured["slant"].tolist() == [0.0, 0.0]


def test_every_caption_parses_back_to_what_built_it():
    for template in range(len(captions.TEMPLATES)):
        for digit in range(10):
            for thickness in range(2):
                for slant in range(3):
                    text = captions.caption(digit, thickness, slant, template)
                    assert captions.parse_caption(text) == {
                        "digit": digit,
                        "thickness": thickness,
                        "slant": slant,
                    }, text
    assert captions.caption(7, 0, 1, 1) == "seven, thin strokes, upright"
    assert captions.parse_caption("something boldly 17") == {
        "digit": None,
        "thickness": None,
        "slant": None,
    }
    assert captions.parse_caption("Draw me a SEVEN") == {
        "digit": 7,
        "thickness": None,
        "slant": None,
    }


def test_encode_decode_round_trip_and_padding():
    tokens = captions.encode_captions(["a bold 7", "ü"])
    assert tokens.shape == (2, captions.CAPTION_LENGTH) and tokens.dtype == np.int32
    assert tokens[0, 8:].tolist() == [captions.PAD] * (captions.CAPTION_LENGTH - 8)
    assert captions.decode_captions(tokens) == ["a bold 7", "ü"]


@pytest.mark.parametrize(
    "prompts, match",
    [
        ([], "non-empty list"),
        ("a bold 7", "non-empty list"),
        ([""], r"prompts\[0\]` is empty"),
        (["ok", "   "], r"prompts\[1\]` is empty"),
        (["x" * 65], "at most 64 UTF-8 bytes"),
        (["a\0b"], "without NUL"),
        ([7], "must hold strings"),
        ([b"bytes"], "must hold strings"),
    ],
)
def test_bad_prompts_are_named(prompts, match):
    with pytest.raises(ValueError, match=match) as info:
        captions.encode_captions(prompts)
    assert "prompts" in str(info.value)


def test_bad_images_are_named():
    with pytest.raises(ValueError, match="`images` must have shape"):
        captions.measure_attributes(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="`images` must be uint8 or finite floats"):
        captions.measure_attributes(np.full((1, 28, 28), np.nan))
    with pytest.raises(ValueError, match="`digits` must hold one label per image"):
        captions.captions_for(np.zeros((2, 28, 28), "uint8"), [1, 2, 3])


def test_captioned_mnist5k_pairs_each_image_with_its_own_captions():
    dataset, info = data.load("captioned_mnist5k", split="test", batch_size=30, shuffle=False)
    assert info.num_examples == 500 * len(captions.TEMPLATES)
    assert info.shape == (28, 28, 1)
    images, tokens = next(iter(dataset))
    assert images.shape == (30, 28, 28, 1) and tokens.shape == (30, captions.CAPTION_LENGTH)
    assert -1.0 <= float(np.min(images)) and float(np.max(images)) <= 1.0
    arrays = data.captioned_mnist5k_arrays("test")
    texts = captions.decode_captions(tokens.numpy())
    classes = captions.attribute_classes(captions.measure_attributes(images.numpy()))
    for i, text in enumerate(texts):
        image = i // len(captions.TEMPLATES)
        assert text == captions.caption(
            arrays["digits"][image],
            classes["thickness"][i],
            classes["slant"][i],
            template=i % len(captions.TEMPLATES),
        )
    # The documented thickness threshold is mnist5k's median: the train split is balanced.
    train = data.captioned_mnist5k_arrays("train")
    assert 0.45 < train["thickness"].mean() < 0.55
    assert np.bincount(train["slant"], minlength=3).min() > 0.1 * len(train["slant"])


def test_shuffled_captioned_pairs_stay_paired():
    dataset, _ = data.load("captioned_mnist5k", split="test", batch_size=64, seed=3)
    images, tokens = next(iter(dataset))
    classes = captions.attribute_classes(captions.measure_attributes(images.numpy()))
    parsed = [captions.parse_caption(text) for text in captions.decode_captions(tokens.numpy())]
    assert [p["thickness"] for p in parsed] == classes["thickness"].tolist()
    assert [p["slant"] for p in parsed] == classes["slant"].tolist()
    assert len({text for text in captions.decode_captions(tokens.numpy())}) > 32
