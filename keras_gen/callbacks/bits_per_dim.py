"""Held-out bits per dimension of a flow or a variational model, computed during `fit()`."""

import keras

from keras_gen.metrics.likelihood import held_out_bits_per_dim
from keras_gen.networks import common


class BitsPerDim(keras.callbacks.Callback):
    """Writes `keras_gen.metrics.held_out_bits_per_dim` of `data` into the epoch's logs.

    Put it before `keras.callbacks.TensorBoard` (or `keras_gen.callbacks.TensorBoard`)
    in the callback list: TensorBoard then writes `epoch_<name>` beside the
    losses, and `ModelCheckpoint(monitor=name)` or `EarlyStopping` can use it.

    Args:
        data: held-out samples, an array or a `tf.data.Dataset`.
        every: evaluate every this many epochs.
        num_importance_samples: K of a variational model's bound.
        seed: seed of the dequantization noise or posterior draws (the same every epoch).
        name: the key in `logs`.

    Example:
    ```python
    model.fit(train, epochs=10, callbacks=[
        keras_gen.callbacks.BitsPerDim(test_images),
        keras_gen.callbacks.TensorBoard("runs/glow"),
    ])
    ```
    """

    def __init__(
        self, data, every=1, num_importance_samples=100, seed=0, name="held_out_bits_per_dim"
    ):
        super().__init__()
        self.data = data
        self.every = common.check_positive_int(every, "every")
        self.num_importance_samples = common.check_positive_int(
            num_importance_samples, "num_importance_samples"
        )
        self.seed = common.check_positive_int(seed, "seed", minimum=0)
        self.name = name

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or logs is None:
            return
        logs[self.name] = held_out_bits_per_dim(
            self.model, self.data, self.num_importance_samples, self.seed
        )
