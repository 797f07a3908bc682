"""Feature extractors by name, and feature statistics of datasets and models."""

import numpy as np

from keras_gen.metrics.feature_stats import FeatureStats
from keras_gen.metrics.inception import InceptionFID, KerasInceptionV3
from keras_gen.metrics.mnist_classifier import MNISTClassifier


def get(identifier):
    """Resolves an extractor by name, or returns an extractor object unchanged.

    Names: `"mnist"` (the shipped `MNISTClassifier`), `"inception"` (the FID
    Inception network, `InceptionFID`; needs its weight file) and
    `"keras_inception_v3"` (not comparable with published numbers).

    An extractor is a callable `extractor(images) -> {"features", "logits"}`
    with `feature_dim` and `protocol` attributes; the shipped ones subclass
    `extractor_base.FeatureExtractor`.

    Raises:
        ValueError: for an unknown name.
    """
    if callable(identifier) and hasattr(identifier, "protocol"):
        return identifier
    if identifier in ("mnist", "mnist_classifier"):
        return MNISTClassifier()
    if identifier in ("inception", "inception_fid"):
        return InceptionFID()
    if identifier == "keras_inception_v3":
        return KerasInceptionV3()
    raise ValueError(
        "Unknown feature extractor. Expected 'mnist', 'inception', "
        "'keras_inception_v3' or an extractor object. "
        f"Received: extractor={identifier!r}"
    )


def _batches(images, batch_size=500):
    """Yields numpy image batches from an array or a `tf.data.Dataset` (labels dropped)."""
    if isinstance(images, np.ndarray):
        for start in range(0, len(images), batch_size):
            yield images[start : start + batch_size]
        return
    for batch in images:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        yield np.asarray(batch)


def dataset_stats(images, extractor, num_samples=None, keep_features=10_000, protocol=None):
    """Feature statistics of real images (an array or a dataset), up to `num_samples`.

    The protocol records the shape of the images, so that statistics of
    images of another resolution are refused when compared.
    """
    stats = FeatureStats(
        extractor.feature_dim,
        {**extractor.protocol, **(protocol or {})},
        keep_features=keep_features,
    )
    for batch in _batches(images):
        stats.protocol.setdefault("image_shape", list(batch.shape[1:]))
        if num_samples is not None:
            batch = batch[: num_samples - stats.count]
        if len(batch):
            stats.update(extractor(batch)["features"])
        if num_samples is not None and stats.count >= num_samples:
            break
    return stats


def dataset_outputs(images, extractor, num_samples=None):
    """Features and logits of real images (an array or a dataset), up to `num_samples`."""
    features, logits, count = [], [], 0
    for batch in _batches(images):
        if num_samples is not None:
            batch = batch[: num_samples - count]
        if len(batch):
            result = extractor(batch)
            features.append(result["features"])
            logits.append(result["logits"])
            count += len(batch)
        if num_samples is not None and count >= num_samples:
            break
    return np.concatenate(features), np.concatenate(logits)


def model_outputs(model, extractor, num_samples, seed=0, batch_size=500):
    """Features and logits of `num_samples` samples of `model.generate`."""
    features, logits = [], []
    for index, start in enumerate(range(0, num_samples, batch_size)):
        samples = model.generate(min(batch_size, num_samples - start), seed=seed + index)
        result = extractor(samples)
        features.append(result["features"])
        logits.append(result["logits"])
    return np.concatenate(features), np.concatenate(logits)
