"""Models of images with text: contrastive image-text embeddings and text-to-image diffusion."""

from keras_gen.models.multimodal.contrastive import ContrastiveImageText
from keras_gen.models.multimodal.text_to_image import TextToImageDiffusion
