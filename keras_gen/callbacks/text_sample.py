"""A fixed prompt's continuation each epoch, to TensorBoard as text."""

import keras
import tensorflow as tf

from keras_gen.callbacks.image_grid import train_run_dir


class TextSampleCallback(keras.callbacks.Callback):
    """Writes `model.generate(prompt, ...)` with a fixed seed every `every` epochs.

    The text goes to `self.last_text` and to the TensorBoard text series
    `sample` in `log_dir/train`, beside the training scalars of
    `keras.callbacks.TensorBoard(log_dir)` (one run in TensorBoard). The
    sample after the N-th epoch (counted from 1) is step N; Keras logs that
    epoch's scalars at step N - 1 (its 0-based epoch index).

    Args:
        prompt: the str every sample starts from.
        max_length: tokens to generate.
        temperature: sampling temperature (0: greedy).
        seed: sampling seed, the same every epoch.
        log_dir: TensorBoard log directory (the one given to
            `keras.callbacks.TensorBoard`), or None.
        every: write every this many epochs.
    """

    def __init__(self, prompt, max_length=100, temperature=0.8, seed=0, log_dir=None, every=1):
        super().__init__()
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(f"`prompt` must be a non-empty str. Received: prompt={prompt!r}")
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"`every` must be an int >= 1. Received: every={every!r}")
        self.prompt, self.max_length, self.temperature = prompt, max_length, temperature
        self.seed, self.log_dir, self.every = seed, log_dir, every
        self.last_text = None
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        self.last_text = self.model.generate(
            self.prompt, max_length=self.max_length, temperature=self.temperature, seed=self.seed
        )
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(train_run_dir(self.log_dir))
            with self._writer.as_default():
                # Markdown would eat the newlines and indentation of the text.
                tf.summary.text(
                    "sample", "    " + self.last_text.replace("\n", "\n    "), step=epoch + 1
                )
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
