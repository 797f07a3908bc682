import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from keras_gen import callbacks, testing
from keras_gen.utils import images


class _Clips:
    """A stand-in video model: a bright square moving one pixel a frame."""

    def generate(self, num_samples, num_frames=20, seed=None):
        clips = -np.ones((num_samples, num_frames, 16, 16, 1), "float32")
        for i in range(num_samples):
            for t in range(num_frames):
                clips[i, t, 4 + i : 8 + i, t : t + 4] = 1.0
        return clips

    def predict_frames(self, context, num_frames, seed=None):
        return np.repeat(context[:, -1:], num_frames, axis=1)


def _gif_frames(encoded, frame_ms=100):
    """The frames a GIF plays, one per `frame_ms` (Pillow writes a repeated frame once, longer)."""
    picture = Image.open(io.BytesIO(encoded))
    frames = []
    for index in range(picture.n_frames):
        picture.seek(index)
        repeats = picture.info["duration"] // frame_ms
        frames.extend([np.asarray(picture.convert("L"))] * repeats)
    return np.stack(frames)


def test_generated_and_predicted_clips_are_read_back_from_the_event_file(tmp_path):
    model = _Clips()
    context = model.generate(2, num_frames=3)
    truth = model.generate(2, num_frames=5)[:, 3:]
    callback = callbacks.VideoSampleCallback(
        str(tmp_path), num_samples=2, num_frames=6, context=context, truth=truth, every=2
    )
    callback.set_model(model)
    for epoch in range(2):  # writes after the second epoch, as step 2
        callback.on_epoch_end(epoch)
    events = EventAccumulator(str(tmp_path / "train"), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    assert set(events.Tags()["images"]) == {
        "samples/gif/0",
        "samples/gif/1",
        "predictions/gif/0",
        "predictions/gif/1",
    }
    sample = events.Images("samples/gif/1")[0]
    assert sample.step == 2 and sample.encoded_image_string[:6] == b"GIF89a"
    np.testing.assert_array_equal(
        _gif_frames(sample.encoded_image_string), images.to_uint8(model.generate(2, 6)[1, ..., 0])
    )
    played = _gif_frames(events.Images("predictions/gif/0")[0].encoded_image_string)
    expected = np.concatenate([context[0], np.repeat(context[0, -1:], 2, axis=0)])
    np.testing.assert_array_equal(played, images.to_uint8(expected[..., 0]))
    # The strips: one row of 6 frames per sample; observed, truth and predicted rows per context.
    strip = tf.image.decode_png(events.Tensors("samples/frames")[0].tensor_proto.string_val[2])
    assert strip.shape == (2 * 18 + 2, 6 * 18 + 2, 1)
    strip = tf.image.decode_png(events.Tensors("predictions/frames")[0].tensor_proto.string_val[2])
    assert strip.shape == (6 * 18 + 2, 3 * 18 + 2, 1)
    assert callback.last_predictions.shape == (2, 2, 16, 16, 1)


def test_arguments_are_checked():
    testing.expect_value_error(
        lambda: callbacks.VideoSampleCallback(None, num_samples=-1), "num_samples=-1"
    )
    testing.expect_value_error(
        lambda: callbacks.VideoSampleCallback(None, context=np.zeros((2, 3, 4))), "context"
    )
    testing.expect_value_error(
        lambda: callbacks.VideoSampleCallback(None, truth=np.zeros((2, 3, 4, 4, 1))), "truth"
    )
    with pytest.raises(ValueError, match="Nothing to write"):
        callbacks.VideoSampleCallback(None, num_samples=0)


def test_gif_bytes_round_trip_and_checks():
    clip = np.linspace(-1, 1, 4 * 8 * 8).reshape(4, 8, 8, 1)
    np.testing.assert_array_equal(
        _gif_frames(images.gif_bytes(clip)), images.to_uint8(clip[..., 0])
    )
    testing.expect_value_error(lambda: images.gif_bytes(np.zeros((4, 8))), "clip")
    testing.expect_value_error(lambda: images.frame_strip(np.zeros((0, 2, 4, 4))), "clips")
