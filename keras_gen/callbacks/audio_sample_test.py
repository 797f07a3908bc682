import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from keras_gen import callbacks, testing
from keras_gen.callbacks import audio_sample
from keras_gen.data import music
from keras_gen.models.text import TransformerXL
from keras_gen.utils import audio

# tempo 100, 4 steps a quarter: 0.15 s a step; at 8 kHz, 1200 samples a step, 400 of release.
SAMPLE_RATE = 8000
# Three keys in thirds, then a fourth key: MIDI 60, 64, 67, 72.
ROLL = music.pianoroll_from_notes(
    np.asarray([[-1, 60, 0, 4], [-1, 64, 2, 4], [-1, 67, 4, 2], [-1, 72, 6, 6]])
)


def _summaries(log_dir):
    # Keep every entry: by default the accumulator samples a few audio and image tensors.
    events = EventAccumulator(str(log_dir / "train"), size_guidance={"tensors": 0})
    events.Reload()
    return events


def _decoded_wavs(event, directory):
    """The WAV clips of one audio summary entry, read back with `audio.read_wav`."""
    clips = []
    for i, encoded in enumerate(event.tensor_proto.string_val[::2]):  # (clip, label) pairs
        path = directory / f"clip_{event.step}_{i}.wav"
        path.write_bytes(encoded)
        clips.append(audio.read_wav(str(path)))
    return clips


def test_event_language_model_samples_go_to_tensorboard(tmp_path):
    model = TransformerXL(
        vocabulary_size=music.EVENT_VOCABULARY_SIZE,
        segment_length=8,
        memory_length=8,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        seed=0,
    )
    model.compile(optimizer="adam")
    callback = callbacks.AudioSampleCallback(
        str(tmp_path), num_samples=2, num_steps=8, sample_rate=SAMPLE_RATE, every=2
    )
    callback.set_model(model)
    for epoch in range(2):  # Keras' 0-based epoch indices: writes after the 2nd epoch
        callback.on_epoch_end(epoch)
    callback.on_train_end()
    assert len(callback.last_pianorolls) == 2
    for roll in callback.last_pianorolls:
        assert roll.shape == (8, music.NUM_KEYS) and roll.dtype == np.float32
        assert set(np.unique(roll)) <= {0.0, 1.0}
    # The same pieces as the model's own generate, from one END, seeds 0 and 1.
    tokens = model.generate([music.END], max_length=32, temperature=1.0, seed=1)[1:]
    np.testing.assert_array_equal(
        callback.last_pianorolls[1], audio_sample.fit_pianoroll(np.asarray(tokens), 8)
    )
    events = _summaries(tmp_path)
    assert {"samples", "pianorolls"} <= set(events.Tags()["tensors"])
    [entry] = events.Tensors("samples")
    assert entry.step == 2
    clips = _decoded_wavs(entry, tmp_path)
    assert [rate for _, rate in clips] == [SAMPLE_RATE, SAMPLE_RATE]
    for (clip, _), rendered in zip(clips, callback.last_audio):
        assert clip.shape == rendered.shape == (8 * 1200 + 400,)
    [pictures] = events.Tensors("pianorolls")
    assert pictures.step == 2
    assert len(pictures.tensor_proto.string_val) == 2 + 2  # width, height, then 2 PNGs


def test_a_generate_function_gives_the_pieces(tmp_path):
    seen = []

    def generate(model, num_samples, seed):
        seen.append((model, num_samples, seed))
        return [ROLL * 0.9, music.events_from_pianoroll(ROLL)][:num_samples]

    callback = callbacks.AudioSampleCallback(
        str(tmp_path),
        num_samples=2,
        num_steps=16,
        sample_rate=SAMPLE_RATE,
        seed=7,
        generate=generate,
    )
    callback.set_model("the model")
    callback.on_epoch_end(0)
    callback.on_epoch_end(1)
    callback.on_train_end()
    assert seen == [("the model", 2, 7)] * 2
    padded = np.pad(ROLL, ((0, 16 - len(ROLL)), (0, 0)))
    for roll in callback.last_pianorolls:  # a piano-roll and its events, both padded
        np.testing.assert_array_equal(roll, padded)
    events = _summaries(tmp_path)
    audio_entries = events.Tensors("samples")
    assert [entry.step for entry in audio_entries] == [1, 2]
    expected = audio.render(padded, sample_rate=SAMPLE_RATE)
    for clip, rate in _decoded_wavs(audio_entries[-1], tmp_path):
        assert rate == SAMPLE_RATE and clip.shape == expected.shape == (16 * 1200 + 400,)
        # TensorFlow's WAV encoder truncates 32768 * x; read_wav divides by 32767.
        assert np.max(np.abs(clip - expected)) <= 2 / 32767
    assert [entry.step for entry in events.Tensors("pianorolls")] == [1, 2]


def test_pianoroll_pictures_crop_the_keys_and_put_high_keys_on_top():
    [picture] = audio_sample.pianoroll_pictures([ROLL])
    cell, margin = audio_sample.CELL, audio_sample.KEY_MARGIN
    keys = 72 - 60 + 1 + 2 * margin
    assert picture.shape == (keys * cell, len(ROLL) * cell, 1) and picture.dtype == np.uint8
    row_of = lambda pitch: (72 + margin - pitch) * cell  # top pixel row of a key
    assert picture[row_of(72), 6 * cell, 0] == 255 and picture[row_of(72), 0, 0] != 255
    assert picture[row_of(60), 0, 0] == 255 and picture[row_of(60), 4 * cell, 0] != 255
    assert picture[row_of(62), 0, 0] == 0  # not played, not a C
    # Nothing played: all 88 keys.
    assert audio_sample.pianoroll_pictures([np.zeros((4, 88))]).shape == (1, 88 * cell, 16, 1)


def test_a_piece_is_cut_to_num_steps():
    notes = np.asarray([[-1, 60, 0, 4], [-1, 62, 3, 10], [-1, 64, 20, 2]])
    roll = audio_sample.fit_pianoroll(notes, 8)
    np.testing.assert_array_equal(roll, music.pianoroll_from_notes(notes)[:8])
    np.testing.assert_array_equal(
        audio_sample.fit_pianoroll(music.pianoroll_from_notes(notes), 8), roll
    )


def test_bad_arguments_are_named(tmp_path):
    make = lambda **kwargs: lambda: callbacks.AudioSampleCallback(str(tmp_path), **kwargs)
    testing.expect_value_error(make(num_samples=0), "num_samples=0")
    testing.expect_value_error(make(num_steps=2.5), "num_steps=2.5")
    testing.expect_value_error(make(every=0), "every=0")
    testing.expect_value_error(make(sample_rate=-1), "sample_rate=-1")
    testing.expect_value_error(make(tempo=0), "tempo=0")
    testing.expect_value_error(make(temperature=-1.0), "temperature=-1.0")
    testing.expect_value_error(make(generate="yes"), "generate='yes'")
    callback = callbacks.AudioSampleCallback(str(tmp_path), generate=lambda m, n, s: [ROLL])
    callback.set_model(None)
    with pytest.raises(ValueError, match="Expected 2 pieces"):
        callback.on_epoch_end(0)
