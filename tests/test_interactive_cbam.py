"""Chapter 4's interactive figure: the trained CBAM's spatial gate (attn_lessons.interactive.cbam).

Every number of the embedded data is recomputed here another way: the gate by a forward hook of
this test's own on the shipped network's ``spatial.gate``, the accuracy and predictions from the
logits, the target from the noise-free test images.
"""

from __future__ import annotations

import pytest
import torch

from attn_lessons import checkpoints
from attn_lessons.data import make_task
from attn_lessons.interactive import draw_fallback
from attn_lessons.interactive.cbam import FIGURE

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
def network():
    return checkpoints.load_checkpoint("cbam")


def test_registered_and_small(data):
    check_registered_and_small(FIGURE, data)


def test_accuracy_and_predictions(data):
    predictions = check_accuracy_and_predictions("cbam", data)
    y = checkpoints.test_set().tensors[1]
    indices = [img["index"] for img in data["images"]]
    wrong = (predictions != y).nonzero().flatten().tolist()
    assert indices[:5] == [0, 1, 2, 3, 4]
    assert indices[5] == next(i for i in wrong if i >= 5)  # the first mistake is offered
    assert any(img["label"] != img["prediction"] for img in data["images"])


def test_gates_equal_a_hook_on_the_network(data, network):
    seen = hooked(network, {b: network.blocks[b].attention.spatial.gate for b in data["blocks"]},
                  figure_images(data), read="output")
    assert data["blocks"] == [1, 2]
    for n, img in enumerate(data["images"]):
        for b in data["blocks"]:
            expected = seen[b][n, 0]  # (1, h, w) -> (h, w)
            got = torch.tensor(img["gates"][str(b)], dtype=torch.float64)
            assert got.shape == expected.shape == (16 // 2 ** b, 16 // 2 ** b)
            torch.testing.assert_close(got, expected.double(), atol=1e-6, rtol=0)


def test_target_and_ratio(data):
    s = checkpoints.SETTINGS
    clean = make_task("clutter", n=s["test_images"], size=s["size"], seed=s["test_seed"],
                      noise=1e-9).tensors[0]
    for img in data["images"]:
        red = clean[img["index"]]
        target = (red[0] > 0.5) & (red[1] < 0.5) & (red[2] < 0.5)
        assert torch.equal(torch.tensor(img["target"]).bool(), target)
        assert 5 <= int(target.sum()) <= 25
        for b in data["blocks"]:
            gate = torch.tensor(img["gates"][str(b)], dtype=torch.float64)
            f = 16 // gate.shape[0]
            cells = target.reshape(gate.shape[0], f, gate.shape[1], f).any(dim=3).any(dim=1)
            ratio = gate[cells].mean() / gate[~cells].mean()
            assert img["target_ratio"][str(b)] == pytest.approx(float(ratio), abs=1e-3)


def test_what_the_chapter_says_about_the_two_blocks(data):
    """book/ch4_cbam/cbam.md, after the figure: in block 2 (index 1) the gate is higher on the
    target than elsewhere for every image offered; in block 3 (index 2) it is 1 to two decimals
    at every cell."""
    for img in data["images"]:
        assert img["target_ratio"]["1"] > 1
        gate = torch.tensor(img["gates"]["2"], dtype=torch.float64)
        assert gate.min() >= 0.995, f"image {img['index']}: block 3's gate at {gate.min()}"


def test_pixels_are_the_inputs_scaled(data):
    x = checkpoints.test_set().tensors[0]
    for img in data["images"]:
        rgb = torch.tensor(img["rgb"])  # (S, S, 3)
        raw = x[img["index"]].permute(1, 2, 0)
        scaled = (raw - raw.min()) / (raw.max() - raw.min())
        torch.testing.assert_close(rgb, scaled, atol=6e-4, rtol=0)


def test_colour_table_is_viridis(data):
    assert data["cmap"][0] == "#440154" and data["cmap"][-1] == "#fde725"


def test_fallback_png(data, tmp_path):
    path = draw_fallback(FIGURE, data, tmp_path / "cbam.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000
