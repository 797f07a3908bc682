import keras
import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from keras_gen import callbacks


def _steps(directory, tag):
    events = EventAccumulator(str(directory))
    events.Reload()
    return [event.step for event in events.Tensors(tag)]


def test_epoch_scalars_are_numbered_from_one_like_the_pictures(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        validation_data=(x, y),
        callbacks=[
            callbacks.TensorBoard(tmp_path / "ours"),
            keras.callbacks.TensorBoard(tmp_path / "keras"),
        ],
    )
    assert _steps(tmp_path / "ours" / "train", "epoch_loss") == [1, 2, 3]
    assert _steps(tmp_path / "ours" / "validation", "epoch_loss") == [1, 2, 3]
    assert _steps(tmp_path / "keras" / "train", "epoch_loss") == [0, 1, 2]
