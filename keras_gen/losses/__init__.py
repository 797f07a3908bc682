"""Adversarial losses and discriminator penalties.

`keras_gen.losses.get("hinge")` resolves a loss by name.
"""

from keras_gen.losses.adversarial import (
    ADVERSARIAL_LOSSES,
    AdversarialLoss,
    get,
    hinge_discriminator,
    hinge_generator,
    least_squares_discriminator,
    least_squares_generator,
    minimax_discriminator,
    minimax_generator,
    nonsaturating_discriminator,
    nonsaturating_generator,
    wasserstein_discriminator,
    wasserstein_generator,
)
from keras_gen.losses.likelihoods import (
    LIKELIHOODS,
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_log_likelihood,
)
from keras_gen.losses.penalties import gradient_penalty, r1_penalty
