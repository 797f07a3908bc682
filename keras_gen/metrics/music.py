"""Sample statistics of music: generated pieces against held-out Bach chorales.

`music_statistics(pieces)` measures a set of pieces (note arrays, piano-rolls
or `Piece`s of `keras_gen.data.music`, on its grid of sixteenth-note steps):
the pitch-class histogram, the note-duration histogram, the share of
consonant vertical intervals, the pitch range of each voice and the number of
keys sounding at once. `compare_music(samples, reference)` sets the samples'
figures beside the reference's, with the histograms compared by
`jensen_shannon` divergence in bits. The reference's own figures are the
point to aim at; the divergence between two held-out splits (validation
against test) is the floor that a model cannot be expected to beat.
"""

import numpy as np

from keras_gen.data import music as music_data

#: Intervals (semitones mod 12) counted consonant: unison / octave, minor and
#: major third, perfect fifth, minor and major sixth. The perfect fourth (5) is
#: dissonant, as it is against the bass in common-practice harmony.
CONSONANT_INTERVALS = (0, 3, 4, 7, 8, 9)
#: Durations of 1..MAX_DURATION steps get a bin each; one last bin holds the longer ones.
MAX_DURATION = 16


def music_statistics(pieces):
    """Pitch-class, duration, consonance and voice-range statistics of a set of pieces.

    Each piece is read as notes; a piano-roll gives one note per run of
    on-frames of a key (`keras_gen.data.music.notes_from_pianoroll`, keys
    above 0.5 are on), with the voice unknown (-1). The figures are pooled
    over all the pieces (not averaged per piece).

    - `pitch_class_histogram`: per pitch class (index 0 = C, ..., 11 = B, the
      MIDI pitch mod 12), the note steps spent on it: each note weighted by
      its duration in steps, then normalised to sum to 1. So the histogram
      does not depend on how a held key is cut into notes, but two voices in
      unison count twice in a note array and once in a piano-roll.
    - `duration_histogram`: the share of notes lasting 1, 2, ..., 16 steps
      (indices 0 to 15) and longer (index 16), one count per note.
    - `consonance`: the share of vertical intervals that are consonant. At
      every frame, every pair of distinct sounding pitches is one interval; it
      is consonant when it is, mod 12, a unison / octave (0), a third (3, 4), a
      perfect fifth (7) or a sixth (8, 9). The perfect fourth counts as
      dissonant, as it is against the bass in common-practice harmony (every
      pair is judged so, not only those with the bass). Two voices on one
      pitch are one sounding pitch and make no pair.
    - `pitch_range`: per voice name, `(lowest, highest, mean)` MIDI pitch, the
      mean over the steps the voice sounds (duration-weighted). A note with a
      voice index 0..3 belongs to `VOICES[voice]` (`"voice 4"` and on for
      further parts). Notes of voice -1 are given voices by rank at each
      frame, among the voice -1 keys sounding then: the top key is the
      soprano, the bottom one (when there are two or more) the bass, the
      second from the top (when there are three or more) the alto, and the
      rest the tenor; so four keys read soprano, alto, tenor, bass from the
      top, three soprano, alto, bass, two soprano and bass. Voices that never
      sound are left out.
    - `notes_per_frame`: the mean number of sounding keys over the frames
      where any key sounds.
    - `num_notes`: the number of notes.

    Figures with nothing to count (no notes, no pair of sounding pitches) are
    NaN.

    Args:
        pieces: a non-empty list of pieces, each an int `(n, 4)` note array of
            rows `(voice, pitch, start, duration)`, a `(frames, 88)`
            piano-roll, or a `keras_gen.data.music.Piece`; or a
            `(num_pieces, frames, 88)` array of piano-rolls (a model's samples).

    Returns:
        A dict: `"pitch_class_histogram"` (float64 `(12,)`),
        `"duration_histogram"` (float64 `(17,)`), `"consonance"` (float),
        `"pitch_range"` (dict of voice name to `(int, int, float)`),
        `"notes_per_frame"` (float) and `"num_notes"` (int).

    Example:
    >>> chord = np.array([[0, 67, 0, 4], [1, 64, 0, 4], [2, 55, 0, 4], [3, 48, 0, 4]])
    >>> stats = music_statistics([chord])  # C major: G4, E4, G3, C3
    >>> stats["consonance"], stats["notes_per_frame"], stats["pitch_range"]["bass"]
    (1.0, 4.0, (48, 48, 48.0))
    """
    return _statistics(pieces, "pieces")


def _statistics(pieces, name):
    """`music_statistics`, with errors naming the argument `name`."""
    totals = dict(
        pitch_classes=np.zeros(12),
        durations=np.zeros(MAX_DURATION + 1),
        intervals=np.zeros(music_data.NUM_KEYS),  # pairs per interval 0..87 (0 stays empty)
        sounding=0,
        frames=0,
        ranges={},
    )
    for notes in _notes_of(pieces, name):
        _add_piece(totals, notes)
    num_notes = int(totals["durations"].sum())
    intervals = np.arange(music_data.NUM_KEYS)
    consonant = np.isin(intervals % 12, CONSONANT_INTERVALS)
    num_pairs = totals["intervals"].sum()
    ranges = {
        voice: (lowest, highest, float(weighted / steps))
        for voice, (lowest, highest, weighted, steps) in sorted(
            totals["ranges"].items(), key=lambda item: _voice_order(item[0])
        )
    }
    return {
        "pitch_class_histogram": _normalised(totals["pitch_classes"]),
        "duration_histogram": _normalised(totals["durations"]),
        "consonance": _ratio(totals["intervals"][consonant].sum(), num_pairs),
        "pitch_range": ranges,
        "notes_per_frame": _ratio(totals["sounding"], totals["frames"]),
        "num_notes": num_notes,
    }


def jensen_shannon(p, q):
    """Jensen-Shannon divergence in bits between two histograms, in [0, 1].

    `JS(p, q) = (KL(p || m) + KL(q || m)) / 2` with `m = (p + q) / 2`, base 2
    (Lin 1991, doi:10.1109/18.61115). Both are normalised first; a bin empty
    in one histogram adds nothing to its KL term (`0 log 0 = 0`), and `m` is
    positive wherever `p` or `q` is, so no smoothing is needed.

    Args:
        p: non-negative counts or shares, not all zero.
        q: the same, of the same shape.

    Returns:
        A float: 0 for proportional histograms, 1 for disjoint ones.

    Example:
    >>> jensen_shannon([1, 1, 0], [0, 0, 5])
    1.0
    """
    p = _check_histogram(p, "p")
    q = _check_histogram(q, "q")
    if p.shape != q.shape:
        raise ValueError(
            f"`p` and `q` must have the same shape. Received: p with shape {p.shape}, "
            f"q with shape {q.shape}"
        )
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    divergence = (_kl_bits(p, m) + _kl_bits(q, m)) / 2
    return float(np.clip(divergence, 0.0, 1.0))


def compare_music(samples, reference):
    """Generated music's statistics beside a reference's (held-out chorales).

    Args:
        samples: the generated pieces (as `music_statistics` takes them), or
            their `music_statistics` dict.
        reference: the held-out pieces, or their `music_statistics` dict (to
            measure them once for many comparisons).

    Returns:
        A dict: `"pitch_class_divergence"` and `"duration_divergence"` (the
        `jensen_shannon` divergence in bits between the samples' and the
        reference's histograms; NaN when either has no notes), and the
        samples' `"consonance"`, `"pitch_range"`, `"notes_per_frame"` with
        the reference's (`"reference_consonance"`, ...) beside them.

    Example:
    ```python
    test = keras_gen.data.music.pieces_for("bach_chorales", "test")
    reference = keras_gen.metrics.music_statistics(test)
    rolls = model.generate(64)  # (64, frames, 88) piano-rolls
    keras_gen.metrics.compare_music(rolls, reference)["pitch_class_divergence"]
    # The floor: one held-out split against another.
    validation = keras_gen.data.music.pieces_for("bach_chorales", "validation")
    keras_gen.metrics.compare_music(validation, reference)["pitch_class_divergence"]
    ```
    """
    samples = samples if _is_statistics(samples) else _statistics(samples, "samples")
    reference = reference if _is_statistics(reference) else _statistics(reference, "reference")
    result = {}
    for name, key in (
        ("pitch_class_divergence", "pitch_class_histogram"),
        ("duration_divergence", "duration_histogram"),
    ):
        if samples["num_notes"] and reference["num_notes"]:
            result[name] = jensen_shannon(samples[key], reference[key])
        else:
            result[name] = float("nan")
    for key in ("consonance", "pitch_range", "notes_per_frame"):
        result[key] = samples[key]
        result[f"reference_{key}"] = reference[key]
    return result


# ---------------------------------------------------------------------- helpers


def _notes_of(pieces, name):
    """The int32 note arrays of `pieces`, each checked, with errors naming `name[i]`."""
    expected = (
        f"`{name}` must be a non-empty list of note arrays (n, 4), piano-rolls "
        f"(frames, {music_data.NUM_KEYS}) or `Piece`s."
    )
    if isinstance(pieces, music_data.Piece) or len(getattr(pieces, "shape", ())) == 2:
        raise ValueError(f"{expected} Received: one piece; pass it in a list, {name}=[piece]")
    try:
        if isinstance(pieces, (str, bytes, dict)):
            raise TypeError
        pieces = list(pieces)
    except TypeError:
        raise ValueError(f"{expected} Received: {name}={pieces!r}") from None
    if not pieces:
        raise ValueError(f"{expected} Received: {name}=[]")
    all_notes = []
    for i, piece in enumerate(pieces):
        if isinstance(piece, music_data.Piece):
            piece = piece.notes
        try:
            array = np.asarray(piece) if not isinstance(piece, (str, bytes)) else np.zeros(())
            if array.ndim == 2 and array.shape[1] == music_data.NUM_KEYS:
                all_notes.append(music_data.notes_from_pianoroll(array))
                continue
            if array.ndim == 2 and array.shape[1] == 4:
                all_notes.append(music_data._check_notes(array))
                continue
        except ValueError as error:
            raise ValueError(f"{expected} Received: {name}[{i}]: {error}") from None
        raise ValueError(f"{expected} Received: {name}[{i}] with shape {array.shape}")
    return all_notes


def _add_piece(totals, notes):
    """Adds the counts of one piece's notes to `totals`."""
    voices, pitches, durations = notes[:, 0], notes[:, 1], notes[:, 3]
    totals["pitch_classes"] += np.bincount(pitches % 12, weights=durations, minlength=12)
    bins = np.minimum(durations, MAX_DURATION + 1) - 1
    totals["durations"] += np.bincount(bins, minlength=MAX_DURATION + 1)
    roll = music_data.pianoroll_from_notes(notes) > 0.5  # (frames, 88)
    keys_on = roll.sum(axis=1)
    totals["sounding"] += int(keys_on.sum())
    totals["frames"] += int((keys_on > 0).sum())
    # together[j, k]: the frames where keys j and k both sound; its k-th superdiagonal
    # sums the pairs k semitones apart.
    together = roll.T.astype("float64") @ roll.astype("float64")  # (88, 88)
    for interval in range(1, music_data.NUM_KEYS):
        totals["intervals"][interval] += np.trace(together, offset=interval)
    for voice in np.unique(voices[voices >= 0]):
        mine = voices == voice
        _add_range(totals["ranges"], _voice_name(voice), pitches[mine], durations[mine])
    unknown = notes[voices < 0]
    if len(unknown):
        _add_ranked_ranges(totals["ranges"], music_data.pianoroll_from_notes(unknown) > 0.5)


def _add_ranked_ranges(ranges, roll):
    """Adds the frames of a voice-less piano-roll to `ranges`, voices by rank at each frame."""
    count = roll.sum(axis=1, keepdims=True)  # (frames, 1)
    rank = np.cumsum(roll[:, ::-1], axis=1)[:, ::-1] - 1  # keys on above each key
    voice = np.where(rank == 0, 0, np.where(rank == count - 1, 3, np.where(rank == 1, 1, 2)))
    for index, name in enumerate(music_data.VOICES):
        keys = np.nonzero(roll & (voice == index))[1]
        if len(keys):
            _add_range(ranges, name, keys + music_data.LOWEST_PITCH, np.ones(len(keys)))


def _add_range(ranges, name, pitches, steps):
    lowest, highest, weighted, total = ranges.get(name, (None, None, 0.0, 0.0))
    low, high = int(pitches.min()), int(pitches.max())
    ranges[name] = (
        low if lowest is None else min(lowest, low),
        high if highest is None else max(highest, high),
        weighted + float(np.sum(pitches * steps)),
        total + float(np.sum(steps)),
    )


def _voice_name(voice):
    return music_data.VOICES[voice] if voice < len(music_data.VOICES) else f"voice {voice}"


def _voice_order(name):
    if name in music_data.VOICES:
        return music_data.VOICES.index(name)
    return int(name.split()[1])


def _check_histogram(histogram, name):
    try:
        histogram = np.asarray(histogram, "float64")
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be a histogram of counts. Received: {name}={histogram!r}"
        ) from None
    if histogram.size == 0 or not np.all(np.isfinite(histogram)) or np.any(histogram < 0):
        raise ValueError(
            f"`{name}` must be a non-empty histogram of finite, non-negative counts. "
            f"Received: {name}={histogram!r}"
        )
    if histogram.sum() == 0:
        raise ValueError(f"`{name}` must hold some counts. Received: {name} all zeros")
    return histogram


def _kl_bits(p, m):
    support = p > 0
    return float(np.sum(p[support] * np.log2(p[support] / m[support])))


def _normalised(counts):
    total = counts.sum()
    return counts / total if total else np.full(counts.shape, np.nan)


def _ratio(numerator, denominator):
    return float(numerator / denominator) if denominator else float("nan")


def _is_statistics(value):
    return isinstance(value, dict) and "pitch_class_histogram" in value
