"""Autoregressive language models over byte tokens."""

from keras_gen.models.text.gpt import GPT
