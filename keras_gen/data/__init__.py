"""Datasets as `tf.data` pipelines, and the toy mixtures' metrics."""

from keras_gen.data.datasets import BUILT_IN
from keras_gen.data.datasets import DatasetInfo
from keras_gen.data.datasets import from_numpy
from keras_gen.data.datasets import load
from keras_gen.data.toy import toy_metrics
from keras_gen.data.text import TextInfo
from keras_gen.data.text import load_text
from keras_gen.data.text import text_tokens
