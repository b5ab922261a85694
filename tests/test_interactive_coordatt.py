"""Chapter 5's interactive figure: the trained Coordinate Attention's gates
(attn_lessons.interactive.coordatt), recomputed here from the module's own ``gates`` method on the
map a hook of this test's own read before the module."""

from __future__ import annotations

import pytest
import torch

from attn_lessons import checkpoints
from attn_lessons.interactive import draw_fallback
from attn_lessons.interactive.coordatt import FIGURE

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


@pytest.fixture(scope="module")
def expected(data):
    """``{block: (g_h (N, C, H), g_w (N, C, W))}`` from ``CoordAtt.gates`` on the hooked input."""
    network = checkpoints.load_checkpoint("coordatt")
    inputs = hooked(network, {b: network.blocks[b].attention for b in data["blocks"]},
                    figure_images(data), read="input")
    out = {}
    with torch.no_grad():
        for b in data["blocks"]:
            g_h, g_w = network.blocks[b].attention.gates(inputs[b])
            out[b] = (g_h[..., 0].double(), g_w[:, :, 0, :].double())  # (N,C,H,1), (N,C,1,W)
    return out


def test_registered_and_small(data):
    check_registered_and_small(FIGURE, data)


def test_accuracy(data):
    check_accuracy_and_predictions("coordatt", data)


def test_gates_equal_the_module(data, expected):
    assert data["channels"] == {"1": 16, "2": 32}
    for n, img in enumerate(data["images"]):
        for b in data["blocks"]:
            g_h, g_w = expected[b]
            got = img["blocks"][str(b)]
            torch.testing.assert_close(torch.tensor(got["g_h"], dtype=torch.float64), g_h[n],
                                       atol=1e-5, rtol=0)
            torch.testing.assert_close(torch.tensor(got["g_w"], dtype=torch.float64), g_w[n],
                                       atol=1e-5, rtol=0)
            torch.testing.assert_close(torch.tensor(got["g_h_mean"], dtype=torch.float64),
                                       g_h[n].mean(dim=0), atol=1e-5, rtol=0)
            torch.testing.assert_close(torch.tensor(got["g_w_mean"], dtype=torch.float64),
                                       g_w[n].mean(dim=0), atol=1e-5, rtol=0)
            # the effective 2-D gate: outer product per channel, averaged over channels
            product = torch.einsum("ci,cj->cij", g_h[n], g_w[n]).mean(dim=0)
            torch.testing.assert_close(torch.tensor(got["product_mean"], dtype=torch.float64),
                                       product, atol=1e-5, rtol=0)


def test_the_target_ratio_is_held_for_the_mean_map_and_for_each_channel(data, expected):
    """The readout follows the channel slider: each channel's own 2-D gate has its ratio."""
    from attn_lessons.interactive._trained import target_masks

    masks = target_masks([img["index"] for img in data["images"]])
    for n, img in enumerate(data["images"]):
        for b in data["blocks"]:
            g_h, g_w = expected[b]
            products = torch.einsum("ci,cj->cij", g_h[n], g_w[n])  # (C, H, W)
            cells = torch.nn.functional.max_pool2d(
                masks[n][None, None].double(), masks.shape[-1] // products.shape[-1])[0, 0] > 0
            ratios = products[:, cells].mean(dim=1) / products[:, ~cells].mean(dim=1)  # (C,)
            got = img["blocks"][str(b)]
            assert len(got["target_ratio_channels"]) == products.shape[0]
            torch.testing.assert_close(torch.tensor(got["target_ratio_channels"],
                                                    dtype=torch.float64), ratios,
                                       atol=1e-3, rtol=0)
            mean = products.mean(dim=0)
            assert got["target_ratio"] == pytest.approx(
                float(mean[cells].mean() / mean[~cells].mean()), abs=1e-3)
            # a channel's ratio is not the mean map's: the readout must change with the slider
            assert len(set(got["target_ratio_channels"])) > 1


def test_the_product_of_the_gates_is_what_the_module_multiplies_by(data):
    """y = x g_h g_w: the output over the input is the outer product, per channel."""
    network = checkpoints.load_checkpoint("coordatt")
    module = network.blocks[1].attention
    x = torch.rand(2, module.channels, 8, 8) + 0.5
    with torch.no_grad():
        g_h, g_w = module.gates(x)
        torch.testing.assert_close(module(x) / x, g_h * g_w)


def test_fallback_png(data, tmp_path):
    path = draw_fallback(FIGURE, data, tmp_path / "coordatt.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
