import numpy as np

from keras_gen.metrics import random_weights


def test_same_seed_same_tensors_in_sorted_order():
    shapes = {
        "b.conv.weight": (4, 2, 3, 3),
        "a.bn.running_var": (4,),
        "a.bn.weight": (4,),
        "fc.weight": (3, 4),
        "a.bn.bias": (4,),
    }
    first = random_weights.random_state_dict(shapes, 7)
    second = random_weights.random_state_dict(dict(reversed(list(shapes.items()))), 7)
    for name in shapes:
        np.testing.assert_array_equal(first[name], second[name])
        assert first[name].shape == shapes[name] and first[name].dtype == np.float32
    assert (first["a.bn.running_var"] > 0).all()
    other = random_weights.random_state_dict(shapes, 8)
    assert not np.array_equal(first["b.conv.weight"], other["b.conv.weight"])
    images = random_weights.random_images(3, count=2)
    assert images.shape == (2, 299, 299, 3) and np.abs(images).max() <= 1
