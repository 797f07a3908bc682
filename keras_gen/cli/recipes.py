"""Per-model training recipes of the command line: what each family needs, declared once.

A recipe says what `keras-gen train NAME` does with the model: which data it
reads, how it builds and compiles it, which pictures and metrics it writes.
The command line reads these fields and never looks at the model to decide.
"""

import dataclasses

import keras

#: Data kinds: rank-3 samples, rank-1 samples, byte tokens, music (`data.load_music`), video
#: (`data.load_video`).
IMAGES, VECTORS, TEXT, MUSIC, VIDEO = "images", "vectors", "text", "music", "video"
#: Picture callbacks a recipe can ask for (built by `keras_gen.cli.train`).
SAMPLE_GRID, RECONSTRUCTION_GRID, TEXT_SAMPLES, PROMPT_GRID, AUDIO_SAMPLES, VIDEO_SAMPLES = (
    "sample_grid",
    "reconstruction_grid",
    "text_samples",
    "prompt_grid",
    "audio_samples",
    "video_samples",
)
#: Semitone shifts the music recipes train on (each training piece in all twelve keys).
MUSIC_TRANSPOSE = tuple(range(-5, 7))
#: Event tokens `keras-gen sample` draws per piece of an event model when no --max-length is given.
MUSIC_SAMPLE_TOKENS = 512
#: `keras-gen sample --guidance-scale` of a text-to-image model when none is given.
GUIDANCE_SCALE = 3.0
#: Metrics a recipe can log during training.
FID = "fid"
#: `keras-gen sample --temperature` of a language model when none is given.
TEXT_TEMPERATURE = 0.8
#: Compile arguments of a model with one optimizer, and of a GAN.
ONE_OPTIMIZER = ("optimizer",)
TWO_OPTIMIZERS = ("generator_optimizer", "discriminator_optimizer")


@dataclasses.dataclass(frozen=True)
class TextData:
    """How a language model reads its text.

    Attributes:
        length_argument: the constructor argument (in `Recipe.model_kwargs`)
            that sets the tokens per example: GPT's context `sequence_length`,
            Transformer-XL's `segment_length`.
        consecutive: whether row `b` of each batch continues row `b` of the
            previous one (a segment-recurrent model carries its memory over).
    """

    length_argument: str
    consecutive: bool = False


@dataclasses.dataclass(frozen=True)
class MusicData:
    """How a music model reads `data.load_music`.

    Attributes:
        representation: `"pianoroll"` (windows of frames) or `"events"` (tokens).
        sequence_length: frames per window, or tokens per segment.
        consecutive: whether the segments come as consecutive streams (Transformer-XL).
    """

    representation: str
    sequence_length: int
    consecutive: bool = False


@dataclasses.dataclass(frozen=True)
class VideoData:
    """How a video model reads `data.load_video` and makes its frame tokenizer.

    Attributes:
        num_frames: frames per clip.
        num_sequences: Moving MNIST training sequences (a folder's clips: all of them).
        validation_clips: held-out clips scored each epoch (the fixed test set's first).
        tokenizer_steps: updates of the `frame_tokenizer` (batches of 64 frames),
            trained first and saved as `tokenizer.keras` in the run directory
            (a later run there, e.g. `--resume`, loads it).
        tokenizer_kwargs: `frame_tokenizer` arguments.
        steps_per_epoch: updates per epoch when `--steps-per-epoch` is not given.
    """

    num_frames: int = 20
    num_sequences: int = 10000
    validation_clips: int = 128
    tokenizer_steps: int = 2000
    tokenizer_kwargs: dict = dataclasses.field(default_factory=dict)
    steps_per_epoch: int = 1000


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How `keras-gen train NAME` builds, compiles and trains a model.

    Attributes:
        optimizer: Adam arguments (of every optimizer in `optimizers`).
        epochs: default epochs on the default dataset.
        latent_dim: default latent size, or None for a model without a latent vector.
        family: a name for people (`"adversarial"`, `"variational"`, `"diffusion"`,
            `"text"`); nothing is decided by it.
        model_kwargs: further constructor arguments.
        optimizers: the compile arguments that each take a fresh Adam.
        data: the data kinds the model trains on (`IMAGES`, `VECTORS`, `TEXT`).
        default_dataset: the `--dataset` when none is given.
        text: how a language model reads text (a `TextData`), or None.
        music: how a music model reads music (a `MusicData`), or None.
        video: how a video model reads clips (a `VideoData`), or None.
        captioned: the model trains on `(images, caption tokens)` pairs
            (`data.load("captioned_mnist5k")`).
        prompts: `generate` takes prompts (`keras-gen sample --prompt`), not a count.
        labelled: whether the model trains on `(samples, labels)`.
        bernoulli_images: images are binarized for a Bernoulli likelihood
            (and vectors take the Gaussian one).
        network: `network(data_shape, num_classes)` building the model's
            network, or None for the model's default networks.
        callbacks: the picture callbacks (`SAMPLE_GRID`, `RECONSTRUCTION_GRID`,
            `TEXT_SAMPLES`, `PROMPT_GRID`); the reconstruction grid is written for
            images only.
        interpolates: the reconstruction grid also shows latent interpolations.
        metrics: metrics it can log during training (`FID` for `--fid-every`).
        sampling_steps: whether `generate` takes `steps=` (`keras-gen sample --steps`).
        latent_temperature: whether `generate` takes `temperature=`, the latents'
            standard deviation (`keras-gen sample --temperature`).
        validates: fit also evaluates the loss on the dataset's test split each
            epoch (`val_loss`, for a flow `val_bits_per_dim`: held-out likelihood).
    """

    optimizer: dict
    epochs: int = 30
    latent_dim: object = None
    family: str = "adversarial"
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    optimizers: tuple = ONE_OPTIMIZER
    data: tuple = (IMAGES, VECTORS)
    default_dataset: str = "mnist5k"
    text: object = None
    music: object = None
    video: object = None
    captioned: bool = False
    prompts: bool = False
    labelled: bool = False
    bernoulli_images: bool = False
    network: object = None
    callbacks: tuple = (SAMPLE_GRID,)
    interpolates: bool = False
    metrics: tuple = ()
    sampling_steps: bool = False
    latent_temperature: bool = False
    validates: bool = False

    @property
    def text_length(self):
        """Tokens per example of a language model, or None."""
        return None if self.text is None else self.model_kwargs[self.text.length_argument]

    @property
    def reconstructs(self):
        """Whether training writes inputs beside their reconstructions."""
        return RECONSTRUCTION_GRID in self.callbacks


def _small_unet(data_shape, num_classes):
    from keras_gen import networks

    return networks.unet(data_shape, base_channels=16, num_classes=num_classes)


def _gan(optimizer, **kwargs):
    # Radford et al. 2016 draw z of 100 numbers.
    return Recipe(
        optimizer,
        latent_dim=100,
        optimizers=TWO_OPTIMIZERS,
        metrics=(FID,),
        **kwargs,
    )


def _vae(**kwargs):
    fields = dict(
        optimizer=dict(learning_rate=1e-3),
        epochs=30,
        latent_dim=16,
        family="variational",
        bernoulli_images=True,
        callbacks=(SAMPLE_GRID, RECONSTRUCTION_GRID),
        interpolates=True,
        metrics=(FID,),
    )
    return Recipe(**{**fields, **kwargs})


def _language_model(length_argument, consecutive, **model_kwargs):
    # Byte-level language models on pydoc (about 51 steps per epoch at batch 64).
    return Recipe(
        optimizer=dict(learning_rate=1e-3),
        epochs=20,
        family="text",
        model_kwargs=model_kwargs,
        data=(TEXT,),
        default_dataset="pydoc",
        text=TextData(length_argument, consecutive=consecutive),
        callbacks=(TEXT_SAMPLES,),
    )


def _captioned(**kwargs):
    # The models of (image, caption) pairs, on captioned_mnist5k (docs/models/multimodal.md).
    fields = dict(
        optimizer=dict(learning_rate=1e-3),
        epochs=20,
        family="multimodal",
        data=(IMAGES,),
        default_dataset="captioned_mnist5k",
        captioned=True,
        callbacks=(),
        validates=True,
    )
    return Recipe(**{**fields, **kwargs})


def _music(representation, sequence_length, consecutive=False, **kwargs):
    # The Bach chorales in all twelve keys (docs/models/music.md); validation on the
    # validation split (by BWV number), untransposed.
    fields = dict(
        optimizer=dict(learning_rate=1e-3),
        family="music",
        data=(MUSIC,),
        default_dataset="bach_chorales",
        music=MusicData(representation, sequence_length, consecutive),
        callbacks=(AUDIO_SAMPLES,),
        validates=True,
    )
    return Recipe(**{**fields, **kwargs})


_DCGAN_ADAM = dict(learning_rate=2e-4, beta_1=0.5)
_WGAN_ADAM = dict(learning_rate=1e-4, beta_1=0.0, beta_2=0.9)
_SNGAN_ADAM = dict(learning_rate=2e-4, beta_1=0.0, beta_2=0.9)

RECIPES = {
    "gan": _gan(_DCGAN_ADAM),
    "dcgan": _gan(_DCGAN_ADAM),
    "wgan_gp": _gan(_WGAN_ADAM),
    "sngan": _gan(_SNGAN_ADAM),
    "lsgan": _gan(_DCGAN_ADAM),
    "conditional_gan": _gan(_DCGAN_ADAM, labelled=True),
    "acgan": _gan(_DCGAN_ADAM, labelled=True),
    "vae": _vae(),
    # Higgins et al. 2017 warm the KL weight up; 1,000 steps is about 14 mnist5k epochs at 64.
    "beta_vae": _vae(model_kwargs=dict(beta=4.0, beta_warmup_steps=1000)),
    "conditional_vae": _vae(labelled=True),
    # The paper's EMA codebook (decay 0.99) with 64 codes of 32 numbers; codes have no
    # line between them to interpolate on.
    "vq_vae": _vae(
        latent_dim=None,
        data=(IMAGES,),
        interpolates=False,
        model_kwargs=dict(num_embeddings=64, ema_decay=0.99),
    ),
    # Unconditional from the command line; class conditioning from Python (num_classes=).
    # A 16-channel U-Net with v prediction and 86 epochs (about 6,000 steps): the CPU
    # budget measured in docs/models/diffusion.md.
    "diffusion": Recipe(
        optimizer=dict(learning_rate=1e-3),
        epochs=86,
        family="diffusion",
        model_kwargs=dict(prediction="v"),
        data=(IMAGES,),
        network=_small_unet,
        metrics=(FID,),
        sampling_steps=True,
    ),
    # Flows maximise the exact log-likelihood (docs/models/flow.md): RealNVP's default data is
    # the two moons, Glow's the mnist5k digits (dequantized, bits per dimension).
    "realnvp": Recipe(
        optimizer=dict(learning_rate=1e-3),
        epochs=30,
        family="flow",
        model_kwargs=dict(num_coupling_layers=4, hidden_dim=64, levels=2),
        default_dataset="moons",
        latent_temperature=True,
        validates=True,
        metrics=(FID,),
    ),
    "glow": Recipe(
        optimizer=dict(learning_rate=1e-3),
        epochs=30,
        family="flow",
        model_kwargs=dict(levels=2, steps_per_level=4, hidden_channels=64),
        latent_temperature=True,
        validates=True,
        metrics=(FID,),
    ),
    # Text-to-image diffusion on captioned digits (docs/models/multimodal.md): the diffusion
    # recipe's U-Net with a text encoder and cross-attention; 29 epochs of 211 steps at 64.
    "text_to_image": _captioned(
        epochs=29,
        model_kwargs=dict(prediction="v", base_channels=16),
        prompts=True,
        callbacks=(PROMPT_GRID,),
        sampling_steps=True,
        validates=False,
    ),
    # The contrastive image-text model behind CLIPScore (scripts/train_contrastive.py).
    "contrastive": _captioned(),
    # Image-to-text on the same pairs: held-out nats per caption byte each epoch.
    "captioner": _captioned(),
    # 4-bar windows of sixteenths; 8 epochs of 378 steps at 32 (about 3,000 steps).
    "music_vae": _music(
        "pianoroll",
        64,
        epochs=8,
        latent_dim=64,
        model_kwargs=dict(hidden_dim=128, bars=4, free_bits=16.0, beta_warmup_steps=1500),
    ),
    # Event tokens in consecutive segments; 3 epochs of 997 steps at 32 (about 3,000 steps).
    "music_transformer_xl": _music(
        "events",
        64,
        consecutive=True,
        epochs=3,
        model_kwargs=dict(segment_length=64, memory_length=64, num_layers=4, hidden_dim=128),
    ),
    # Moving MNIST from mnist5k's digits (docs/models/video.md): a frame tokenizer of 8x8
    # codes (2,000 updates), then Transformer-XL over the codes, 4 epochs of 1,000 steps: the
    # measured example's budget (which ran at batch 32; the command line's default is 64).
    "video_transformer_xl": Recipe(
        optimizer=dict(learning_rate=1e-3),
        epochs=4,
        family="video",
        data=(VIDEO,),
        default_dataset="moving_mnist",
        video=VideoData(tokenizer_kwargs=dict(num_embeddings=256, ema_decay=0.99)),
        model_kwargs=dict(num_layers=4, num_heads=4, hidden_dim=128, dropout=0.1),
        callbacks=(VIDEO_SAMPLES,),
        validates=True,
    ),
    "gpt": _language_model(
        "sequence_length", False, sequence_length=128, num_layers=4, hidden_dim=128
    ),
    "transformer_xl": _language_model(
        "segment_length", True, segment_length=64, memory_length=64, num_layers=4, hidden_dim=128
    ),
}


@dataclasses.dataclass(frozen=True)
class BenchmarkSetup:
    """A recipe's settings on one mode-coverage benchmark dataset: those of a measured row.

    `benchmarks/mode_coverage.py` measured these (docs/sample_quality.md);
    `keras-gen train NAME --dataset DATASET` takes each of them unless its
    flag is given.

    Attributes:
        pack: PacGAN packing (`--pack`).
        batch_size: samples per update, `pack` times the packs (`--batch-size`).
        optimizer: both networks' Adam arguments.
        steps_per_epoch: updates per epoch (`--steps-per-epoch`).
        epochs: epochs (`--epochs`); `steps_per_epoch * epochs` is the measured budget.
        latent_dim: latent size (`--latent-dim`), or None for the recipe's.
        networks: `networks(latent_dim, pack)` building `{"generator", "discriminator"}`,
            or None for the model's default networks.
        source: the row of docs/sample_quality.md these settings come from.
    """

    pack: int
    batch_size: int
    optimizer: dict
    steps_per_epoch: int
    epochs: int
    latent_dim: int = None
    networks: object = None
    source: str = ""


def _pacgan_toy_networks(latent_dim, pack):
    from keras_gen import networks

    return networks.pacgan_toy_networks(latent_dim=latent_dim, pack=pack)


# PacGAN2 with PacGAN's toy networks and Adam, 100 packs per update, 10,000 updates: the best
# of the measured toy rows (22.7 of 25 grid modes against 17.1 unpacked over ten trials).
_TOY_SETUP = BenchmarkSetup(
    pack=2,
    batch_size=200,
    optimizer=dict(learning_rate=1e-4, beta_1=0.8),
    steps_per_epoch=1000,
    epochs=10,
    latent_dim=2,
    networks=_pacgan_toy_networks,
    source="gan, pack 2 (PacGAN2), 10,000 generator updates",
)
# PacDCGAN2 with the DCGAN networks and Adam, 64 packs per update, 2,500 updates.
_STACKED_SETUP = BenchmarkSetup(
    pack=2,
    batch_size=128,
    optimizer=dict(_DCGAN_ADAM),
    steps_per_epoch=500,
    epochs=5,
    source="dcgan, pack 2 (PacDCGAN2), 2,500 generator updates",
)
#: `(recipe, dataset)` -> its `BenchmarkSetup`.
BENCHMARK_SETUPS = {
    ("gan", "grid25"): _TOY_SETUP,
    ("gan", "ring8"): _TOY_SETUP,
    ("gan", "stacked_mnist"): _STACKED_SETUP,
    ("dcgan", "stacked_mnist"): _STACKED_SETUP,
}


def benchmark_setup(name, dataset):
    """The `BenchmarkSetup` of the recipe `name` on `dataset`, or None."""
    return BENCHMARK_SETUPS.get((name, dataset))


def data_kind(shape):
    """`IMAGES` for rank-3 samples, `VECTORS` for rank-1 ones, else a description of the shape."""
    return {3: IMAGES, 1: VECTORS}.get(len(shape), f"arrays of shape {tuple(shape)}")


def recipe_of(model):
    """`(name, recipe)` of a model object: its class's, or the nearest registered parent's.

    Raises:
        ValueError: for a model of no registered class.
    """
    from keras_gen import models

    names = {cls: name for name, cls in models.MODELS.items()}
    for cls in type(model).__mro__:
        if cls in names:
            return names[cls], RECIPES[names[cls]]
    raise ValueError(
        f"Expected a keras_gen model (one of {sorted(models.MODELS)}). "
        f"Received: a {type(model).__name__}"
    )


def compile_model(model, name, jit_compile="auto", dataset=None):
    """Compiles `model` with fresh optimizers of the recipe `name` (on `dataset`, see
    `benchmark_setup`)."""
    recipe = RECIPES[name]
    setup = benchmark_setup(name, dataset)
    adam = setup.optimizer if setup else recipe.optimizer
    optimizers = {argument: keras.optimizers.Adam(**adam) for argument in recipe.optimizers}
    model.compile(**optimizers, jit_compile=jit_compile)
    return model


def build_model(
    cls,
    name,
    data_shape,
    num_classes=None,
    latent_dim=None,
    seed=0,
    pack=None,
    coupling=None,
    tokenizer=None,
    dataset=None,
):
    """An uncompiled model of the recipe `name` for data of `data_shape`.

    The variational models of images use the Bernoulli likelihood (on
    binarized data, see `binarize`), those of vectors the Gaussian one.
    Language models read their length from the recipe and ignore `data_shape`.
    `pack` (PacGAN packing, `GAN(pack=...)`) is for the adversarial recipes,
    those with `TWO_OPTIMIZERS`; None leaves the model's default. `coupling`
    (`"affine"` or `"spline"`) is for the flows; `tokenizer` (a trained frame
    tokenizer) for the video models. On a `dataset` with a `benchmark_setup`,
    its networks, packing and latent size replace the recipe's unless
    `pack` or `latent_dim` are given.

    Raises:
        ValueError: for a `pack` given to a recipe without a discriminator, or
            a `coupling` to one that is not a flow.
    """
    recipe = RECIPES[name]
    kwargs = dict(recipe.model_kwargs)
    if pack is not None:
        if recipe.optimizers != TWO_OPTIMIZERS:
            raise ValueError(
                "`pack` packs a discriminator's inputs (PacGAN) and applies to the "
                f"adversarial models only. Received: pack={pack!r} for {name!r}"
            )
        kwargs["pack"] = pack
    if coupling is not None:
        if recipe.family != "flow":
            raise ValueError(
                "`coupling` chooses a flow's couplings and applies to the flows only. "
                f"Received: coupling={coupling!r} for {name!r}"
            )
        kwargs["coupling"] = coupling
    if recipe.video is not None:
        return cls(tokenizer, seed=seed, **kwargs)
    if recipe.text is not None or (recipe.music and recipe.music.representation == "events"):
        return cls(seed=seed, **kwargs)
    if recipe.labelled:
        kwargs["num_classes"] = num_classes
    if recipe.latent_dim is not None:
        kwargs["latent_dim"] = latent_dim or recipe.latent_dim
    if recipe.network is not None:
        kwargs["network"] = recipe.network(data_shape, kwargs.get("num_classes"))
    setup = benchmark_setup(name, dataset)
    if setup is not None:
        kwargs.setdefault("pack", setup.pack)
        kwargs["latent_dim"] = latent_dim or setup.latent_dim or kwargs.get("latent_dim")
        if setup.networks is not None:
            kwargs.update(setup.networks(kwargs["latent_dim"], kwargs["pack"]))
            return cls(seed=seed, **kwargs)
    if recipe.bernoulli_images:
        kwargs["likelihood"] = "bernoulli" if binarize(name, data_shape) else "gaussian"
    return cls(data_shape=data_shape, seed=seed, **kwargs)


def binarize(name, data_shape):
    """Whether the recipe trains on binarized images (a Bernoulli likelihood of images)."""
    return RECIPES[name].bernoulli_images and data_kind(data_shape) == IMAGES


def default_epochs(name, dataset=None):
    """Epochs of the recipe `name` (on `dataset`) when `--epochs` is not given."""
    setup = benchmark_setup(name, dataset)
    return setup.epochs if setup else RECIPES[name].epochs


def by_value(field):
    """A recipe field's defaults for a help text: `"30; 86 for diffusion; 20 for gpt"`.

    The most common value stands alone when every recipe has one; otherwise
    each value names its models, and those without one (None) are left out.
    """
    groups = {}
    for name, recipe in RECIPES.items():
        groups.setdefault(getattr(recipe, field), []).append(name)
    common = max(groups, key=lambda value: len(groups[value])) if None not in groups else None
    parts = [str(common)] if common is not None else []
    parts += [
        f"{value} for {', '.join(names)}"
        for value, names in groups.items()
        if value is not None and value != common
    ]
    return "; ".join(parts)


def names_with(predicate):
    """The names of the recipes for which `predicate(recipe)` holds, comma-separated."""
    return ", ".join(name for name, recipe in RECIPES.items() if predicate(recipe))
