"""Adversarial models: `GAN` and the subclasses that change its objective."""

from keras_gen.models.gan.acgan import ACGAN
from keras_gen.models.gan.conditional_gan import ConditionalGAN
from keras_gen.models.gan.dcgan import DCGAN
from keras_gen.models.gan.gan import GAN
from keras_gen.models.gan.lsgan import LSGAN
from keras_gen.models.gan.sngan import SNGAN
from keras_gen.models.gan.wgan_gp import WGANGP
