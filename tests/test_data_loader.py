"""PyTorch's TensorDataset and DataLoader (issue 14): the batches PyTorch would give, as Tensors."""

import numpy as np
import pytest

import microgradx
from microgradx import Tensor
from microgradx.data import DataLoader, TensorDataset

try:
    import torch
    from torch.utils import data as torch_data
except ImportError:  # optional: the comparisons below skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (pip install torch); "
                                                       "the comparison with PyTorch is skipped")

X = np.arange(14.0).reshape(7, 2)
Y = np.array([0, 1, 2, 0, 1, 2, 0])


def test_tensor_dataset_indexes_every_array_together():
    data = TensorDataset(X, microgradx.tensor(Y))
    x, y = data[3]
    assert len(data) == 7 and x.tolist() == [6.0, 7.0] and y.item() == 0.0
    assert isinstance(x, Tensor) and not x.requires_grad
    assert [t.shape for t in data.tensors] == [(7, 2), (7,)]


def test_tensor_dataset_refuses_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(X, Y[:5])


@pytest.mark.parametrize("drop_last, sizes", [(False, [3, 3, 1]), (True, [3, 3])])
def test_batches_in_order_with_a_last_partial_batch_unless_drop_last(drop_last, sizes):
    loader = DataLoader(TensorDataset(X, Y), batch_size=3, drop_last=drop_last)
    batches = list(loader)
    assert [len(x) for x, _ in batches] == sizes and len(loader) == len(sizes)
    np.testing.assert_array_equal(np.concatenate([x.data for x, _ in batches]), X[:sum(sizes)])
    assert all(isinstance(t, Tensor) and not t.requires_grad for batch in batches for t in batch)


def test_shuffle_with_a_seed_repeats_and_each_epoch_draws_a_new_order():
    def epochs(seed):
        loader = DataLoader(TensorDataset(X, Y), batch_size=2, shuffle=True, seed=seed)
        return [np.concatenate([x.data[:, 0] for x, _ in loader]).tolist() for _ in range(3)]
    first, again = epochs(0), epochs(0)
    assert first == again and first[0] != first[1]
    assert all(sorted(order) == sorted(X[:, 0]) for order in first)  # a permutation: every example once
    loader = DataLoader(TensorDataset(X, Y), batch_size=7, shuffle=True, generator=np.random.default_rng(1))
    (x, y), = loader
    np.testing.assert_array_equal(y.data, Y[(x.data[:, 0] / 2).astype(int)])  # pairs stay together


def test_shuffle_without_a_seed_follows_manual_seed():
    def order():
        microgradx.manual_seed(5)
        return [x.data[:, 0].tolist() for x, _ in DataLoader(TensorDataset(X, Y), batch_size=4, shuffle=True)]
    assert order() == order()


def test_any_dataset_with_len_and_getitem_is_collated():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=float), i % 2

    (x, y), (x2, y2), (x3, y3) = DataLoader(Squares(), batch_size=2)
    assert x.tolist() == [[0.0, 0.0], [1.0, 1.0]] and y.tolist() == [0.0, 1.0] and x3.shape == (1, 2)


def test_bad_arguments_name_the_problem():
    data = TensorDataset(X)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        DataLoader(data, batch_size=0)
    with pytest.raises(ValueError, match="not both"):
        DataLoader(data, seed=0, generator=np.random.default_rng(0))


@needs_torch
@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (7, False), (10, False)])
def test_unshuffled_batches_equal_torchs(batch_size, drop_last):
    ours = DataLoader(TensorDataset(X, Y), batch_size=batch_size, drop_last=drop_last)
    theirs = torch_data.DataLoader(torch_data.TensorDataset(torch.tensor(X), torch.tensor(Y)),
                                   batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(x.data, tx.numpy())
        np.testing.assert_array_equal(y.data, ty.numpy())
