"""Autoregressive language models over byte tokens."""

from keras_gen.models.text.gpt import GPT
from keras_gen.models.text.language_model import LanguageModel
from keras_gen.models.text.transformer_xl import TransformerXL
