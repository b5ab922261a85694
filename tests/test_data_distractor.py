"""Tests for attn_lessons.data.distractor_task (chapter 4's order experiment)."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.data import distractor_task


def test_shapes_types_and_determinism():
    x, y, target, mask = distractor_task(64, size=8, seed=3).tensors
    assert x.shape == (64, 8, 8, 8) and x.dtype == torch.float32
    assert y.shape == target.shape == (64,) and y.dtype == torch.int64
    assert mask.shape == (64, 8, 8) and mask.dtype == torch.bool
    again = distractor_task(64, size=8, seed=3).tensors
    assert all(torch.equal(a, b) for a, b in zip(again, (x, y, target, mask), strict=True))
    assert not torch.equal(distractor_task(64, size=8, seed=4).tensors[0], x)


def test_labels_balanced_and_target_square_in_labelled_half():
    _, y, _, mask = distractor_task(200, size=10, seed=0, square=3).tensors
    assert int(y.sum()) == 100
    assert (mask.sum(dim=(1, 2)) == 9).all()
    cols = mask.any(dim=1)  # (N, S): columns the target covers
    right = cols[:, 5:].any(dim=1)
    left = cols[:, :5].any(dim=1)
    assert torch.equal(right, y.bool()) and torch.equal(left, ~y.bool())


def test_amplitudes_without_noise_name_the_target():
    x, _, target, mask = distractor_task(50, seed=1, signal=2.0, distractor=1.0,
                                         noise=1e-9).tensors
    peak = x.amax(dim=(2, 3))  # (N, C)
    assert torch.equal(peak.argmax(dim=1), target)
    torch.testing.assert_close(peak.max(dim=1).values, torch.full((50,), 2.0), atol=1e-6, rtol=0)
    on_target = x[torch.arange(50), target]  # (N, S, S)
    torch.testing.assert_close(on_target[mask], torch.full((int(mask.sum()),), 2.0), atol=1e-6,
                               rtol=0)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"channels": 1}, ValueError), ({"signal": 0.0}, ValueError), ({"noise": -1.0}, ValueError),
    ({"square": 5}, ValueError), ({"channels": 2.5}, TypeError),
])
def test_bad_arguments_raise(kwargs, error):
    with pytest.raises(error):
        distractor_task(16, size=8, seed=0, **kwargs)
