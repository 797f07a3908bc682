"""Music as data: Bach chorales from music21's corpus, as piano-rolls or event tokens.

Three views of one piece, on a grid of `STEPS_PER_QUARTER` (4: sixteenth notes)
steps per quarter note:

- **notes**: int32 `(n, 4)` rows `(voice, pitch, start, duration)`, MIDI
  pitch and steps; what a score parses to.
- **piano-roll**: float32 `(frames, 88)` in {0, 1}, one frame per step, key
  `k` the MIDI pitch `LOWEST_PITCH + k` (the 88 keys of a piano, JSB-style).
- **events**: int32 tokens in the Music-Transformer style: `NOTE_ON + k`,
  `NOTE_OFF + k` (k the key, 88 each), `TIME_SHIFT + s - 1` for a shift of `s`
  steps (1 to `MAX_SHIFT`), and `END` after each piece. At one time the
  note-offs come before the note-ons, each in pitch order, so a repeated key
  reads as a new note.

`load_music("bach_chorales", ...)` parses the corpus that ships with music21
once and caches the notes (`KERAS_GEN_CACHE`, as the metrics' weights);
`load_music(path)` reads the user's own MIDI or MusicXML files the same way.
"""

import collections
import contextlib
import glob
import hashlib
import os
import re

import numpy as np
import tensorflow as tf

from keras_gen.data import epoch_order, text
from keras_gen.utils import files as file_io

#: Grid steps per quarter note (sixteenth notes).
STEPS_PER_QUARTER = 4
#: MIDI pitch of key 0 (A0); the 88 keys end at C8 (108).
LOWEST_PITCH = 21
NUM_KEYS = 88
#: Event vocabulary: note-ons, note-offs, time shifts of 1..MAX_SHIFT steps, end of piece.
NOTE_ON = 0
NOTE_OFF = NUM_KEYS
TIME_SHIFT = 2 * NUM_KEYS
MAX_SHIFT = 16
END = TIME_SHIFT + MAX_SHIFT
EVENT_VOCABULARY_SIZE = END + 1
#: The four voices of a chorale, in score order.
VOICES = ("soprano", "alto", "tenor", "bass")
#: Version of the cached parse (raise when parsing changes).
_CACHE_VERSION = 1
MUSIC_SUFFIXES = (".mid", ".midi", ".mxl", ".musicxml", ".xml", ".krn", ".abc")

Piece = collections.namedtuple("Piece", ["name", "notes", "num_steps"])
Piece.__doc__ = """One parsed piece: `name`, int32 `notes` `(n, 4)` and its length `num_steps`."""

MusicInfo = collections.namedtuple(
    "MusicInfo",
    [
        "name",
        "split",
        "representation",
        "num_pieces",
        "num_steps",
        "num_examples",
        "vocabulary_size",
        "shape",
    ],
)
MusicInfo.__doc__ = """What `load_music` loaded.

`num_pieces` and `num_steps` count the split's pieces and their grid steps
(before transposition), `num_examples` the piano-roll windows or the event
tokens (after it), `vocabulary_size` is the event vocabulary (events) or None,
`shape` one example's shape (`(frames, 88)` for piano-rolls,
`(sequence_length,)` for events).
"""


# ---------------------------------------------------------------------- conversions


def pianoroll_from_notes(notes, num_steps=None):
    """`(frames, 88)` float32 piano-roll of `notes` (a key is on while any voice holds it).

    Args:
        notes: int `(n, 4)` rows `(voice, pitch, start, duration)`.
        num_steps: frames (default: the end of the last note).
    """
    notes = _check_notes(notes)
    end = int((notes[:, 2] + notes[:, 3]).max()) if len(notes) else 0
    num_steps = end if num_steps is None else int(num_steps)
    roll = np.zeros((num_steps, NUM_KEYS), "float32")
    for _, pitch, start, duration in notes:
        roll[start : start + duration, pitch - LOWEST_PITCH] = 1.0
    return roll


def notes_from_pianoroll(roll):
    """Notes of a piano-roll: every run of consecutive on-frames of a key is one note (voice -1).

    A piano-roll cannot tell a held note from the same key struck again, nor
    which voice sang it; `pianoroll_from_notes(notes_from_pianoroll(r)) == r`.
    """
    roll = _check_pianoroll(roll) > 0.5
    padded = np.pad(roll, ((1, 1), (0, 0)))
    change = np.diff(padded.astype("int8"), axis=0)
    rows = []
    for key in range(NUM_KEYS):
        starts = np.flatnonzero(change[:, key] == 1)
        ends = np.flatnonzero(change[:, key] == -1)
        rows += [(-1, key + LOWEST_PITCH, s, e - s) for s, e in zip(starts, ends)]
    rows.sort(key=lambda row: (row[2], row[1]))
    return np.asarray(rows, "int32").reshape(-1, 4)


def events_from_notes(notes, end=True):
    """Event tokens of `notes` (voices merged); `end` appends `END`.

    Two voices on the same key at once (a unison) become one note: the key
    sounds from the first start to the last end of the overlapping notes.
    """
    notes = _check_notes(notes)
    # Merge overlapping notes on one key, so that every on has its own off.
    merged = []
    for pitch in np.unique(notes[:, 1]):
        spans = sorted((s, s + d) for s, d in notes[notes[:, 1] == pitch][:, 2:])
        current = list(spans[0])
        for start, stop in spans[1:]:
            if start < current[1]:
                current[1] = max(current[1], stop)
            else:
                merged.append((current[0], 1, pitch))
                merged.append((current[1], 0, pitch))
                current = [start, stop]
        merged.append((current[0], 1, pitch))
        merged.append((current[1], 0, pitch))
    merged.sort()  # by time, offs (0) before ons (1), then pitch
    tokens, now = [], 0
    for time, on, pitch in merged:
        shift = time - now
        while shift > 0:
            step = min(shift, MAX_SHIFT)
            tokens.append(TIME_SHIFT + step - 1)
            shift -= step
        now = time
        tokens.append((NOTE_ON if on else NOTE_OFF) + pitch - LOWEST_PITCH)
    if end:
        tokens.append(END)
    return np.asarray(tokens, "int32")


def notes_from_events(tokens):
    """Notes (voice -1) of event tokens, read up to the first `END`.

    A note-on of a key already on, or a note-off of a key that is off, is
    ignored; keys still on at the end are held to the last time.
    """
    tokens = np.asarray(tokens).reshape(-1)
    if len(tokens) and (not np.issubdtype(tokens.dtype, np.integer) or tokens.min() < 0):
        raise ValueError(
            f"`tokens` must be event ids in [0, {EVENT_VOCABULARY_SIZE}). Received: tokens of "
            f"dtype {tokens.dtype}"
            + (f" in [{tokens.min()}, {tokens.max()}]" if len(tokens) else "")
        )
    if len(tokens) and tokens.max() >= EVENT_VOCABULARY_SIZE:
        raise ValueError(
            f"`tokens` must be event ids in [0, {EVENT_VOCABULARY_SIZE}). "
            f"Received: tokens in [{tokens.min()}, {tokens.max()}]"
        )
    now, started, rows = 0, {}, []
    for token in tokens:
        if token == END:
            break
        if token >= TIME_SHIFT:
            now += token - TIME_SHIFT + 1
        elif token >= NOTE_OFF:
            start = started.pop(token - NOTE_OFF, None)
            if start is not None and now > start:
                rows.append((-1, token - NOTE_OFF + LOWEST_PITCH, start, now - start))
        elif token - NOTE_ON not in started:
            started[token - NOTE_ON] = now
    rows += [(-1, key + LOWEST_PITCH, start, now - start) for key, start in started.items()]
    rows = [row for row in rows if row[3] > 0]
    rows.sort(key=lambda row: (row[2], row[1]))
    return np.asarray(rows, "int32").reshape(-1, 4)


def pianoroll_from_events(tokens):
    """The piano-roll of event tokens (`pianoroll_from_notes(notes_from_events(tokens))`)."""
    return pianoroll_from_notes(notes_from_events(tokens))


def events_from_pianoroll(roll, end=True):
    """Event tokens of a piano-roll; `pianoroll_from_events` gives the piano-roll back."""
    return events_from_notes(notes_from_pianoroll(roll), end=end)


def transpose(notes, semitones):
    """`notes` shifted by `semitones`; ValueError if a pitch leaves the 88 keys."""
    notes = _check_notes(notes).copy()
    notes[:, 1] += int(semitones)
    if len(notes) and (
        notes[:, 1].min() < LOWEST_PITCH or notes[:, 1].max() >= LOWEST_PITCH + NUM_KEYS
    ):
        raise ValueError(
            f"Transposing by {semitones} semitones takes pitches outside the 88 keys "
            f"[{LOWEST_PITCH}, {LOWEST_PITCH + NUM_KEYS}). Received: semitones={semitones}"
        )
    return notes


def _check_notes(notes):
    notes = np.asarray(notes)
    if notes.size == 0:
        return np.zeros((0, 4), "int32")
    if notes.ndim != 2 or notes.shape[1] != 4 or not np.issubdtype(notes.dtype, np.integer):
        raise ValueError(
            "`notes` must be integer rows (voice, pitch, start, duration). "
            f"Received: notes with shape {notes.shape} and dtype {notes.dtype}"
        )
    pitches = notes[:, 1]
    if pitches.min() < LOWEST_PITCH or pitches.max() >= LOWEST_PITCH + NUM_KEYS:
        raise ValueError(
            f"`notes` pitches must be MIDI pitches of the 88 keys, [{LOWEST_PITCH}, "
            f"{LOWEST_PITCH + NUM_KEYS}). Received: pitches in [{pitches.min()}, {pitches.max()}]"
        )
    if notes[:, 2].min() < 0 or notes[:, 3].min() < 1:
        raise ValueError(
            "`notes` starts must be >= 0 and durations >= 1 step. Received: starts from "
            f"{notes[:, 2].min()}, durations from {notes[:, 3].min()}"
        )
    return notes.astype("int32")


def _check_pianoroll(roll):
    roll = np.asarray(roll)
    if roll.ndim != 2 or roll.shape[1] != NUM_KEYS:
        raise ValueError(
            f"A piano-roll must have shape (frames, {NUM_KEYS}). Received: shape {roll.shape}"
        )
    return roll


# ---------------------------------------------------------------------- parsing


def parse_score(source, steps_per_quarter=STEPS_PER_QUARTER, voices=None):
    """Parses a score (a file path or a `music21` stream) into a `Piece`.

    Every part is a voice, in score order (`voices`: only the parts with
    these names, case-insensitive, in that order). Ties are merged, chords
    give one note per pitch, grace notes are dropped, onsets and ends are
    rounded to the grid (a note keeps at least one step), and pitches
    outside the 88 keys raise ValueError.

    Args:
        source: a path to a MIDI, MusicXML (.mxl, .musicxml, .xml) or other
            music21-readable file, or a parsed `music21.stream.Score`.
        steps_per_quarter: grid steps per quarter note.
        voices: part names to keep, or None for all parts.
    """
    import music21  # noqa: PLC0415 (a slow import; only parsing needs it)

    name = os.path.basename(str(source)) if isinstance(source, (str, os.PathLike)) else "score"
    score = (
        # forceSource: never read music21's own pickle cache (a shared folder whose files
        # pickle.load would run); storePickle=False: never write one either.
        music21.converter.parse(str(source), forceSource=True, storePickle=False)
        if isinstance(source, (str, os.PathLike))
        else source
    )
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    if voices is not None:
        named = {(part.partName or "").strip().lower(): part for part in parts}
        missing = [voice for voice in voices if voice not in named]
        if missing:
            raise ValueError(
                f"{name} has no part named {missing}. Received: parts "
                f"{[part.partName for part in parts]}"
            )
        parts = [named[voice] for voice in voices]
    rows = []
    for voice, part in enumerate(parts):
        for element in part.stripTies().flatten().notes:
            if element.duration.isGrace:
                continue
            start = int(round(float(element.offset) * steps_per_quarter))
            stop = int(round(float(element.offset + element.quarterLength) * steps_per_quarter))
            for pitch in element.pitches:
                rows.append((voice, int(pitch.midi), start, max(stop - start, 1)))
    notes = np.asarray(sorted(rows, key=lambda r: (r[2], r[0], r[1])), "int32").reshape(-1, 4)
    try:
        notes = _check_notes(notes)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    end = int((notes[:, 2] + notes[:, 3]).max()) if len(notes) else 0
    return Piece(name, notes, end)


def catalogue_number(name):
    """The BWV number of a chorale file name (`"bwv269.mxl"` -> 269, `"bwv10.7.mxl"` -> 10)."""
    match = re.match(r"bwv(\d+)", os.path.basename(name).lower())
    if match is None:
        raise ValueError(f"Not a BWV file name (bwvNNN...). Received: {name!r}")
    return int(match.group(1))


def chorale_split(name):
    """`"test"` for BWV numbers ending in 0, `"validation"` ending in 5, else `"train"`.

    By catalogue number, so the movements of one cantata stay in one split.
    """
    number = catalogue_number(name) % 10
    return {0: "test", 5: "validation"}.get(number, "train")


def corpus_files():
    """The Bach chorale files of music21's corpus (`corpus/bach/bwv*.mxl`), sorted."""
    import music21  # noqa: PLC0415

    directory = os.path.join(os.path.dirname(music21.__file__), "corpus", "bach")
    return sorted(glob.glob(os.path.join(directory, "bwv*.mxl")))


def _cache_path(key):
    from keras_gen.metrics import inception  # noqa: PLC0415 (the package's one cache directory)

    return os.path.join(inception.cache_dir(), f"music_{key}_v{_CACHE_VERSION}.npz")


def _save_pieces(path, pieces, skipped):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    notes = [piece.notes for piece in pieces]
    arrays = dict(
        names=np.asarray([piece.name for piece in pieces]),
        num_steps=np.asarray([piece.num_steps for piece in pieces], "int64"),
        counts=np.asarray([len(n) for n in notes], "int64"),
        notes=np.concatenate(notes) if notes else np.zeros((0, 4), "int32"),
        skipped=np.asarray(skipped or [""])[: len(skipped) or 0],
    )
    file_io.write_atomically(path, lambda file: np.savez(file, **arrays), ".npz")


def _load_pieces(path):
    with np.load(path, allow_pickle=False) as arrays:
        names, num_steps = arrays["names"], arrays["num_steps"]
        counts, notes, skipped = arrays["counts"], arrays["notes"], arrays["skipped"]
    if counts.sum() != len(notes) or len(counts) != len(names) or len(num_steps) != len(names):
        raise ValueError(f"The music cache {path} is damaged; delete it to parse again.")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    pieces = [
        Piece(str(name), _check_notes(notes[bounds[i] : bounds[i + 1]]), int(num_steps[i]))
        for i, name in enumerate(names)
    ]
    return pieces, [str(name) for name in skipped]


def bach_chorales():
    """`(pieces, skipped)`: the four-voice chorales of the corpus, and the file names left out.

    A chorale is kept when it has parts named Soprano, Alto, Tenor and Bass
    (other parts, such as instruments doubling a voice, are dropped). Parsed
    on the first call (about 50 s on two cores) and cached.
    """
    files = corpus_files()
    if not files:
        raise ValueError("music21's corpus has no Bach chorales (corpus/bach/bwv*.mxl).")
    import music21  # noqa: PLC0415

    listing = [music21.__version__] + [f"{os.path.basename(f)}:{os.path.getsize(f)}" for f in files]
    key = hashlib.sha256("\n".join(listing).encode()).hexdigest()[:12]
    path = _cache_path(f"bach_{key}")
    with _parse_lock(path):  # one process parses; another waits and reads the cache
        if os.path.exists(path):
            return _load_pieces(path)
        pieces, skipped = [], []
        for file, piece in zip(files, map(_parse_chorale, files)):
            if piece is None:
                skipped.append(os.path.basename(file))
            else:
                pieces.append(piece)
        _save_pieces(path, pieces, skipped)
    return pieces, skipped


def _parse_chorale(file):
    """The four-voice `Piece` of a chorale file, or None when music21 cannot give one."""
    try:
        return parse_score(file, voices=VOICES)
    except Exception:  # noqa: BLE001 (a part missing, or any music21 failure: the file is left out)
        return None


@contextlib.contextmanager
def _parse_lock(path):
    """An exclusive lock beside `path` (advisory, `fcntl`; none where it is missing)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        import fcntl  # noqa: PLC0415 (POSIX only)
    except ImportError:
        yield
        return
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def user_pieces(path):
    """The pieces of a music file, or of every music file in a folder (sorted), parsed and cached."""
    files = (
        sorted(
            os.path.join(path, name)
            for name in os.listdir(path)
            if name.lower().endswith(MUSIC_SUFFIXES)
        )
        if os.path.isdir(path)
        else [path]
    )
    if not files:
        raise ValueError(
            f"The folder {path} holds no music file ({', '.join(MUSIC_SUFFIXES)}). "
            f"Received: name={path!r}"
        )
    digest = hashlib.sha256()
    for file in files:
        stat = os.stat(file)
        digest.update(f"{os.path.abspath(file)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    cache = _cache_path(f"user_{digest.hexdigest()[:16]}")
    if os.path.exists(cache):
        return _load_pieces(cache)[0]
    pieces = []
    for file in files:
        try:
            pieces.append(parse_score(file))
        except ValueError:
            raise
        except Exception as error:  # music21 raises many types for a file it cannot read
            raise ValueError(f"{file} is not a readable music file: {error}") from None
    _save_pieces(cache, pieces, [])
    return pieces


def pieces_for(name="bach_chorales", split="train"):
    """The parsed pieces of one split: of the chorales, or of a user's file or folder.

    Args:
        name: `"bach_chorales"`, or a path to a music file or a folder of
            them. A folder with subfolders `train/`, `validation/`, `test/`
            gives those as the splits; otherwise the whole path is `"train"`.
        split: `"train"`, `"validation"`, `"test"` (or `"all"`: every piece).
    """
    if split not in ("train", "validation", "test", "all"):
        raise ValueError(
            f"`split` must be 'train', 'validation', 'test' or 'all'. Received: split={split!r}"
        )
    if name == "bach_chorales":
        pieces, _ = bach_chorales()
        return [p for p in pieces if split == "all" or chorale_split(p.name) == split]
    if not isinstance(name, (str, os.PathLike)) or not os.path.exists(name):
        raise ValueError(
            "`name` must be 'bach_chorales' or the path of a music file or folder. "
            f"Received: name={name!r}"
        )
    subfolders = [
        s for s in ("train", "validation", "test") if os.path.isdir(os.path.join(name, s))
    ]
    if subfolders and split == "all":
        return [piece for s in subfolders for piece in user_pieces(os.path.join(name, s))]
    if os.path.isdir(os.path.join(name, split)):
        return user_pieces(os.path.join(name, split))
    if split in ("train", "all"):
        return user_pieces(name)
    raise ValueError(
        f"{name} has no `{split}` subfolder; without subfolders a path is one 'train' "
        f"split. Received: split={split!r}"
    )


def _transpositions(transpose):
    if transpose is None:
        return (0,)
    try:
        shifts = tuple(transpose)
    except TypeError:
        shifts = ()
    if (
        not shifts
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shifts)
        or any(abs(s) > 12 for s in shifts)
    ):
        raise ValueError(
            "`transpose` must be integer semitone shifts within [-12, 12], e.g. range(-5, 7). "
            f"Received: transpose={transpose!r}"
        )
    return shifts


def _transposed(pieces, shifts):
    """Every piece in every transposition that stays on the 88 keys (others are left out)."""
    out = []
    for shift in shifts:
        for piece in pieces:
            try:
                out.append(Piece(piece.name, transpose(piece.notes, shift), piece.num_steps))
            except ValueError:
                continue
    return out


def pianoroll_windows(pieces, sequence_length):
    """uint8 `(windows, sequence_length, 88)`: each piece cut into non-overlapping windows.

    The remainder of a piece shorter than a window is dropped.
    """
    windows = []
    for piece in pieces:
        roll = pianoroll_from_notes(piece.notes, piece.num_steps).astype("uint8")
        count = len(roll) // sequence_length
        windows.append(roll[: count * sequence_length].reshape(count, sequence_length, NUM_KEYS))
    return np.concatenate(windows) if windows else np.zeros((0, sequence_length, NUM_KEYS), "uint8")


def event_stream(pieces):
    """The event tokens of the pieces one after another, each ending in `END`."""
    if not pieces:
        return np.zeros(0, "int32")
    return np.concatenate([events_from_notes(piece.notes) for piece in pieces])


def load_music(
    name="bach_chorales",
    representation="pianoroll",
    split="train",
    sequence_length=64,
    batch_size=32,
    transpose=None,
    shuffle=True,
    seed=None,
    consecutive=False,
    steps_per_epoch=None,
):
    """Music as a `tf.data` pipeline of piano-roll windows or event-token segments.

    Args:
        name: `"bach_chorales"` (the four-voice chorales of music21's corpus,
            split by BWV number: `chorale_split`), or the path of the user's
            MIDI / MusicXML file or folder (`pieces_for`).
        representation: `"pianoroll"`: float32 `(batch, sequence_length, 88)`
            windows in {0, 1} (frames of a sixteenth note); `"events"`: int32
            `(inputs, targets)` token segments for next-token training (the
            pieces' events one after another, `END` between pieces).
        split: `"train"`, `"validation"` or `"test"`.
        sequence_length: frames per window, or tokens per segment.
        batch_size: examples per batch.
        transpose: semitone shifts to augment with (e.g. `range(-5, 7)`), each
            piece in each shift that stays on the keys; None for none.
        shuffle: shuffle the windows / segments every epoch (the order of
            epoch `e` a function of `(seed, e)`).
        seed: shuffling seed (None: drawn from Python's `random`).
        consecutive: events only, for Transformer-XL: `batch_size`
            contiguous streams read in order (`keras_gen.data.load_text`).
        steps_per_epoch: make each epoch this many batches, read on across passes.

    Returns:
        `(dataset, info)` with a `MusicInfo`.

    Example:
    >>> dataset, info = load_music("bach_chorales", sequence_length=64, batch_size=8)
    >>> info.shape
    (64, 88)
    """
    if representation not in ("pianoroll", "events"):
        raise ValueError(
            "`representation` must be 'pianoroll' or 'events'. "
            f"Received: representation={representation!r}"
        )
    for argument, value in (("sequence_length", sequence_length), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{argument}` must be an int >= 1. Received: {argument}={value!r}")
    if split == "all":
        raise ValueError("`split` must be 'train', 'validation' or 'test'. Received: split='all'")
    pieces = pieces_for(name, split)
    num_steps, num_pieces = sum(piece.num_steps for piece in pieces), len(pieces)
    pieces = _transposed(pieces, _transpositions(transpose))
    label = name if name == "bach_chorales" else os.path.basename(os.path.normpath(str(name)))
    if representation == "events":
        tokens = event_stream(pieces)
        info = MusicInfo(
            label,
            split,
            "events",
            num_pieces,
            num_steps,
            len(tokens),
            EVENT_VOCABULARY_SIZE,
            (sequence_length,),
        )
        if consecutive:
            dataset = text._streams(tokens, split, sequence_length, batch_size, steps_per_epoch)
        else:
            dataset = text._windows(
                tokens, split, sequence_length, batch_size, shuffle, seed, steps_per_epoch
            )
        return dataset.prefetch(tf.data.AUTOTUNE), info
    if consecutive:
        raise ValueError("`consecutive` is for events. Received: representation='pianoroll'")
    windows = pianoroll_windows(pieces, sequence_length)
    if len(windows) < batch_size:
        raise ValueError(
            f"The {split} pieces hold {len(windows)} windows of {sequence_length} frames, "
            f"fewer than one batch. Received: batch_size={batch_size}"
        )
    info = MusicInfo(
        label,
        split,
        "pianoroll",
        num_pieces,
        num_steps,
        len(windows),
        None,
        (sequence_length, NUM_KEYS),
    )
    table = tf.constant(windows)
    order = dict(
        shuffle=shuffle,
        seed=epoch_order.resolve_seed(seed) if shuffle else 0,
        steps_per_epoch=steps_per_epoch,
    )
    if steps_per_epoch is not None and not shuffle:
        raise ValueError("`steps_per_epoch` needs shuffle=True. Received: shuffle=False")
    dataset = epoch_order.gathered_batches(
        len(windows), batch_size, order, lambda i: tf.cast(tf.gather(table, i), "float32")
    )
    return dataset, info
