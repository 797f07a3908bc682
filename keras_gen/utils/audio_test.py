import wave

import numpy as np
import pytest

from keras_gen import testing
from keras_gen.data import music
from keras_gen.utils import audio

SAMPLE_RATE = 16000
# tempo 100, 4 steps a quarter: 0.15 s a step, 2400 samples at 16 kHz.
STEP_SAMPLES = 2400
# A C major scale in quarter notes, a rest, then a C major chord held for a half note.
SCALE = [(-1, pitch, 4 * i, 4) for i, pitch in enumerate((60, 62, 64, 65, 67, 69, 71, 72))]
CHORD = [(-1, pitch, 36, 8) for pitch in (60, 64, 67)]
NOTES = np.asarray(SCALE + CHORD, "int32")


def _peak_frequency(samples, sample_rate=SAMPLE_RATE):
    size = 16 * len(samples)  # zero-padded: bins of 1/16 of the resolution
    spectrum = np.abs(np.fft.rfft(samples, size))
    return np.fft.rfftfreq(size, 1 / sample_rate)[np.argmax(spectrum)]


def _magnitude_near(samples, hertz, sample_rate=SAMPLE_RATE, width=20.0):
    spectrum = np.abs(np.fft.rfft(samples))
    frequencies = np.fft.rfftfreq(len(samples), 1 / sample_rate)
    return spectrum[np.abs(frequencies - hertz) < width].max()


@pytest.mark.parametrize("pitch, hertz", [(69, 440.0), (60, 261.6256), (81, 880.0)])
def test_a_single_note_sounds_at_its_equal_tempered_frequency(pitch, hertz):
    samples = audio.render(np.asarray([[-1, pitch, 0, 8]]), sample_rate=SAMPLE_RATE)
    assert samples.dtype == np.float32
    assert abs(_peak_frequency(samples) - hertz) < 1.0
    assert np.max(np.abs(samples)) == pytest.approx(audio.PEAK, abs=1e-6)


def test_harmonics_above_nyquist_are_left_out():
    # A7 = 3520 Hz: harmonic 2 (7040 Hz) sounds, 3 (10560 Hz) would alias to 5440 Hz.
    samples = audio.render(np.asarray([[-1, 105, 0, 8]]), sample_rate=SAMPLE_RATE)
    fundamental = _magnitude_near(samples, 3520.0)
    assert _magnitude_near(samples, 7040.0) > 0.3 * fundamental
    assert _magnitude_near(samples, 5440.0) < 1e-3 * fundamental
    assert _magnitude_near(samples, 1920.0) < 1e-3 * fundamental  # harmonic 4 at 14080 Hz


def test_length_is_the_steps_plus_the_release_and_notes_do_not_click():
    samples = audio.render(NOTES, sample_rate=SAMPLE_RATE, release=0.05)
    assert samples.shape == (44 * STEP_SAMPLES + 800,)
    assert samples[0] == 0.0  # the attack starts from silence
    assert np.max(np.abs(samples[-20:])) < 0.01  # the release ends in silence
    # Twice the tempo, half the length; no release, no tail.
    assert audio.render(NOTES, tempo=200, release=0).shape == (44 * STEP_SAMPLES // 2,)


def test_silence_renders_to_zeros():
    samples = audio.render(np.zeros((16, music.NUM_KEYS), "float32"), sample_rate=SAMPLE_RATE)
    assert samples.shape == (16 * STEP_SAMPLES + 800,) and not np.any(samples)
    assert not np.any(audio.render(np.asarray([music.END])))
    assert audio.render(np.zeros((0, 4), "int32"), release=0).shape == (0,)


def test_notes_pianoroll_and_events_give_the_same_audio():
    from_notes = audio.render(NOTES)
    from_roll = audio.render(music.pianoroll_from_notes(NOTES))
    from_events = audio.render(music.events_from_notes(NOTES))
    assert np.any(from_notes)
    np.testing.assert_allclose(from_roll, from_notes, atol=1e-6)
    np.testing.assert_allclose(from_events, from_notes, atol=1e-6)
    # Trailing time shifts before END are part of the piece.
    tail = [music.TIME_SHIFT + 3, music.END]  # 4 steps
    longer = audio.render(np.concatenate([music.events_from_notes(NOTES, end=False), tail]))
    assert longer.shape == (from_notes.shape[0] + 4 * STEP_SAMPLES,)


def test_wav_round_trip(tmp_path):
    samples = audio.render(NOTES[:3], sample_rate=8000)
    path = str(tmp_path / "piece.wav")
    assert audio.write_wav(path, samples, sample_rate=8000) == path
    read, sample_rate = audio.read_wav(path)
    assert sample_rate == 8000 and read.dtype == np.float32 and read.shape == samples.shape
    assert np.max(np.abs(read - samples)) <= 1 / 32767
    assert [p.name for p in tmp_path.iterdir()] == ["piece.wav"]  # no temporary file left
    # Clipped to [-1, 1].
    audio.write_wav(path, np.asarray([-3.0, 0.0, 3.0]))
    np.testing.assert_array_equal(audio.read_wav(path)[0], [-1.0, 0.0, 1.0])


def _wav(path, channels, width, frames=b"\x00" * 16):
    with wave.open(str(path), "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(width)
        file.setframerate(8000)
        file.writeframes(frames)
    return str(path)


def test_read_wav_refuses_other_formats_and_damaged_files(tmp_path):
    testing.expect_value_error(lambda: audio.read_wav(_wav(tmp_path / "a.wav", 2, 2)), "2 channel")
    testing.expect_value_error(lambda: audio.read_wav(_wav(tmp_path / "b.wav", 1, 1)), "8-bit")
    # A header that claims more samples than the file holds.
    path = _wav(tmp_path / "c.wav", 1, 2)
    with open(path, "r+b") as file:
        file.seek(40)
        file.write((10**9).to_bytes(4, "little"))  # the data chunk's size
    testing.expect_value_error(lambda: audio.read_wav(path), "c.wav", "damaged")
    # Cut short after its header.
    path = _wav(tmp_path / "d.wav", 1, 2)
    with open(path, "r+b") as file:
        file.truncate(44 + 10)
    testing.expect_value_error(lambda: audio.read_wav(path), "d.wav", "truncated")
    (tmp_path / "e.wav").write_bytes(b"not a wav file at all")
    testing.expect_value_error(lambda: audio.read_wav(str(tmp_path / "e.wav")), "e.wav")


def test_midi_round_trip_through_music21(tmp_path):
    path = str(tmp_path / "scale.mid")
    audio.write_midi(path, NOTES, tempo=90)
    assert open(path, "rb").read()[8:10] == b"\x00\x00"  # format 0: voiceless notes, one track
    piece = music.parse_score(path)
    expected = NOTES.copy()
    expected[:, 0] = 0  # music21's one part
    np.testing.assert_array_equal(_sorted(piece.notes), _sorted(expected))
    # Two voices, each its own track; note lengths from a sixteenth to a dotted half.
    voices = np.asarray(
        [[0, 72, 0, 8], [0, 74, 8, 1], [0, 76, 9, 3], [0, 72, 12, 12], [1, 48, 0, 4], [1, 55, 4, 4]]
        + [[1, 48, 8, 16]]
    )
    path = str(tmp_path / "voices.mid")
    audio.write_midi(path, voices)
    assert open(path, "rb").read()[8:12] == b"\x00\x01\x00\x03"  # format 1, tempo + 2 tracks
    np.testing.assert_array_equal(_sorted(music.parse_score(path).notes), _sorted(voices))
    # A piano-roll is written as its notes.
    audio.write_midi(path, music.pianoroll_from_notes(NOTES))
    np.testing.assert_array_equal(_sorted(music.parse_score(path).notes), _sorted(expected))


def _sorted(notes):
    return notes[np.lexsort((notes[:, 1], notes[:, 2], notes[:, 0]))]


def test_variable_length_quantities():
    assert audio._variable_length(0) == b"\x00"
    assert audio._variable_length(0x7F) == b"\x7f"
    assert audio._variable_length(0x80) == b"\x81\x00"
    assert audio._variable_length(0x0FFFFFFF) == b"\xff\xff\xff\x7f"


def test_bad_arguments_are_named(tmp_path):
    testing.expect_value_error(lambda: audio.render(np.zeros((3, 5))), "`music`", "(3, 5)")
    testing.expect_value_error(lambda: audio.render(np.zeros(3)), "`music`", "float64")
    testing.expect_value_error(lambda: audio.render(NOTES, sample_rate=0), "sample_rate=0")
    testing.expect_value_error(lambda: audio.render(NOTES, sample_rate=8e3), "sample_rate=8000.0")
    testing.expect_value_error(lambda: audio.render(NOTES, tempo=-1), "tempo=-1")
    testing.expect_value_error(lambda: audio.render(NOTES, tempo=float("nan")), "tempo=nan")
    testing.expect_value_error(lambda: audio.render(NOTES, release=-0.1), "release=-0.1")
    testing.expect_value_error(lambda: audio.render(NOTES, harmonics=()), "harmonics=()")
    testing.expect_value_error(lambda: audio.render(NOTES, steps_per_quarter=0), "steps_per_q")
    path = str(tmp_path / "x")
    testing.expect_value_error(lambda: audio.write_wav(path, np.zeros((4, 2))), "`audio`")
    testing.expect_value_error(lambda: audio.write_wav(path, [np.nan]), "`audio`")
    testing.expect_value_error(lambda: audio.write_wav(path, [0.0], 0), "sample_rate=0")
    testing.expect_value_error(lambda: audio.write_midi(path, NOTES, tempo=0), "tempo=0")
    testing.expect_value_error(lambda: audio.write_midi(path, NOTES, tempo=1), "tempo=1")
    testing.expect_value_error(lambda: audio.write_midi(path, np.zeros((2, 3))), "`music`")
    assert not list(tmp_path.iterdir())  # nothing written by a refused call
