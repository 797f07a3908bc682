import pytest

from keras_gen.networks import common


def test_data_shape_checks_name_the_argument():
    assert common.check_data_shape([28, 28, 1]) == (28, 28, 1)
    with pytest.raises(ValueError, match=r"data_shape=\(0, 2\)"):
        common.check_data_shape((0, 2), ranks=(2,))
    with pytest.raises(ValueError, match="data_shape='abc'"):
        common.check_data_shape("abc")
    with pytest.raises(ValueError, match="steps=True"):
        common.check_positive_int(True, "steps")


def test_generator_inputs_with_and_without_labels():
    inputs, x = common.generator_inputs(8, None)
    assert inputs is x and tuple(x.shape) == (None, 8)
    inputs, x = common.generator_inputs(8, 10, embedding_dim=3)
    assert len(inputs) == 2 and tuple(x.shape) == (None, 11)
