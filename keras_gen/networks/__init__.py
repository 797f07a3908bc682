"""Architectures only: functions that build `keras.Model`s sized by argument."""

from keras_gen.networks.dcgan import dcgan_discriminator, dcgan_generator
from keras_gen.networks.encoders import TokenPositionEmbedding, image_encoder, text_encoder
from keras_gen.networks.maxout import Maxout, maxout_discriminator, pacgan_toy_networks
from keras_gen.networks.mlp import mlp_discriminator, mlp_generator
from keras_gen.networks.recurrent import hierarchical_decoder, recurrent_encoder
from keras_gen.networks.unet import unet
from keras_gen.networks.vae import (
    code_transformer,
    conv_decoder,
    conv_encoder,
    mlp_decoder,
    mlp_encoder,
    vq_decoder,
    vq_encoder,
)
