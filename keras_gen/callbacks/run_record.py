"""A run that explains itself: `run.json`, TensorBoard HParams and a Text summary of what produced it."""

import datetime
import json
import math
import os

import keras
import tensorflow as tf

from keras_gen import saving

RECORD_FILE = "run.json"
#: The sessions' statuses: still training, `fit` returned, stopped by Ctrl-C, stopped by an error.
RUNNING, FINISHED, INTERRUPTED, FAILED = "running", "finished", "interrupted", "failed"


class RunRecord(keras.callbacks.Callback):
    """Writes `run.json` into `log_dir` and the same record to TensorBoard.

    `record` describes the run (the command line stores the command, the
    model class with its constructor and compile arguments, the dataset and
    its fingerprint, seed, strategy, precision, XLA, versions). Each `fit`
    adds a session to `record["sessions"]` (command, start and end times,
    first epoch, epochs done, status); the end of `fit` stores the last
    epoch's logs as `final_metrics` and the protocols of the metric callbacks
    given. A `run.json` already in `log_dir` (a resumed run) keeps its
    sessions and gets a new one.

    TensorBoard gets, in the run directory itself (beside Keras' `train` and
    `validation` runs), the flat `hparams` for the HParams plugin, which
    reads the final metrics from the `train` and `validation` scalars, and
    `run.json` as the Text summary `run_record`; the final metrics with their
    protocols go to `final_metrics` at the end.

    `run.json` is written atomically (a temporary file renamed over it).

    Args:
        log_dir: the run directory.
        record: a JSON-serializable dict describing the run.
        hparams: flat `{name: bool, int, float or str}` for the HParams
            plugin; None: `flatten(record)` without the sessions.
        metric_callbacks: `SampleMetricCallback`s whose protocols the final
            metrics record.
        session: extra fields of this session (e.g. `{"command": [...]}`).

    Example:
    ```python
    model.fit(x, epochs=5, callbacks=[
        keras.callbacks.TensorBoard("runs/a"),
        RunRecord("runs/a", {"model": "dcgan", "seed": 0}),
    ])
    json.load(open("runs/a/run.json"))["final_metrics"]
    ```
    """

    def __init__(self, log_dir, record, hparams=None, metric_callbacks=(), session=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.record = dict(record)
        self.hparams = hparams
        self.metric_callbacks = tuple(metric_callbacks)
        self.session = dict(session or {})
        self._last_logs = {}
        self._epochs_done = None

    @property
    def path(self):
        return os.path.join(self.log_dir, RECORD_FILE)

    def on_train_begin(self, logs=None):
        previous = read_record(self.log_dir) if os.path.exists(self.path) else None
        sessions = previous["sessions"] if previous else []
        if previous:  # a resumed run keeps what first produced it
            self.record = {**self.record, **{k: v for k, v in previous.items() if k != "sessions"}}
        self.session.update(start_time=_now(), status=RUNNING)
        self.record["sessions"] = [*sessions, self.session]
        self._write()
        self._write_summaries(initial=True)

    def on_epoch_end(self, epoch, logs=None):
        self._last_logs = dict(logs or {})
        self._epochs_done = epoch + 1
        self.session["epochs_done"] = self._epochs_done
        self._write()

    def on_train_end(self, logs=None):
        self.finish(FINISHED)

    def finish(self, status):
        """Ends the session with `status` and stores the final metrics; the CLI calls it on Ctrl-C."""
        if self.session.get("status") != RUNNING:
            return
        self.session.update(end_time=_now(), status=status)
        self.record["final_metrics"] = {
            key: _json_number(value) for key, value in sorted(self._last_logs.items())
        }
        self.record["metric_protocols"] = {
            type(callback).__name__: callback.sample_metrics.protocol()
            for callback in self.metric_callbacks
        }
        self._write()
        self._write_summaries(initial=False)

    def _write(self):
        os.makedirs(self.log_dir, exist_ok=True)
        write_json_atomically(self.path, self.record)

    def _write_summaries(self, initial):
        from tensorboard.plugins.hparams import api as hp

        step = self._epochs_done or self.session.get("initial_epoch", 0)
        writer = tf.summary.create_file_writer(self.log_dir)
        with writer.as_default():
            if initial:
                hparams = self.hparams
                if hparams is None:
                    hparams = flatten({k: v for k, v in self.record.items() if k != "sessions"})
                hp.hparams(hparams, trial_id=os.path.basename(os.path.abspath(self.log_dir)))
                tf.summary.text("run_record", _markdown_json(self.record), step=step)
            else:
                final = {
                    "final_metrics": self.record["final_metrics"],
                    "metric_protocols": self.record["metric_protocols"],
                }
                tf.summary.text("final_metrics", _markdown_json(final), step=step)
        writer.close()


def read_record(log_dir):
    """The `run.json` of a run directory, as a dict.

    Raises:
        ValueError: when the file is not a JSON object with a list of sessions.
    """
    path = os.path.join(os.fspath(log_dir), RECORD_FILE)
    try:
        with open(path) as file:
            record = json.load(file)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(record, dict) or not isinstance(record.get("sessions", []), list):
        raise ValueError(
            f"Expected {path} to hold a JSON object with a list of sessions. "
            f"Received: {type(record).__name__}"
        )
    record.setdefault("sessions", [])
    return record


def write_json_atomically(path, value):
    """Writes `value` as JSON to `path` through a temporary file renamed over it."""
    temporary = f"{path}.tmp"
    with open(temporary, "w") as file:
        json.dump(value, file, indent=1, sort_keys=True)
        file.write("\n")
    saving.fsync_file(temporary)
    os.replace(temporary, path)


def flatten(record, prefix=""):
    """`{"a": {"b": 1}, "c": [1, 2]}` -> `{"a.b": 1, "c": "[1, 2]"}`: the HParams plugin's scalars."""
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        elif value is not None:
            flat[name] = json.dumps(value, sort_keys=True)
    return flat


def _json_number(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return value if math.isfinite(value) else str(value)


def _markdown_json(value):
    # TensorBoard's Text plugin renders markdown; indent four spaces for a code block.
    text = json.dumps(value, indent=1, sort_keys=True)
    return "\n".join("    " + line for line in text.splitlines())


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
