"""Models of images with text: contrastive image-text embeddings."""

from keras_gen.models.multimodal.contrastive import ContrastiveImageText
