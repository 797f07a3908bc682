"""What `keras-gen` writes to the terminal: no TensorFlow start-up lines, one line when offline.

Each command runs as a user runs it, through the installed console script in a fresh process:
TensorFlow's start-up lines come only from a process that has not imported it yet.
"""

import os
import re
import socket
import subprocess
import sys
import time

import pytest

import keras_gen_cli

SCRIPT = os.path.join(os.path.dirname(sys.executable), "keras-gen")
# absl's C++ logger: `I0000 00:00:1796194405.728225   29439 port.cc:153] oneDNN ...`
LOGGER_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\]", re.MULTILINE)
PRE_INIT_LINE = "WARNING: All log messages before absl::InitializeLog() is called"


def _keras_gen(*argv, tmp_path, **env):
    """`(exit status, stdout, stderr)` of the installed `keras-gen ARGV` in a fresh process."""
    environment = dict(os.environ, KERAS_HOME=str(tmp_path / "keras"), **env)
    # conftest.py sets it for the test process; a set TF_CPP_MIN_LOG_LEVEL is the user's choice,
    # which the console script leaves to TensorFlow.
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = subprocess.run(
        [SCRIPT, *argv], env=environment, capture_output=True, text=True, timeout=300
    )
    return result.returncode, result.stdout, result.stderr


def _tensorflow_lines(stderr):
    return LOGGER_LINE.findall(stderr) + [
        line for line in stderr.splitlines() if PRE_INIT_LINE in line
    ]


def test_list_prints_no_tensorflow_startup_lines(tmp_path):
    code, out, err = _keras_gen("list", tmp_path=tmp_path)
    assert code == 0 and "ring8" in out
    assert _tensorflow_lines(err) == [], err


def test_tf_logs_flag_shows_tensorflow_lines(tmp_path):
    code, _, err = _keras_gen("--tf-logs", "list", tmp_path=tmp_path)
    assert code == 0
    assert _tensorflow_lines(err), f"TensorFlow printed nothing at start-up here: {err!r}"


def test_train_prints_no_tensorflow_startup_lines(tmp_path):
    argv = ["train", "gan", "--dataset", "ring8", "--epochs", "1", "--steps-per-epoch", "2"]
    code, out, err = _keras_gen(*argv, "--logdir", str(tmp_path / "run"), tmp_path=tmp_path)
    assert code == 0, err
    assert (tmp_path / "run" / "model.keras").exists()
    assert _tensorflow_lines(err) == [], err


def test_help_names_the_tf_logs_flag():
    # `--help` exits before anything runs; the parser is the console script's own
    from keras_gen.cli import main as cli

    assert "--tf-logs" in cli.build_parser().format_help()


def test_offline_download_prints_one_line_fast_and_leaves_no_data_dir(tmp_path):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "tfds"
    argv = ["train", "dcgan", "--dataset", "tfds:mnist", "--download", "--data-dir", str(data_dir)]
    start = time.monotonic()
    code, _, err = _keras_gen(
        *argv,
        "--logdir",
        str(tmp_path / "run"),
        tmp_path=tmp_path,
        http_proxy=proxy,
        https_proxy=proxy,
        no_proxy="",
    )
    assert time.monotonic() - start < 120  # start-up included; tfds alone retries for ~205 s
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"127.0.0.1:{port}" in err and "--data-dir" in err and "tfds build mnist" in err
    assert not data_dir.exists()


@pytest.mark.parametrize(
    "line, hidden",
    [
        (
            b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
            True,
        ),
        (
            b"I0000 00:00:1796194405.728225   29439 port.cc:153] oneDNN custom operations are on.\n",
            True,
        ),
        (
            b"E0000 00:00:1796194411.873453   29439 cuda_platform.cc:52] failed call to cuInit\n",
            True,
        ),
        (b"W1202 07:01:02.123456    42 some_file.cc:7] a warning\n", True),
        (
            b"F0000 00:00:1796194405.7 29439 cpu_feature_guard.cc:1] compiled to use AVX\n",
            False,
        ),
        (b"Traceback (most recent call last):\n", False),
        (b"UserWarning: something Python said\n", False),
    ],
)
def test_the_filter_drops_logger_lines_below_fatal_only(line, hidden):
    assert keras_gen_cli.is_startup_line(line) == hidden


def test_tf_logs_counts_before_the_command_only():
    assert keras_gen_cli.wants_tf_logs(["--tf-logs", "list"])
    assert not keras_gen_cli.wants_tf_logs(["list"])
    assert not keras_gen_cli.wants_tf_logs(["train", "gan", "--tf-logs"])
