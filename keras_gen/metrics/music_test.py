import numpy as np
import pytest

from keras_gen import metrics
from keras_gen.data import music as music_data
from keras_gen.metrics import music

# Semitones from 1 to 24 that count as consonant: thirds, fifth, sixths, octave, and
# the same an octave up. The fourths (5, 17) and the rest are dissonant.
CONSONANT = {3, 4, 7, 8, 9, 12, 15, 16, 19, 20, 21, 24}


def notes(*rows):
    return np.array(rows, "int32").reshape(-1, 4)


def test_a_major_triad_is_consonant():
    # C4 E4 G4 held 4 steps: pairs C-E (4), C-G (7), E-G (3), every frame.
    triad = notes((0, 60, 0, 4), (1, 64, 0, 4), (2, 67, 0, 4))
    assert music.music_statistics([triad])["consonance"] == 1.0
    roll = music_data.pianoroll_from_notes(triad)
    assert music.music_statistics([roll])["consonance"] == 1.0


@pytest.mark.parametrize("interval", range(1, 25))
def test_each_interval_is_judged_consonant_or_not(interval):
    pair = notes((0, 60 + interval, 0, 2), (1, 60, 0, 2))
    expected = 1.0 if interval in CONSONANT else 0.0
    assert music.music_statistics([pair])["consonance"] == expected


def test_a_minor_second_and_a_perfect_fourth_are_dissonant():
    assert music.music_statistics([notes((0, 61, 0, 4), (1, 60, 0, 4))])["consonance"] == 0.0
    assert music.music_statistics([notes((0, 65, 0, 4), (1, 60, 0, 4))])["consonance"] == 0.0


def test_consonance_counts_every_pair_at_every_frame_pooled_over_pieces():
    # C4 for 4 steps, E4 over steps 0-1, F4 over steps 2-3: two consonant pairs (C-E),
    # then two dissonant ones (C-F, a fourth).
    moving = notes((3, 60, 0, 4), (0, 64, 0, 2), (0, 65, 2, 2))
    assert music.music_statistics([moving])["consonance"] == 0.5
    # C, F, A at once: C-F 5 (dissonant), C-A 9 and F-A 4 (consonant).
    assert music.music_statistics([notes((0, 69, 0, 1), (1, 65, 0, 1), (2, 60, 0, 1))])[
        "consonance"
    ] == pytest.approx(2 / 3)
    # A triad for 4 steps (12 consonant pairs) and a minor second for 4 (4 dissonant):
    # 12 / 16 pooled, not the mean 0.5 of the two pieces.
    triad = notes((0, 67, 0, 4), (1, 64, 0, 4), (2, 60, 0, 4))
    second = notes((0, 61, 0, 4), (1, 60, 0, 4))
    assert music.music_statistics([triad, second])["consonance"] == 0.75


def test_unisons_make_no_pair_and_no_pairs_give_nan():
    unison = notes((0, 60, 0, 4), (1, 60, 0, 4))
    assert np.isnan(music.music_statistics([unison])["consonance"])
    melody = notes((0, 60, 0, 2), (0, 62, 2, 2))
    assert np.isnan(music.music_statistics([melody])["consonance"])


def test_pitch_class_histogram_is_weighted_by_duration():
    first = notes((0, 72, 0, 8), (1, 64, 0, 2), (2, 60, 0, 4), (3, 55, 2, 2), (3, 21, 4, 1))
    second = notes((0, 71, 0, 3))
    # C: 8 + 4, E: 2, G: 2, A (21): 1, B (71): 3; of 20 steps.
    expected = np.array([12, 0, 0, 0, 2, 0, 0, 2, 0, 1, 0, 3]) / 20
    histogram = music.music_statistics([first, second])["pitch_class_histogram"]
    assert histogram.shape == (12,)
    np.testing.assert_allclose(histogram, expected)


def test_duration_histogram_has_a_bin_for_longer_notes():
    durations = [1, 1, 4, 16, 17, 40]
    piece = notes(*[(0, 60, 50 * i, d) for i, d in enumerate(durations)])
    expected = np.zeros(17)
    expected[0], expected[3], expected[15], expected[16] = 2, 1, 1, 2
    histogram = music.music_statistics([piece])["duration_histogram"]
    np.testing.assert_allclose(histogram, expected / 6)
    assert music.music_statistics([piece])["num_notes"] == 6


def test_jensen_shannon_of_identical_disjoint_and_random_histograms():
    assert music.jensen_shannon([1, 2, 3], [2, 4, 6]) == 0.0
    assert music.jensen_shannon([1, 0], [0, 1]) == 1.0
    assert music.jensen_shannon([1, 1, 0, 0], [0, 0, 3, 5]) == 1.0
    # p = (1/2, 1/2, 0), q = (1/4, 1/4, 1/2), m = (3/8, 3/8, 1/4):
    # KL(p||m) = log2(4/3), KL(q||m) = 1/2 log2(2/3) + 1/2.
    by_hand = (np.log2(4 / 3) + 0.5 * np.log2(2 / 3) + 0.5) / 2
    assert music.jensen_shannon([2, 2, 0], [1, 1, 2]) == pytest.approx(by_hand, abs=1e-12)
    rng = np.random.default_rng(0)
    p, q = rng.random(12), rng.random(12)
    p, q = p / p.sum(), q / q.sum()
    entropy = lambda h: -np.sum(h * np.log2(h))
    direct = entropy((p + q) / 2) - (entropy(p) + entropy(q)) / 2
    assert music.jensen_shannon(p, q) == pytest.approx(direct, abs=1e-12)
    assert music.jensen_shannon(p, q) == pytest.approx(music.jensen_shannon(q, p), abs=1e-15)


def test_jensen_shannon_names_bad_histograms():
    with pytest.raises(ValueError, match="`p` and `q` must have the same shape"):
        music.jensen_shannon([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="`p` must be a non-empty histogram"):
        music.jensen_shannon([1, -1], [1, 1])
    with pytest.raises(ValueError, match="`p` must be a non-empty histogram"):
        music.jensen_shannon([], [])
    with pytest.raises(ValueError, match="`q` must be a non-empty histogram"):
        music.jensen_shannon([1], [])
    with pytest.raises(ValueError, match="`q` must be a histogram of counts"):
        music.jensen_shannon([1, 2], ["a", "b"])
    with pytest.raises(ValueError, match="`q` must hold some counts"):
        music.jensen_shannon([1, 1], [0, 0])


def test_pitch_range_by_rank_for_a_piano_roll():
    roll = np.zeros((11, music_data.NUM_KEYS), "float32")
    chords = [
        (range(0, 4), (72, 67, 64, 48)),  # soprano, alto, tenor, bass
        (range(4, 6), (74, 65, 50)),  # soprano, alto, bass
        (range(6, 8), (76, 43)),  # soprano, bass
        (range(8, 9), (60,)),  # soprano
        (range(9, 11), (79, 77, 70, 69, 45)),  # soprano, alto, tenor, tenor, bass
    ]
    for frames, pitches in chords:
        for pitch in pitches:
            roll[list(frames), pitch - music_data.LOWEST_PITCH] = 1.0
    ranges = music.music_statistics([roll])["pitch_range"]
    assert list(ranges) == ["soprano", "alto", "tenor", "bass"]
    low, high, mean = ranges["soprano"]
    assert (low, high) == (60, 79)
    assert mean == pytest.approx((72 * 4 + 74 * 2 + 76 * 2 + 60 + 79 * 2) / 11)
    assert ranges["alto"][:2] == (65, 77)
    assert ranges["alto"][2] == pytest.approx((67 * 4 + 65 * 2 + 77 * 2) / 8)
    assert ranges["tenor"][:2] == (64, 70)
    assert ranges["tenor"][2] == pytest.approx((64 * 4 + 70 * 2 + 69 * 2) / 8)
    assert ranges["bass"][:2] == (43, 50)
    assert ranges["bass"][2] == pytest.approx((48 * 4 + 50 * 2 + 43 * 2 + 45 * 2) / 10)


def test_pitch_range_uses_the_given_voices():
    # The alto crosses above the soprano: by rank they would swap.
    piece = notes((0, 60, 0, 1), (0, 64, 1, 3), (1, 72, 0, 4), (3, 40, 0, 2))
    ranges = music.music_statistics([piece])["pitch_range"]
    assert list(ranges) == ["soprano", "alto", "bass"]  # no tenor sings
    assert ranges["soprano"] == (60, 64, pytest.approx((60 + 64 * 3) / 4))
    assert ranges["alto"] == (72, 72, 72.0)
    assert ranges["bass"] == (40, 40, 40.0)


def test_notes_and_their_piano_roll_give_the_same_histograms():
    # Four voices, no two notes of one key touching or overlapping.
    piece = notes(
        (0, 72, 0, 4),
        (0, 74, 4, 2),
        (0, 71, 6, 6),
        (1, 67, 0, 6),
        (1, 65, 6, 6),
        (2, 64, 0, 3),
        (2, 62, 3, 9),
        (3, 48, 0, 8),
        (3, 43, 8, 20),
    )
    roll = music_data.pianoroll_from_notes(piece)
    from_notes = music.music_statistics([piece])
    from_roll = music.music_statistics([roll])
    np.testing.assert_allclose(
        from_roll["pitch_class_histogram"], from_notes["pitch_class_histogram"]
    )
    np.testing.assert_allclose(from_roll["duration_histogram"], from_notes["duration_histogram"])
    assert from_roll["consonance"] == from_notes["consonance"]
    assert from_roll["notes_per_frame"] == from_notes["notes_per_frame"]
    # A key struck twice in a row reads as one long note in the roll: the duration
    # histogram changes, the duration-weighted pitch classes do not.
    repeated = notes((0, 60, 0, 2), (0, 60, 2, 2), (1, 67, 0, 4))
    twice = music.music_statistics([repeated])
    once = music.music_statistics([music_data.pianoroll_from_notes(repeated)])
    np.testing.assert_allclose(once["pitch_class_histogram"], twice["pitch_class_histogram"])
    assert twice["duration_histogram"][1] == pytest.approx(2 / 3)
    assert once["duration_histogram"][3] == 1.0


def test_notes_per_frame_counts_only_sounding_frames():
    # A triad over steps 0-3, silence, one key over steps 8-9: (3 * 4 + 1 * 2) / 6 frames.
    piece = music_data.Piece(
        "x", notes((0, 67, 0, 4), (1, 64, 0, 4), (2, 60, 0, 4), (0, 72, 8, 2)), 16
    )
    stats = music.music_statistics([piece])
    assert stats["notes_per_frame"] == pytest.approx(14 / 6)
    assert stats["num_notes"] == 4


def test_a_batch_of_piano_rolls_reads_as_a_list_of_them():
    rng = np.random.default_rng(1)
    batch = (rng.random((3, 16, music_data.NUM_KEYS)) > 0.9).astype("float32")
    as_batch = music.music_statistics(batch)
    as_list = music.music_statistics(list(batch))
    np.testing.assert_allclose(as_batch["pitch_class_histogram"], as_list["pitch_class_histogram"])
    assert as_batch["num_notes"] == as_list["num_notes"] > 0


def test_silence_gives_nan_figures():
    stats = music.music_statistics([np.zeros((8, music_data.NUM_KEYS))])
    assert stats["num_notes"] == 0 and stats["pitch_range"] == {}
    assert np.isnan(stats["pitch_class_histogram"]).all()
    assert np.isnan(stats["notes_per_frame"]) and np.isnan(stats["consonance"])


def test_compare_music_against_a_reference():
    reference = [notes((0, 67, 0, 4), (1, 64, 0, 4), (2, 60, 0, 2))]
    same = metrics.compare_music(reference, reference)
    assert same["pitch_class_divergence"] == 0.0 and same["duration_divergence"] == 0.0
    assert same["consonance"] == same["reference_consonance"] == 1.0
    assert same["pitch_range"] == same["reference_pitch_range"]
    # Every pitch up a semitone: no pitch class in common, the same durations.
    shifted = [music_data.transpose(reference[0], 1)]
    result = metrics.compare_music(shifted, metrics.music_statistics(reference))
    assert result["pitch_class_divergence"] == 1.0 and result["duration_divergence"] == 0.0
    assert result["pitch_range"]["soprano"] == (68, 68, 68.0)
    assert result["reference_pitch_range"]["soprano"] == (67, 67, 67.0)
    assert result["notes_per_frame"] == result["reference_notes_per_frame"] == 2.5
    silent = metrics.compare_music([np.zeros((4, music_data.NUM_KEYS))], reference)
    assert np.isnan(silent["pitch_class_divergence"]) and np.isnan(silent["duration_divergence"])


def test_bad_pieces_are_named():
    with pytest.raises(ValueError, match="`pieces` must be a non-empty list.*pieces=\\[\\]"):
        metrics.music_statistics([])
    with pytest.raises(ValueError, match="pass it in a list"):
        metrics.music_statistics(notes((0, 60, 0, 4)))
    with pytest.raises(ValueError, match="pass it in a list"):
        metrics.music_statistics(music_data.Piece("x", notes((0, 60, 0, 4)), 4))
    with pytest.raises(ValueError, match="`pieces` must be"):
        metrics.music_statistics(None)
    with pytest.raises(ValueError, match="`pieces` must be"):
        metrics.music_statistics("bwv269.mxl")
    with pytest.raises(ValueError, match=r"pieces\[1\] with shape \(4, 12\)"):
        metrics.music_statistics([notes((0, 60, 0, 4)), np.zeros((4, 12))])
    with pytest.raises(ValueError, match=r"pieces\[0\]: `notes` must be integer rows"):
        metrics.music_statistics([np.zeros((3, 4), "float32")])
    with pytest.raises(ValueError, match=r"pieces\[0\]: `notes` pitches"):
        metrics.music_statistics([notes((0, 10, 0, 4))])
    with pytest.raises(ValueError, match="`reference` must be a non-empty list"):
        metrics.compare_music([notes((0, 60, 0, 4))], [])
    with pytest.raises(ValueError, match=r"`samples` must be .* samples\[0\] with shape"):
        metrics.compare_music([np.zeros(5)], [notes((0, 60, 0, 4))])
