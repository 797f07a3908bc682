"""Datasets as `tf.data` pipelines, and the toy mixtures' metrics."""

from keras_gen.data.datasets import BUILT_IN, DatasetInfo, from_numpy, load
from keras_gen.data.downloads import DownloadUnavailableError
from keras_gen.data.text import TextInfo, load_text, text_tokens
from keras_gen.data.toy import toy_metrics
