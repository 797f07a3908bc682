"""Training processes: each a `keras.Model` trained with `fit()`."""

from keras_gen.models.gan import ACGAN
from keras_gen.models.gan import DCGAN
from keras_gen.models.gan import GAN
from keras_gen.models.gan import LSGAN
from keras_gen.models.gan import SNGAN
from keras_gen.models.gan import WGANGP
from keras_gen.models.gan import ConditionalGAN
