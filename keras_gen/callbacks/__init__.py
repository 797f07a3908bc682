"""Keras callbacks: sample-quality metrics, pictures of samples and reconstructions, music to
listen to, clips to watch, backups that resume."""

from keras_gen.callbacks.audio_sample import AudioSampleCallback
from keras_gen.callbacks.backup import Backup
from keras_gen.callbacks.bits_per_dim import BitsPerDim
from keras_gen.callbacks.image_grid import ImageGridCallback, ReconstructionGridCallback
from keras_gen.callbacks.metrics import (
    FIDCallback,
    InceptionScoreCallback,
    KIDCallback,
    PrecisionRecallCallback,
    SampleMetricCallback,
)
from keras_gen.callbacks.prompt_grid import PromptGridCallback
from keras_gen.callbacks.run_record import RunRecord
from keras_gen.callbacks.tensorboard import TensorBoard
from keras_gen.callbacks.text_sample import TextSampleCallback
from keras_gen.callbacks.video_sample import VideoSampleCallback
