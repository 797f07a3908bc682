"""Feature extractors by name, and feature statistics of datasets and models."""

import numpy as np

from keras_gen.metrics.feature_stats import FeatureStats
from keras_gen.metrics.inception import InceptionFID, KerasInceptionV3
from keras_gen.metrics.mnist_classifier import MNISTClassifier


def get(identifier, fid_protocol=None):
    """Resolves an extractor by name, or returns an extractor object unchanged.

    Names: `"mnist"` (the shipped `MNISTClassifier`), `"inception"` (the FID
    Inception network, `InceptionFID`; needs its weight file) and
    `"keras_inception_v3"` (not comparable with published numbers).

    An extractor is a callable `extractor(images) -> {"features", "logits"}`
    with `feature_dim` and `protocol` attributes; the shipped ones subclass
    `extractor_base.FeatureExtractor`.

    Args:
        identifier: a name above or an extractor object.
        fid_protocol: for `"inception"`, its input handling: `"ttur"` (the
            default), `"pytorch_fid"` or `"clean"` (`InceptionFID(protocol=...)`).
            Other extractors have only the default; an object must carry the
            one asked for.

    Raises:
        ValueError: for an unknown name, or a `fid_protocol` the extractor
            does not have.
    """
    if callable(identifier) and hasattr(identifier, "protocol"):
        _check_fid_protocol(identifier.protocol.get("fid_protocol"), fid_protocol, identifier)
        return identifier
    if identifier in ("inception", "inception_fid"):
        return InceptionFID(protocol=fid_protocol or "ttur")
    _check_fid_protocol(None, fid_protocol, identifier)
    if identifier in ("mnist", "mnist_classifier"):
        return MNISTClassifier()
    if identifier == "keras_inception_v3":
        return KerasInceptionV3()
    raise ValueError(
        "Unknown feature extractor. Expected 'mnist', 'inception', "
        "'keras_inception_v3' or an extractor object. "
        f"Received: extractor={identifier!r}"
    )


def _check_fid_protocol(has, wanted, extractor):
    # An extractor without an FID protocol counts as the default ("ttur") one.
    if wanted is None or wanted == (has or "ttur"):
        return
    what = f"this one's fid_protocol is {has!r}" if has else "this one has only the default 'ttur'"
    raise ValueError(
        "`fid_protocol` chooses the input handling of the Inception extractor "
        f"(extractor='inception'), and {what}. "
        f"Received: fid_protocol={wanted!r}, extractor={getattr(extractor, 'name', extractor)!r}"
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
