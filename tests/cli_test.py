"""The keras-gen command line, run as a user runs it: in a subprocess."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

CLI = [sys.executable, "-m", "keras_gen.cli.main"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def _run(*args, timeout=300):
    result = subprocess.run([*CLI, *args], env=ENV, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _scalars(directory, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(directory)
    events.Reload()
    return [
        (e.step, float(np.asarray(__import__("tensorflow").make_ndarray(e.tensor_proto))))
        for e in events.Tensors(tag)
    ]


def test_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "keras-gen")
    assert os.path.exists(script), "pip install -e . installs the keras-gen command"


def test_train_writes_tensorboard_grids_backup_and_model_then_sample(tmp_path):
    logdir = tmp_path / "run"
    out = _run(
        "train",
        "dcgan",
        "--epochs",
        "2",
        "--steps-per-epoch",
        "3",
        "--logdir",
        str(logdir),
        "--verbose",
        "2",
    )
    assert "Saved" in out
    assert (logdir / "model.keras").exists()
    assert sorted(p.name for p in logdir.glob("samples_epoch_*.png")) == [
        "samples_epoch_0001.png",
        "samples_epoch_0002.png",
    ]
    d_loss = _scalars(str(logdir / "train"), "epoch_d_loss")
    g_loss = _scalars(str(logdir / "train"), "epoch_g_loss")
    assert [s for s, _ in d_loss] == [0, 1] and len(g_loss) == 2
    assert all(np.isfinite(v) for _, v in d_loss + g_loss)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    images = EventAccumulator(str(logdir / "images"))
    images.Reload()
    assert "samples" in images.Tags()["tensors"]
    assert len(images.Tensors("samples")) == 2
    assert _epochs_done(logdir) == 2

    grid = tmp_path / "grid.png"
    _run("sample", str(logdir / "model.keras"), "--num", "16", "--seed", "0", "--out", str(grid))
    picture = np.asarray(Image.open(grid))
    assert picture.shape == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 digits of 28 px, 2 px padding
    assert picture.std() > 0


# beta_vae takes the vae's path with other constructor arguments (test_every_model_has_a_training_recipe).
@pytest.mark.parametrize("model", ["vae", "conditional_vae", "vq_vae"])
def test_train_variational_models(model, tmp_path):
    logdir = tmp_path / model
    _run(
        "train",
        model,
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--logdir",
        str(logdir),
        "--verbose",
        "0",
    )
    assert (logdir / "model.keras").exists()
    assert (logdir / "samples_epoch_0001.png").exists()
    reconstructions = np.asarray(Image.open(logdir / "reconstructions_epoch_0001.png"))
    assert reconstructions.shape == (2 * 30 + 2, 8 * 30 + 2)  # 8 inputs over 8 reconstructions
    interpolations = logdir / "interpolations_epoch_0001.png"
    assert interpolations.exists() == (model != "vq_vae")
    expected = {"vq_vae": "epoch_perplexity"}.get(model, "epoch_elbo")
    assert len(_scalars(str(logdir / "train"), expected)) == 1
    labels = ["--labels", "3"] if model == "conditional_vae" else []
    _run(
        "sample",
        str(logdir / "model.keras"),
        "--num",
        "4",
        "--out",
        str(tmp_path / "s.png"),
        *labels,
    )
    assert np.asarray(Image.open(tmp_path / "s.png")).shape == (2 * 30 + 2, 2 * 30 + 2)


def test_train_diffusion_then_sample(tmp_path):
    logdir = tmp_path / "diffusion"
    _run(
        "train",
        "diffusion",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--logdir",
        str(logdir),
        "--verbose",
        "0",
    )
    assert (logdir / "samples_epoch_0001.png").exists()
    assert len(_scalars(str(logdir / "train"), "epoch_loss")) == 1
    _run("sample", str(logdir / "model.keras"), "--num", "4", "--out", str(tmp_path / "s.png"))
    assert np.asarray(Image.open(tmp_path / "s.png")).shape == (2 * 30 + 2, 2 * 30 + 2)


@pytest.mark.parametrize("model", ["gpt", "transformer_xl"])
def test_train_language_models_then_sample_a_prompt(model, tmp_path):
    logdir = tmp_path / model
    _run(
        "train",
        model,
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "8",
        "--logdir",
        str(logdir),
        "--verbose",
        "0",
    )
    assert len(_scalars(str(logdir / "validation"), "epoch_bits_per_byte")) == 1
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    text = EventAccumulator(str(logdir / "text"))
    text.Reload()
    assert "sample" in text.Tags()["tensors"]
    out = _run(
        "sample",
        str(logdir / "model.keras"),
        "--prompt",
        "The for",
        "--max-length",
        "20",
        "--seed",
        "1",
    )
    assert out.startswith("The for")
    if model == "gpt":
        result = subprocess.run(
            [*CLI, "train", model, "--fid-every", "1", "--logdir", str(tmp_path / "x")],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode != 0 and "--fid-every" in result.stderr


def _epochs_done(logdir):
    from keras_gen.callbacks import backup

    path = logdir / "backup" / backup.MODEL_FILE
    return backup.read_state(str(path))["epochs_done"] if path.exists() else 0


def _wait_for_epochs(process, logdir, minimum, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done = _epochs_done(logdir)
        except ValueError:  # being renamed into place right now
            done = 0
        if done >= minimum:
            return done
        if process.poll() is not None:
            pytest.fail(f"training ended before it could be interrupted: {process.stderr.read()}")
        time.sleep(0.05)
    pytest.fail("no backup appeared")


def _variables(model_file):
    """Every variable a .keras file holds (weights, optimizer slots, seed states), by path."""
    import zipfile

    import h5py

    values = {}
    with zipfile.ZipFile(model_file) as archive, archive.open("model.weights.h5") as f:
        with h5py.File(f, "r") as weights:
            weights.visititems(
                lambda name, item: (
                    values.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
                )
            )
    return values


# Each recipe on small data, 3 epochs of a few steps; the kill lands in epoch 2 or 3.
RESUMED = {
    "dcgan": ["--dataset", "digits", "--batch-size", "16", "--steps-per-epoch", "30"],
    "vae": ["--dataset", "digits", "--batch-size", "16", "--steps-per-epoch", "30"],
    "diffusion": ["--dataset", "digits", "--batch-size", "16", "--steps-per-epoch", "15"],
    "gpt": ["--batch-size", "8", "--steps-per-epoch", "8"],
}


@pytest.mark.parametrize(
    "model",
    [
        "dcgan",
        pytest.param("vae", marks=pytest.mark.slow),
        pytest.param("diffusion", marks=pytest.mark.slow),
        pytest.param("gpt", marks=pytest.mark.slow),
    ],
)
def test_a_run_killed_mid_epoch_resumes_to_the_same_model(tmp_path, model):
    args = ["train", model, "--epochs", "3", "--seed", "0", "--verbose", "0", *RESUMED[model]]
    whole = tmp_path / "whole"
    uninterrupted = subprocess.Popen(
        [*CLI, *args, "--logdir", str(whole)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [*CLI, *args, "--logdir", str(killed)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_epochs(process, killed, 1)
    time.sleep(0.3)  # into the next epoch
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=120)
    done = _epochs_done(killed)
    assert done >= 1 and done < 3 and not (killed / "model.keras").exists()
    out = _run(*args, "--logdir", str(killed), "--resume")
    assert f"after epoch {done}" in out
    _, err = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, err[-3000:]
    expected, resumed = _variables(whole / "model.keras"), _variables(killed / "model.keras")
    assert sorted(expected) == sorted(resumed) and len(expected) > 10
    for name, value in expected.items():
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)


def test_ctrl_c_saves_and_resumes_from_the_last_finished_epoch(tmp_path):
    logdir = tmp_path / "run"
    args = [
        "train",
        "gan",
        "--dataset",
        "ring8",
        "--epochs",
        "6",
        "--steps-per-epoch",
        "150",
        "--logdir",
        str(logdir),
        "--verbose",
        "0",
    ]
    process = subprocess.Popen(
        [*CLI, *args], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for_epochs(process, logdir, 1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert "--resume" in out and (logdir / "interrupted.keras").exists()
    assert not (logdir / "model.keras").exists()
    done = _epochs_done(logdir)
    assert done >= 1 and done < 6
    out = _run(*args, "--resume")
    assert f"after epoch {done}" in out
    assert _epochs_done(logdir) == 6
    steps = [s for s, _ in _scalars(str(logdir / "train"), "epoch_d_loss")]
    assert steps[-(6 - done) :] == list(range(done, 6))
    result = subprocess.run(
        [*CLI, "train", "dcgan", "--resume", "--logdir", str(logdir)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "holds a gan run" in result.stderr


def test_every_model_has_a_training_recipe():
    from keras_gen import models
    from keras_gen.cli import recipes

    assert set(recipes.RECIPES) == set(models.MODELS)
    for name, cls in models.MODELS.items():
        model = recipes.build_model(cls, name, (28, 28, 1), num_classes=10)
        recipes.compile_model(model, name)
        assert model.compiled and type(model) is cls
        assert recipes.default_epochs(name) >= 1
    vae = recipes.build_model(models.VAE, "vae", (2,))
    assert vae.likelihood == "gaussian" and not recipes.binarize("vae", (2,))
    assert recipes.binarize("vae", (28, 28, 1)) and not recipes.binarize("dcgan", (28, 28, 1))


def test_list_and_help():
    out = _run("list")
    for name in (
        "gan",
        "dcgan",
        "wgan_gp",
        "sngan",
        "lsgan",
        "conditional_gan",
        "acgan",
        "mnist5k",
        "grid25",
        "ring8",
        "digits",
    ):
        assert name in out
    assert "usage: keras-gen" in _run("train", "--help")
    # The other commands' help in-process: one TensorFlow start per command adds up.
    import contextlib
    import io

    from keras_gen.cli import main as cli

    for command in ([], ["sample"], ["list"], ["weights"], ["stats"], ["evaluate"]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
            cli.main([*command, "--help"])
        assert done.value.code == 0 and "usage: keras-gen" in out.getvalue()


def test_weights_where_names_both_files(tmp_path):
    (tmp_path / "inception-2015-12-05.tgz").write_bytes(b"")
    out = _run("weights", "where", "--dir", str(tmp_path))
    assert f"{tmp_path / 'pt_inception-2015-12-05-6726825d.pth'} (missing)" in out
    assert f"{tmp_path / 'inception-2015-12-05.tgz'} (present)" in out


def test_errors_are_messages_not_tracebacks(tmp_path):
    result = subprocess.run(
        [*CLI, "train", "dcgan", "--dataset", "nope", "--logdir", str(tmp_path / "x")],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "Unknown dataset" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run(
        [*CLI, "sample", str(tmp_path / "missing.keras")],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "no such file" in result.stderr


def test_fid_every_logs_a_falling_fid_series(tmp_path):
    logdir = tmp_path / "run"
    _run(
        "train",
        "dcgan",
        "--epochs",
        "3",
        "--fid-every",
        "1",
        "--fid-samples",
        "500",
        "--logdir",
        str(logdir),
        "--verbose",
        "0",
        timeout=600,
    )
    fid = [v for _, v in _scalars(str(logdir / "train"), "epoch_fid")]
    assert len(fid) == 3
    assert fid[-1] < 0.8 * fid[0]


def test_stats_and_evaluate(tmp_path):
    stats = tmp_path / "stats.npz"
    out = _run("stats", "--dataset", "mnist5k", "--num", "600", "--out", str(stats))
    assert "600 mnist5k train images" in out
    logdir = tmp_path / "run"
    _run(
        "train",
        "gan",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--logdir",
        str(logdir),
        "--verbose",
        "0",
    )
    result = json.loads(
        _run("evaluate", str(logdir / "model.keras"), "--reference", str(stats), "--num", "300")
    )
    assert set(result["metrics"]) == {
        "fid",
        "inception_score",
        "inception_score_std",
        "kid",
        "kid_std",
        "precision",
        "recall",
        "density",
        "coverage",
    }
    assert result["metrics"]["fid"] > 0
    assert result["protocol"]["reference"]["num_samples"] == 600
    assert result["protocol"]["extractor"] == "mnist_classifier"
