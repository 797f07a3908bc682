"""Runs that explain themselves: run.json, its TensorBoard HParams and Text, resuming from it,
and the commands that find runs by directory or model name. Training runs as a user runs it, in
subprocesses started in a temporary working directory (so `runs/` is its own)."""

import contextlib
import glob
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_gen.cli import main as cli
from keras_gen.cli import records

CLI = [sys.executable, "-m", "keras_gen.cli.main"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
SHORT = ["--epochs", "2", "--steps-per-epoch", "2"]


def _run(cwd, *args):
    result = subprocess.run(
        [*CLI, *map(str, args)], env=ENV, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _in_process(cwd, *argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _summaries(directory):
    """`{tag: [(step, plugin name, content or tensor)]}` of the event files directly in `directory`."""
    found = {}
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                plugin = value.metadata.plugin_data
                found.setdefault(value.tag, []).append((event.step, plugin.plugin_name, value))
    return found


def _hparams(value):
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    hparams = {}
    for name, entry in data.session_start_info.hparams.items():
        kind = entry.WhichOneof("kind")
        hparams[name] = getattr(entry, kind)
    return hparams


def _text(value):
    text = tf.make_ndarray(value.tensor).item().decode()
    return json.loads("\n".join(line[4:] for line in text.splitlines()))


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """A 2-epoch gan run on ring8 with its default directory, in a fresh working directory."""
    cwd = tmp_path_factory.mktemp("records")
    out = _run(cwd, "train", "gan", "--dataset", "ring8", *SHORT, "--seed", "3")
    return cwd, os.path.realpath(cwd / "runs" / "gan-latest"), out


def test_run_json_records_what_produced_the_run(gan_run):
    cwd, logdir, out = gan_run
    assert "the benchmark setup of docs/sample_quality.md" in out and "--pack 2" in out
    record = json.loads(open(os.path.join(logdir, "run.json")).read())
    (session,) = record["sessions"]
    expected = ["keras-gen", "train", "gan", "--dataset", "ring8", *SHORT, "--seed", "3"]
    assert session["command"] == expected
    assert session["status"] == "finished" and session["epochs_done"] == 2
    assert session["start_time"] <= session["end_time"]
    assert record["model"]["name"] == "gan" and record["model"]["class"].endswith(".GAN")
    assert record["model"]["config"]["seed"] == 3 and record["seed"] == 3
    # gan on ring8 takes the measured benchmark setup (recipes.BENCHMARK_SETUPS), recorded.
    optimizer = record["model"]["compile_config"]["generator_optimizer"]["config"]
    assert optimizer["learning_rate"] == pytest.approx(1e-4)
    assert optimizer["beta_1"] == pytest.approx(0.8)
    assert record["model"]["config"]["pack"] == 2 and record["model"]["config"]["latent_dim"] == 2
    from keras_gen import data

    unshuffled, _ = data.load("ring8", batch_size=500, shuffle=False)
    assert record["dataset"]["fingerprint"] == records.fingerprint(unshuffled)
    assert record["dataset"]["name"] == "ring8" and record["dataset"]["batch_size"] == 200
    assert record["strategy"]["replicas"] == 1 and record["precision"] == "float32"
    assert record["versions"]["tensorflow"] == tf.__version__
    assert set(record["final_metrics"]) == {"d_loss", "g_loss", "d_real", "d_fake"}


def test_final_metrics_are_the_last_logged_scalars(gan_run):
    _, logdir, _ = gan_run
    record = json.loads(open(os.path.join(logdir, "run.json")).read())
    (*_, (step, _, last)) = _summaries(os.path.join(logdir, "train"))["epoch_d_loss"]
    assert step == 2  # epochs counted from 1, as the PNG files count them
    assert record["final_metrics"]["d_loss"] == pytest.approx(float(tf.make_ndarray(last.tensor)))


def test_tensorboard_holds_the_record_as_hparams_and_text(gan_run):
    _, logdir, _ = gan_run
    record = json.loads(open(os.path.join(logdir, "run.json")).read())
    summaries = _summaries(logdir)
    ((_, plugin, value),) = summaries["_hparams_/session_start_info"]
    assert plugin == "hparams"
    shown = _hparams(value)
    expected = records.hparams(record)
    assert set(shown) == set(expected)
    for name, wanted in expected.items():
        assert shown[name] == pytest.approx(wanted) if not isinstance(wanted, str) else wanted
    assert shown["model"] == "gan" and shown["dataset"] == "ring8" and shown["seed"] == 3
    ((_, plugin, value),) = summaries["run_record"]
    assert plugin == "text"
    text = _text(value)
    assert text["model"] == record["model"] and text["dataset"] == record["dataset"]
    ((step, _, value),) = summaries["final_metrics"]
    assert step == 2 and _text(value)["final_metrics"] == record["final_metrics"]


def test_resume_takes_the_dataset_from_run_json_and_adds_a_session(tmp_path):
    _run(tmp_path, "train", "gan", "--dataset", "ring8", "--epochs", "1", "--steps-per-epoch", "2")
    out = _run(tmp_path, "train", "gan", "--resume", "--epochs", "2", "--steps-per-epoch", "2")
    assert "on ring8" in out and "after epoch 1" in out
    record = json.loads((tmp_path / "runs" / "gan-latest" / "run.json").read_text())
    first, second = record["sessions"]
    assert "--resume" not in first["command"] and "--resume" in second["command"]
    assert second["initial_epoch"] == 1 and second["epochs_done"] == 2
    assert second["status"] == "finished"


def test_resume_refuses_another_model_and_other_data(gan_run):
    cwd, logdir, _ = gan_run
    code, _, err = _in_process(cwd, "train", "dcgan", "--resume", "--logdir", logdir)
    assert code == 2 and "holds a gan run" in err and "Received: model dcgan" in err
    code, _, err = _in_process(cwd, "train", "gan", "--resume", "--dataset", "grid25")
    assert code == 2 and "--dataset ring8" in err and "Received: --dataset grid25" in err
    code, _, err = _in_process(cwd, "train", "gan", "--resume", "--batch-size", "32")
    assert code == 2 and "Received: --batch-size 32" in err


def test_non_terminal_output_is_one_line_per_epoch(gan_run):
    _, _, out = gan_run
    assert not set(out) & {"\r", "\b", "\x1b"}
    assert out.count("Epoch 1/2") == 1 and out.count("2/2 - ") == 2


def test_sample_and_evaluate_find_a_run_by_directory_or_model_name(tmp_path):
    for seed in (0, 1):
        _run(tmp_path, "train", "gan", "--dataset", "digits", "--epochs", "1", "--seed", seed)
    first, second = sorted(p for p in (tmp_path / "runs").iterdir() if not p.is_symlink())
    assert os.path.realpath(tmp_path / "runs" / "gan-latest") == str(second)
    code, out, err = _in_process(tmp_path, "sample", "gan", "--num", "4", "--out", "a.png")
    assert code == 0, err
    assert os.path.join("runs", second.name, "model.keras") in out
    code, out, err = _in_process(tmp_path, "sample", first, "--num", "4", "--out", "b.png")
    assert code == 0 and str(first / "model.keras") in out
    stats = tmp_path / "digits.npz"
    code, _, err = _in_process(tmp_path, "stats", "--dataset", "digits", "--out", stats)
    assert code == 0, err
    code, out, err = _in_process(tmp_path, "evaluate", "gan", "--reference", stats, "--num", "200")
    assert code == 0, err
    assert second.name in out and "held-out data" in out


def test_a_model_name_without_runs_is_a_usage_error(tmp_path):
    code, _, err = _in_process(tmp_path, "sample", "dcgan")
    assert code == 2 and "no runs/dcgan-* run" in err
    code, _, err = _in_process(tmp_path, "sample", "no_such_thing")
    assert code == 2 and "Received: no_such_thing" in err


def test_stats_store_the_held_out_split_against_the_training_split(tmp_path):
    from keras_gen import metrics

    stats = tmp_path / "digits.npz"
    code, out, err = _in_process(tmp_path, "stats", "--dataset", "digits", "--out", stats)
    assert code == 0, err
    held_out = metrics.FeatureStats.load(stats).held_out
    assert held_out["protocol"]["split"] == "test"
    assert held_out["protocol"]["num_generated"] > 100
    assert held_out["metrics"]["fid"] > 0 and np.isfinite(held_out["metrics"]["kid"])
    assert f"FID {held_out['metrics']['fid']:.4g}" in out


def test_the_run_ends_by_saying_where_to_look(gan_run):
    _, logdir, out = gan_run
    last = out.strip().splitlines()[-3:]
    name = os.path.basename(logdir)
    assert name in last[0] and "run.json" in last[0] and "2 PNG pictures" in last[0]
    assert "tensorboard --logdir" in last[1] and name in last[1]
    assert last[2].split(":", 1)[1].split()[:2] == ["keras-gen", "sample"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "vae", "--pack", "2"], "vae has none. Received: --pack 2"),
        (["train", "acgan", "--pack", "2"], "acgan has none. Received: --pack 2"),
        (["train", "gan", "--pack", "3"], "Received: --batch-size 64 --pack 3"),
        (["train", "dcgan", "--coupling", "spline"], "dcgan has none. Received: --coupling spline"),
    ],
)
def test_pack_flags_the_model_cannot_use_are_usage_errors(tmp_path, argv, message):
    code, _, err = _in_process(tmp_path, *argv)
    assert code == 2 and message in err
    assert not (tmp_path / "runs").exists()  # refused before anything is written
