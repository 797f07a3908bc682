"""The installed package: its import guard and its public names."""

import os
import subprocess
import sys

import keras_gen


def test_another_backend_is_an_import_error_naming_the_variable():
    env = dict(os.environ, KERAS_BACKEND="jax")
    result = subprocess.run(
        [sys.executable, "-c", "import keras_gen"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "KERAS_BACKEND=tensorflow" in result.stderr
    assert "Received: KERAS_BACKEND='jax'" in result.stderr


def test_public_names():
    for name in ["GAN", "DCGAN", "WGANGP", "SNGAN", "LSGAN", "ConditionalGAN", "ACGAN"]:
        assert hasattr(keras_gen.models, name)
    for name in ["mlp_generator", "mlp_discriminator", "dcgan_generator", "dcgan_discriminator"]:
        assert callable(getattr(keras_gen.networks, name))
    for name in ["nonsaturating", "minimax", "wasserstein", "hinge", "least_squares"]:
        assert keras_gen.losses.get(name).name == name
    assert keras_gen.__version__
