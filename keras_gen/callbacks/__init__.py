"""Keras callbacks: pictures of samples, backups that resume."""

from keras_gen.callbacks.backup import Backup
from keras_gen.callbacks.image_grid import ImageGridCallback
