"""Prompts and the images a text-to-image model makes of them, with their fidelity, to TensorBoard."""

import math

import numpy as np
import tensorflow as tf

from keras_gen.callbacks.image_grid import ImageGridCallback, train_run_dir
from keras_gen.utils import images

#: The scalars of `keras_gen.metrics.image_prompt_agreement` written each time.
FIDELITY_KEYS = ("digit_accuracy", "thickness_agreement", "slant_agreement", "all_agreement")


class PromptGridCallback(ImageGridCallback):
    """Every `every` epochs: a grid of `model.generate(prompts)`, the prompts, and how well they agree.

    Writes, to TensorBoard in `log_dir/train` (beside Keras' training scalars):
    the image `prompt_samples` (one image per prompt, row by row, `columns`
    a row), the text `prompts` (a table of the prompts in the grid's places, in
    the Text tab), and, with `fidelity`, the scalars `prompt_fidelity/<key>` of
    `keras_gen.metrics.image_prompt_agreement` on those images (digit by the
    shipped MNIST classifier, thickness and slant measured) and
    `prompt_fidelity/clip_score` when a `contrastive` model is given. With
    `png_dir`, also `png_dir/prompt_samples_epoch_NNNN.png`. Numbered as
    `ImageGridCallback` (epochs from 1).

    Args:
        prompts: the prompt strings (the same every time, with the same seed).
        log_dir: TensorBoard log directory, or None for PNGs only.
        png_dir: directory for PNG files, or None.
        seed: sampling seed.
        every: write every this many epochs, and after the last.
        steps: sampling steps (`generate(..., steps=)`; None: the model's default).
        guidance_scale: classifier-free guidance scale (None: none).
        columns: images per grid row (default: about the square root).
        fidelity: also score the images against their prompts.
        contrastive: a `ContrastiveImageText` for the CLIPScore, or None.

    Example:
    ```python
    prompts = [f"a bold {d} upright" for d in range(10)]
    model.fit(dataset, epochs=10, callbacks=[
        keras_gen.callbacks.TensorBoard("runs/t2i"),
        PromptGridCallback(prompts, log_dir="runs/t2i", steps=25, guidance_scale=3.0)])
    ```
    """

    def __init__(
        self,
        prompts,
        log_dir=None,
        png_dir=None,
        seed=0,
        every=1,
        steps=None,
        guidance_scale=None,
        columns=None,
        fidelity=True,
        contrastive=None,
    ):
        if isinstance(prompts, str) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise ValueError(
                f"`prompts` must be a non-empty list of strings. Received: prompts={prompts!r:.80}"
            )
        super().__init__(log_dir, png_dir, num_samples=len(prompts), seed=seed, every=every)
        self.prompts = list(prompts)
        self.options = {"steps": steps, "guidance_scale": guidance_scale}
        self.columns = columns or int(math.ceil(math.sqrt(len(self.prompts))))
        self.fidelity = fidelity
        self.contrastive = contrastive
        self.last_fidelity = None
        self._classifier = None

    def on_epoch_end(self, epoch, logs=None):
        if not self.due(epoch):
            return
        samples = np.asarray(self.model.generate(self.prompts, seed=self.seed, **self.options))
        self.write("prompt_samples", images.image_grid(samples, columns=self.columns), epoch)
        scalars = {}
        if self.fidelity:
            from keras_gen.metrics import multimodal

            if self._classifier is None:  # built once: its weights are read from a file
                from keras_gen.metrics import mnist_classifier

                self._classifier = mnist_classifier.MNISTClassifier()
            found = multimodal.image_prompt_agreement(
                samples, self.prompts, self._classifier, self.contrastive
            )
            scalars = {k: found[k] for k in (*FIDELITY_KEYS, "clip_score") if k in found}
            self.last_fidelity = found
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(train_run_dir(self.log_dir))
            with self._writer.as_default():
                tf.summary.text("prompts", self.prompt_table(), step=epoch + 1)
                for key, value in scalars.items():
                    if not np.isnan(value):
                        tf.summary.scalar(f"prompt_fidelity/{key}", value, step=epoch + 1)
            self._writer.flush()

    def prompt_table(self):
        """The prompts as a Markdown table in the grid's layout (TensorBoard's Text tab renders it)."""
        cells = [p.replace("|", "\\|") for p in self.prompts]
        rows = [cells[i : i + self.columns] for i in range(0, len(self.prompts), self.columns)]
        header = "| " + " | ".join(f"column {c + 1}" for c in range(self.columns)) + " |"
        lines = [header, "|" + "---|" * self.columns]
        lines += ["| " + " | ".join(row + [""] * (self.columns - len(row))) + " |" for row in rows]
        return "\n".join(lines)
