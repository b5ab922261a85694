"""Tests for :func:`attn_lessons.data.lookup_task` (the chapter 6 retrieval task)."""

import pytest
import torch

from attn_lessons.data import lookup_task


@pytest.mark.parametrize("length,num_classes", [(3, 2), (8, 4), (12, 5)])
def test_shapes_and_answer(length, num_classes):
    data = lookup_task(64, length, seed=1, num_classes=num_classes, noise=0.0)
    tokens, labels, targets = data.tensors
    symbols = length - 1
    assert tokens.shape == (64, length, 2 * symbols + num_classes)
    assert labels.dtype == targets.dtype == torch.int64
    assert bool(((targets >= 1) & (targets < length)).all())
    cue = tokens[:, 0, :symbols].argmax(1)
    keys = tokens[:, 1:, symbols : 2 * symbols].argmax(2)
    # every key appears exactly once, and the target is the token whose key is the cue
    assert torch.equal(keys.sort(1).values, torch.arange(symbols).expand(64, -1))
    rows = torch.arange(64)
    assert torch.equal(keys[rows, targets - 1], cue)
    assert torch.equal(tokens[rows, targets, 2 * symbols :].argmax(1), labels)
    # the query token carries its cue and nothing else
    assert torch.equal(tokens[:, 0].sum(1), torch.ones(64))


def test_deterministic_and_balanced():
    a = lookup_task(100, seed=3).tensors
    b = lookup_task(100, seed=3).tensors
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], lookup_task(100, seed=4).tensors[0])
    assert torch.bincount(a[1], minlength=4).tolist() == [25, 25, 25, 25]


@pytest.mark.parametrize("kwargs", [{"length": 2}, {"num_classes": 1}, {"noise": -0.1}, {"n": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        lookup_task(**{"n": 8, **kwargs})
