"""Chapter 5's interactive figure: the trained Coordinate Attention's gates
(attn_lessons.interactive.coordatt), recomputed here from the module's own ``gates`` method on the
map a hook of this test's own read before the module."""

from __future__ import annotations

import json

import pytest
import torch

from attn_lessons import checkpoints
from attn_lessons.interactive import (
    FALLBACKS,
    FIGURES,
    MAX_DATA_BYTES,
    draw_fallback,
    figure_data,
    to_json,
)
from attn_lessons.interactive.coordatt import FIGURE


@pytest.fixture(scope="module")
def data():
    return figure_data(FIGURE)


@pytest.fixture(scope="module")
def expected(data):
    """``{block: (g_h (N, C, H), g_w (N, C, W))}`` from ``CoordAtt.gates`` on the hooked input."""
    network = checkpoints.load_checkpoint("coordatt")
    x = checkpoints.test_set().tensors[0][[img["index"] for img in data["images"]]]
    inputs = {}
    handles = [network.blocks[b].attention.register_forward_pre_hook(
        lambda _m, args, b=b: inputs.__setitem__(b, args[0].detach())) for b in data["blocks"]]
    try:
        with torch.no_grad():
            network(x)
    finally:
        for h in handles:
            h.remove()
    out = {}
    with torch.no_grad():
        for b in data["blocks"]:
            g_h, g_w = network.blocks[b].attention.gates(inputs[b])
            out[b] = (g_h[..., 0].double(), g_w[:, :, 0, :].double())  # (N,C,H,1), (N,C,1,W)
    return out


def test_registered_and_small(data):
    assert FIGURE in FIGURES and FIGURE in FALLBACKS
    text = to_json(data)
    assert json.loads(text) == data
    assert len(text.encode()) < MAX_DATA_BYTES


def test_accuracy(data):
    network = checkpoints.load_checkpoint("coordatt")
    x, y = checkpoints.test_set().tensors
    with torch.no_grad():
        predictions = network(x).argmax(dim=1)
    assert data["accuracy"] == pytest.approx(int((predictions == y).sum()) / len(y), abs=1e-12)
    assert data["accuracy"] == pytest.approx(
        checkpoints.manifest()["files"]["coordatt"]["test_accuracy"], abs=2e-3)
    for img in data["images"]:
        assert img["prediction"] == int(predictions[img["index"]])
        assert img["label"] == int(y[img["index"]])


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
