"""Long learning tests: models learn real data. Run with `pytest -m slow`."""

import keras
import numpy as np
import pytest

import keras_gen
from keras_gen.metrics import extractors


@pytest.mark.slow
def test_dcgan_learns_recognisable_digits():
    dataset, info = keras_gen.data.load("mnist5k", batch_size=64, seed=0)
    model = keras_gen.models.DCGAN(data_shape=info.shape, latent_dim=100, seed=0)
    model.compile(generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    classifier = extractors.get("mnist")
    reference = extractors.dataset_stats(
        keras_gen.data.load("mnist5k", batch_size=500, shuffle=False)[0], classifier)
    before = model.generate(1000, seed=1)
    model.fit(dataset, epochs=10, verbose=0, shuffle=False)
    after = model.generate(1000, seed=1)

    def fid_and_confidence(samples):
        out = classifier(samples)
        stats = keras_gen.metrics.FeatureStats(out["features"].shape[1], classifier.protocol)
        stats.update(out["features"])
        logits = out["logits"] - out["logits"].max(1, keepdims=True)
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        return reference.frechet_distance(stats), np.mean(p.max(1) > 0.9)

    fid_before, _ = fid_and_confidence(before)
    fid_after, confident = fid_and_confidence(after)
    assert fid_after < 0.25 * fid_before
    # Most samples are digits the classifier recognises with confidence, of many classes.
    assert confident > 0.5
    classes = classifier(after)["logits"].argmax(1)
    assert len(np.unique(classes)) == 10
