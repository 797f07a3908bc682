"""Adversarial losses as pairs of per-example functions.

Every function takes logits (the raw, pre-sigmoid discriminator outputs) and
returns one loss value per example, shape `(batch,)`, in float32. The models
sum them and divide by the global batch size, so that N replicas give the same
gradient as one device on the same global batch.
"""

import tensorflow as tf


def _per_example(x):
    """Averages every axis but the first, giving shape `(batch,)` in float32."""
    x = tf.cast(x, "float32")
    if x.shape.rank is not None and x.shape.rank > 1:
        x = tf.reduce_mean(x, axis=list(range(1, x.shape.rank)))
    return x


# Goodfellow et al. 2014, arXiv:1406.2661, section 3 (the generator's
# non-saturating alternative) and Algorithm 1 (the minimax objective).
def nonsaturating_discriminator(real_logits, fake_logits):
    """`-log D(x) - log(1 - D(G(z)))` per example."""
    return _per_example(tf.nn.softplus(-real_logits)) + _per_example(tf.nn.softplus(fake_logits))


def nonsaturating_generator(fake_logits):
    """`-log D(G(z))` per example."""
    return _per_example(tf.nn.softplus(-fake_logits))


minimax_discriminator = nonsaturating_discriminator


def minimax_generator(fake_logits):
    """`log(1 - D(G(z)))` per example, the original saturating objective."""
    return _per_example(-tf.nn.softplus(fake_logits))


# Arjovsky et al. 2017, arXiv:1701.07875; the critic maximises
# E[D(x)] - E[D(G(z))], so it minimises the negation.
def wasserstein_discriminator(real_logits, fake_logits):
    """`D(G(z)) - D(x)` per example."""
    return _per_example(fake_logits) - _per_example(real_logits)


def wasserstein_generator(fake_logits):
    """`-D(G(z))` per example."""
    return _per_example(-tf.cast(fake_logits, "float32"))


# Lim & Ye 2017, arXiv:1705.02894; Miyato et al. 2018, arXiv:1802.05957.
def hinge_discriminator(real_logits, fake_logits):
    """`max(0, 1 - D(x)) + max(0, 1 + D(G(z)))` per example."""
    return _per_example(tf.nn.relu(1.0 - tf.cast(real_logits, "float32"))) + (
        _per_example(tf.nn.relu(1.0 + tf.cast(fake_logits, "float32")))
    )


hinge_generator = wasserstein_generator


# Mao et al. 2017, arXiv:1611.04076, equation (9) with a=0, b=1, c=1.
def least_squares_discriminator(real_logits, fake_logits):
    """`0.5 (D(x) - 1)^2 + 0.5 D(G(z))^2` per example."""
    real = tf.cast(real_logits, "float32")
    fake = tf.cast(fake_logits, "float32")
    return 0.5 * _per_example(tf.square(real - 1.0)) + 0.5 * _per_example(tf.square(fake))


def least_squares_generator(fake_logits):
    """`0.5 (D(G(z)) - 1)^2` per example."""
    return 0.5 * _per_example(tf.square(tf.cast(fake_logits, "float32") - 1.0))


class AdversarialLoss:
    """A named pair of discriminator and generator losses.

    Args:
        name: the lower-case name that `keras_gen.losses.get` resolves.
        discriminator: `fn(real_logits, fake_logits) -> (batch,)`.
        generator: `fn(fake_logits) -> (batch,)`.
    """

    def __init__(self, name, discriminator, generator):
        self.name = name
        self.discriminator = discriminator
        self.generator = generator

    def __repr__(self):
        return f"AdversarialLoss({self.name!r})"


ADVERSARIAL_LOSSES = {
    loss.name: loss
    for loss in (
        AdversarialLoss("nonsaturating", nonsaturating_discriminator, nonsaturating_generator),
        AdversarialLoss("minimax", minimax_discriminator, minimax_generator),
        AdversarialLoss("wasserstein", wasserstein_discriminator, wasserstein_generator),
        AdversarialLoss("hinge", hinge_discriminator, hinge_generator),
        AdversarialLoss("least_squares", least_squares_discriminator, least_squares_generator),
    )
}


def get(identifier):
    """Resolves an adversarial loss by name.

    Args:
        identifier: one of `"nonsaturating"`, `"minimax"`, `"wasserstein"`,
            `"hinge"`, `"least_squares"`, or an `AdversarialLoss`.

    Returns:
        The `AdversarialLoss`.

    Raises:
        ValueError: for an unknown name or an object of another kind.
    """
    if isinstance(identifier, AdversarialLoss):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ADVERSARIAL_LOSSES:
        return ADVERSARIAL_LOSSES[identifier.lower()]
    raise ValueError(
        f"Unknown adversarial loss. Expected one of "
        f"{sorted(ADVERSARIAL_LOSSES)} or an AdversarialLoss. "
        f"Received: loss={identifier!r}"
    )
