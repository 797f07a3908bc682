"""The README's text command, `keras-gen sample <run>/model.keras --prompt "The for statement"`,
as written (no --max-length), on a GPT and a Transformer-XL trained for a few steps by
`keras-gen train`; all in-process (`keras_gen.cli.main.main`)."""

import contextlib
import io

import pytest

from keras_gen.cli import main as cli

PROMPT = "The for statement"
SHORT = ["--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0", "--batch-size", "8"]


def _in_process(*argv):
    """`(exit status, stdout)` of `keras-gen ARGV` run by `main()` in this process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """`{model name: its run's model.keras}` after `keras-gen train <model>` for two steps."""
    root = tmp_path_factory.mktemp("runs")
    files = {}
    for model in ("gpt", "transformer_xl"):
        code, _ = _in_process("train", model, *SHORT, "--logdir", root / model)
        assert code == 0
        files[model] = root / model / "model.keras"
    return files


@pytest.mark.parametrize("model", ["gpt", "transformer_xl"])
def test_the_readme_text_command_runs_as_written(model_files, model):
    code, out = _in_process("sample", model_files[model], "--prompt", PROMPT)
    assert code == 0
    text = out.rstrip("\n")
    assert text.startswith(PROMPT) and len(text) > len(PROMPT)


def test_sample_continues_a_gpt_past_its_window(model_files):
    # 17 + 200 bytes past GPT's window of 128 (the command docs/models/text.md showed, which
    # raised "must fit in sequence_length" before the window slid).
    code, out = _in_process(
        "sample", model_files["gpt"], "--prompt", PROMPT, "--max-length", "200", "--seed", "1"
    )
    assert code == 0
    assert out.startswith(PROMPT) and len(out.rstrip("\n")) > len(PROMPT)
