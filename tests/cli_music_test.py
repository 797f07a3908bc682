"""`keras-gen train music_vae|music_transformer_xl` and `keras-gen sample --wav --midi`, in-process."""

import contextlib
import io

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from keras_gen import models
from keras_gen.cli import main as cli
from keras_gen.data import music
from keras_gen.utils import audio

SHORT = ["--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0", "--batch-size", "8"]


def _in_process(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def test_train_music_vae_on_the_chorales_then_write_wav_and_midi(tmp_path):
    logdir = tmp_path / "vae"
    code, _, err = _in_process("train", "music_vae", *SHORT, "--logdir", logdir)
    assert code == 0, err
    model = keras.models.load_model(logdir / "model.keras")
    assert isinstance(model, models.MusicVAE) and model.data_shape == (64, 88)
    events = EventAccumulator(str(logdir / "train"), size_guidance={"tensors": 0})
    events.Reload()
    assert {"samples", "pianorolls"} <= set(events.Tags()["tensors"]), events.Tags()
    assert "val_loss" in (logdir / "run.json").read_text()
    wav, midi, png = tmp_path / "s.wav", tmp_path / "s.mid", tmp_path / "s.png"
    code, stdout, err = _in_process(
        "sample", logdir / "model.keras", "--num", "2", "--wav", wav, "--midi", midi, "--out", png
    )
    assert code == 0 and "Wrote 2 piece(s)" in stdout, err
    samples, rate = audio.read_wav(str(wav))
    assert rate == 16000 and len(samples) > 0
    rolls = model.generate_pianorolls(2, seed=0)
    joined = np.concatenate([rolls[0], np.zeros((16, 88), "float32"), rolls[1]])
    parsed = music.parse_score(str(midi))
    # The pieces are untrained noise, which music21 reads back into chords of one duration
    # (the exact MIDI round trip is keras_gen/utils/audio_test.py's): compare the keys.
    assert set(parsed.notes[:, 1]) == set(music.notes_from_pianoroll(joined)[:, 1])
    assert png.exists()
    (tmp_path / "r.npz").write_bytes(b"")  # refused before it is read
    code, _, err = _in_process(
        "evaluate",
        logdir / "model.keras",
        "--reference",
        tmp_path / "r.npz",
        "--extractor",
        "mnist",
    )
    assert code == 2 and "compare_music" in err


@pytest.mark.slow  # 23 s in the full run; the model and user folders are tested on their own
def test_train_music_transformer_xl_on_a_midi_folder_then_sample(tmp_path):
    folder = tmp_path / "midi"
    folder.mkdir()
    rng = np.random.RandomState(0)
    for i in range(4):
        notes = [(0, 60 + int(rng.randint(0, 12)), 2 * j, 2) for j in range(64)]
        audio.write_midi(str(folder / f"piece{i}.mid"), np.asarray(notes, "int32"))
    logdir = tmp_path / "txl"
    code, _, err = _in_process(
        "train", "music_transformer_xl", "--dataset", folder, *SHORT, "--logdir", logdir
    )
    assert code == 0, err
    model = keras.models.load_model(logdir / "model.keras")
    assert isinstance(model, models.MusicTransformerXL)
    wav = tmp_path / "s.wav"
    code, stdout, err = _in_process(
        "sample", logdir / "model.keras", "--max-length", "32", "--wav", wav
    )
    assert code == 0 and wav.exists(), err
    code, _, err = _in_process("sample", logdir / "model.keras", "--prompt", "x")
    assert code == 2 and "takes no --prompt" in err


def test_music_flags_and_datasets_are_usage_errors(tmp_path):
    code, _, err = _in_process(
        "train", "music_vae", "--dataset", "mnist5k", *SHORT, "--logdir", tmp_path / "a"
    )
    assert code == 2 and "trains on music" in err
    model = models.VAE(data_shape=(2,), latent_dim=2, likelihood="gaussian", seed=0)
    model.save(tmp_path / "vae.keras")
    code, _, err = _in_process("sample", tmp_path / "vae.keras", "--wav", tmp_path / "s.wav")
    assert code == 2 and "--wav is for music models" in err
