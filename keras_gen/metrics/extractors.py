"""Feature extractors by name, and feature statistics of datasets and models."""

import numpy as np
import tensorflow as tf

from keras_gen.metrics.feature_stats import FeatureStats


def get(identifier):
    """Resolves an extractor by name, or returns an extractor object unchanged.

    Names: `"mnist"` (the shipped `MNISTClassifier`), `"inception"` (the FID
    Inception network, `InceptionFID`; needs its weight file) and
    `"keras_inception_v3"` (not comparable with published numbers).

    An extractor is a callable `extractor(images) -> {"features", "logits"}`
    with `feature_dim` and `protocol` attributes.

    Raises:
        ValueError: for an unknown name.
    """
    if callable(identifier) and hasattr(identifier, "protocol"):
        return identifier
    if identifier in ("mnist", "mnist_classifier"):
        from keras_gen.metrics.mnist_classifier import MNISTClassifier

        return MNISTClassifier()
    if identifier in ("inception", "inception_fid"):
        from keras_gen.metrics.inception import InceptionFID

        return InceptionFID()
    if identifier == "keras_inception_v3":
        from keras_gen.metrics.inception import KerasInceptionV3

        return KerasInceptionV3()
    raise ValueError(
        "Unknown feature extractor. Expected 'mnist', 'inception', "
        "'keras_inception_v3' or an extractor object. "
        f"Received: extractor={identifier!r}"
    )


def run_in_batches(forward, images, batch_size):
    """`{"features", "logits"}` of `forward` over `images` in batches, as numpy arrays."""
    outputs = {"features": [], "logits": []}
    for start in range(0, len(images), batch_size):
        result = forward(tf.constant(images[start : start + batch_size]))
        for key in outputs:
            outputs[key].append(np.asarray(result[key]))
    return {key: np.concatenate(value) for key, value in outputs.items()}


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


def check_images(images, name, channels=(1, 3)):
    """Float32 images `(n, h, w, c)` in [-1, 1], the documented input of every extractor.

    Raises:
        ValueError: for another rank or channel count, non-finite values, or
            values outside [-1, 1] (such as 0..255 pixels), naming `name`.
    """
    images = np.asarray(images, "float32")
    if images.ndim != 4 or images.shape[-1] not in channels:
        raise ValueError(
            f"{name} takes images of shape (n, h, w, {' or '.join(map(str, channels))}) "
            f"in [-1, 1]. Received: images with shape {images.shape}"
        )
    if images.size and not np.all(np.isfinite(images)):
        raise ValueError(
            f"{name} takes finite images in [-1, 1]. Received: images with "
            f"{int(np.sum(~np.isfinite(images)))} NaN or infinite values"
        )
    if images.size and (images.min() < -1.001 or images.max() > 1.001):
        raise ValueError(
            f"{name} takes images in [-1, 1] (scale 8-bit pixels as x / 127.5 - 1). "
            f"Received: images in [{images.min():.4g}, {images.max():.4g}]"
        )
    return images


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


def model_outputs(model, extractor, num_samples, seed=0, batch_size=500):
    """Features and logits of `num_samples` samples of `model.generate`."""
    features, logits = [], []
    for index, start in enumerate(range(0, num_samples, batch_size)):
        samples = model.generate(min(batch_size, num_samples - start), seed=seed + index)
        result = extractor(samples)
        features.append(result["features"])
        logits.append(result["logits"])
    return np.concatenate(features), np.concatenate(logits)
