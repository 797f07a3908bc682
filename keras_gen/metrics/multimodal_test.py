import numpy as np
import pytest

from keras_gen import data, metrics
from keras_gen.data import captions
from keras_gen.metrics import multimodal


def test_real_images_agree_with_their_own_captions():
    arrays = data.captioned_mnist5k_arrays("test")
    images = arrays["images"][:200]
    texts = captions.decode_captions(arrays["captions"][:200, 1])
    own = metrics.image_prompt_agreement(images, texts)
    # The attributes are measured by the code that wrote the captions: exact agreement.
    assert own["thickness_agreement"] == 1.0 and own["slant_agreement"] == 1.0
    assert own["digit_accuracy"] > 0.95 and own["num_digit"] == 200
    assert own["all_agreement"] == pytest.approx(own["digit_accuracy"])
    # Someone else's captions agree far less often.
    shuffled = metrics.image_prompt_agreement(images, texts[1:] + texts[:1])
    assert shuffled["digit_accuracy"] < 0.3
    assert shuffled["slant_agreement"] < 0.8


def test_prompts_without_an_attribute_are_not_counted_for_it():
    arrays = data.captioned_mnist5k_arrays("test")
    digit = int(arrays["digits"][0])
    result = metrics.image_prompt_agreement(arrays["images"][:2], [f"a {digit}", "something"])
    assert result["num_digit"] == 1 and result["num_thickness"] == 0
    assert np.isnan(result["thickness_agreement"]) and np.isnan(result["all_agreement"])


def test_clip_score_is_the_rescaled_clipped_cosine():
    class Fixed:
        def encode_images(self, images):
            return np.array([[1.0, 0.0], [0.0, 1.0]])

        def encode_captions(self, texts):
            return np.array([[0.6, 0.8], [0.0, -1.0]])

    result = multimodal.clip_score(np.zeros((2, 28, 28, 1)), ["a", "b"], model=Fixed())
    np.testing.assert_allclose(result["per_pair"], [2.5 * 0.6, 0.0])
    assert result["clip_score"] == pytest.approx(0.75)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="one prompt per image"):
        metrics.image_prompt_agreement(np.zeros((2, 28, 28, 1)), ["a 1"])
    with pytest.raises(FileNotFoundError, match="train_contrastive.py"):
        multimodal.shipped_contrastive_model("/nonexistent/weights.h5")


def test_shipped_contrastive_model_retrieves_held_out_captions():
    # scripts/train_contrastive.py measured 79.8% over the 500 test images (59 captions).
    model = multimodal.shipped_contrastive_model()
    arrays = data.captioned_mnist5k_arrays("test")
    images = arrays["images"].astype("float32") / 127.5 - 1.0
    texts = captions.decode_captions(arrays["captions"][:, 0])
    assert model.retrieval_accuracy(images, texts) == pytest.approx(0.798, abs=0.002)
    own = metrics.clip_score(images[:100], texts[:100], model)["clip_score"]
    other = metrics.clip_score(images[:100], texts[1:101], model)["clip_score"]
    assert 0.0 <= other < own <= multimodal.CLIP_SCORE_WEIGHT
