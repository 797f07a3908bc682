"""Models of images with text: contrastive image-text embeddings, text-to-image diffusion and captioning."""

from keras_gen.models.multimodal.captioner import ImageCaptioner
from keras_gen.models.multimodal.contrastive import ContrastiveImageText
from keras_gen.models.multimodal.text_to_image import TextToImageDiffusion
