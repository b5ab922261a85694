"""Tests of attn_lessons.cost: parameter and FLOP counts checked against hand counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from attn_lessons.cost import FlopCount, count_flops, count_parameters, summary_table


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("n_in", "n_out"), [(1, 1), (10, 5), (64, 3)])
def test_linear_parameters_by_hand(n_in, n_out, bias):
    expected = n_in * n_out + (n_out if bias else 0)
    assert count_parameters(nn.Linear(n_in, n_out, bias=bias)) == expected


@pytest.mark.parametrize(("batch", "n_in", "n_out"), [(1, 10, 5), (3, 7, 11)])
def test_linear_flops_by_hand(batch, n_in, n_out):
    # One multiply-add per (sample, output, input): batch * n_out * n_in MACs, twice as many FLOPs.
    count = count_flops(nn.Linear(n_in, n_out), torch.randn(batch, n_in))
    assert count.macs == batch * n_out * n_in
    assert count.flops == 2 * batch * n_out * n_in
    assert count.by_operator == {"aten.addmm": 2 * batch * n_out * n_in}


@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "stride", "groups", "size"),
    [(3, 8, 3, 1, 1, 8), (4, 6, 1, 1, 1, 5), (3, 8, 3, 2, 1, 9), (8, 8, 3, 1, 8, 6)],
)
def test_conv2d_by_hand(c_in, c_out, k, stride, groups, size):
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups)
    assert count_parameters(conv) == c_out * (c_in // groups) * k * k + c_out
    x = torch.randn(2, c_in, size, size)
    out = conv(x)
    h_out, w_out = out.shape[2], out.shape[3]
    # Each output element is a dot product over (c_in / groups) * k * k inputs.
    macs = 2 * c_out * h_out * w_out * (c_in // groups) * k * k
    count = count_flops(conv, x)
    assert count.macs == macs
    assert count.flops == 2 * macs
    assert set(count.by_operator) == {"aten.convolution"}


def test_what_is_not_counted():
    # Elementwise ops, activations, pooling, BatchNorm and softmax count for nothing.
    model = nn.Sequential(nn.BatchNorm2d(4), nn.ReLU(), nn.Sigmoid(), nn.AdaptiveAvgPool2d(1),
                          nn.MaxPool2d(1), nn.Softmax(dim=1)).eval()
    count = count_flops(model, torch.randn(2, 4, 8, 8))
    assert count.flops == 0 and count.macs == 0 and count.by_operator == {}
    assert "nothing counted" in str(count)


def test_meta_device_gives_the_same_count():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 6 * 6, 10)).eval()
    real = count_flops(model, torch.randn(2, 3, 8, 8))
    with torch.device("meta"):
        meta_model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                                   nn.Linear(8 * 6 * 6, 10)).eval()
        meta = count_flops(meta_model, torch.empty(2, 3, 8, 8))
    assert meta == real
    assert real.flops == 2 * (2 * 8 * 36 * 27) + 2 * (2 * 288 * 10)


def test_trainable_only_and_shared_parameters():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(4, 2))
    assert count_parameters(model) == 20 + 10  # the shared layer once
    model[3].weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 20 + 2
    assert count_parameters(model) == 30
    # Buffers (BatchNorm running statistics) are not parameters.
    assert count_parameters(nn.BatchNorm2d(5)) == 10


def test_flopcount_macs_is_half():
    assert FlopCount(flops=10).macs == 5


def test_bad_input():
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        count_parameters("not a module")
    with pytest.raises(TypeError, match="trainable_only must be True or False"):
        count_parameters(nn.Linear(2, 2), trainable_only=1)
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        count_flops(lambda x: x, torch.randn(2))
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        summary_table(object(), (1, 2))


def test_summary_table_totals():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 1))
    stats = summary_table(model, (1, 3, 8, 8))
    assert stats.total_params == count_parameters(model) == 3 * 8 * 9 + 8 + 8 * 4 + 4
    assert "Conv2d" in str(stats)
