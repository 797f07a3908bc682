"""Saving and loading `.keras` files atomically, with a clear error for a damaged file."""

import os
import zipfile

import keras

#: The entries every `.keras` archive written by Keras 3 holds.
KERAS_ENTRIES = ("config.json", "metadata.json")


def fsync_file(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_directory(directory):
    """Makes renames inside `directory` durable (a no-op where directories cannot be opened)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def save_model(model, path):
    """`model.save(path)` through a temporary file, fsynced and renamed: never half a file."""
    path = os.fspath(path)
    temporary = path[: -len(".keras")] + ".tmp.keras"
    model.save(temporary)
    fsync_file(temporary)
    os.replace(temporary, path)
    fsync_directory(os.path.dirname(os.path.abspath(path)))


def check_archive(path):
    """Raises ValueError when `path` is not a complete `.keras` archive.

    Raises:
        FileNotFoundError: when there is no file at `path`.
        ValueError: for a truncated or corrupted archive (bad zip structure,
            a CRC error, missing Keras entries).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such .keras file: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ValueError(
            f"{path} is damaged (not a complete .keras archive: {error}); "
            "it may have been cut short while being written or copied."
        ) from error
    if damaged is not None:
        raise ValueError(f"{path} is damaged: the entry {damaged!r} fails its checksum.")
    missing = [entry for entry in KERAS_ENTRIES if entry not in names]
    if missing:
        raise ValueError(f"{path} is damaged or not a .keras file: it has no {missing}.")


def load_model(path, **kwargs):
    """`keras.models.load_model(path)` after checking that the archive is complete.

    Raises:
        FileNotFoundError: when there is no file at `path`.
        ValueError: when the file is damaged, naming it.
    """
    import keras_gen.models  # noqa: F401  (registers the model, network and layer classes)

    check_archive(path)
    return keras.models.load_model(path, **kwargs)
