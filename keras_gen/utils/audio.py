"""Music to listen to: a small additive synthesiser, WAV files, and Standard MIDI Files.

`render` plays any of the three views of `keras_gen.data.music` (notes,
piano-roll, event tokens) as float32 mono audio; `write_wav` / `read_wav`
store it as 16-bit PCM; `write_midi` writes the notes for a sequencer or a
score editor. Numpy and the standard library only.
"""

import math
import os
import wave

import numpy as np

from keras_gen.data import music as music_data
from keras_gen.utils import files

#: Peak of rendered (non-silent) audio, below 1 so that 16-bit files never clip.
PEAK = 0.9
#: Attack of every note, in seconds: a ramp from silence, so that notes start without a click.
ATTACK = 0.005
#: MIDI ticks per grid step (a quarter note is `steps_per_quarter` times this many ticks).
TICKS_PER_STEP = 120
_VELOCITY = 80
_WAV_HEADER_BYTES = 44


# ---------------------------------------------------------------------- music as notes


def music_kind(music_array):
    """`"pianoroll"`, `"events"` or `"notes"`: which view of music an array is.

    A piano-roll is 2-D `(frames, 88)`, event tokens are 1-D integers, notes
    are 2-D integer `(n, 4)` rows.

    Raises:
        ValueError: naming `music` and its shape and dtype, for anything else.
    """
    array = np.asarray(music_array)
    integer = np.issubdtype(array.dtype, np.integer)
    if array.ndim == 2 and array.shape[1] == music_data.NUM_KEYS:
        return "pianoroll"
    if array.ndim == 1 and (integer or array.size == 0):
        return "events"
    if array.ndim == 2 and array.shape[1] == 4 and (integer or array.size == 0):
        return "notes"
    raise ValueError(
        f"`music` must be a piano-roll (frames, {music_data.NUM_KEYS}), 1-D integer event tokens "
        "or integer notes (n, 4) of (voice, pitch, start, duration). Received: music with "
        f"shape {array.shape} and dtype {array.dtype}"
    )


def notes_and_length(music_array):
    """`(notes, num_steps)` of a piano-roll, event tokens or notes.

    `num_steps` is the piece's length in grid steps: the frames of a
    piano-roll, the time of the tokens up to the first `END` (trailing time
    shifts included), or the end of the last note.
    """
    kind = music_kind(music_array)
    array = np.asarray(music_array)
    if kind == "pianoroll":
        return music_data.notes_from_pianoroll(array), len(array)
    if kind == "events":
        notes = music_data.notes_from_events(array)  # checks the token range
        tokens = array.astype("int64")
        ends = np.flatnonzero(tokens == music_data.END)
        tokens = tokens[: ends[0]] if len(ends) else tokens
        shifts = tokens[tokens >= music_data.TIME_SHIFT] - music_data.TIME_SHIFT + 1
        return notes, int(shifts.sum())
    notes = music_data._check_notes(array)
    return notes, int((notes[:, 2] + notes[:, 3]).max()) if len(notes) else 0


# ---------------------------------------------------------------------- synthesis


def frequency(pitch):
    """Equal-tempered frequency in Hz of a MIDI pitch (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(pitch, "float64") - 69.0) / 12.0)


def render(
    music,
    sample_rate=16000,
    tempo=100,
    steps_per_quarter=music_data.STEPS_PER_QUARTER,
    harmonics=(1.0, 0.5, 0.25, 0.125),
    release=0.05,
):
    """Renders music as float32 mono audio with an additive synthesiser.

    Every note is a sum of sines at multiples of its fundamental
    `440 * 2 ** ((pitch - 69) / 12)` Hz, weighted by `harmonics` (those at or
    above the Nyquist frequency `sample_rate / 2` are left out, so nothing
    aliases). It rises over 5 ms (`ATTACK`) and, after its last step, falls
    linearly to silence over `release` seconds, so that no note clicks. The
    sum of all notes is scaled to a peak of `PEAK` (0.9); silence stays zeros.

    Args:
        music: a piano-roll `(frames, 88)`, event tokens (1-D integers), or
            integer notes `(n, 4)` of `(voice, pitch, start, duration)`, as
            in `keras_gen.data.music`.
        sample_rate: int. Samples per second.
        tempo: float. Quarter notes per minute.
        steps_per_quarter: int. Grid steps per quarter note.
        harmonics: amplitudes of the fundamental and its overtones.
        release: float. Seconds a note takes to fade after it ends (>= 0).

    Returns:
        Float32 audio `(samples,)` in [-1, 1]: the piece's steps plus `release`.

    Raises:
        ValueError: naming the argument, for music of none of the three kinds
            or a rate, tempo, grid, harmonic or release out of range.

    Example:
    >>> scale = [[-1, 60 + p, 4 * i, 4] for i, p in enumerate([0, 2, 4, 5, 7, 9, 11, 12])]
    >>> audio = render(np.asarray(scale), sample_rate=16000, tempo=120)
    >>> audio.shape  # 8 half seconds, then the release
    (64800,)
    """
    sample_rate = check_sample_rate(sample_rate)
    step_seconds = _step_seconds(tempo, steps_per_quarter)
    harmonics = _check_harmonics(harmonics)
    if isinstance(release, bool) or not (
        isinstance(release, (int, float)) and 0 <= release < math.inf
    ):
        raise ValueError(f"`release` must be seconds >= 0. Received: release={release!r}")
    notes, num_steps = notes_and_length(music)
    release_samples = int(round(release * sample_rate))
    sample_of = lambda step: int(round(step * step_seconds * sample_rate))
    audio = np.zeros(sample_of(num_steps) + release_samples, "float64")
    attack_samples = max(int(round(ATTACK * sample_rate)), 1)
    for _, pitch, start, duration in notes:
        begin, end = sample_of(start), sample_of(start + duration)
        time = np.arange(end - begin + release_samples) / sample_rate
        tone = np.zeros_like(time)
        for number, amplitude in enumerate(harmonics, start=1):
            partial = number * frequency(pitch)
            if partial < sample_rate / 2:
                tone += amplitude * np.sin(2 * np.pi * partial * time)
        audio[begin : begin + len(tone)] += tone * _envelope(
            end - begin, attack_samples, release_samples
        )
    peak = np.max(np.abs(audio)) if audio.size else 0.0
    if peak > 0:
        audio *= PEAK / peak
    return audio.astype("float32")


def _envelope(held, attack, release):
    """Gain of a note held for `held` samples: a linear attack, then a linear release."""
    gain = np.minimum(np.arange(held + release) / attack, 1.0)
    last = gain[held - 1] if held else 0.0
    gain[held:] = last * (1.0 - np.arange(release) / release) if release else 0.0
    return gain


def check_sample_rate(sample_rate):
    """`sample_rate` as an int; ValueError naming it unless it is a positive int (Hz)."""
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or not 1 <= sample_rate <= 2**31 - 1  # a WAV header's field
    ):
        raise ValueError(
            f"`sample_rate` must be a positive int (Hz). Received: sample_rate={sample_rate!r}"
        )
    return int(sample_rate)


def check_tempo(tempo):
    """`tempo` as a float; ValueError naming it unless it is a positive, finite number."""
    if (
        isinstance(tempo, bool)
        or not isinstance(tempo, (int, float, np.integer, np.floating))
        or not 0 < tempo < math.inf
    ):
        raise ValueError(
            f"`tempo` must be a positive number of quarter notes per minute. Received: tempo={tempo!r}"
        )
    return float(tempo)


def _step_seconds(tempo, steps_per_quarter):
    tempo = check_tempo(tempo)
    if (
        isinstance(steps_per_quarter, bool)
        or not isinstance(steps_per_quarter, (int, np.integer))
        or steps_per_quarter < 1
    ):
        raise ValueError(
            "`steps_per_quarter` must be an int >= 1. "
            f"Received: steps_per_quarter={steps_per_quarter!r}"
        )
    return 60.0 / (tempo * int(steps_per_quarter))


def _check_harmonics(harmonics):
    try:
        amplitudes = np.asarray(harmonics, "float64")
    except (TypeError, ValueError):
        amplitudes = np.zeros(0)
    if amplitudes.ndim != 1 or not amplitudes.size or not np.all(np.isfinite(amplitudes)):
        raise ValueError(
            "`harmonics` must be a non-empty sequence of finite amplitudes, fundamental "
            f"first. Received: harmonics={harmonics!r}"
        )
    return amplitudes


# ---------------------------------------------------------------------- WAV


def write_wav(path, audio, sample_rate=16000):
    """Writes mono audio in [-1, 1] as a 16-bit PCM WAV file, atomically.

    Samples outside [-1, 1] are clipped. The file appears whole or not at all
    (a temporary file in the same folder, then `os.replace`).

    Args:
        path: the file to write.
        audio: float samples `(samples,)` (or `(samples, 1)`).
        sample_rate: int. Samples per second.

    Returns:
        `path`.

    Raises:
        ValueError: for audio that is not mono or not finite, or a bad rate.

    Example:
    >>> write_wav("scale.wav", render(notes), sample_rate=16000)
    """
    sample_rate = check_sample_rate(sample_rate)
    samples = np.asarray(audio)
    if samples.ndim == 2 and samples.shape[1] == 1:
        samples = samples[:, 0]
    if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.number):
        raise ValueError(
            "`audio` must be mono samples of shape (samples,). Received: audio with shape "
            f"{samples.shape} and dtype {samples.dtype}"
        )
    if not np.all(np.isfinite(samples)):
        raise ValueError("`audio` must be finite. Received: audio with NaN or inf samples")
    pcm = np.round(np.clip(samples.astype("float64"), -1.0, 1.0) * 32767).astype("<i2")

    def write(file):
        with wave.open(file, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate)
            wav.writeframes(pcm.tobytes())

    files.write_atomically(path, write, ".wav")
    return path


def read_wav(path):
    """Reads a mono 16-bit PCM WAV file as `(float32 audio in [-1, 1], sample_rate)`.

    The header is not trusted: a file that is not an uncompressed mono
    16-bit WAV, or whose header claims more samples than the file holds, is
    refused before its samples are read.

    Args:
        path: the file to read.

    Returns:
        `(audio, sample_rate)`: float32 `(samples,)` and an int.

    Raises:
        ValueError: naming the file and what is wrong with it.

    Example:
    >>> audio, sample_rate = read_wav("scale.wav")
    """
    size = os.path.getsize(path)
    try:
        with wave.open(os.fspath(path), "rb") as wav:
            channels, width = wav.getnchannels(), wav.getsampwidth()
            sample_rate, frames = wav.getframerate(), wav.getnframes()
            compression = wav.getcomptype()
            if channels != 1 or width != 2 or compression != "NONE":
                raise ValueError(
                    f"{path} must be an uncompressed mono 16-bit PCM WAV. Received: "
                    f"{channels} channel(s), {8 * width}-bit samples, compression {compression!r}"
                )
            if sample_rate < 1:
                raise ValueError(f"{path} has no sample rate. Received: {sample_rate} Hz")
            if frames * width > size:
                raise ValueError(
                    f"{path} is damaged: its header claims {frames} samples, more than the "
                    f"file's {size} bytes hold"
                )
            data = wav.readframes(frames)
    except (wave.Error, EOFError) as error:
        reason = str(error) or "it ends inside a header"
        raise ValueError(f"{path} is not a readable WAV file: {reason}") from None
    if len(data) != frames * width:
        raise ValueError(
            f"{path} is truncated: its header claims {frames} samples, it holds "
            f"{len(data) // width}"
        )
    pcm = np.frombuffer(data, "<i2").astype("float32")
    return np.maximum(pcm / 32767.0, -1.0), sample_rate


# ---------------------------------------------------------------------- MIDI


def write_midi(path, music, tempo=100, steps_per_quarter=music_data.STEPS_PER_QUARTER):
    """Writes music as a Standard MIDI File, atomically.

    Notes of voice -1 only (a piano-roll, event tokens, or voiceless notes)
    give one track (format 0); otherwise each voice of the notes' column 0
    gets its own track and channel, in voice order, after a track that holds
    the tempo (format 1). A quarter note is `steps_per_quarter * 120` ticks.

    Args:
        path: the file to write (`.mid`).
        music: a piano-roll `(frames, 88)`, event tokens, or integer notes
            `(n, 4)` of `(voice, pitch, start, duration)`.
        tempo: float. Quarter notes per minute.
        steps_per_quarter: int. Grid steps per quarter note.

    Returns:
        `path`.

    Raises:
        ValueError: naming the argument, for music of none of the three kinds,
            or a tempo or grid a MIDI file cannot hold.

    Example:
    >>> notes = np.asarray([[0, 72, 0, 8], [1, 48, 0, 4], [1, 55, 4, 4]])
    >>> write_midi("duet.mid", notes, tempo=90)  # a tempo track and two voices
    'duet.mid'
    """
    _step_seconds(tempo, steps_per_quarter)
    microseconds = int(round(60e6 / float(tempo)))
    if not 1 <= microseconds <= 0xFFFFFF:
        raise ValueError(
            "`tempo` must be between 3.6 and 60,000,000 quarter notes per minute in a MIDI "
            f"file. Received: tempo={tempo!r}"
        )
    division = int(steps_per_quarter) * TICKS_PER_STEP
    if division > 0x7FFF:
        raise ValueError(
            f"`steps_per_quarter` must be at most {0x7FFF // TICKS_PER_STEP} in a MIDI file. "
            f"Received: steps_per_quarter={steps_per_quarter!r}"
        )
    notes, _ = notes_and_length(music)
    tempo_event = (0, b"\xff\x51\x03" + microseconds.to_bytes(3, "big"))
    voices = np.unique(notes[:, 0])
    if len(voices) == 0 or (len(voices) == 1 and voices[0] == -1):
        tracks = [_track([tempo_event, *_note_events(notes, 0)])]
    else:
        channels = [c for c in range(16) if c != 9]  # channel 10 is percussion
        tracks = [_track([tempo_event])]
        for i, voice in enumerate(voices):
            name = f"voice {voice}".encode()
            name_event = (0, b"\xff\x03" + _variable_length(len(name)) + name)
            voice_notes = notes[notes[:, 0] == voice]
            tracks.append(
                _track([name_event, *_note_events(voice_notes, channels[i % len(channels)])])
            )
    header = (
        b"MThd"
        + (6).to_bytes(4, "big")
        + (0 if len(tracks) == 1 else 1).to_bytes(2, "big")
        + len(tracks).to_bytes(2, "big")
        + division.to_bytes(2, "big")
    )
    content = header + b"".join(tracks)
    files.write_atomically(path, lambda file: file.write(content), ".mid")
    return path


def _note_events(notes, channel):
    """`(tick, bytes)` note-ons and note-offs of `notes` on `channel`."""
    events = []
    for _, pitch, start, duration in notes:
        pitch = int(pitch)
        events.append(
            (int(start + duration) * TICKS_PER_STEP, 0, bytes([0x80 | channel, pitch, 0]))
        )
        events.append((int(start) * TICKS_PER_STEP, 1, bytes([0x90 | channel, pitch, _VELOCITY])))
    # At one tick, note-offs before note-ons: a key struck again right away is a new note.
    return [(tick, message) for tick, _, message in sorted(events)]


def _track(events):
    """An `MTrk` chunk of `(tick, bytes)` events (absolute ticks, in order) and its end."""
    data, now = bytearray(), 0
    for tick, message in [*events, (max([t for t, _ in events], default=0), b"\xff\x2f\x00")]:
        data += _variable_length(tick - now) + message
        now = tick
    return b"MTrk" + len(data).to_bytes(4, "big") + bytes(data)


def _variable_length(value):
    """A MIDI variable-length quantity: 7 bits a byte, most significant first, high bit = more."""
    if not 0 <= value <= 0x0FFFFFFF:
        raise ValueError(f"A MIDI delta time must be in [0, 2**28). Received: {value}")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))
