"""Adversarial losses and discriminator penalties.

`keras_gen.losses.get("hinge")` resolves a loss by name.
"""

from keras_gen.losses.adversarial import ADVERSARIAL_LOSSES
from keras_gen.losses.adversarial import AdversarialLoss
from keras_gen.losses.adversarial import get
from keras_gen.losses.adversarial import hinge_discriminator
from keras_gen.losses.adversarial import hinge_generator
from keras_gen.losses.adversarial import least_squares_discriminator
from keras_gen.losses.adversarial import least_squares_generator
from keras_gen.losses.adversarial import minimax_discriminator
from keras_gen.losses.adversarial import minimax_generator
from keras_gen.losses.adversarial import nonsaturating_discriminator
from keras_gen.losses.adversarial import nonsaturating_generator
from keras_gen.losses.adversarial import wasserstein_discriminator
from keras_gen.losses.adversarial import wasserstein_generator
from keras_gen.losses.likelihoods import LIKELIHOODS
from keras_gen.losses.likelihoods import bernoulli_log_likelihood
from keras_gen.losses.likelihoods import gaussian_kl
from keras_gen.losses.likelihoods import gaussian_log_likelihood
from keras_gen.losses.penalties import gradient_penalty
from keras_gen.losses.penalties import r1_penalty
