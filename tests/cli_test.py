"""The keras-gen command line: training, sampling and resuming run as a user runs them, in
subprocesses; help, argument errors, stats and evaluate in-process (a subprocess adds only a
TensorFlow start there)."""

import concurrent.futures
import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from keras_gen.cli import main as cli

CLI = [sys.executable, "-m", "keras_gen.cli.main"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def _run(*args, timeout=300):
    result = subprocess.run([*CLI, *args], env=ENV, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _in_process(*argv):
    """`(exit status, stdout, stderr)` of `keras-gen ARGV` run by `main()` in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _scalars(directory, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(directory)
    events.Reload()
    return [
        (e.step, float(np.asarray(__import__("tensorflow").make_ndarray(e.tensor_proto))))
        for e in events.Tensors(tag)
    ]


# ---------------------------------------------------------------------- runs started ahead

# Each training run, with the sample commands that read its model, as `(directory) -> commands`,
# and the tests that read it. Most of a run is single-threaded (the TensorFlow start, tracing),
# so the runs go two at a time in the background, started when the module's first test starts,
# the longest first.
_SHORT = ["--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0"]
_TEXT_SHORT = [*_SHORT, "--batch-size", "8"]
AHEAD = {
    "diffusion": (
        lambda d: [
            # 16 samples in the epoch's grid instead of 64, 5 denoising steps instead of 50
            # in the sampled one: their shapes and files are what is checked.
            ["train", "diffusion", *_SHORT, "--grid-samples", "16", "--logdir", d / "diffusion"],
            ["sample", d / "diffusion" / "model.keras", "--num", "4", "--steps", "5"]
            + ["--out", d / "s.png"],
        ],
        ("test_train_diffusion_then_sample",),
    ),
    "dcgan": (
        lambda d: [
            # --fid-every 1 with 200 samples: an epoch_fid per epoch, cheaply.
            ["train", "dcgan", "--epochs", "2", "--steps-per-epoch", "3", "--logdir", d / "run"]
            + ["--verbose", "2", "--fid-every", "1", "--fid-samples", "200"],
            ["sample", d / "run" / "model.keras", "--num", "16", "--seed", "0"]
            + ["--out", d / "grid.png"],
        ],
        (
            "test_train_writes_tensorboard_grids_backup_and_model",
            "test_sample_writes_a_grid",
            "test_fid_every_logs_an_fid_per_epoch",
            "test_stats_and_evaluate",
        ),
    ),
    **{
        model: (
            lambda d, model=model: [
                ["train", model, *_SHORT, "--logdir", d / model],
                ["sample", d / model / "model.keras", "--num", "4", "--out", d / "s.png"]
                + (["--labels", "3"] if model == "conditional_vae" else []),
            ],
            (f"test_train_variational_models[{model}]",),
        )
        for model in ("vae", "conditional_vae", "vq_vae")
    },
    **{
        model: (
            lambda d, model=model: [
                ["train", model, *_TEXT_SHORT, "--logdir", d / model],
                ["sample", d / model / "model.keras", "--prompt", "The for"]
                + ["--max-length", "20", "--seed", "1"],
            ],
            (f"test_train_language_models_then_sample_a_prompt[{model}]",),
        )
        for model in ("gpt", "transformer_xl")
    },
}


class Ahead:
    """The runs of `AHEAD` that the selected tests read, two at a time in the background."""

    def __init__(self, base, selected):
        self.base = base
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self.futures = {
            name: self.pool.submit(self._commands, base / name, commands)
            for name, (commands, tests) in AHEAD.items()
            if selected.intersection(tests)
        }

    @staticmethod
    def _commands(directory, commands):
        directory.mkdir()
        results = []
        for command in commands(directory):
            result = subprocess.run(
                [*CLI, *map(str, command)], env=ENV, capture_output=True, text=True, timeout=600
            )
            results.append(result)
            if result.returncode:
                break
        return results

    def result(self, name):
        """`(directory, stdout of each command)` of the run `name`, once every command succeeded."""
        results = self.futures[name].result()
        for result in results:
            assert result.returncode == 0, result.stderr[-3000:]
        assert len(results) == len(AHEAD[name][0](self.base / name))
        return self.base / name, [result.stdout for result in results]


@pytest.fixture(scope="module", autouse=True)
def ahead(request, tmp_path_factory):
    selected = {item.name for item in request.session.items}
    runs = Ahead(tmp_path_factory.mktemp("ahead"), selected)
    yield runs
    runs.pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------- in-process checks


def test_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "keras-gen")
    assert os.path.exists(script), "pip install -e . installs the keras-gen command"


def test_list_and_help():
    code, out, _ = _in_process("list")
    assert code == 0
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
    for command in ([], ["train"], ["sample"], ["list"], ["weights"], ["stats"], ["evaluate"]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
            cli.main([*command, "--help"])
        assert done.value.code == 0 and "usage: keras-gen" in out.getvalue()


def _help_entries(command):
    """`{option: its help text}` of `keras-gen COMMAND --help`, whitespace collapsed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main([command, "--help"])
    entries, current = {}, None
    for line in out.getvalue().splitlines():
        start = re.match(r"  (-[-\w]+(?:, -[-\w]+)?)(?: (?:[A-Z_]+|\{[^}]*\}))?(.*)", line)
        if start:
            current = start.group(1).split(", ")[-1]
            entries[current] = start.group(2)
        elif current and line.startswith("    "):
            entries[current] += " " + line.strip()
        else:
            current = None
    return {option: " ".join(text.split()) for option, text in entries.items()}


def _shown_default(text):
    match = re.search(r"\(default: (.*)\)$", text)
    return match and match.group(1)


def _per_model(claim, names):
    """`{model: value}` of a help default like `30; 86 for diffusion; 20 for gpt, transformer_xl`."""
    values, rest = {}, None
    for part in claim.split("; "):
        value, _, models = part.partition(" for ")
        if not models:
            rest = value
        for model in filter(None, models.split(", ")):
            values[model] = value
    return {name: values.get(name, rest) for name in names}


# Defaults that are not one value: the help describes them.
DESCRIBED = {
    ("train", "--logdir"),
    ("train", "--no-jit"),
    ("train", "--resume"),
    ("train", "--batch-size"),
    ("train", "--verbose"),
    ("sample", "--steps"),
    ("sample", "--num"),
    ("sample", "--out"),
    ("sample", "--wav"),
    ("sample", "--gif"),
    ("sample", "--frames"),
    ("stats", "--num"),
    ("weights", "--dir"),
}
# Defaults taken from the recipes or the classes the command line calls, checked below.
DERIVED = {
    ("train", "--dataset"),
    ("train", "--epochs"),
    ("train", "--latent-dim"),
    ("sample", "--max-length"),
    ("sample", "--temperature"),
    ("sample", "--guidance-scale"),
    ("train", "--pack"),
    ("train", "--coupling"),
    ("train", "--tokenizer-steps"),
    ("train", "--steps-per-epoch"),
}


def test_help_shows_the_parsers_own_defaults():
    required = {
        "train": ["dcgan"],
        "sample": [__file__],
        "stats": [],
        "evaluate": [__file__, "--reference", __file__],
        "weights": ["where"],
    }
    for command, positional in required.items():
        parsed = vars(cli.build_parser().parse_args([command, *positional]))
        for option, text in _help_entries(command).items():
            shown = _shown_default(text)
            if option in positional:  # given, not a default
                continue
            value = parsed.get(option.lstrip("-").replace("-", "_"))
            if value is None or value is False:
                assert shown is None or (command, option) in DESCRIBED | DERIVED, (command, option)
            else:
                assert shown == str(value), (command, option, shown, value)


def test_help_shows_the_recipes_defaults():
    from keras_gen import models
    from keras_gen.cli import recipes

    entries = _help_entries("train")
    names = sorted(recipes.RECIPES)
    epochs = _per_model(_shown_default(entries["--epochs"]), names)
    assert epochs == {name: str(recipes.default_epochs(name)) for name in names}
    datasets = _per_model(_shown_default(entries["--dataset"]), names)
    assert datasets == {name: recipes.RECIPES[name].default_dataset for name in names}
    video = recipes.RECIPES["video_transformer_xl"].video
    assert _shown_default(entries["--tokenizer-steps"]) == str(video.tokenizer_steps)
    assert f"default {video.steps_per_epoch}" in entries["--steps-per-epoch"]
    latent = _per_model(_shown_default(entries["--latent-dim"]).split("; the other")[0], names)
    for name in names:
        if latent[name] is None:
            assert recipes.RECIPES[name].latent_dim is None, name
            continue
        shape = (64, 88) if recipes.RECIPES[name].music else (28, 28, 1)
        model = recipes.build_model(models.get(name), name, shape, num_classes=10)
        assert str(model.latent_dim) == latent[name], name


def test_help_shows_the_defaults_of_the_classes_it_calls():
    import inspect

    from keras_gen import callbacks, models

    fid_samples = _shown_default(_help_entries("train")["--fid-samples"])
    assert fid_samples == str(
        inspect.signature(callbacks.FIDCallback).parameters["num_samples"].default
    )
    grid_samples = _shown_default(_help_entries("train")["--grid-samples"])
    assert grid_samples == str(
        inspect.signature(callbacks.ImageGridCallback).parameters["num_samples"].default
    )
    pack = _shown_default(_help_entries("train")["--pack"])
    assert pack == str(inspect.signature(models.GAN).parameters["pack"].default)
    coupling = _shown_default(_help_entries("train")["--coupling"])
    for flow in (models.RealNVP, models.Glow):
        assert coupling == inspect.signature(flow).parameters["coupling"].default
    from keras_gen.cli import recipes

    max_length, music = _shown_default(_help_entries("sample")["--max-length"]).split("; ")
    for cls in (models.GPT, models.TransformerXL):
        assert max_length == str(inspect.signature(cls.generate).parameters["max_length"].default)
    assert music == f"{recipes.MUSIC_SAMPLE_TOKENS} for music models"

    temperature = " ".join(_help_entries("sample")["--temperature"].split())
    assert f"greedy (default: {recipes.TEXT_TEMPERATURE})" in temperature
    for cls in (models.RealNVP, models.Glow):
        default = inspect.signature(cls.generate).parameters["temperature"].default
        assert f"latents (default: {default})" in temperature


def test_weights_where_names_both_files(tmp_path):
    (tmp_path / "inception-2015-12-05.tgz").write_bytes(b"")
    code, out, _ = _in_process("weights", "where", "--dir", tmp_path)
    assert code == 0
    assert f"{tmp_path / 'pt_inception-2015-12-05-6726825d.pth'} (missing)" in out
    assert f"{tmp_path / 'inception-2015-12-05.tgz'} (present)" in out


def test_errors_are_messages_not_tracebacks(tmp_path):
    code, _, err = _in_process("train", "dcgan", "--dataset", "nope", "--logdir", tmp_path / "x")
    assert code == 2
    assert "Unknown dataset" in err and "Traceback" not in err
    code, _, err = _in_process("sample", tmp_path / "missing.keras")
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["train", "dcgan", "--batch-size", "0"], "--batch-size"),
        (["train", "dcgan", "--epochs", "two"], "--epochs"),
        (["sample", __file__, "--top-p", "1.5"], "--top-p"),
        (["sample", __file__, "--temperature", "-1"], "--temperature"),
        (["evaluate", __file__, "--reference", __file__, "--metrics", "fid,nope"], "--metrics"),
    ],
)
def test_a_bad_flag_is_a_one_line_usage_error(argv, flag):
    code, out, err = _in_process(*argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and flag in err, err


def test_a_flag_the_model_has_no_use_for_is_a_usage_error(tmp_path):
    code, _, err = _in_process("train", "gpt", "--fid-every", "1", "--logdir", tmp_path / "x")
    assert code == 2 and "--fid-every" in err
    code, _, err = _in_process("train", "vq_vae", "--latent-dim", "8", "--logdir", tmp_path / "x")
    assert code == 2 and "--latent-dim" in err
    code, _, err = _in_process(
        "train", "diffusion", "--dataset", "ring8", "--logdir", tmp_path / "x"
    )
    assert code == 2 and "images" in err


@pytest.mark.parametrize(
    "argv",
    [["stats", "--out", "s.npz"], ["evaluate", __file__, "--reference", __file__]],
    ids=["stats", "evaluate"],
)
def test_a_fid_protocol_for_the_mnist_extractor_is_a_usage_error(argv):
    code, _, err = _in_process(*argv, "--extractor", "mnist", "--fid-protocol", "clean")
    assert code == 2 and "clean" in err


def test_an_error_inside_training_keeps_its_traceback(tmp_path, monkeypatch):
    from keras_gen import models

    def fit(self, *args, **kwargs):
        raise ValueError("raised inside fit")

    monkeypatch.setattr(models.GAN, "fit", fit)
    with pytest.raises(ValueError, match="raised inside fit"):
        cli.main(["train", "gan", "--dataset", "ring8", "--epochs", "1", "--logdir", str(tmp_path)])


# ---------------------------------------------------------------------- resuming

# These run while the runs of AHEAD go on in the background.


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
    assert steps[-(6 - done) :] == list(range(done + 1, 7))  # epochs counted from 1
    code, _, err = _in_process("train", "dcgan", "--resume", "--logdir", logdir)
    assert code != 0 and "holds a gan run" in err


# ---------------------------------------------------------------------- training runs


def test_train_writes_tensorboard_grids_backup_and_model(ahead):
    directory, (out, _) = ahead.result("dcgan")
    logdir = directory / "run"
    assert "Saved" in out
    assert (logdir / "model.keras").exists()
    assert sorted(p.name for p in logdir.glob("samples_epoch_*.png")) == [
        "samples_epoch_0001.png",
        "samples_epoch_0002.png",
    ]
    d_loss = _scalars(str(logdir / "train"), "epoch_d_loss")
    g_loss = _scalars(str(logdir / "train"), "epoch_g_loss")
    assert [s for s, _ in d_loss] == [1, 2] and len(g_loss) == 2  # epochs from 1, as the PNGs
    assert all(np.isfinite(v) for _, v in d_loss + g_loss)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    images = EventAccumulator(str(logdir / "train"))  # one TensorBoard run: scalars and images
    images.Reload()
    assert "samples" in images.Tags()["tensors"]
    assert [event.step for event in images.Tensors("samples")] == [1, 2]  # = the PNG numbers
    assert _epochs_done(logdir) == 2


def test_sample_writes_a_grid(ahead):
    directory, _ = ahead.result("dcgan")
    picture = np.asarray(Image.open(directory / "grid.png"))
    assert picture.shape == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 digits of 28 px, 2 px padding
    assert picture.std() > 0


def test_fid_every_logs_an_fid_per_epoch(ahead):
    directory, _ = ahead.result("dcgan")
    fid = _scalars(str(directory / "run" / "train"), "epoch_fid")
    assert [step for step, _ in fid] == [1, 2]
    assert all(np.isfinite(v) and v > 0 for _, v in fid)


# beta_vae takes the vae's path with other constructor arguments
# (keras_gen/cli/recipes_test.py::test_every_model_has_a_training_recipe).
@pytest.mark.parametrize("model", ["vae", "conditional_vae", "vq_vae"])
def test_train_variational_models(model, ahead):
    directory, _ = ahead.result(model)
    logdir = directory / model
    assert (logdir / "model.keras").exists()
    assert (logdir / "samples_epoch_0001.png").exists()
    reconstructions = np.asarray(Image.open(logdir / "reconstructions_epoch_0001.png"))
    assert reconstructions.shape == (2 * 30 + 2, 8 * 30 + 2)  # 8 inputs over 8 reconstructions
    interpolations = logdir / "interpolations_epoch_0001.png"
    assert interpolations.exists() == (model != "vq_vae")
    expected = {"vq_vae": "epoch_perplexity"}.get(model, "epoch_elbo")
    assert len(_scalars(str(logdir / "train"), expected)) == 1
    assert np.asarray(Image.open(directory / "s.png")).shape == (2 * 30 + 2, 2 * 30 + 2)


def test_train_diffusion_then_sample(ahead):
    directory, _ = ahead.result("diffusion")
    logdir = directory / "diffusion"
    assert (logdir / "samples_epoch_0001.png").exists()
    assert len(_scalars(str(logdir / "train"), "epoch_loss")) == 1
    assert np.asarray(Image.open(directory / "s.png")).shape == (2 * 30 + 2, 2 * 30 + 2)


@pytest.mark.parametrize("model", ["gpt", "transformer_xl"])
def test_train_language_models_then_sample_a_prompt(model, ahead):
    directory, (_, out) = ahead.result(model)
    logdir = directory / model
    assert len(_scalars(str(logdir / "validation"), "epoch_bits_per_byte")) == 1
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    text = EventAccumulator(str(logdir / "train"))
    text.Reload()
    assert "sample" in text.Tags()["tensors"]
    assert out.startswith("The for")


def test_stats_and_evaluate(tmp_path, ahead):
    stats = tmp_path / "stats.npz"
    code, out, _ = _in_process("stats", "--dataset", "mnist5k", "--num", "600", "--out", stats)
    assert code == 0 and "600 mnist5k train images" in out
    directory, _ = ahead.result("dcgan")
    model = directory / "run" / "model.keras"
    code, out, _ = _in_process("evaluate", model, "--reference", stats, "--num", "300", "--json")
    assert code == 0
    result = json.loads(out)
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
    # the reference point: mnist5k's 500 test images against the 600 training images
    assert result["held_out"]["protocol"]["num_generated"] == 500
    assert 0 < result["held_out"]["metrics"]["fid"] < result["metrics"]["fid"]


@pytest.mark.slow
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
