"""Architectures only: functions that build `keras.Model`s sized by argument."""

from keras_gen.networks.dcgan import dcgan_discriminator
from keras_gen.networks.dcgan import dcgan_generator
from keras_gen.networks.mlp import mlp_discriminator
from keras_gen.networks.mlp import mlp_generator
