"""Training processes: each a `keras.Model` trained with `fit()`."""

from keras_gen.models.diffusion import DiffusionModel
from keras_gen.models.flow import FlowModel, Glow, RealNVP
from keras_gen.models.gan import ACGAN, DCGAN, GAN, LSGAN, SNGAN, WGANGP, ConditionalGAN
from keras_gen.models.multimodal import (
    ContrastiveImageText,
    ImageCaptioner,
    TextToImageDiffusion,
)
from keras_gen.models.music import MusicTransformerXL, MusicVAE
from keras_gen.models.text import GPT, TransformerXL
from keras_gen.models.vae import VAE, VQVAE, BetaVAE, ConditionalVAE
from keras_gen.models.video import VideoTransformerXL, frame_tokenizer

MODELS = {
    "gan": GAN,
    "dcgan": DCGAN,
    "wgan_gp": WGANGP,
    "sngan": SNGAN,
    "lsgan": LSGAN,
    "conditional_gan": ConditionalGAN,
    "acgan": ACGAN,
    "vae": VAE,
    "beta_vae": BetaVAE,
    "conditional_vae": ConditionalVAE,
    "vq_vae": VQVAE,
    "diffusion": DiffusionModel,
    "realnvp": RealNVP,
    "glow": Glow,
    "gpt": GPT,
    "transformer_xl": TransformerXL,
    "text_to_image": TextToImageDiffusion,
    "contrastive": ContrastiveImageText,
    "captioner": ImageCaptioner,
    "music_vae": MusicVAE,
    "music_transformer_xl": MusicTransformerXL,
    "video_transformer_xl": VideoTransformerXL,
}


def get(identifier):
    """Resolves a model class by its lower-case name, e.g. `get("wgan_gp")`.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(identifier, type) and identifier in MODELS.values():
        return identifier
    if isinstance(identifier, str) and identifier.lower() in MODELS:
        return MODELS[identifier.lower()]
    raise ValueError(
        f"Unknown model. Expected one of {sorted(MODELS)}. Received: model={identifier!r}"
    )
