"""keras_gen: generative models for TensorFlow and Keras 3, trained with `model.fit()`."""

import os

__version__ = "0.1.0"

_BACKEND_HELP = (
    "keras_gen runs on the TensorFlow backend of Keras 3 only. Set the environment "
    "variable KERAS_BACKEND=tensorflow (or remove it) before importing keras_gen, "
    'for example `export KERAS_BACKEND=tensorflow`, and check the "backend" entry '
    "of ~/.keras/keras.json."
)

_requested = os.environ.get("KERAS_BACKEND")
if _requested is not None and _requested != "tensorflow":
    raise ImportError(f"{_BACKEND_HELP} Received: KERAS_BACKEND={_requested!r}.")

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"{_BACKEND_HELP} Keras is configured with backend="
        f"{keras.backend.backend()!r} (KERAS_BACKEND is unset, so the keras.json "
        "setting applies)."
    )

from keras_gen import callbacks, data, losses, metrics, models, networks  # noqa: E402
from keras_gen.utils.errors import NonFiniteLossError  # noqa: E402
