"""Text-to-image diffusion: a U-Net that cross-attends to a caption, with classifier-free guidance."""

import keras
import tensorflow as tf

from keras_gen import networks
from keras_gen.data import captions as caption_data
from keras_gen.models import base
from keras_gen.models.diffusion import DiffusionModel
from keras_gen.models.multimodal import pairs
from keras_gen.networks import common, encoders


@keras.saving.register_keras_serializable(package="keras_gen")
class TextToImageDiffusion(pairs.TrainsOnPairs, DiffusionModel):
    """A `DiffusionModel` conditioned on captions (Imagen / Stable Diffusion, small and from scratch).

    The network is a U-Net whose third input is caption tokens: a text encoder
    (`networks.text_encoder`, trained with the U-Net) turns them into per-token
    features, their average over the non-padding tokens joins the timestep
    embedding and every attention resolution cross-attends to them
    (`networks.unet(..., text_encoder=...)`). Training is the DDPM objective of
    `DiffusionModel`; with probability `caption_dropout` a caption is replaced
    by the null caption (all padding), so one network learns the conditional
    and the unconditional model, and `generate(prompts, guidance_scale=s)`
    samples with classifier-free guidance (Ho & Salimans 2022,
    arXiv:2207.12598): `eps = eps(null) + s * (eps(prompt) - eps(null))`;
    `s = 1` is plain conditional sampling.

    Trains on `(images, caption_tokens)` batches such as
    `data.load("captioned_mnist5k")`: images in [-1, 1], captions int32 byte
    tokens padded with 0 (`keras_gen.data.captions`).

    Args:
        network: a U-Net `[x_t, t, captions] -> prediction`; built from
            `data_shape` and `caption_length` if None.
        timesteps, schedule, prediction, ema_decay: as in `DiffusionModel`.
        caption_dropout: probability of training on the null caption.
        seed: int seed of every random draw.
        data_shape: image shape, for the default network.
        caption_length: tokens per caption, for the default network.
        base_channels: the default U-Net's first-level channels.
        **kwargs: passed to `keras.Model`.

    Example:
    ```python
    dataset, _ = keras_gen.data.load("captioned_mnist5k", batch_size=64)
    model = keras_gen.models.TextToImageDiffusion(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(dataset, epochs=1)
    images = model.generate(["a bold 7 leaning right"], guidance_scale=3.0, seed=0)
    ```
    """

    def __init__(
        self,
        network=None,
        timesteps=1000,
        schedule="cosine",
        prediction="epsilon",
        ema_decay=0.999,
        caption_dropout=0.1,
        seed=None,
        data_shape=(28, 28, 1),
        caption_length=caption_data.CAPTION_LENGTH,
        base_channels=32,
        **kwargs,
    ):
        if not isinstance(caption_dropout, (int, float)) or not 0.0 <= caption_dropout < 1.0:
            raise ValueError(
                f"`caption_dropout` must be in [0, 1). Received: caption_dropout={caption_dropout!r}"
            )
        if network is None:
            network = networks.unet(
                common.check_data_shape(data_shape, ranks=(3,)),
                base_channels=base_channels,
                text_encoder=encoders.text_encoder(caption_length),
            )
        if len(getattr(network, "inputs", None) or []) != 3 or len(network.inputs[2].shape) != 2:
            raise ValueError(
                "`network` must take [x_t, t, captions] with captions of shape (batch, "
                f"length) (networks.unet(..., text_encoder=...)). Received: network="
                f"{base.describe(network)}"
            )
        super().__init__(
            network=network,
            timesteps=timesteps,
            schedule=schedule,
            prediction=prediction,
            ema_decay=ema_decay,
            label_dropout=caption_dropout,
            seed=seed,
            **kwargs,
        )
        self.caption_dropout = self.label_dropout
        self.caption_length = int(network.inputs[2].shape[1])

    @property
    def conditional(self):
        """Always: the condition is the caption."""
        return True

    # ------------------------------------------------------------------ conditions

    def dropped_condition(self, labels, drop):
        return tf.where(drop[:, None], tf.zeros_like(labels), labels)

    def null_condition(self, size):
        return tf.fill([size, self.caption_length], caption_data.PAD)

    def condition_spec(self):
        return tf.TensorSpec([None, self.caption_length], tf.int32)

    def guard_inputs(self, x, labels):
        """The data checks of the base class, and caption tokens within the byte vocabulary."""
        step_guard, _ = super().guard_inputs(x, None)
        return step_guard, pairs.guard_tokens(step_guard, labels)

    # ------------------------------------------------------------------ sampling

    def generation_labels(self, labels, num_samples):
        """The prompts' tokens, `(num_samples, caption_length)` (checked by `generate`)."""
        return labels

    def generate(
        self,
        prompts,
        seed=None,
        batch_size=None,
        *,
        steps=None,
        sampler="ddim",
        guidance_scale=None,
        eta=0.0,
    ):
        """One image per prompt.

        Args:
            prompts: a list of non-empty strings of at most `caption_length`
                UTF-8 bytes (or a `(n, caption_length)` int array of tokens).
            seed: int for reproducible samples; None uses the saved seed generator.
            batch_size: images per sampling loop (default: all, at most 256).
            steps, sampler, eta: as in `DiffusionModel.generate`.
            guidance_scale: classifier-free guidance scale (None or 1: none).

        Returns:
            Float32 numpy array `(len(prompts), *data_shape)` in [-1, 1].

        Raises:
            ValueError: for an empty, too long or non-text prompt, naming `prompts`.
        """
        tokens = self.prompt_tokens(prompts)
        return super().generate(
            len(tokens),
            seed,
            tokens,
            batch_size,
            steps=steps,
            sampler=sampler,
            guidance_scale=guidance_scale,
            eta=eta,
        )

    def prompt_tokens(self, prompts):
        """`(n, caption_length)` int32 tokens of prompt strings, or of token arrays (checked)."""
        return pairs.caption_tokens(prompts, self.caption_length, "prompts")

    def get_config(self):
        config = super().get_config()
        config.pop("num_classes", None)
        config["caption_dropout"] = config.pop("label_dropout")
        return config
