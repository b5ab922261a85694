"""Chapter 1's interactive figure: the softmax at each temperature, as the library computes it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from attn_lessons.interactive import similarity as fig

from .conftest import figure_data_once

PAGE = Path(__file__).resolve().parent.parent / "book" / "ch1_similarity" / "similarity.md"


@pytest.fixture(scope="module")
def data():
    return figure_data_once("softmax-temperature")


def test_weights_are_the_softmax_at_each_temperature(data):
    scores = torch.tensor(data["scores"], dtype=torch.float64)
    for t, weights in zip(data["temperatures"], data["weights"], strict=True):
        expected = torch.exp(scores / t) / torch.exp(scores / t).sum()  # the equation, written out
        torch.testing.assert_close(torch.tensor(weights, dtype=torch.float64), expected,
                                   rtol=1e-12, atol=1e-300)


def test_grid_limits_and_start(data):
    t = data["temperatures"]
    assert t == sorted(t) and len(set(t)) == len(t)
    assert data["temperatures"][data["start"]] == 1.0
    n = len(data["scores"])
    assert data["uniform"] == 1 / n
    assert data["argmax"] == [float(i == max(range(n), key=data["scores"].__getitem__))
                              for i in range(n)]
    # The ends of the grid approach the two limits the figure marks.
    assert max(abs(a - b) for a, b in zip(data["weights"][0], data["argmax"], strict=True)) < 1e-6
    assert max(abs(w - 1 / n) for w in data["weights"][-1]) < 0.02
    assert set(fig.FALLBACK_TEMPERATURES) <= set(t)


def test_the_caption_states_the_grid(data):
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(r"for temperatures from ([\d.]+) to ([\d.]+)\.", text)
    assert match, "the caption no longer names the temperature range"
    lo, hi = (float(g) for g in match.groups())
    assert f"{data['temperatures'][0]:.2g}" == f"{lo:.2g}"
    assert f"{data['temperatures'][-1]:.2g}" == f"{hi:.2g}"
