"""A fixed-seed picture of samples each epoch, to TensorBoard and to PNG files."""

import os

import keras
import tensorflow as tf

from keras_gen.utils import images


class ImageGridCallback(keras.callbacks.Callback):
    """Writes a grid of `model.generate(num_samples, seed=seed)` every `every` epochs.

    The same seed every time, so the grids show how the same latents evolve.
    Images become a grid, 2D points a scatter plot. The picture goes to the
    TensorBoard image series `samples` under `log_dir/images` and, if
    `png_dir` is set, to `png_dir/samples_epoch_0001.png` and so on.

    Args:
        log_dir: TensorBoard log directory, or None for PNGs only.
        png_dir: directory for PNG files, or None.
        num_samples: samples in the grid.
        seed: sampling seed.
        every: write every this many epochs.
        labels: labels for a conditional model (default: classes in turn).

    Example:
    ```python
    model.fit(x, epochs=10, callbacks=[ImageGridCallback("runs/dcgan", png_dir="runs/dcgan")])
    ```
    """

    def __init__(self, log_dir=None, png_dir=None, num_samples=64, seed=0, every=1, labels=None):
        super().__init__()
        if log_dir is None and png_dir is None:
            raise ValueError("ImageGridCallback needs `log_dir` or `png_dir`. "
                             "Received: log_dir=None, png_dir=None")
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"`every` must be an int >= 1. Received: every={every!r}")
        self.log_dir = log_dir
        self.png_dir = png_dir
        self.num_samples = num_samples
        self.seed = seed
        self.every = every
        self.labels = labels
        self._writer = None
        self.last_png = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        kwargs = {"labels": self.labels} if self.labels is not None else {}
        samples = self.model.generate(self.num_samples, seed=self.seed, **kwargs)
        grid = images.picture(samples)
        if grid is None:
            return
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "images"))
            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch)
            self._writer.flush()
        if self.png_dir is not None:
            self.last_png = os.path.join(self.png_dir, f"samples_epoch_{epoch + 1:04d}.png")
            images.save_png(grid, self.last_png)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None



