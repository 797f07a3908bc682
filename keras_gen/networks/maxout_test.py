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
