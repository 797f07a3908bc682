"""`keras-gen train video_transformer_xl` on a folder of GIFs and `keras-gen sample --gif`, in-process."""

import contextlib
import io
import json

import keras
import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from keras_gen import models
from keras_gen.cli import main as cli
from keras_gen.utils import images

SHORT = ["--epochs", "2", "--steps-per-epoch", "3", "--verbose", "0", "--batch-size", "4"]


def _in_process(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _gif_folder(folder, count, seed):
    """`count` GIFs of 20 16x16 frames: a bright square bouncing along a row."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        clip = -np.ones((20, 16, 16, 1), "float32")
        row, column, step = rng.integers(0, 12), rng.integers(0, 12), 1
        for t in range(20):
            if not 0 <= column + step <= 12:
                step = -step
            column += step
            clip[t, row : row + 4, column : column + 4] = 1.0
        images.save_gif(clip, str(folder / f"clip{i}.gif"))


@pytest.mark.slow  # 43 s; the model, the callback and the data are tested on their own
def test_train_on_a_gif_folder_then_sample_a_gif(tmp_path):
    for split, count in (("train", 8), ("test", 4)):
        (tmp_path / "clips" / split).mkdir(parents=True)
        _gif_folder(tmp_path / "clips" / split, count, seed=len(split))
    logdir = tmp_path / "run"
    argv = ["train", "video_transformer_xl", "--dataset", tmp_path / "clips", *SHORT]
    code, stdout, err = _in_process(*argv, "--tokenizer-steps", "2", "--logdir", logdir)
    assert code == 0, err
    assert "Training the frame tokenizer: 2 updates" in stdout
    model = keras.models.load_model(logdir / "model.keras")
    assert isinstance(model, models.VideoTransformerXL) and model.frame_shape == (16, 16, 1)
    assert (logdir / "tokenizer.keras").exists()
    record = json.loads((logdir / "run.json").read_text())
    assert "val_loss" in json.dumps(record)
    events = EventAccumulator(str(logdir / "train"), size_guidance={"images": 0})
    events.Reload()
    assert {"samples/gif/0", "predictions/gif/3"} <= set(events.Tags()["images"])
    # A second session in the run directory reads the tokenizer back instead of training one.
    code, stdout, err = _in_process(*argv, "--logdir", logdir, "--resume", "--epochs", "3")
    assert code == 0 and "Frame tokenizer:" in stdout and "Resuming" in stdout, err
    gif, png = tmp_path / "s.gif", tmp_path / "s.png"
    code, stdout, err = _in_process(
        "sample", logdir / "model.keras", "--num", "2", "--frames", "5", "--gif", gif, "--out", png
    )
    assert code == 0 and "Wrote 2 clip(s) of 5 frames" in stdout, err
    picture = Image.open(gif)
    assert picture.size == (2 * 18 + 2, 18 + 2) and picture.format == "GIF"
    assert png.exists()
    code, _, err = _in_process("sample", logdir / "model.keras", "--max-length", "3")
    assert code == 2 and "--max-length" in err


def test_video_flags_are_refused_elsewhere(tmp_path):
    code, _, err = _in_process("train", "vae", "--tokenizer-steps", "2", "--logdir", tmp_path)
    assert code == 2 and "--tokenizer-steps is for video models" in err
    code, _, err = _in_process("train", "music_vae", "--tokenizer-steps", "2", "--logdir", tmp_path)
    assert code == 2 and "--tokenizer-steps is for video models" in err
    code, _, err = _in_process(
        "train", "video_transformer_xl", "--strategy", "multiworker", "--logdir", tmp_path
    )
    assert code == 2 and "one machine" in err
    code, _, err = _in_process(
        "train", "video_transformer_xl", "--dataset", tmp_path / "none", "--logdir", tmp_path
    )
    assert code == 2 and "trains on video" in err
