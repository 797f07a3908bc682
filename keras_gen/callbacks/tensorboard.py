"""Keras' TensorBoard callback with epochs counted from 1, as keras_gen's pictures count them."""

import keras


class TensorBoard(keras.callbacks.TensorBoard):
    """`keras.callbacks.TensorBoard` whose epoch summaries are at step epoch + 1.

    keras_gen's picture, text and metric-protocol summaries and its PNG files
    number epochs from 1 (`samples_epoch_0003.png` is the grid after the
    third epoch, at step 3); Keras numbers them from 0. With this callback
    the third epoch's `epoch_d_loss` is at step 3 too, so that a scalar and
    the grid of the same epoch line up. `histogram_freq` and
    `embeddings_freq` count the same epochs from 1 (every `n`-th epoch).
    Everything else is Keras' callback unchanged.

    Example:
    ```python
    model.fit(x, epochs=3, callbacks=[
        keras_gen.callbacks.TensorBoard("runs/a"),
        keras_gen.callbacks.ImageGridCallback(log_dir="runs/a", png_dir="runs/a"),
    ])
    ```
    """

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch + 1, logs)
