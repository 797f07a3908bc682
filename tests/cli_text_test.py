"""The README's text command, run as written (today `keras-gen sample gpt --prompt "The for
statement"`, no --max-length), and `sample <run>/model.keras --prompt ...`, on a GPT and a
Transformer-XL trained for two steps by `keras-gen train`; all in-process
(`keras_gen.cli.main.main`), in a fresh directory where `train` makes `runs/<model>-<timestamp>`."""

import contextlib
import glob
import io
import os
import shlex

import pytest

from keras_gen.cli import main as cli

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
PROMPT = "The for statement"
SHORT = ["--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0", "--batch-size", "8"]


def _in_process(*argv):
    """`(exit status, stdout)` of `keras-gen ARGV` run by `main()` in this process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue()


def _readme_text_command():
    """The argv of the README's `keras-gen sample ... --prompt ...` line (without `keras-gen`)."""
    with open(README, encoding="utf-8") as f:
        lines = [line for line in f if line.startswith("keras-gen sample") and "--prompt" in line]
    assert len(lines) == 1, lines
    return shlex.split(lines[0].split(" #")[0])[1:]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """`{model name: its run's model.keras}` after `keras-gen train <model>` for two steps.

    The tests run in the directory that holds `runs/`, as a user who trained there would.
    """
    root = tmp_path_factory.mktemp("work")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        files = {}
        for model in ("gpt", "transformer_xl"):
            code, _ = _in_process("train", model, *SHORT)
            assert code == 0
            (run,) = [p for p in glob.glob(f"runs/{model}-*") if not p.endswith("-latest")]
            files[model] = os.path.join(run, "model.keras")
        yield files


def _assert_continues_the_prompt(code, out):
    assert code == 0
    text = out.rstrip("\n")
    assert text.startswith(PROMPT) and len(text) > len(PROMPT)


def test_the_readme_text_command_runs_as_written(model_files):
    argv = _readme_text_command()
    assert argv[argv.index("--prompt") + 1] == PROMPT and "--max-length" not in argv
    _assert_continues_the_prompt(*_in_process(*argv))


@pytest.mark.parametrize("model", ["gpt", "transformer_xl"])
def test_sample_of_a_model_file_with_the_default_max_length(model_files, model):
    _assert_continues_the_prompt(*_in_process("sample", model_files[model], "--prompt", PROMPT))


def test_sample_continues_a_gpt_past_its_window(model_files):
    # 17 + 200 bytes past GPT's window of 128 (the command docs/models/text.md showed, which
    # raised "must fit in sequence_length" before the window slid).
    code, out = _in_process(
        "sample", model_files["gpt"], "--prompt", PROMPT, "--max-length", "200", "--seed", "1"
    )
    _assert_continues_the_prompt(code, out)
