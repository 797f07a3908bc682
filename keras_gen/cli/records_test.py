import os

import numpy as np
import pytest
import tensorflow as tf

from keras_gen.cli import records
from keras_gen.cli.arguments import UsageError


def _dataset(values, labels=None):
    parts = values if labels is None else (values, labels)
    return tf.data.Dataset.from_tensor_slices(parts).batch(3)


def test_fingerprint_is_stable_and_changes_with_the_data():
    values = np.arange(20, dtype="float32").reshape(10, 2)
    assert records.fingerprint(_dataset(values)) == records.fingerprint(_dataset(values.copy()))
    changed = values.copy()
    changed[7, 1] += 1e-3
    assert records.fingerprint(_dataset(changed)) != records.fingerprint(_dataset(values))
    labels = np.zeros(10, "int32")
    assert records.fingerprint(_dataset(values, labels)) != records.fingerprint(
        _dataset(values, labels + 1)
    )


def test_fingerprint_reads_only_the_first_examples():
    values = np.arange(20, dtype="float32").reshape(10, 2)
    changed = values.copy()
    changed[9] = -1
    assert records.fingerprint(_dataset(values), limit=8) == records.fingerprint(
        _dataset(changed), limit=8
    )
    assert records.fingerprint(_dataset(values), limit=8) != records.fingerprint(
        _dataset(values), limit=9
    )


def _make_run(runs, name, age, files=("model.keras",)):
    directory = runs / name
    directory.mkdir(parents=True)
    for file in files:
        (directory / file).parent.mkdir(parents=True, exist_ok=True)
        (directory / file).write_bytes(b"")
    os.utime(directory, (age, age))
    return directory


def test_newest_run_is_the_youngest_and_not_the_latest_link(tmp_path):
    old = _make_run(tmp_path, "dcgan-a", 1_000)
    new = _make_run(tmp_path, "dcgan-b", 2_000)
    _make_run(tmp_path, "gan-c", 3_000)
    assert records.newest_run("dcgan", tmp_path) == str(new)
    assert records.link_latest(str(old), "dcgan") == str(tmp_path / "dcgan-latest")
    assert os.readlink(tmp_path / "dcgan-latest") == "dcgan-a"  # relative: the tree can move
    assert records.newest_run("dcgan", tmp_path) == str(new)
    records.link_latest(str(new), "dcgan")
    assert os.readlink(tmp_path / "dcgan-latest") == "dcgan-b"
    assert records.newest_run("vae", tmp_path) is None


def test_link_latest_only_for_runs_named_after_the_model(tmp_path):
    assert records.link_latest(str(tmp_path / "my-run"), "dcgan") is None
    assert not (tmp_path / "dcgan-latest").exists()


def test_resolve_model_file_takes_a_file_a_run_directory_or_a_model_name(tmp_path):
    old = _make_run(tmp_path, "dcgan-a", 1_000)
    new = _make_run(tmp_path, "dcgan-b", 2_000, files=("interrupted.keras",))
    backup = _make_run(tmp_path, "vae-a", 1_000, files=(os.path.join("backup", "backup.keras"),))
    file = str(old / "model.keras")
    assert records.resolve_model_file(file, "cmd", tmp_path) == file
    assert records.resolve_model_file(str(old), "cmd", tmp_path) == file
    assert records.resolve_model_file("dcgan", "cmd", tmp_path) == str(new / "interrupted.keras")
    assert records.resolve_model_file("vae", "cmd", tmp_path) == str(
        backup / "backup" / "backup.keras"
    )


@pytest.mark.parametrize(
    "target, message",
    [
        ("gan", "there is no"),
        ("nothing", "Expected a .keras file, a run directory or a model name"),
        ("empty-run", "holds no model yet"),
        ("runs/gan-x/model.keras", "no such file or run directory"),
    ],
)
def test_resolve_model_file_names_what_it_received(tmp_path, target, message):
    (tmp_path / "empty-run").mkdir()
    with pytest.raises(UsageError, match=message) as error:
        records.resolve_model_file(
            str(tmp_path / target) if target == "empty-run" else target, "cmd", tmp_path
        )
    assert "Received:" in str(error.value) or target in str(error.value)


def test_hparams_are_flat_scalars_of_the_record():
    record = {
        "model": {
            "name": "gan",
            "config": {"latent_dim": 8, "network": {"units": 3}, "name": "gan"},
            "compile_config": {"optimizer": {"config": {"learning_rate": 0.1, "beta_1": 0.5}}},
            "jit_compile": False,
        },
        "dataset": {"name": "ring8", "batch_size": 4},
        "epochs": 2,
        "seed": 0,
        "precision": "float32",
        "strategy": {"class": "MirroredStrategy", "replicas": 2},
    }
    assert records.hparams(record) == {
        "model": "gan",
        "dataset": "ring8",
        "batch_size": 4,
        "epochs": 2,
        "seed": 0,
        "precision": "float32",
        "jit_compile": "False",
        "strategy": "MirroredStrategy",
        "replicas": 2,
        "model.latent_dim": 8,
        "optimizer.learning_rate": 0.1,
        "optimizer.beta_1": 0.5,
    }
