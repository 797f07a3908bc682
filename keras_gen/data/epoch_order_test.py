import numpy as np

from keras_gen.data import epoch_order


def _epoch(dataset, epoch):
    epoch_order._STATE["epoch"] = epoch
    try:
        return [int(i) for i in dataset]
    finally:
        epoch_order._STATE["epoch"] = None


def test_the_order_of_an_epoch_is_a_function_of_seed_and_epoch():
    dataset = epoch_order.shuffled_indices(10, seed=3, batch_size=2)
    first = _epoch(dataset, 2)
    assert sorted(first) == list(range(10))
    assert _epoch(epoch_order.shuffled_indices(10, seed=3, batch_size=2), 2) == first
    assert _epoch(dataset, 3) != first
    assert _epoch(epoch_order.shuffled_indices(10, seed=4, batch_size=2), 2) != first


def test_steps_per_epoch_reads_on_across_passes():
    dataset = epoch_order.shuffled_indices(5, seed=0, batch_size=2, steps_per_epoch=2)
    assert int(dataset.cardinality()) == 4
    stream = np.concatenate([epoch_order.permutation(5, 0, p).numpy() for p in range(3)])
    for epoch in range(3):
        assert _epoch(dataset, epoch) == stream[4 * epoch : 4 * epoch + 4].tolist()


def test_outside_fit_each_pass_is_the_next_epoch():
    dataset = epoch_order.shuffled_indices(10, seed=1, batch_size=2)
    assert [int(i) for i in dataset] != [int(i) for i in dataset]
