"""What the tests of the three figures of trained networks (chapters 4 to 6) share.

Each figure embeds data about a few test images of a shipped network (attn_lessons.checkpoints):
its accuracy, the images' labels and predictions, and what a module computed for them. These
helpers recompute the first two and read a module's input or output with a hook of the tests'
own, independently of attn_lessons.interactive.
"""

from __future__ import annotations

import json

import pytest
import torch

from attn_lessons import checkpoints
from attn_lessons.interactive import FALLBACKS, FIGURES, MAX_DATA_BYTES, to_json


def check_registered_and_small(figure: str, data: dict) -> None:
    """The figure has its data and fallback registered; its data is JSON under the limit."""
    assert figure in FIGURES and figure in FALLBACKS
    text = to_json(data)
    assert json.loads(text) == data
    assert len(text.encode()) < MAX_DATA_BYTES


def check_accuracy_and_predictions(name: str, data: dict) -> torch.Tensor:
    """The figure's accuracy, labels and predictions are the network's on the test set; returns
    the predictions (a class index per test image)."""
    network = checkpoints.load_checkpoint(name)
    x, y = checkpoints.test_set().tensors
    with torch.no_grad():
        predictions = network(x).argmax(dim=1)
    assert data["accuracy"] == pytest.approx(int((predictions == y).sum()) / len(y), abs=1e-12)
    # the manifest recorded the same accuracy when the checkpoint was made
    assert data["accuracy"] == pytest.approx(
        checkpoints.manifest()["files"][name]["test_accuracy"], abs=2e-3)
    assert data["test_images"] == len(y)
    for img in data["images"]:
        assert img["label"] == int(y[img["index"]])
        assert img["prediction"] == int(predictions[img["index"]])
    return predictions


def figure_images(data: dict) -> torch.Tensor:
    """The figure's test images, (N, C, H, W), in the figure's order."""
    return checkpoints.test_set().tensors[0][[img["index"] for img in data["images"]]]


def hooked(network, modules: dict, x: torch.Tensor, *, read: str) -> dict:
    """Run `network` on `x` and return ``{key: tensor}``: what each of ``modules[key]`` got as
    its first input (read="input") or gave as output (read="output")."""
    seen = {}
    if read == "input":
        handles = [m.register_forward_pre_hook(
            lambda _m, args, k=k: seen.__setitem__(k, args[0].detach()))
            for k, m in modules.items()]
    elif read == "output":
        handles = [m.register_forward_hook(
            lambda _m, _args, out, k=k: seen.__setitem__(k, out.detach()))
            for k, m in modules.items()]
    else:
        raise ValueError(f"read must be 'input' or 'output', got {read!r}")
    try:
        with torch.no_grad():
            network(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen
