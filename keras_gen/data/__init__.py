"""Datasets as `tf.data` pipelines, and the mode-coverage metrics of the toy mixtures and stacked MNIST."""

from keras_gen.data.datasets import (
    BUILT_IN,
    DatasetInfo,
    captioned_mnist5k_arrays,
    from_numpy,
    load,
)
from keras_gen.data.downloads import DownloadUnavailableError
from keras_gen.data.music import MusicInfo, load_music
from keras_gen.data.stacked_mnist import stacked_mnist_metrics
from keras_gen.data.text import TextInfo, load_text, text_tokens
from keras_gen.data.toy import toy_metrics
from keras_gen.data.video import VideoInfo, load_video
