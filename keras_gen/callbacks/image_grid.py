"""Pictures during training, to TensorBoard and to PNG files: a fixed-seed grid of
samples, and inputs beside their reconstructions with latent interpolations."""

import os

import keras
import numpy as np
import tensorflow as tf

from keras_gen.utils import images


def train_run_dir(log_dir):
    """`log_dir/train`: where `keras.callbacks.TensorBoard(log_dir)` writes its training scalars.

    Summaries written there belong to the same TensorBoard run as the
    scalars (TensorBoard merges the event files of one directory).
    """
    return os.path.join(log_dir, "train")


class ImageGridCallback(keras.callbacks.Callback):
    """Writes a grid of `model.generate(num_samples, seed=seed)` every `every` epochs.

    The same seed every time, so the grids show how the same latents evolve.
    Images become a grid; 2-D points a scatter plot with axes, and the true
    modes marked when `modes` is given.

    Where it goes: the TensorBoard image series `samples` in `log_dir/train`,
    the directory where `keras.callbacks.TensorBoard(log_dir)` writes its
    training scalars, so that TensorBoard lists the run once (two event files
    in one directory make one run); and, if `png_dir` is set,
    `png_dir/samples_epoch_0001.png` and so on.

    Numbering: the picture after the N-th epoch (counted from 1) is image
    step N and `samples_epoch_000N.png`. Keras' own TensorBoard callback logs
    its epoch scalars at the 0-based epoch index, so that epoch's
    `epoch_g_loss` is at step N - 1.

    Args:
        log_dir: TensorBoard log directory (the one given to
            `keras.callbacks.TensorBoard`), or None for PNGs only.
        png_dir: directory for PNG files, or None.
        num_samples: samples in the grid.
        seed: sampling seed.
        every: write every this many epochs, and after the last.
        labels: labels for a conditional model (default: classes in turn).
        modes: for 2-D samples, the true mode centres `(k, 2)` in the
            samples' coordinates, marked in the scatter plot; or None.
        mode_std: the modes' standard deviation in those coordinates (circles
            of 3 std around the centres), or None.

    Example:
    ```python
    model.fit(x, epochs=10, callbacks=[
        keras_gen.callbacks.TensorBoard("runs/dcgan"),  # epochs from 1, as the grids
        ImageGridCallback("runs/dcgan", png_dir="runs/dcgan")])
    # 2-D mixtures: the true modes in the [-1, 1] space of the data.
    centres, std = keras_gen.data.toy.scaled_centers("ring8")
    ImageGridCallback("runs/gan", png_dir="runs/gan", modes=centres, mode_std=std)
    ```
    """

    def __init__(
        self,
        log_dir=None,
        png_dir=None,
        num_samples=64,
        seed=0,
        every=1,
        labels=None,
        modes=None,
        mode_std=None,
    ):
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
        self.modes = images.check_modes(modes, mode_std)
        self.mode_std = mode_std
        self._writer = None
        self.last_png = None

    def due(self, epoch):
        """Whether to write after `epoch`: every `every` epochs, and after the last one."""
        return not (epoch + 1) % self.every or epoch + 1 == (self.params or {}).get("epochs")

    def on_epoch_end(self, epoch, logs=None):
        if not self.due(epoch):
            return
        kwargs = {"labels": self.labels} if self.labels is not None else {}
        samples = np.asarray(self.model.generate(self.num_samples, seed=self.seed, **kwargs))
        self.write("samples", self.sample_picture(samples, epoch), epoch)

    def sample_picture(self, samples, epoch):
        """The picture of `samples`: a grid of images, or a scatter plot of 2-D points.

        Args:
            samples: the model's samples, images or points `(n, 2)`.
            epoch: Keras' 0-based epoch index (the plot's title counts from 1).

        Returns:
            A uint8 picture, or None for samples that have none.

        Raises:
            ValueError: if `modes` was given and the samples are not 2-D points.
        """
        if samples.ndim == 2 and samples.shape[1] == 2:
            return images.scatter_picture(
                samples, modes=self.modes, mode_std=self.mode_std, title=f"epoch {epoch + 1}"
            )
        if self.modes is not None:
            raise ValueError(
                "`modes` marks 2-D samples of shape (n, 2). "
                f"Received: samples with shape {samples.shape} from the model"
            )
        return images.picture(samples)

    def write(self, tag, picture, epoch):
        """Writes a uint8 picture as TensorBoard image `tag` and as `png_dir/<tag>_epoch_NNNN.png`.

        `epoch` is Keras' 0-based epoch index; image step and file number
        are `epoch + 1`.
        """
        if picture is None:
            return
        step = epoch + 1
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(train_run_dir(self.log_dir))
            with self._writer.as_default():
                tf.summary.image(tag, picture[None], step=step)
            self._writer.flush()
        if self.png_dir is not None:
            self.last_png = os.path.join(self.png_dir, f"{tag}_epoch_{step:04d}.png")
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
    line between their posterior means. Both go to TensorBoard in `log_dir/train`
    (beside Keras' training scalars) and to `png_dir/<tag>_epoch_NNNN.png`, numbered
    as for `ImageGridCallback` (epochs from 1).

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
