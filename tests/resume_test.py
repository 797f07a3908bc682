"""`keras.callbacks.BackupAndRestore` in a user's own script resumes every family exactly.

The run is interrupted mid-epoch, the process's random state is changed (as a
new process would have it), a fresh model is built, and `fit()` with the same
`BackupAndRestore` continues: every variable, both optimizers, EMA and seed
states included, equals that of the uninterrupted run.
"""

import keras
import numpy as np
import pytest

import keras_gen
from keras_gen import models


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt("interrupted for the test")


def _gan():
    model = models.DCGAN(data_shape=(8, 8, 1), latent_dim=8, ema_decay=0.9)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
    )
    return model, keras_gen.data.load("digits", batch_size=64)[0]


def _vae():
    model = models.VAE(data_shape=(8, 8, 1), latent_dim=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model, keras_gen.data.load("digits", batch_size=64, binarize=True)[0]


def _diffusion():
    network = keras_gen.networks.unet(
        (8, 8, 1), base_channels=8, channel_multipliers=(1, 2), attention_resolutions=(4,), groups=4
    )
    model = models.DiffusionModel(network, timesteps=50, ema_decay=0.9)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model, keras_gen.data.load("digits", batch_size=64, steps_per_epoch=6)[0]


def _gpt():
    model = models.GPT(sequence_length=32, num_layers=1, num_heads=2, hidden_dim=16, dropout=0.2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model, keras_gen.data.load_text(
        "pydoc", sequence_length=32, batch_size=16, steps_per_epoch=6
    )[0]


@pytest.mark.parametrize(
    "build",
    [
        _gan,
        _vae,
        pytest.param(_diffusion, marks=pytest.mark.slow),
        _gpt,
    ],
    ids=["dcgan", "vae", "diffusion", "gpt"],
)
def test_backup_and_restore_resumes_bit_identically(build, tmp_path):
    def run(backup_dir, interrupt=None):
        keras.utils.set_random_seed(0)  # the model's seed and initial weights
        model, dataset = build()
        callbacks = [keras.callbacks.BackupAndRestore(str(backup_dir))]
        model.fit(dataset, epochs=3, verbose=0, callbacks=callbacks + (interrupt or []))
        return model

    expected = run(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "resumed", [_Interrupt(epoch=1, batch=3)])
    keras.utils.set_random_seed(999)  # the global state of another process...
    resumed = run(tmp_path / "resumed")  # ...does not matter: run() seeds again, as a script would
    for a, b in zip(_everything(expected), _everything(resumed)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    assert len(_everything(expected)) == len(_everything(resumed)) > 10


def _everything(model):
    """The model's variables (seed states included) and those of its optimizers."""
    variables = list(model.variables)
    for name in ("optimizer", "generator_optimizer", "discriminator_optimizer"):
        optimizer = getattr(model, name, None)
        if optimizer is not None:
            variables += list(optimizer.variables)
    return variables
