"""Every example script runs offline for a few steps."""

import glob
import os
import runpy
import subprocess
import sys

import keras
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "train_*.py")))


def test_there_is_an_example_per_model():
    names = {os.path.basename(p) for p in EXAMPLES}
    for stem in (
        "gan_ring8",
        "dcgan_mnist",
        "wgan_gp_grid25",
        "sngan_mnist",
        "lsgan_mnist",
        "conditional_gan_mnist",
        "acgan_mnist",
        "vae_mnist",
        "beta_vae_mnist",
        "conditional_vae_mnist",
        "vq_vae_mnist",
        "diffusion_mnist",
        "gpt_pydoc",
        "transformer_xl_pydoc",
        "realnvp_moons",
        "glow_mnist",
        "text_to_image_mnist",
        "captioner_mnist",
        "music_bach",
        "video_moving_mnist",
    ):
        assert f"train_{stem}.py" in names


# Flags that shrink an example's evaluation to smoke-test size.
SMALL = {
    "train_diffusion_mnist.py": ["--fid-samples", "16", "--fid-steps", "2"],
    "train_vae_mnist.py": ["--importance-samples", "2"],
    "train_beta_vae_mnist.py": ["--importance-samples", "2"],
    "train_conditional_vae_mnist.py": ["--importance-samples", "2"],
    "train_transformer_xl_pydoc.py": ["--batch-size", "64"],
    "train_text_to_image_mnist.py": ["--prompts", "4", "--sampling-steps", "2", "--guidance", "1"],
    "train_captioner_mnist.py": ["--images", "4"],
    "train_music_bach.py": ["--importance-samples", "2", "--samples", "2", "--hidden-dim", "16"],
    "train_video_moving_mnist.py": [
        *("--tokenizer-steps", "10", "--train-clips", "16", "--eval-clips", "8"),
        *("--num-samples", "4", "--layers", "1", "--width", "16", "--batch-size", "8"),
    ],
}


def _arguments(script, out):
    return ["--steps", "3", "--out", str(out), *SMALL.get(os.path.basename(script), [])]


# Scripts that only change the model class and optimizer of a recipe another default-run script
# runs (mnist_recipe.py: dcgan and conditional_gan; vae_recipe.py: vae and conditional_vae); the
# classes themselves are trained in keras_gen/models/*_test.py. `pytest -m slow` runs them.
SAME_RECIPE = {
    "train_sngan_mnist.py",
    "train_lsgan_mnist.py",
    "train_acgan_mnist.py",
    "train_beta_vae_mnist.py",
}
# Scripts whose few steps cost long tracing on the CI machine (the text-to-image U-Net with its
# text encoder: 75 s; the captioner, with a validation pass: 41 s in the full run); their models
# are trained in keras_gen/models/multimodal/*_test.py, and `pytest -m slow` runs them.
# The video example too: it trains two models and decodes its clips token by token (25 s).
HEAVY = {"train_text_to_image_mnist.py", "train_captioner_mnist.py", "train_video_moving_mnist.py"}
SCRIPTS = [
    pytest.param(p, marks=pytest.mark.slow) if os.path.basename(p) in SAME_RECIPE | HEAVY else p
    for p in EXAMPLES
]


# In this process: a TensorFlow start per script (8 s on 2 cores) would add up to two minutes.
# The script runs as `python script.py` runs it: as __main__, its folder first on sys.path.
@pytest.mark.parametrize("script", SCRIPTS, ids=os.path.basename)
def test_example_runs_a_few_steps(script, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [script, *_arguments(script, tmp_path)])
    monkeypatch.syspath_prepend(os.path.dirname(script))
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        keras.mixed_precision.set_global_policy("float32")
        keras.backend.clear_session()
    assert (tmp_path / "model.keras").exists()


def test_an_example_runs_as_a_script(tmp_path):
    script = os.path.join(ROOT, "examples", "train_gan_ring8.py")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, script, *_arguments(script, tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "model.keras").exists()
