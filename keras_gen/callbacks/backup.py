"""End-of-epoch backups written atomically, from which an interrupted run resumes."""

import json
import os

import keras

MODEL_FILE = "backup.keras"
STATE_FILE = "backup.json"


def _atomic_write_text(path, text):
    temporary = f"{path}.tmp"
    with open(temporary, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


class Backup(keras.callbacks.Callback):
    """Saves the whole model (`.keras`, optimizers included) at the end of every epoch.

    Each file is written to a temporary name and renamed, so an interruption
    at any moment leaves the previous backup intact. `Backup.restore(directory)`
    loads the last one and tells the epoch to continue from.

    Args:
        directory: where `backup.keras` and `backup.json` are kept.

    Example:
    ```python
    restored = Backup.restore("runs/dcgan/backup")
    if restored:
        model, initial_epoch = restored
    model.fit(x, epochs=20, initial_epoch=initial_epoch,
              callbacks=[Backup("runs/dcgan/backup")])
    ```
    """

    def __init__(self, directory):
        super().__init__()
        self.directory = os.fspath(directory)

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, MODEL_FILE)
        temporary = os.path.join(self.directory, "backup.tmp.keras")
        self.model.save(temporary)
        os.replace(temporary, path)
        _atomic_write_text(os.path.join(self.directory, STATE_FILE),
                           json.dumps({"epochs_done": epoch + 1}))

    @staticmethod
    def restore(directory):
        """Returns `(model, epochs_done)` from the last backup, or None if there is none."""
        state_path = os.path.join(directory, STATE_FILE)
        model_path = os.path.join(directory, MODEL_FILE)
        if not (os.path.exists(state_path) and os.path.exists(model_path)):
            return None
        with open(state_path) as f:
            epochs_done = int(json.load(f)["epochs_done"])
        return keras.models.load_model(model_path), epochs_done
