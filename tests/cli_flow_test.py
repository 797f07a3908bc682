"""`keras-gen train realnvp|glow` and `keras-gen sample` of a flow, in-process, a few steps each."""

import contextlib
import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from keras_gen import saving
from keras_gen.cli import main as cli

SHORT = ["--epochs", "2", "--steps-per-epoch", "3", "--verbose", "0", "--batch-size", "16"]


def _in_process(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """`{model: run directory}` after two short epochs of each flow on its default data."""
    root = tmp_path_factory.mktemp("flows")
    found = {}
    for model in ("realnvp", "glow"):
        logdir = root / model
        extra = ["--dataset", "digits"] if model == "glow" else []
        code, _ = _in_process("train", model, *SHORT, *extra, "--logdir", logdir)
        assert code == 0
        found[model] = logdir
    return found


def _validation_scalars(logdir, tag):
    events = EventAccumulator(str(logdir / "validation"))
    events.Reload()
    return [float(tf.make_ndarray(event.tensor_proto)) for event in events.Tensors(tag)]


@pytest.mark.parametrize("model", ["realnvp", "glow"])
def test_train_logs_held_out_bits_per_dim_each_epoch(runs, model):
    values = _validation_scalars(runs[model], "epoch_bits_per_dim")
    assert len(values) == 2 and all(np.isfinite(values))
    record = json.loads((runs[model] / "run.json").read_text())
    assert (
        record["model"]["class"].rsplit(".", 1)[-1] == {"realnvp": "RealNVP", "glow": "Glow"}[model]
    )


def test_coupling_spline_trains_a_spline_flow(tmp_path):
    code, _ = _in_process("train", "realnvp", *SHORT, "--coupling", "spline", "--logdir", tmp_path)
    assert code == 0
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["model"]["config"]["coupling"] == "spline"
    model = saving.load_model(os.path.join(tmp_path, "model.keras"))
    assert model.coupling == "spline" and np.isfinite(model.log_prob(np.zeros((2, 2)))).all()


def test_held_out_bits_per_dim_is_the_models_on_the_test_split(runs):
    from keras_gen import data

    model = saving.load_model(os.path.join(runs["realnvp"], "model.keras"))
    test, _ = data.load("moons", split="test", batch_size=2500, shuffle=False)
    points = next(iter(test)).numpy()
    last = _validation_scalars(runs["realnvp"], "epoch_bits_per_dim")[-1]
    assert last == pytest.approx(model.bits_per_dim(points), abs=1e-4)


def test_sample_takes_a_flows_temperature(runs, tmp_path):
    cold, hot = tmp_path / "cold.png", tmp_path / "hot.png"
    for out, temperature in ((cold, "0.1"), (hot, "1.0")):
        code, _ = _in_process("sample", runs["glow"], "--temperature", temperature, "--out", out)
        assert code == 0
    assert cold.read_bytes() != hot.read_bytes()


def test_sample_refuses_a_flows_zero_temperature(runs, capsys):
    code, _ = _in_process("sample", runs["realnvp"], "--temperature", "0")
    assert code == 2
    assert "--temperature must be > 0" in capsys.readouterr().err
