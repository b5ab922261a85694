"""Chapter 6's interactive figure: attention rows of the trained self-attention layer
(attn_lessons.interactive.self_attention), recomputed here from the layer's weights with the
equation written out: softmax(Q K^T / sqrt(d_k / h)) on the map a hook of this test's own read."""

from __future__ import annotations

import math

import pytest
import torch

from attn_lessons import checkpoints
from attn_lessons.interactive import draw_fallback
from attn_lessons.interactive.self_attention import FIGURE

from ._trained_figures import (
    check_accuracy_and_predictions,
    check_registered_and_small,
    figure_images,
    hooked,
)
from .conftest import figure_data_once


@pytest.fixture(scope="module")
def data():
    return figure_data_once(FIGURE)


def weights_by_hand(data):
    """``{block: (N, HW, HW)}``: the attention rows of the shipped layers, written out."""
    network = checkpoints.load_checkpoint("self_attention")
    inputs = hooked(network, {b: network.blocks[b].attention for b in data["blocks"]},
                    figure_images(data), read="input")
    out = {}
    for b in data["blocks"]:
        layer = network.blocks[b].attention
        assert layer.num_heads == 1
        tokens = inputs[b].flatten(2).transpose(1, 2).double()  # (N, C, H, W) -> (N, HW, C)
        q = tokens @ layer.q.weight.double().T + layer.q.bias.double()
        k = tokens @ layer.k.weight.double().T + layer.k.bias.double()
        out[b] = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(layer.dim_k), dim=-1)
    return out


def test_registered_and_small(data):
    check_registered_and_small(FIGURE, data)


def test_accuracy(data):
    check_accuracy_and_predictions("self_attention", data)


def test_rows_equal_the_equation(data):
    expected = weights_by_hand(data)
    assert data["shapes"] == {"1": [8, 8], "2": [4, 4]}
    assert data["heads"] == 1
    for b in data["blocks"]:
        hw = math.prod(data["shapes"][str(b)])
        assert data["scale_max"][str(b)] == hw
        for n, img in enumerate(data["images"]):
            got = torch.tensor(img["weights"][str(b)], dtype=torch.float64)  # x HW
            assert got.shape == (hw, hw)
            torch.testing.assert_close(got / hw, expected[b][n], atol=1e-3 / hw, rtol=0)
            # each row is a distribution: it sums to 1 (to the rounding)
            torch.testing.assert_close(got.sum(dim=1) / hw, torch.ones(hw, dtype=torch.float64),
                                       atol=hw * 5e-4 / hw, rtol=0)


def test_fallback_png(data, tmp_path):
    path = draw_fallback(FIGURE, data, tmp_path / "sa.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
