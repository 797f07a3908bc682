"""Image-text agreement: prompt fidelity of generated digits and CLIPScore with a shipped contrastive model.

`image_prompt_agreement(images, prompts)` checks each image against what its
prompt asks for (`keras_gen.data.captions.parse_caption`): the digit, by the
shipped MNIST classifier, and the stroke thickness and slant, measured on the
image by `keras_gen.data.captions.measure_attributes`, the code that wrote the
training captions. `prompt_fidelity(model, prompts)` generates one image per
prompt and scores it so. `clip_score(images, captions)` is CLIPScore (Hessel et
al. 2021, arXiv:2104.08718): `2.5 * max(cos(image, caption), 0)` averaged over
the pairs, with the `ContrastiveImageText` model that ships with keras_gen
(trained by `scripts/train_contrastive.py` on captioned mnist5k) or any other.
"""

import os

import numpy as np

from keras_gen.data import captions as caption_data
from keras_gen.metrics import mnist_classifier

CONTRASTIVE_WEIGHTS = os.path.join(
    os.path.dirname(__file__), "weights", "contrastive_mnist.weights.h5"
)
#: CLIPScore's rescaling weight w (Hessel et al. 2021, section 3).
CLIP_SCORE_WEIGHT = 2.5


def shipped_contrastive_model(weights=None):
    """The shipped `ContrastiveImageText` (default architecture) with its trained weights."""
    from keras_gen.models.multimodal.contrastive import ContrastiveImageText

    weights = weights or CONTRASTIVE_WEIGHTS
    if not os.path.exists(weights):
        raise FileNotFoundError(
            f"Contrastive model weights not found at {weights}. They ship with keras_gen; "
            "run scripts/train_contrastive.py to make them again."
        )
    model = ContrastiveImageText(seed=0)
    model.load_weights(weights)
    return model


def clip_score(images, captions, model=None):
    """CLIPScore of image-caption pairs: `2.5 * max(cos, 0)` averaged, in [0, 2.5].

    Args:
        images: `(n, 28, 28, 1)` in [-1, 1].
        captions: `n` strings (or `(n, length)` tokens), `captions[i]` of `images[i]`.
        model: a `ContrastiveImageText` (default: the shipped one).

    Returns:
        A dict: `"clip_score"` (the mean) and `"per_pair"` (`(n,)` scores).
    """
    model = model or shipped_contrastive_model()
    image_embeddings = model.encode_images(images)
    text_embeddings = model.encode_captions(captions)
    if len(image_embeddings) != len(text_embeddings):
        raise ValueError(
            f"`captions` must hold one caption per image ({len(image_embeddings)}). "
            f"Received: {len(text_embeddings)} captions"
        )
    cosine = np.sum(image_embeddings * text_embeddings, axis=1)
    per_pair = CLIP_SCORE_WEIGHT * np.maximum(cosine, 0.0)
    return {"clip_score": float(per_pair.mean()), "per_pair": per_pair}


def image_prompt_agreement(images, prompts, classifier=None, contrastive=None):
    """How often each image shows what its prompt asks for.

    Args:
        images: `(n, 28, 28, 1)` in [-1, 1] (or uint8).
        prompts: `n` strings; each is parsed for a digit, a thickness and a slant word.
        classifier: an `MNISTClassifier` (default: the shipped one).
        contrastive: a `ContrastiveImageText` for the `"clip_score"` entry; None
            leaves the entry out.

    Returns:
        A dict of shares in [0, 1] over the prompts that name the attribute:
        `"digit_accuracy"`, `"thickness_agreement"`, `"slant_agreement"`, and
        `"all_agreement"` (prompts naming all three, every one matched), with
        the number of prompts behind each (`"num_digit"`, ...).
    """
    prompts = list(prompts)
    images = np.asarray(images)
    if len(prompts) != len(images) or not prompts:
        raise ValueError(
            f"`prompts` must hold one prompt per image ({len(images)}). "
            f"Received: {len(prompts)} prompts"
        )
    wanted = [caption_data.parse_caption(p) for p in prompts]
    classifier = classifier or mnist_classifier.MNISTClassifier()
    found = caption_data.attribute_classes(caption_data.measure_attributes(images))
    if images.dtype == np.uint8:
        images = images.astype("float32") / 127.5 - 1.0
    found["digit"] = np.argmax(classifier(images)["logits"], axis=1)
    result = {}
    matches = {}
    for key, label in (("digit", "digit_accuracy"), ("thickness", None), ("slant", None)):
        label = label or f"{key}_agreement"
        named = np.array([w[key] is not None for w in wanted])
        target = np.array([-1 if w[key] is None else w[key] for w in wanted])
        matches[key] = np.where(named, found[key] == target, False)
        result[label] = float(matches[key][named].mean()) if named.any() else float("nan")
        result[f"num_{key}"] = int(named.sum())
    named_all = np.array([all(v is not None for v in w.values()) for w in wanted])
    every = matches["digit"] & matches["thickness"] & matches["slant"]
    result["all_agreement"] = float(every[named_all].mean()) if named_all.any() else float("nan")
    result["num_all"] = int(named_all.sum())
    if contrastive is not None:
        result["clip_score"] = clip_score(images, prompts, contrastive)["clip_score"]
    return result


def prompt_fidelity(model, prompts, seed=0, classifier=None, contrastive=None, **options):
    """Generates one image per prompt with `model.generate(prompts, seed=seed, **options)` and scores it.

    Returns:
        `image_prompt_agreement` of the samples (with `"clip_score"` when
        `contrastive` is given: pass `shipped_contrastive_model()` for the shipped one).
    """
    images = model.generate(list(prompts), seed=seed, **options)
    return image_prompt_agreement(images, prompts, classifier, contrastive)
