"""Video generation and future-frame prediction over the codes of a frame tokenizer."""

from keras_gen.models.video.video_transformer_xl import VideoTransformerXL, frame_tokenizer

__all__ = ["VideoTransformerXL", "frame_tokenizer"]
