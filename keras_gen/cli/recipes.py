"""Per-model training recipes of the command line: the papers' optimizers and budgets."""

import dataclasses

import keras


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How `keras-gen train NAME` builds and compiles a model.

    Attributes:
        optimizer: Adam arguments (of both optimizers, for a GAN).
        epochs: default epochs on mnist5k.
        latent_dim: default latent size, or None for a model without one.
        family: `"adversarial"` (compiled with `generator_optimizer` and
            `discriminator_optimizer`), `"variational"` (one optimizer; images
            binarized for the Bernoulli likelihood), `"diffusion"` or `"text"`.
        model_kwargs: further constructor arguments.
    """

    optimizer: dict
    epochs: int = 30
    latent_dim: object = 100
    family: str = "adversarial"
    model_kwargs: dict = dataclasses.field(default_factory=dict)

    @property
    def adversarial(self):
        return self.family == "adversarial"


_VAE = dict(optimizer=dict(learning_rate=1e-3), epochs=30, latent_dim=16, family="variational")

RECIPES = {
    "gan": Recipe(dict(learning_rate=2e-4, beta_1=0.5)),
    "dcgan": Recipe(dict(learning_rate=2e-4, beta_1=0.5)),
    "wgan_gp": Recipe(dict(learning_rate=1e-4, beta_1=0.0, beta_2=0.9)),
    "sngan": Recipe(dict(learning_rate=2e-4, beta_1=0.0, beta_2=0.9)),
    "lsgan": Recipe(dict(learning_rate=2e-4, beta_1=0.5)),
    "conditional_gan": Recipe(dict(learning_rate=2e-4, beta_1=0.5)),
    "acgan": Recipe(dict(learning_rate=2e-4, beta_1=0.5)),
    "vae": Recipe(**_VAE),
    # Higgins et al. 2017 warm the KL weight up; 1,000 steps is about 14 mnist5k epochs at 64.
    "beta_vae": Recipe(**dict(_VAE, model_kwargs=dict(beta=4.0, beta_warmup_steps=1000))),
    "conditional_vae": Recipe(**_VAE),
    # The paper's EMA codebook (decay 0.99) with 64 codes of 32 numbers.
    "vq_vae": Recipe(
        optimizer=dict(learning_rate=1e-3),
        epochs=30,
        latent_dim=None,
        family="variational",
        model_kwargs=dict(num_embeddings=64, ema_decay=0.99),
    ),
    # Unconditional from the command line; class conditioning from Python (num_classes=).
    # A 16-channel U-Net with v prediction and 86 epochs (about 6,000 steps): the CPU
    # budget measured in docs/models/diffusion.md.
    "diffusion": Recipe(
        optimizer=dict(learning_rate=1e-3),
        epochs=86,
        latent_dim=None,
        family="diffusion",
        model_kwargs=dict(prediction="v"),
    ),
    # Byte-level language models on pydoc (about 51 steps per epoch at batch 64).
    "gpt": Recipe(
        optimizer=dict(learning_rate=1e-3),
        epochs=20,
        latent_dim=None,
        family="text",
        model_kwargs=dict(sequence_length=128, num_layers=4, hidden_dim=128),
    ),
    "transformer_xl": Recipe(
        optimizer=dict(learning_rate=1e-3),
        epochs=20,
        latent_dim=None,
        family="text",
        model_kwargs=dict(segment_length=64, memory_length=64, num_layers=4, hidden_dim=128),
    ),
}


def takes_labels(cls):
    """Whether the command line trains `cls` on labelled data."""
    return cls.conditional is True


def compile_model(model, name, jit_compile="auto"):
    """Compiles `model` with fresh optimizers of the recipe `name`."""
    recipe = RECIPES[name]
    if recipe.adversarial:
        model.compile(
            generator_optimizer=keras.optimizers.Adam(**recipe.optimizer),
            discriminator_optimizer=keras.optimizers.Adam(**recipe.optimizer),
            jit_compile=jit_compile,
        )
    else:
        model.compile(optimizer=keras.optimizers.Adam(**recipe.optimizer), jit_compile=jit_compile)
    return model


def build_model(cls, name, data_shape, num_classes=None, latent_dim=None, seed=0):
    """An uncompiled model of the recipe `name` for data of `data_shape`.

    The variational models of images use the Bernoulli likelihood (on
    binarized data, see `binarize`), those of vectors the Gaussian one.
    """
    recipe = RECIPES[name]
    kwargs = dict(recipe.model_kwargs)
    if recipe.family == "text":
        return cls(seed=seed, **kwargs)
    if takes_labels(cls):
        kwargs["num_classes"] = num_classes
    if recipe.latent_dim is not None:
        kwargs["latent_dim"] = latent_dim or recipe.latent_dim
    if recipe.family == "diffusion":
        from keras_gen import networks

        kwargs["network"] = networks.unet(
            data_shape, base_channels=16, num_classes=kwargs.get("num_classes")
        )
    if recipe.family == "variational":
        kwargs["likelihood"] = "bernoulli" if binarize(name, data_shape) else "gaussian"
    return cls(data_shape=data_shape, seed=seed, **kwargs)


def binarize(name, data_shape):
    """Whether the recipe trains on binarized images (the variational family, Bernoulli likelihood)."""
    return RECIPES[name].family == "variational" and len(data_shape) == 3


def default_epochs(name):
    return RECIPES[name].epochs
