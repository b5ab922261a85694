"""Chapter 3's interactive figure: ECA's t, kernel sizes and band, as the library computes them."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pytest
import torch

from attn_lessons.eca import ECA, eca_kernel_size
from attn_lessons.interactive import eca as fig
from attn_lessons.interactive import figure_data

PAGE = Path(__file__).resolve().parent.parent / "book" / "ch3_eca" / "eca.md"


@pytest.fixture(scope="module")
def data():
    return figure_data("eca-kernel-size")


def test_t_and_k_at_every_choice(data):
    assert data["choices"] == sorted(set(data["choices"]))
    assert data["choices"][data["start"]] == 64
    for i, c in enumerate(data["choices"]):
        t = (math.log2(c) + 1) / 2
        assert data["t"][i] == pytest.approx(t, rel=1e-15)
        paper = 2 * math.floor(t / 2) + 1
        assert data["k"]["paper"][i] == paper
        assert data["k"]["round_odd"][i] == math.floor(t + 0.5) | 1
        assert data["k"]["at_least_3"][i] == max(3, paper)


def test_runs_cover_every_channel_count(data):
    for rule, runs in data["runs"].items():
        assert runs[0][0] == 1 and runs[-1][1] == data["max_channels"]
        for (_, b, k), (a2, _, k2) in itertools.pairwise(runs):
            assert a2 == b + 1 and k2 != k
        for first, last, k in runs:
            assert {eca_kernel_size(c, rule=rule) for c in range(first, last + 1)} == {k}


@pytest.mark.parametrize("channels", [2, 5, 16, 64, 127])
def test_band_is_the_modules_matrix(data, channels):
    """The band's entry count equals the non-zeros of ECA's convolution as a C x C matrix."""
    for rule in fig.RULES:
        module = ECA(channels, rule=rule)
        with torch.no_grad():
            module.conv.weight.fill_(1.0)
            eye = torch.eye(channels)[:, None, :]  # (C, 1, C): one basis vector per row
            matrix = module.conv(eye)[:, 0, :]  # (C, 1, C) -> (C, C)
        i = data["choices"].index(channels)
        assert data["band"][rule][i] == int((matrix != 0).sum())


def test_the_alt_text_names_the_steps(data):
    text = PAGE.read_text(encoding="utf-8")
    alt = re.search(r":alt: (.*)\n:name: fig-ch3-eca-kernel-size", text).group(1)
    paper = data["runs"]["paper"]
    steps = [f"to {k} at C = {first}" for first, _, k in paper[1:]]
    assert f"steps from {paper[0][2]} {', '.join(steps[:-1])} and {steps[-1]}" in alt
    earlier = [str(first) for first, _, _ in data["runs"]["round_odd"][1:]]
    assert f"at C = {', '.join(earlier[:-1])} and {earlier[-1]}" in alt
    assert f"floor of 3 starts at {data['runs']['at_least_3'][0][2]}" in alt
    assert f"from 1 to {data['max_channels']}" in alt
