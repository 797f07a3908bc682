"""The recipes: one per model, and what each declares is what its model does."""

import inspect

import pytest

from keras_gen import models
from keras_gen.cli import recipes


@pytest.fixture(scope="module")
def built():
    """Every recipe's model for 28x28 digits with 10 classes, compiled, by name."""
    result = {}
    # A video model takes a frame tokenizer (untrained: only its shapes matter here).
    tokenizer = models.frame_tokenizer((16, 16, 1), num_embeddings=8, embedding_dim=4, seed=0)
    for name, cls in models.MODELS.items():
        shape = (64, 88) if recipes.RECIPES[name].music else (28, 28, 1)  # piano-roll windows
        model = recipes.build_model(cls, name, shape, num_classes=10, tokenizer=tokenizer)
        result[name] = recipes.compile_model(model, name)
    return result


# Moved from tests/cli_test.py.
def test_every_model_has_a_training_recipe(built):
    assert set(recipes.RECIPES) == set(models.MODELS)
    for name, cls in models.MODELS.items():
        model = built[name]
        assert model.compiled and type(model) is cls
        assert recipes.default_epochs(name) >= 1
    vae = recipes.build_model(models.VAE, "vae", (2,))
    assert vae.likelihood == "gaussian" and not recipes.binarize("vae", (2,))
    assert recipes.binarize("vae", (28, 28, 1)) and not recipes.binarize("dcgan", (28, 28, 1))


def test_labelled_recipes_build_conditional_models(built):
    for name, recipe in recipes.RECIPES.items():
        # A text-to-image model is conditional on its captions.
        assert bool(built[name].conditional) == (recipe.labelled or recipe.prompts), name


def test_latent_sizes_are_the_recipes(built):
    for name, recipe in recipes.RECIPES.items():
        if recipe.latent_dim is not None:
            assert built[name].latent_dim == recipe.latent_dim, name


def test_reconstructing_recipes_are_the_models_that_reconstruct(built):
    for name, recipe in recipes.RECIPES.items():
        if recipe.music:  # a MusicVAE reconstructs and interpolates music, not pictures
            continue
        assert callable(getattr(built[name], "reconstruct", None)) == recipe.reconstructs, name
        assert callable(getattr(built[name], "interpolate", None)) == recipe.interpolates, name


def test_text_lengths_are_the_models(built):
    for name, recipe in recipes.RECIPES.items():
        if recipe.text is not None:
            assert getattr(built[name], recipe.text.length_argument) == recipe.text_length, name


def test_sampling_steps_are_declared_where_generate_takes_them():
    for name, recipe in recipes.RECIPES.items():
        generate = getattr(models.get(name), "generate", None)  # the contrastive model has none
        parameters = inspect.signature(generate).parameters if generate else {}
        assert ("steps" in parameters) == recipe.sampling_steps, name


def test_fid_is_declared_for_image_generators_only():
    for name, recipe in recipes.RECIPES.items():
        # A text-to-image model's samples answer prompts: scored by prompt fidelity instead.
        generates_images = recipes.IMAGES in recipe.data and not recipe.captioned
        assert (recipes.FID in recipe.metrics) == generates_images, name


def test_every_recipe_declares_known_kinds_and_callbacks():
    from keras_gen.cli import train

    for name, recipe in recipes.RECIPES.items():
        kinds = {recipes.IMAGES, recipes.VECTORS, recipes.TEXT, recipes.MUSIC, recipes.VIDEO}
        assert set(recipe.data) <= kinds, name
        assert set(recipe.callbacks) <= set(train.PICTURES), name
        assert (recipe.text is not None) == (recipe.data == (recipes.TEXT,)), name
        assert (recipe.music is not None) == (recipe.data == (recipes.MUSIC,)), name
        assert (recipe.video is not None) == (recipe.data == (recipes.VIDEO,)), name


def test_recipe_of_finds_a_subclass_by_its_registered_parent(built):
    class MyDCGAN(models.DCGAN):
        pass

    name, recipe = recipes.recipe_of(built["dcgan"])
    assert name == "dcgan" and recipe is recipes.RECIPES["dcgan"]
    subclassed = MyDCGAN(data_shape=(28, 28, 1), latent_dim=4, seed=0)
    assert recipes.recipe_of(subclassed)[0] == "dcgan"
    with pytest.raises(ValueError, match="keras_gen model"):
        recipes.recipe_of(object())


def test_by_value_names_the_models_of_each_value():
    text = recipes.by_value("epochs")
    assert text.startswith("30; ") and "86 for diffusion" in text
    assert "for" not in recipes.by_value("default_dataset").split(";")[0]


@pytest.mark.parametrize("dataset", ["grid25", "ring8"])
def test_gan_on_a_toy_benchmark_takes_the_measured_setup(dataset):
    setup = recipes.benchmark_setup("gan", dataset)
    model = recipes.build_model(models.GAN, "gan", (2,), dataset=dataset)
    recipes.compile_model(model, "gan", dataset=dataset)
    assert (model.pack, model.latent_dim) == (setup.pack, setup.latent_dim) == (2, 2)
    assert model.generator.name == "pacgan_generator"
    assert model.discriminator.input_shape == (None, 4)  # one pack of two 2-d samples
    assert float(model.generator_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(model.discriminator_optimizer.beta_1) == pytest.approx(0.8)
    assert setup.batch_size % setup.pack == 0
    assert recipes.default_epochs("gan", dataset) * setup.steps_per_epoch == 10_000


def test_given_pack_and_latent_size_override_the_benchmark_setup():
    model = recipes.build_model(models.GAN, "gan", (2,), latent_dim=5, pack=4, dataset="grid25")
    assert (model.pack, model.latent_dim) == (4, 5)
    assert model.discriminator.input_shape == (None, 8)


def test_stacked_mnist_setup_packs_the_default_dcgan():
    for name in ("gan", "dcgan"):
        model = recipes.build_model(models.get(name), name, (28, 28, 3), dataset="stacked_mnist")
        assert model.pack == 2 and model.latent_dim == 100, name
        assert model.discriminator.input_shape == (None, 28, 28, 6), name
    assert recipes.default_epochs("dcgan", "stacked_mnist") == 5


def test_other_datasets_and_models_keep_their_recipe():
    assert recipes.benchmark_setup("gan", "mnist5k") is None
    assert recipes.benchmark_setup("wgan_gp", "grid25") is None  # not measured: not changed
    model = recipes.build_model(models.GAN, "gan", (2,), dataset="moons")
    assert (model.pack, model.latent_dim) == (1, 100)
    assert recipes.default_epochs("gan", "moons") == recipes.RECIPES["gan"].epochs
