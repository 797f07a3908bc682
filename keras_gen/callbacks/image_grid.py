"""Pictures during training, to TensorBoard and to PNG files: a fixed-seed grid of
samples, and inputs beside their reconstructions with latent interpolations."""

import os

import keras
import numpy as np
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
        every: write every this many epochs, and after the last.
        labels: labels for a conditional model (default: classes in turn).

    Example:
    ```python
    model.fit(x, epochs=10, callbacks=[ImageGridCallback("runs/dcgan", png_dir="runs/dcgan")])
    ```
    """

    def __init__(self, log_dir=None, png_dir=None, num_samples=64, seed=0, every=1, labels=None):
        super().__init__()
        if log_dir is None and png_dir is None:
            raise ValueError(
                "ImageGridCallback needs `log_dir` or `png_dir`. "
                "Received: log_dir=None, png_dir=None"
            )
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

    def due(self, epoch):
        """Whether to write after `epoch`: every `every` epochs, and after the last one."""
        return not (epoch + 1) % self.every or epoch + 1 == (self.params or {}).get("epochs")

    def on_epoch_end(self, epoch, logs=None):
        if not self.due(epoch):
            return
        kwargs = {"labels": self.labels} if self.labels is not None else {}
        samples = self.model.generate(self.num_samples, seed=self.seed, **kwargs)
        self.write("samples", images.picture(samples), epoch)

    def write(self, tag, picture, epoch):
        """Writes a uint8 picture as TensorBoard image `tag` and as `png_dir/<tag>_epoch_NNNN.png`."""
        if picture is None:
            return
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "images"))
            with self._writer.as_default():
                tf.summary.image(tag, picture[None], step=epoch)
            self._writer.flush()
        if self.png_dir is not None:
            self.last_png = os.path.join(self.png_dir, f"{tag}_epoch_{epoch + 1:04d}.png")
            images.save_png(picture, self.last_png)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ReconstructionGridCallback(ImageGridCallback):
    """Inputs beside their reconstructions, and latent interpolations, every `every` epochs.

    The `reconstructions` picture has the inputs in its first row and
    `model.reconstruct(inputs)` below. For models with `interpolate` (the VAE
    family), the `interpolations` picture has one row per pair of inputs
    (0 and 1, 2 and 3, ...): `interpolation_steps` decodings of points on the
    line between their posterior means. Both go to TensorBoard under `log_dir/images` and to
    `png_dir/<tag>_epoch_NNNN.png`.

    Args:
        data: a few images `(n, *data_shape)` in [-1, 1] (8 to 16 read well).
        log_dir: TensorBoard log directory, or None for PNGs only.
        png_dir: directory for PNG files, or None.
        labels: labels of `data`, for a conditional model.
        every: write every this many epochs, and after the last.
        interpolation_steps: images per interpolation row (0: no interpolations).

    Example:
    ```python
    x_test = next(iter(test_dataset))[:8]
    vae.fit(dataset, epochs=10,
            callbacks=[ReconstructionGridCallback(x_test, log_dir="runs/vae", png_dir="runs/vae")])
    ```
    """

    def __init__(
        self, data, log_dir=None, png_dir=None, labels=None, every=1, interpolation_steps=8
    ):
        super().__init__(log_dir=log_dir, png_dir=png_dir, every=every, labels=labels)
        self.data = np.asarray(data, "float32")
        if self.data.ndim != 4 or len(self.data) < 1:
            raise ValueError(
                "`data` must be images of shape (n, height, width, channels) with "
                f"n >= 1. Received: data with shape {self.data.shape}"
            )
        if (
            not isinstance(interpolation_steps, int)
            or interpolation_steps < 0
            or interpolation_steps == 1
        ):
            raise ValueError(
                "`interpolation_steps` must be 0 or an int >= 2. "
                f"Received: interpolation_steps={interpolation_steps!r}"
            )
        self.interpolation_steps = interpolation_steps

    def on_epoch_end(self, epoch, logs=None):
        if not self.due(epoch):
            return
        kwargs = {"labels": self.labels} if self.labels is not None else {}
        reconstructions = self.model.reconstruct(self.data, **kwargs)
        pairs = np.concatenate([self.data, reconstructions])
        self.write("reconstructions", images.image_grid(pairs, columns=len(self.data)), epoch)
        if (
            not self.interpolation_steps
            or not hasattr(self.model, "interpolate")
            or len(self.data) < 2
        ):
            return
        rows = []
        for i in range(0, len(self.data) - 1, 2):
            label = None if self.labels is None else np.asarray(self.labels)[i : i + 2]
            rows.append(
                self.model.interpolate(
                    self.data[i], self.data[i + 1], steps=self.interpolation_steps, labels=label
                )
            )
        self.write(
            "interpolations",
            images.image_grid(np.concatenate(rows), columns=self.interpolation_steps),
            epoch,
        )
