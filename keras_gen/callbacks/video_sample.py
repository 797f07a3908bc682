"""Generated and predicted clips each epoch, to TensorBoard as animated GIFs and as frame strips."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.callbacks.image_grid import train_run_dir
from keras_gen.utils import images


def gif_summary(tag, clips, step, frame_ms=100):
    """Writes clips as animated GIF images under `tag` to the default summary writer.

    TensorBoard's Images tab shows an image summary's encoded bytes as the
    browser decodes them, so a GIF plays (the way tensorboardX writes video).
    Written as a raw `Summary` proto: `tf.summary.image` re-encodes as PNG.

    Args:
        tag: the series name.
        clips: `(n, T, H, W, c)` in [-1, 1] (or uint8).
        step: int step.
        frame_ms: milliseconds per frame.
    """
    from tensorboard.compat.proto import summary_pb2  # noqa: PLC0415 (tensorboard is heavy)

    values = []
    for i, clip in enumerate(clips):
        frames = images.clip_frames(clip)
        picture = summary_pb2.Summary.Image(
            height=frames.shape[1],
            width=frames.shape[2],
            colorspace=frames.shape[3],
            encoded_image_string=images.gif_bytes(frames, frame_ms),
        )
        values.append(summary_pb2.Summary.Value(tag=f"{tag}/{i}", image=picture))
    summary = summary_pb2.Summary(value=values)
    tf.summary.experimental.write_raw_pb(summary.SerializeToString(), step=step)


class VideoSampleCallback(keras.callbacks.Callback):
    """Writes generated clips, and predictions of held-out clips, every `every` epochs.

    For a model with `generate(num_samples, num_frames=, seed=)` (such as
    `VideoTransformerXL`); with `context` it also calls
    `predict_frames(context, num_frames=)`. TensorBoard gets, in
    `log_dir/train` beside the training scalars of
    `keras.callbacks.TensorBoard(log_dir)`: `samples/gif/i` and
    `predictions/gif/i` (animated GIFs, one per clip; a prediction plays the
    observed frames, then the predicted ones) and `samples/frames`,
    `predictions/frames` (strips of frames, one clip per row: for viewers that
    show no GIF; predictions as observed, truth and predicted rows when the
    truth is given). The clips stay in `last_samples` and `last_predictions`.
    The same seed every time; the clips after the N-th epoch are step N.

    Args:
        log_dir: TensorBoard log directory, or None to keep the clips only.
        num_samples: generated clips per epoch (0: none).
        num_frames: frames per generated clip.
        context: None, or clips `(n, observed, ...)` whose continuation to predict.
        truth: None, or the true continuations `(n, predicted_frames, ...)`
            (shown in the strips; `num_predicted` defaults to their length).
        num_predicted: frames to predict after `context` (default: truth's or 10).
        every: write every this many epochs.
        seed: int sampling seed of the generated clips.
        frame_ms: milliseconds per GIF frame.

    Example:
    ```python
    test, _ = keras_gen.data.video.moving_mnist_arrays("test", num_sequences=4)
    clips = test[..., None] / 127.5 - 1
    model.fit(dataset, epochs=10, callbacks=[
        keras_gen.callbacks.TensorBoard("runs/video"),
        VideoSampleCallback("runs/video", context=clips[:, :10], truth=clips[:, 10:])])
    ```
    """

    def __init__(
        self,
        log_dir,
        num_samples=4,
        num_frames=20,
        context=None,
        truth=None,
        num_predicted=None,
        every=1,
        seed=0,
        frame_ms=100,
    ):
        super().__init__()
        for name, value, minimum in (
            ("num_samples", num_samples, 0),
            ("num_frames", num_frames, 1),
            ("every", every, 1),
            ("frame_ms", frame_ms, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(
                    f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}"
                )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"`seed` must be None or an int >= 0. Received: seed={seed!r}")
        if context is not None:
            context = np.asarray(context, "float32")
            if context.ndim != 5 or not len(context) or not context.shape[1]:
                raise ValueError(
                    "`context` must be clips (n, frames, height, width, channels). "
                    f"Received: context with shape {context.shape}"
                )
        if truth is not None:
            truth = np.asarray(truth, "float32")
            if (
                context is None
                or truth.ndim != 5
                or truth.shape[0] != context.shape[0]
                or truth.shape[2:] != context.shape[2:]
            ):
                raise ValueError(
                    "`truth` needs `context` and one continuation (n, frames, ...) of the "
                    f"context's frame shape per context clip. Received: truth with shape "
                    f"{truth.shape}"
                )
        if num_predicted is not None and (
            isinstance(num_predicted, bool)
            or not isinstance(num_predicted, int)
            or num_predicted < 1
        ):
            raise ValueError(
                f"`num_predicted` must be None or an int >= 1. Received: num_predicted={num_predicted!r}"
            )
        if num_samples == 0 and context is None:
            raise ValueError("Nothing to write: num_samples=0 and no context. Received: both")
        self.log_dir, self.num_samples, self.num_frames = log_dir, num_samples, num_frames
        self.context, self.truth, self.every, self.seed = context, truth, every, seed
        if num_predicted is None:
            num_predicted = truth.shape[1] if truth is not None else 10
        self.num_predicted = num_predicted
        self.frame_ms = frame_ms
        self.last_samples = self.last_predictions = None
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        if self.num_samples:
            self.last_samples = np.asarray(
                self.model.generate(self.num_samples, num_frames=self.num_frames, seed=self.seed)
            )
        if self.context is not None:
            self.last_predictions = np.asarray(
                self.model.predict_frames(
                    self.context, num_frames=self.num_predicted, seed=self.seed
                )
            )
        if self.log_dir is None:
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(train_run_dir(self.log_dir))
        step = epoch + 1
        with self._writer.as_default():
            if self.last_samples is not None:
                gif_summary("samples/gif", self.last_samples, step, self.frame_ms)
                strip = images.frame_strip(self.last_samples)
                tf.summary.image("samples/frames", strip[None], step=step)
            if self.last_predictions is not None:
                played = np.concatenate([self.context, self.last_predictions], axis=1)
                gif_summary("predictions/gif", played, step, self.frame_ms)
                tf.summary.image("predictions/frames", self._prediction_strip()[None], step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _prediction_strip(self):
        """Per context clip: the observed row, then the truth row (if given), then the predicted."""
        rows = []
        predicted = self.last_predictions
        width = max(self.context.shape[1], predicted.shape[1])

        def pad(clips):
            missing = width - clips.shape[1]
            return np.concatenate([clips, -np.ones((len(clips), missing, *clips.shape[2:]))], 1)

        for i in range(len(self.context)):
            rows.append(pad(self.context[i : i + 1]))
            if self.truth is not None:
                rows.append(pad(self.truth[i : i + 1, : predicted.shape[1]]))
            rows.append(pad(predicted[i : i + 1]))
        return images.frame_strip(np.concatenate(rows).astype("float32"))
