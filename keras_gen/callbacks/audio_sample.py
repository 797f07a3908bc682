"""Pieces of music each epoch, to TensorBoard as audio and as piano-roll pictures."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.callbacks.image_grid import train_run_dir
from keras_gen.data import music
from keras_gen.utils import audio

#: Keys shown above the highest and below the lowest key played.
KEY_MARGIN = 3
#: Pixels per frame (across) and per key (down) in the piano-roll pictures.
CELL = 4


class AudioSampleCallback(keras.callbacks.Callback):
    """Writes `num_samples` generated pieces, rendered as audio, every `every` epochs.

    The pieces go to `self.last_pianorolls` (float32 `(num_steps, 88)` in
    {0, 1}) and `self.last_audio` (`audio.render` of each), and to
    TensorBoard in `log_dir/train`, beside the training scalars of
    `keras.callbacks.TensorBoard(log_dir)` (one run in TensorBoard): the
    audio series `samples` and the image series `pianorolls` (time left to
    right, high keys on top, the keys played plus `KEY_MARGIN` either side;
    the rows of the Cs a dark grey). The same seed every time, so that the
    pieces show how the model changes. The sample after the N-th epoch
    (counted from 1) is step N; Keras logs that epoch's scalars at step N - 1.

    How pieces are made, the first that applies:

    - `generate(model, num_samples, seed)`, when given: a list of piano-rolls
      `(frames, 88)`, event-token arrays, or notes `(n, 4)`.
    - An event language model (`model.vocabulary_size ==
      music.EVENT_VOCABULARY_SIZE`, e.g. a `TransformerXL`): piece `i` is
      `model.generate([music.END], max_length=max_tokens, temperature=...,
      seed=seed + i)`, the tokens after the prompt read up to their first `END`.
    - Otherwise `model.generate(num_samples, seed=seed)`: key probabilities
      `(num_samples, frames, 88)`, a key on where above 0.5.

    Every piece is padded with silence or cut to `num_steps` frames.

    Args:
        log_dir: TensorBoard log directory (the one given to
            `keras.callbacks.TensorBoard`), or None to keep the pieces only.
        num_samples: int. Pieces per epoch.
        num_steps: int. Frames per piece (`music.STEPS_PER_QUARTER` a quarter note).
        every: int. Write every this many epochs.
        sample_rate: int. Audio samples per second.
        tempo: float. Quarter notes per minute.
        seed: int sampling seed, the same every epoch (None: the model's own
            seed generator, new pieces every time).
        temperature: float. Sampling temperature of an event language model.
        generate: `fn(model, num_samples, seed) -> list of pieces`, or None.
        max_tokens: int. Tokens an event language model draws per piece
            (default `4 * num_steps`, about what four voices take).

    Example:
    ```python
    dataset, info = keras_gen.data.load_music(
        representation="events", sequence_length=64, batch_size=16, consecutive=True)
    model = keras_gen.models.TransformerXL(vocabulary_size=info.vocabulary_size)
    model.compile(optimizer="adam")
    model.fit(dataset, epochs=20, callbacks=[
        keras_gen.callbacks.TensorBoard("runs/chorales"),
        AudioSampleCallback("runs/chorales", num_samples=4, num_steps=128, every=5)])
    ```
    """

    def __init__(
        self,
        log_dir,
        num_samples=2,
        num_steps=64,
        every=1,
        sample_rate=16000,
        tempo=100,
        seed=0,
        temperature=1.0,
        generate=None,
        max_tokens=None,
    ):
        super().__init__()
        for name, value in (
            ("num_samples", num_samples),
            ("num_steps", num_steps),
            ("every", every),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an int >= 1. Received: {name}={value!r}")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            raise ValueError(
                f"`max_tokens` must be None or an int >= 1. Received: max_tokens={max_tokens!r}"
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"`seed` must be None or an int >= 0. Received: seed={seed!r}")
        if not float(temperature) >= 0:  # NaN too
            raise ValueError(f"`temperature` must be >= 0. Received: temperature={temperature!r}")
        if generate is not None and not callable(generate):
            raise ValueError(
                "`generate` must be None or a function (model, num_samples, seed) -> pieces. "
                f"Received: generate={generate!r}"
            )
        audio.check_sample_rate(sample_rate)
        audio.check_tempo(tempo)
        self.log_dir, self.num_samples, self.num_steps = log_dir, num_samples, num_steps
        self.every, self.sample_rate, self.tempo = every, sample_rate, tempo
        self.seed, self.temperature, self.generate = seed, float(temperature), generate
        self.max_tokens = max_tokens or 4 * num_steps
        self.last_pianorolls = None
        self.last_audio = None
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        self.last_pianorolls = self.pianorolls()
        self.last_audio = [
            audio.render(roll, sample_rate=self.sample_rate, tempo=self.tempo)
            for roll in self.last_pianorolls
        ]
        if self.log_dir is None:
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(train_run_dir(self.log_dir))
        with self._writer.as_default():
            # All pieces have num_steps frames, so their audio has one length.
            tf.summary.audio(
                "samples",
                np.stack(self.last_audio)[..., None],  # (n, samples, 1)
                self.sample_rate,
                step=epoch + 1,
                max_outputs=self.num_samples,
            )
            tf.summary.image(
                "pianorolls",
                pianoroll_pictures(self.last_pianorolls),
                step=epoch + 1,
                max_outputs=self.num_samples,
            )
        self._writer.flush()

    def pianorolls(self):
        """`num_samples` new pieces as float32 piano-rolls `(num_steps, 88)` in {0, 1}.

        Raises:
            ValueError: if `generate` or the model gives the wrong number of
                pieces, or something that is not music.
        """
        if self.generate is not None:
            pieces = list(self.generate(self.model, self.num_samples, self.seed))
        elif getattr(self.model, "vocabulary_size", None) == music.EVENT_VOCABULARY_SIZE:
            pieces = [
                np.asarray(
                    self.model.generate(
                        [music.END],
                        max_length=self.max_tokens,
                        temperature=self.temperature,
                        seed=None if self.seed is None else self.seed + i,
                    )[1:],
                    "int32",
                )
                for i in range(self.num_samples)
            ]
        else:
            probabilities = np.asarray(self.model.generate(self.num_samples, seed=self.seed))
            if probabilities.ndim == 4 and probabilities.shape[-1] == 1:
                probabilities = probabilities[..., 0]
            if probabilities.ndim != 3 or probabilities.shape[-1] != music.NUM_KEYS:
                raise ValueError(
                    f"{type(self.model).__name__}.generate must give key probabilities of "
                    f"shape (num_samples, frames, {music.NUM_KEYS}). Received: shape "
                    f"{probabilities.shape}"
                )
            pieces = list(probabilities)
        if len(pieces) != self.num_samples:
            raise ValueError(
                f"Expected {self.num_samples} pieces (num_samples). Received: {len(pieces)} "
                "pieces from `generate`"
            )
        return [fit_pianoroll(piece, self.num_steps) for piece in pieces]

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def fit_pianoroll(piece, num_steps):
    """Float32 piano-roll `(num_steps, 88)` in {0, 1} of a piece, padded with silence or cut.

    Args:
        piece: a piano-roll `(frames, 88)` (a key on where above 0.5), event
            tokens, or notes `(n, 4)`.
        num_steps: frames to keep.
    """
    if audio.music_kind(piece) == "pianoroll":
        on = (np.asarray(piece)[:num_steps] > 0.5).astype("float32")
        return np.pad(on, ((0, num_steps - len(on)), (0, 0)))
    notes, _ = audio.notes_and_length(piece)
    notes = notes[notes[:, 2] < num_steps]
    notes[:, 3] = np.minimum(notes[:, 3], num_steps - notes[:, 2])
    return music.pianoroll_from_notes(notes, num_steps)


def pianoroll_pictures(rolls):
    """uint8 pictures `(n, keys * CELL, frames * CELL, 1)` of piano-rolls of one length.

    Time runs left to right and pitch upwards; every picture shows the same
    keys: those any roll plays, plus `KEY_MARGIN` either side (all 88 when
    none plays). Notes are white on black, the rows of the Cs a dark grey.
    """
    rolls = np.stack([np.asarray(roll) > 0.5 for roll in rolls])  # (n, frames, 88)
    played = np.flatnonzero(rolls.any(axis=(0, 1)))
    low, high = (
        (max(played[0] - KEY_MARGIN, 0), min(played[-1] + KEY_MARGIN, music.NUM_KEYS - 1))
        if len(played)
        else (0, music.NUM_KEYS - 1)
    )
    keys = np.arange(low, high + 1)
    background = np.where((keys + music.LOWEST_PITCH) % 12 == 0, 48, 0).astype("uint8")
    pictures = np.where(rolls[:, :, low : high + 1], np.uint8(255), background)  # (n, frames, keys)
    pictures = pictures.transpose(0, 2, 1)[:, ::-1]  # (n, keys, frames), high keys on top
    pictures = pictures.repeat(CELL, axis=1).repeat(CELL, axis=2)
    return np.ascontiguousarray(pictures[..., None])
