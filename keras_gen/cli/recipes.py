"""Per-model training recipes of the command line: the papers' optimizers and budgets."""

import keras

# name: (optimizer arguments (Adam), default epochs on mnist5k).
RECIPES = {
    "gan": (dict(learning_rate=2e-4, beta_1=0.5), 30),
    "dcgan": (dict(learning_rate=2e-4, beta_1=0.5), 30),
    "wgan_gp": (dict(learning_rate=1e-4, beta_1=0.0, beta_2=0.9), 30),
    "sngan": (dict(learning_rate=2e-4, beta_1=0.0, beta_2=0.9), 30),
    "lsgan": (dict(learning_rate=2e-4, beta_1=0.5), 30),
    "conditional_gan": (dict(learning_rate=2e-4, beta_1=0.5), 30),
    "acgan": (dict(learning_rate=2e-4, beta_1=0.5), 30),
}


def optimizers(name):
    """Fresh `(generator_optimizer, discriminator_optimizer)` for a model name."""
    arguments, _ = RECIPES[name]
    return keras.optimizers.Adam(**arguments), keras.optimizers.Adam(**arguments)


def default_epochs(name):
    return RECIPES[name][1]
