"""Architectures only: functions that build `keras.Model`s sized by argument."""

from keras_gen.networks.dcgan import dcgan_discriminator
from keras_gen.networks.dcgan import dcgan_generator
from keras_gen.networks.mlp import mlp_discriminator
from keras_gen.networks.mlp import mlp_generator
from keras_gen.networks.vae import code_transformer
from keras_gen.networks.vae import conv_decoder
from keras_gen.networks.vae import conv_encoder
from keras_gen.networks.vae import mlp_decoder
from keras_gen.networks.vae import mlp_encoder
from keras_gen.networks.vae import vq_decoder
from keras_gen.networks.vae import vq_encoder
from keras_gen.networks.unet import unet
