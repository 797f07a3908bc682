"""Keras callbacks: sample-quality metrics, pictures of samples and reconstructions, backups
that resume."""

from keras_gen.callbacks.backup import Backup
from keras_gen.callbacks.image_grid import ImageGridCallback
from keras_gen.callbacks.image_grid import ReconstructionGridCallback
from keras_gen.callbacks.metrics import FIDCallback
from keras_gen.callbacks.metrics import InceptionScoreCallback
from keras_gen.callbacks.metrics import KIDCallback
from keras_gen.callbacks.metrics import PrecisionRecallCallback
from keras_gen.callbacks.metrics import SampleMetricCallback
from keras_gen.callbacks.text_sample import TextSampleCallback
