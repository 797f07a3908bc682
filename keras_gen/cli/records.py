"""What `keras-gen train` records about a run (`run.json`), and how commands find runs.

A run directory is `runs/<model>-<timestamp>` unless `--logdir` says
otherwise; `runs/<model>-latest` links to the newest one `train` started.
`sample` and `evaluate` take a model file, a run directory or a model name
(its newest run).
"""

import hashlib
import os
import platform
import sys

import numpy as np

from keras_gen.cli.arguments import UsageError

RUNS = "runs"
LATEST = "latest"
#: Examples of the unshuffled training split hashed into the dataset fingerprint.
FINGERPRINT_EXAMPLES = 10_000
#: The model files of a run directory, in the order `sample` and `evaluate` prefer them.
MODEL_FILES = ("model.keras", "interrupted.keras", os.path.join("backup", "backup.keras"))


def fingerprint(dataset, limit=FINGERPRINT_EXAMPLES):
    """SHA-256 of the first `limit` examples of an unshuffled dataset (as float32, with labels).

    Two loads of the same data give the same digits; a changed file, another
    resize or another split gives others.
    """
    digest = hashlib.sha256()
    seen = 0
    for batch in dataset:
        parts = batch if isinstance(batch, tuple) else (batch,)
        count = min(int(parts[0].shape[0]), limit - seen)
        for part in parts:
            array = np.asarray(part)[:count]
            digest.update(str(array.shape[1:]).encode())
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        seen += count
        if seen >= limit:
            break
    digest.update(f"examples={seen}".encode())
    return digest.hexdigest()


def versions():
    """The versions of keras_gen, TensorFlow, Keras, NumPy and Python."""
    import keras
    import tensorflow as tf

    import keras_gen

    return {
        "keras_gen": keras_gen.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def model_record(name, model):
    """The model's registered name, class, constructor config and compile config, as JSON values."""
    import json

    def plain(value):
        return json.loads(json.dumps(value, default=str))

    compile_config = model.get_compile_config() if model.compiled else None
    return {
        "name": name,
        "class": f"{type(model).__module__}.{type(model).__name__}",
        "config": plain(model.get_config()),
        "compile_config": plain(compile_config),
        "jit_compile": plain(model.jit_compile),
    }


def hparams(record):
    """The flat hyperparameters of a run record shown in TensorBoard's HParams table.

    The model's scalar constructor arguments, its optimizers' learning rates
    and betas, and the run's data, seed, strategy, precision and XLA.
    """
    model = record["model"]
    flat = {
        "model": model["name"],
        "dataset": record["dataset"]["name"],
        "batch_size": record["dataset"]["batch_size"],
        "epochs": record["epochs"],
        "seed": record["seed"],
        "precision": record["precision"],
        "jit_compile": str(model["jit_compile"]),
        "strategy": record["strategy"]["class"],
        "replicas": record["strategy"]["replicas"],
    }
    for key, value in (model["config"] or {}).items():
        if isinstance(value, (bool, int, float, str)) and key not in ("name", "trainable"):
            flat[f"model.{key}"] = value
    for argument, optimizer in (model["compile_config"] or {}).items():
        config = optimizer.get("config", {}) if isinstance(optimizer, dict) else {}
        for key in ("learning_rate", "beta_1", "beta_2"):
            if isinstance(config.get(key), (int, float)):
                flat[f"{argument}.{key}"] = config[key]
    return flat


def command_line(args):
    """The command as typed (`main()` stores it), else as Python saw it."""
    return list(getattr(args, "argv", None) or ["keras-gen", *sys.argv[1:]])


def newest_run(model_name, runs=RUNS):
    """The newest `runs/<model_name>-*` directory (by the time in its name, then its age), or None.

    The `<model_name>-latest` link is not a run of its own.
    """
    if not os.path.isdir(runs):
        return None
    prefix = f"{model_name}-"
    candidates = [
        os.path.join(runs, entry)
        for entry in os.listdir(runs)
        if entry.startswith(prefix)
        and entry != prefix + LATEST
        and os.path.isdir(os.path.join(runs, entry))
    ]
    return max(candidates, key=lambda path: (os.path.getmtime(path), path)) if candidates else None


def link_latest(logdir, model_name):
    """Points `<parent of logdir>/<model_name>-latest` at `logdir` (a relative symbolic link).

    Only for a run directory named `<model_name>-*`; replaced atomically;
    where the file system has no symbolic links nothing is linked.
    """
    parent, name = os.path.split(os.path.normpath(logdir))
    if not name.startswith(f"{model_name}-") or name == f"{model_name}-{LATEST}":
        return None
    link = os.path.join(parent, f"{model_name}-{LATEST}")
    temporary = f"{link}.tmp{os.getpid()}"
    try:
        os.symlink(name, temporary)
        os.replace(temporary, link)
    except OSError:
        return None
    return link


def resolve_model_file(target, command, runs=RUNS):
    """The `.keras` file meant by `target`: a model file, a run directory, or a model name.

    A run directory gives its `model.keras` (else `interrupted.keras`, else
    its newest backup); a model name gives that of its newest run.

    Raises:
        UsageError: when `target` is none of these, or the run holds no model.
    """
    from keras_gen import models

    if os.path.isfile(target):
        return target
    directory = target
    if not os.path.isdir(target):
        if target.endswith(".keras") or os.sep in target:
            raise UsageError(f"{command}: no such file or run directory: {target}")
        if target not in models.MODELS:
            raise UsageError(
                f"{command}: Expected a .keras file, a run directory or a model name "
                f"(one of {', '.join(sorted(models.MODELS))}). Received: {target}"
            )
        directory = newest_run(target, runs)
        if directory is None:
            raise UsageError(
                f"{command}: there is no {runs}/{target}-* run; train one with "
                f"`keras-gen train {target}`. Received: {target}"
            )
    for name in MODEL_FILES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise UsageError(
        f"{command}: {directory} holds no model yet (none of {', '.join(MODEL_FILES)}). "
        f"Received: {target}"
    )
