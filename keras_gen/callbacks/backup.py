"""End-of-epoch backups written as one atomic file, from which an interrupted run resumes."""

import json
import logging
import os
import zipfile

import keras

from keras_gen import saving

MODEL_FILE = "backup.keras"
PREVIOUS_FILE = "backup.previous.keras"
#: The entry of the backup archive that says what it holds.
STATE_ENTRY = "keras_gen_backup.json"

logger = logging.getLogger(__name__)


class Backup(keras.callbacks.Callback):
    """Saves the whole training state in one `.keras` file at the end of every epoch.

    The file holds the model, its optimizers and seed states, and an entry
    `keras_gen_backup.json` with the epochs done (with keras_gen's datasets,
    whose order is a function of the seed and the epoch, that is also the data
    position) and the `run` description given here. It is written under a
    temporary name, fsynced, and renamed over `backup.keras`; the backup
    before it is kept as `backup.previous.keras`. A kill at any moment leaves
    at least one complete backup, and `Backup.restore` falls back to the
    previous one when the newest is damaged.

    Args:
        directory: where the backups are kept.
        run: a JSON-serializable dict saved with each backup (the command
            line stores the model name and dataset; `restore` returns it).

    Example:
    ```python
    restored = Backup.restore("runs/dcgan/backup")
    initial_epoch = 0
    if restored:
        model, initial_epoch, run = restored
    model.fit(x, epochs=20, initial_epoch=initial_epoch,
              callbacks=[Backup("runs/dcgan/backup")])
    ```
    """

    def __init__(self, directory, run=None):
        super().__init__()
        self.directory = os.fspath(directory)
        self.run = dict(run or {})

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, MODEL_FILE)
        temporary = os.path.join(self.directory, "backup.tmp.keras")
        self.model.save(temporary)
        state = {
            "epochs_done": epoch + 1,
            "run": self.run,
            "model_class": type(self.model).__name__,
        }
        with zipfile.ZipFile(temporary, "a") as archive:
            archive.writestr(STATE_ENTRY, json.dumps(state))
        saving.fsync_file(temporary)
        if os.path.exists(path):
            os.replace(path, os.path.join(self.directory, PREVIOUS_FILE))
        os.replace(temporary, path)
        saving.fsync_directory(self.directory)

    @staticmethod
    def restore(directory):
        """`(model, epochs_done, run)` from the newest complete backup, or None if there is none.

        A damaged newest backup is reported in the log and the previous one is
        used.

        Raises:
            ValueError: when every backup in `directory` is damaged.
        """
        candidates = [os.path.join(directory, name) for name in (MODEL_FILE, PREVIOUS_FILE)]
        candidates = [path for path in candidates if os.path.exists(path)]
        errors = []
        for path in candidates:
            try:
                state = read_state(path)
                model = saving.load_model(path)
            except ValueError as error:
                logger.warning("Skipping the damaged backup %s: %s", path, error)
                errors.append(str(error))
                continue
            return model, state["epochs_done"], state.get("run", {})
        if errors:
            raise ValueError(f"Every backup in {directory} is damaged: {'; '.join(errors)}")
        return None


def read_state(path):
    """The `keras_gen_backup.json` entry of a backup file.

    Raises:
        ValueError: when the file is damaged or has no such entry.
    """
    saving.check_archive(path)
    with zipfile.ZipFile(path) as archive:
        if STATE_ENTRY not in archive.namelist():
            raise ValueError(f"{path} is not a keras_gen backup: it has no {STATE_ENTRY}")
        state = json.loads(archive.read(STATE_ENTRY))
    epochs = state.get("epochs_done")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"{path} says epochs_done={epochs!r}; expected an int >= 1")
    return state
