"""`keras-gen train contrastive|text_to_image` and `keras-gen sample --prompt`, in-process."""

import contextlib
import io

import keras
import numpy as np
import pytest
from PIL import Image

from keras_gen import models, networks
from keras_gen.cli import main as cli
from keras_gen.networks import encoders

SHORT = ["--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0", "--batch-size", "16"]


def _in_process(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def text_to_image_file(tmp_path_factory):
    """A small saved `TextToImageDiffusion` (8x8 U-Net, 12-byte captions), untrained."""
    keras.utils.set_random_seed(0)
    network = networks.unet(
        (8, 8, 1),
        base_channels=8,
        channel_multipliers=(1, 2),
        attention_resolutions=(),
        groups=4,
        text_encoder=encoders.text_encoder(12, hidden_dim=16, num_layers=1, num_heads=2),
    )
    model = models.TextToImageDiffusion(network, timesteps=20, seed=0)
    path = tmp_path_factory.mktemp("t2i") / "model.keras"
    model.save(path)
    return path


def test_sample_draws_a_prompt(text_to_image_file, tmp_path):
    out = tmp_path / "s.png"
    code, stdout, _ = _in_process(
        "sample", text_to_image_file, "--prompt", "a bold 7", "--num", "4", "--steps", "2",
        "--guidance-scale", "2", "--out", out,
    )  # fmt: skip
    assert code == 0 and "Wrote 4 samples" in stdout
    assert np.asarray(Image.open(out)).shape == (2 * 10 + 2, 2 * 10 + 2)


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "pass --prompt TEXT"),
        (["--prompt", ""], "--prompt: `prompts[0]` is empty"),
        (["--prompt", "x" * 13], "at most 12 UTF-8 bytes"),
        (["--prompt", "a 7", "--labels", "1"], "takes --prompt, not --labels"),
    ],
)
def test_bad_prompts_are_usage_errors(text_to_image_file, tmp_path, flags, message):
    code, _, err = _in_process("sample", text_to_image_file, "--steps", "2", *flags)
    assert code == 2 and message in err, err


def test_captioned_data_goes_to_captioned_models_only(tmp_path):
    code, _, err = _in_process(
        "train", "dcgan", "--dataset", "captioned_mnist5k", *SHORT, "--logdir", tmp_path / "a"
    )
    assert code == 2 and "pairs images with captions" in err and "text_to_image" in err
    code, _, err = _in_process(
        "train", "text_to_image", "--dataset", "mnist5k", *SHORT, "--logdir", tmp_path / "b"
    )
    assert code == 2 and "has no captions" in err


@pytest.mark.slow  # 36 s in the full run (a validation pass over the 1,500 test pairs)
def test_train_contrastive_then_sample_refuses(tmp_path):
    logdir = tmp_path / "contrastive"
    code, _, err = _in_process("train", "contrastive", *SHORT, "--logdir", logdir)
    assert code == 0, err
    loaded = keras.models.load_model(logdir / "model.keras")
    assert isinstance(loaded, models.ContrastiveImageText)
    assert loaded.similarity(np.zeros((2, 28, 28, 1), "float32"), ["a 1", "a 2"]).shape == (2, 2)
    code, _, err = _in_process("sample", logdir / "model.keras", "--out", tmp_path / "s.png")
    assert code == 2 and "used from Python" in err


@pytest.mark.slow
def test_train_text_to_image_writes_the_prompt_grid(tmp_path):
    logdir = tmp_path / "t2i"
    code, _, err = _in_process("train", "text_to_image", *SHORT, "--logdir", logdir)
    assert code == 0, err
    assert (logdir / "prompt_samples_epoch_0001.png").exists()
    code, _, err = _in_process(
        "sample", logdir / "model.keras", "--prompt", "a bold 7", "--num", "2", "--steps", "2",
        "--out", tmp_path / "s.png",
    )  # fmt: skip
    assert code == 0, err
