import keras
import numpy as np
import pytest

from keras_gen.networks import recurrent


def test_shapes_and_a_keras_round_trip(tmp_path):
    encoder = recurrent.recurrent_encoder((16, 88), latent_dim=8, hidden_dim=16)
    decoder = recurrent.hierarchical_decoder(8, (16, 88), bars=2, hidden_dim=16)
    assert encoder.output_shape == (None, 16) and decoder.output_shape == (None, 16, 88)
    latents = np.random.RandomState(0).normal(size=(3, 8)).astype("float32")
    frames = (np.random.RandomState(1).rand(3, 16, 88) > 0.9).astype("float32")
    decoder.save(tmp_path / "decoder.keras")
    loaded = keras.models.load_model(tmp_path / "decoder.keras")
    np.testing.assert_array_equal(loaded([latents, frames]), decoder([latents, frames]))


def test_each_bar_starts_from_its_embedding_and_reads_the_frame_before():
    decoder = recurrent.hierarchical_decoder(4, (8, 88), bars=2, hidden_dim=8)
    latents = np.zeros((1, 4), "float32")
    frames = np.zeros((1, 8, 88), "float32")
    changed = frames.copy()
    changed[0, 2, 40] = 1.0  # frame 2 of bar 0
    difference = np.abs(decoder([latents, changed]) - decoder([latents, frames])).max(axis=2)[0]
    # Only frame 3 reads frame 2: the next bar's state starts from its own embedding.
    assert difference[3] > 0 and np.all(np.delete(difference, 3) == 0)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="divide into `bars`"):
        recurrent.hierarchical_decoder(4, (10, 88), bars=4)
    with pytest.raises(ValueError, match="data_shape"):
        recurrent.recurrent_encoder((16, 88, 1))
