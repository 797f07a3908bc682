import json
import os

import keras
import numpy as np
import pytest

from keras_gen.callbacks import run_record
from keras_gen.callbacks.run_record import RunRecord


def _fit(log_dir, epochs, initial_epoch=0, record=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    callback = RunRecord(log_dir, record or {"model": "dense"}, session={"initial_epoch": 0})
    history = model.fit(
        x, y, epochs=epochs, initial_epoch=initial_epoch, verbose=0, callbacks=[callback]
    )
    return history, run_record.read_record(log_dir)


def test_run_json_holds_the_sessions_and_the_last_epochs_logs(tmp_path):
    history, record = _fit(tmp_path, 3)
    assert record["model"] == "dense"
    (session,) = record["sessions"]
    assert session["status"] == "finished" and session["epochs_done"] == 3
    assert record["final_metrics"]["loss"] == pytest.approx(history.history["loss"][-1])
    assert os.listdir(tmp_path).count("run.json") == 1
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_a_second_fit_adds_a_session_and_keeps_the_first_record(tmp_path):
    _fit(tmp_path, 1)
    _, record = _fit(tmp_path, 2, initial_epoch=1, record={"model": "other"})
    assert record["model"] == "dense"  # what first produced the run
    assert [s["epochs_done"] for s in record["sessions"]] == [1, 2]


def test_finish_records_an_interrupted_session_once(tmp_path):
    callback = RunRecord(tmp_path, {"model": "dense"})
    callback.on_train_begin()
    callback.on_epoch_end(0, {"loss": np.float32(0.5)})
    callback.finish(run_record.INTERRUPTED)
    callback.on_train_end()  # no second ending
    record = run_record.read_record(tmp_path)
    assert record["sessions"][0]["status"] == "interrupted"
    assert record["final_metrics"] == {"loss": 0.5}


def test_a_damaged_run_json_is_a_value_error_naming_the_file(tmp_path):
    (tmp_path / "run.json").write_text("[1, 2")
    with pytest.raises(ValueError, match="run.json is not valid JSON"):
        run_record.read_record(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="Received: list"):
        run_record.read_record(tmp_path)


def test_flatten_gives_the_hparams_plugin_scalars():
    flat = run_record.flatten({"a": {"b": 1, "c": None}, "d": [1, 2], "e": "x", "f": True})
    assert flat == {"a.b": 1, "d": "[1, 2]", "e": "x", "f": True}
