import keras
import numpy as np
import pytest

from keras_gen import networks


def test_maxout_is_the_maximum_over_each_units_pieces():
    layer = networks.Maxout(3, pieces=2)
    x = np.random.RandomState(0).normal(size=(5, 4)).astype("float32")
    out = layer(x).numpy()
    kernel, bias = (np.asarray(w) for w in layer.dense.weights)
    affine = (x @ kernel + bias).reshape(5, 3, 2)  # unit i's pieces are columns 2i, 2i + 1
    np.testing.assert_allclose(out, affine.max(axis=-1), rtol=1e-6)


def test_maxout_keeps_leading_axes():
    out = networks.Maxout(7, pieces=5)(np.zeros((2, 3, 4), "float32"))
    assert tuple(out.shape) == (2, 3, 7)


def test_maxout_config_round_trip(tmp_path):
    d = networks.maxout_discriminator((4,), hidden_units=(6, 5), pieces=3)
    assert [layer.pieces for layer in d.layers if isinstance(layer, networks.Maxout)] == [3, 3]
    x = np.random.RandomState(1).normal(size=(2, 4)).astype("float32")
    path = str(tmp_path / "d.keras")
    d.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), d(x).numpy(), rtol=1e-6)
    clone = networks.Maxout.from_config(networks.Maxout(6, pieces=3).get_config())
    assert (clone.units, clone.pieces) == (6, 3)


def test_maxout_discriminator_defaults_are_pacgans_toy_network():
    d = networks.maxout_discriminator((2,))
    maxouts = [layer for layer in d.layers if isinstance(layer, networks.Maxout)]
    assert [(m.units, m.pieces) for m in maxouts] == [(200, 5)] * 3
    assert d.output_shape == (None, 1)


@pytest.mark.parametrize("kwargs, match", [({"units": 0}, "units=0"), ({"pieces": 0}, "pieces=0")])
def test_bad_maxout_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        networks.Maxout(**{"units": 2, **kwargs})


def test_pacgan_toy_networks_are_the_papers_pair():
    pair = networks.pacgan_toy_networks(latent_dim=3, pack=2, momentum=0.95)
    generator, discriminator = pair["generator"], pair["discriminator"]
    dense = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [400, 400, 400, 400, 2]
    norms = [
        layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert [layer.momentum for layer in norms] == [0.95] * 4
    assert generator.input_shape == (None, 3) and generator.output_shape == (None, 2)
    # Linear output: the generator reaches any point, not only [-1, 1].
    assert generator.layers[-1].activation.__name__ == "linear"
    assert discriminator.input_shape == (None, 4)
    maxouts = [layer for layer in discriminator.layers if isinstance(layer, networks.Maxout)]
    assert [(m.units, m.pieces) for m in maxouts] == [(200, 5)] * 3


def test_pacgan_toy_networks_train_a_packed_gan():
    from keras_gen import models

    pair = networks.pacgan_toy_networks(pack=2)
    model = models.GAN(**pair, latent_dim=2, pack=2, seed=0)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.8),
        discriminator_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.8),
    )
    x = np.random.RandomState(0).uniform(-1, 1, (16, 2)).astype("float32")
    history = model.fit(x, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])


@pytest.mark.parametrize(
    "kwargs, match",
    [({"pack": 0}, "pack=0"), ({"data_dim": 0}, "data_dim=0"), ({"momentum": 1.0}, "momentum=1.0")],
)
def test_bad_pacgan_toy_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        networks.pacgan_toy_networks(**kwargs)
