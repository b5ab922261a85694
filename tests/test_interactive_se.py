"""Chapter 2's interactive figure: SE's parameters, operations and bytes moved, as counted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from attn_lessons.interactive import se as fig
from attn_lessons.se import SqueezeExcite

from .conftest import figure_data_once

PAGE = Path(__file__).resolve().parent.parent / "book" / "ch2_se" / "se.md"


@pytest.fixture(scope="module")
def data():
    return figure_data_once("se-cost")


def test_every_entry_is_counted_independently(data):
    for i, c in enumerate(data["channels"]):
        for j, r in enumerate(data["reductions"]):
            for k, s in enumerate(data["sizes"]):
                entry = data["cost"][i][j][k]
                if r > c:
                    assert entry is None and data["hidden"][i][j] is None
                    continue
                hidden = c // r
                params = 2 * c * hidden + hidden + c  # the equation, with biases
                assert data["hidden"][i][j] == hidden
                assert entry == {
                    "params": params,
                    "fc_macs": 2 * c * hidden,
                    "map_bytes": 4 * 3 * c * s * s,
                    "weight_bytes": 4 * params,
                    "bytes": 4 * (3 * c * s * s + params),
                }


@pytest.mark.parametrize("channels, reduction", [(16, 16), (64, 4), (256, 16), (2048, 64)])
def test_parameters_are_the_modules(data, channels, reduction):
    real = sum(p.numel() for p in SqueezeExcite(channels, reduction).parameters())
    i, j = data["channels"].index(channels), data["reductions"].index(reduction)
    assert data["cost"][i][j][0]["params"] == real


def test_bytes_count_the_elements_the_forward_pass_touches():
    """Squeeze reads x once, scale reads x and writes the output: 3 C H W elements."""
    c, s = 32, 7
    x = torch.randn(1, c, s, s)
    out = SqueezeExcite(c, 16)(x)
    assert fig.cost(c, 16, s)["map_bytes"] == 4 * (x.numel() + x.numel() + out.numel())


def test_the_caption_and_alt_name_the_grid(data):
    text = PAGE.read_text(encoding="utf-8")
    alt = re.search(r":alt: (.*)\n:name: fig-ch2-se-cost", text).group(1)
    c, r, s = data["channels"], data["reductions"], data["sizes"]
    assert f"from {c[0]} to {c[-1]}" in alt
    assert f"reductions r from {r[0]} to {r[-1]}" in alt
    assert f"from {s[0]} by {s[0]} to {s[-1]} by {s[-1]}" in alt
    assert "r = 16" in alt and 16 in r
