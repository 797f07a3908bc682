"""WGAN-GP: Gulrajani et al. 2017, arXiv:1704.00028."""

import keras
import tensorflow as tf

from keras_gen import losses
from keras_gen.models.gan import gan


@keras.saving.register_keras_serializable(package="keras_gen")
class WGANGP(gan.GAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, arXiv:1704.00028).

    The critic minimises `D(G(z)) - D(x) + lambda (||grad D(x_hat)||_2 - 1)^2`
    with `x_hat` a uniform interpolation between real and generated samples,
    and is updated `discriminator_steps` (5) times per generator update. The
    default critic uses layer norm instead of batch norm, as the paper advises.
    The paper trains with Adam(1e-4, beta_1=0.0, beta_2=0.9). With `pack > 1`
    the penalty interpolates packs: one weight per pack, shared by its
    members, and the gradient norm taken over the whole pack, the critic's
    input (PacGAN's packed critic regularised as WGAN-GP regularises one).

    Args:
        gradient_penalty_weight: lambda (10 in the paper).
        discriminator_steps: critic updates per generator update (5).
        Others as for `GAN`.
    """

    penalty_name = "gradient_penalty"
    default_loss = "wasserstein"

    def __init__(self, *args, gradient_penalty_weight=10.0, discriminator_steps=5, **kwargs):
        super().__init__(*args, discriminator_steps=discriminator_steps, **kwargs)
        if float(gradient_penalty_weight) < 0:
            raise ValueError(
                "`gradient_penalty_weight` must be >= 0. "
                f"Received: gradient_penalty_weight={gradient_penalty_weight!r}"
            )
        self.gradient_penalty_weight = float(gradient_penalty_weight)

    def discriminator_kwargs(self):
        return {"normalization": "layer"}

    def discriminator_penalty(self, real_data, fake_data, labels):
        weights = self.draw_per_pack(
            gan.PENALTY_DRAWS, lambda n, seed: tf.random.stateless_uniform([n], seed=seed)
        )

        def critic(data):
            return self.run_discriminator(data, labels, training=True)[0]

        return self.gradient_penalty_weight * losses.gradient_penalty(
            critic, real_data, fake_data, interpolation_weights=weights, loss_scale=self.loss_scale
        )

    def get_config(self):
        config = super().get_config()
        config["gradient_penalty_weight"] = self.gradient_penalty_weight
        return config
