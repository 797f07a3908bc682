import os

import numpy as np
import pytest

from keras_gen.data import music

# BWV 269 "Aus meines Herzens Grunde" (G major, 3/4).
BWV269 = "bwv269.mxl"


def _corpus_file(name):
    files = [f for f in music.corpus_files() if os.path.basename(f) == name]
    assert files, f"{name} is not in music21's corpus"
    return files[0]


def test_a_chorale_parses_to_its_known_notes():
    piece = music.parse_score(_corpus_file(BWV269), voices=music.VOICES)
    import music21

    score = music21.converter.parse(_corpus_file(BWV269))
    for voice, part in enumerate(score.parts[:4]):
        expected = [
            (int(n.pitch.midi), round(float(n.offset) * 4), round(float(n.quarterLength) * 4))
            for n in part.stripTies().flatten().notes
        ]
        got = piece.notes[piece.notes[:, 0] == voice]
        assert [tuple(row[1:]) for row in got] == expected
    soprano = piece.notes[piece.notes[:, 0] == 0]
    # The melody's opening in 3/4: G4 quarter pickup | G4 half, D5 quarter | B4 dotted
    # eighth, A4 sixteenth, G4 quarter (MIDI 67 67 74 71 69 67; steps of a sixteenth).
    np.testing.assert_array_equal(
        soprano[:6, 1:],
        [[67, 0, 4], [67, 4, 8], [74, 12, 4], [71, 16, 6], [69, 22, 2], [67, 24, 4]],
    )
    bass = piece.notes[piece.notes[:, 0] == 3]
    np.testing.assert_array_equal(bass[:4, 1], [43, 55, 52, 54])  # G2 G3 E3 F#3
    assert piece.num_steps == (soprano[-1, 2] + soprano[-1, 3])


def test_quantisation_rounds_to_the_grid_and_keeps_a_step(tmp_path):
    import music21

    stream = music21.stream.Score()
    part = music21.stream.Part()
    triplet = music21.duration.Duration(1 / 3)
    for pitch in ("C4", "D4", "E4"):  # an eighth-note triplet: onsets 0, 1/3, 2/3 of a quarter
        part.append(
            music21.note.Note(pitch, duration=music21.duration.Duration(triplet.quarterLength))
        )
    part.append(music21.note.Note("F4", quarterLength=0.125))  # a 32nd note, at 1.0
    stream.append(part)
    notes = music.parse_score(stream).notes
    np.testing.assert_array_equal(notes[:, 1], [60, 62, 64, 65])
    np.testing.assert_array_equal(notes[:, 2], [0, 1, 3, 4])  # round(0, 4/3, 8/3, 4)
    np.testing.assert_array_equal(notes[:, 3], [1, 2, 1, 1])  # ends 1, 3, 4; the 32nd keeps a step


def test_splits_go_by_catalogue_number():
    assert music.chorale_split("bwv10.7.mxl") == "test"
    assert music.chorale_split("bwv145.5.mxl") == "validation"
    assert music.chorale_split("bwv269.mxl") == "train"
    with pytest.raises(ValueError, match="Not a BWV file name"):
        music.catalogue_number("chorale.mxl")


def test_the_corpus_splits_into_the_documented_counts():
    pieces, skipped = music.bach_chorales()
    # docs/data.md: 408 files, 403 with Soprano, Alto, Tenor and Bass parts.
    assert len(pieces) + len(skipped) == len(music.corpus_files()) == 408
    assert len(pieces) == 403
    counts = {s: len(music.pieces_for("bach_chorales", s)) for s in ("train", "validation", "test")}
    assert counts == {"train": 316, "validation": 48, "test": 39}
    names = {split: {p.name for p in music.pieces_for("bach_chorales", split)} for split in counts}
    assert not names["train"] & names["test"] and not names["train"] & names["validation"]
    assert all(len(set(p.notes[:, 0])) == 4 for p in pieces)


def _random_notes(seed, count=40):
    rng = np.random.RandomState(seed)
    rows = []
    for voice in range(4):
        start = 0
        for _ in range(count // 4):
            duration = int(rng.randint(1, 9))
            rows.append((voice, 48 + 7 * voice + int(rng.randint(0, 5)), start, duration))
            start += duration + int(rng.randint(0, 3))
    return np.asarray(rows, "int32")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pianoroll_and_events_round_trip(seed):
    notes = _random_notes(seed)
    roll = music.pianoroll_from_notes(notes)
    events = music.events_from_pianoroll(roll)
    assert events[-1] == music.END
    np.testing.assert_array_equal(music.pianoroll_from_events(events), roll)
    # Notes whose keys never touch come back exactly (voices aside) from events.
    single = notes[notes[:, 0] == 0].copy()
    back = music.notes_from_events(music.events_from_notes(single))
    np.testing.assert_array_equal(back[:, 1:], single[:, 1:])


def test_events_of_a_repeated_key_and_a_long_rest():
    notes = np.asarray([(0, 60, 0, 4), (0, 60, 4, 2), (0, 64, 40, 1)], "int32")
    tokens = music.events_from_notes(notes)
    on, off, shift = music.NOTE_ON + 39, music.NOTE_OFF + 39, music.TIME_SHIFT
    expected = [on, shift + 3, off, on, shift + 1, off]
    expected += [shift + 15, shift + 15, shift + 1, music.NOTE_ON + 43, shift, music.NOTE_OFF + 43]
    assert tokens.tolist() == expected + [music.END]
    np.testing.assert_array_equal(music.notes_from_events(tokens)[:, 1:], notes[:, 1:])


def test_bad_notes_tokens_and_rolls_are_named():
    with pytest.raises(ValueError, match="88 keys"):
        music.pianoroll_from_notes(np.asarray([(0, 10, 0, 1)]))
    with pytest.raises(ValueError, match="durations >= 1"):
        music.pianoroll_from_notes(np.asarray([(0, 60, 0, 0)]))
    with pytest.raises(ValueError, match="`tokens` must be event ids"):
        music.notes_from_events([0, 500])
    with pytest.raises(ValueError, match=r"shape \(frames, 88\)"):
        music.notes_from_pianoroll(np.zeros((4, 12)))
    with pytest.raises(ValueError, match="outside the 88 keys"):
        music.transpose(np.asarray([(0, 105, 0, 1)]), 12)


def test_load_music_windows_and_transposition():
    dataset, info = music.load_music(
        "bach_chorales", split="test", sequence_length=32, batch_size=8, seed=0
    )
    assert info.shape == (32, 88) and info.num_pieces == 39
    windows = music.pianoroll_windows(music.pieces_for("bach_chorales", "test"), 32)
    assert info.num_examples == len(windows)
    batch = next(iter(dataset)).numpy()
    assert batch.shape == (8, 32, 88) and set(np.unique(batch)) <= {0.0, 1.0}
    _, shifted = music.load_music(
        "bach_chorales", split="test", sequence_length=32, transpose=(-2, 0, 3), seed=0
    )
    assert shifted.num_examples == 3 * info.num_examples
    _, events = music.load_music(
        "bach_chorales", "events", split="test", sequence_length=16, batch_size=4, consecutive=True
    )
    assert events.vocabulary_size == music.EVENT_VOCABULARY_SIZE
    with pytest.raises(ValueError, match="representation"):
        music.load_music(representation="midi")
    for bad in ([20], [0.5], 5):
        with pytest.raises(ValueError, match="`transpose` must be integer semitone shifts"):
            music.load_music(transpose=bad)
    with pytest.raises(ValueError, match="`name` must be 'bach_chorales' or the path"):
        music.load_music("no_such_music")


def test_a_users_midi_folder_loads_the_same_way(tmp_path):
    from keras_gen.utils import audio

    notes = _random_notes(3)
    audio.write_midi(str(tmp_path / "piece.mid"), notes)
    (tmp_path / "readme.txt").write_text("not music")
    pieces = music.pieces_for(str(tmp_path), "train")
    assert [p.name for p in pieces] == ["piece.mid"]
    np.testing.assert_array_equal(
        music.pianoroll_from_notes(pieces[0].notes), music.pianoroll_from_notes(notes)
    )
    with pytest.raises(ValueError, match="no `test` subfolder"):
        music.pieces_for(str(tmp_path), "test")
    (tmp_path / "bad.mid").write_bytes(b"MThd garbage")
    with pytest.raises(ValueError, match="bad.mid is not a readable music file"):
        music.pieces_for(str(tmp_path), "train")
