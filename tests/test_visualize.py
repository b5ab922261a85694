"""Figures build for every module, heat maps have the input's size and lie in [0, 1]."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from attn_lessons.factory import ATTENTION_KINDS
from attn_lessons.small_cnn import SmallCNN, capture
from attn_lessons.visualize import (
    as_image,
    attention_heatmap,
    channel_gates,
    compare_attention,
    feature_grid,
    top_channels_heatmap,
    upsample,
)


@pytest.fixture(scope="module")
def captured():
    torch.manual_seed(0)
    images = torch.randn(2, 3, 12, 16)
    kw = {"se": {"reduction": 4}, "cbam": {"reduction": 4}}
    got = {
        kind: capture(SmallCNN(3, 2, (8, 8, 8), kind, **kw.get(kind, {})), images)
        for kind in ATTENTION_KINDS
    }
    return images, got


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
@pytest.mark.parametrize("block", [0, 2])
def test_heatmaps_have_the_input_size(captured, kind, block):
    _, got = captured
    heat = attention_heatmap(kind, got[kind], block, 1, (12, 16))
    assert heat.shape == (12, 16)
    assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0 + 1e-6


def test_top_channels_picks_the_highest_gates():
    fmap = torch.zeros(4, 2, 2)
    fmap[1, 0, 0] = 1.0  # channel 1 lights the top-left corner
    fmap[3, 1, 1] = 1.0  # channel 3 the bottom-right one
    heat = top_channels_heatmap(fmap, torch.tensor([0.1, 0.9, 0.2, 0.3]), (2, 2), k=1)
    torch.testing.assert_close(heat, torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="weights has 3 entries but fmap has 4 channels"):
        top_channels_heatmap(fmap, torch.ones(3), (2, 2))


def test_self_attention_heat_is_attention_received():
    weights = torch.zeros(1, 1, 4, 4)
    weights[0, 0, :, 2] = 1.0  # every query attends to position 2 = (1, 0) in a 2x2 map
    got = {"block0.pre": torch.zeros(1, 3, 2, 2), "block0.weights": weights}
    heat = attention_heatmap("self_attention", got, 0, 0, (2, 2))
    torch.testing.assert_close(heat, torch.tensor([[0.0, 0.0], [1.0, 0.0]]))


def test_upsample_and_as_image():
    assert upsample(torch.ones(3, 4), (6, 8)).shape == (6, 8)
    assert as_image(torch.randn(1, 5, 6)).shape == (5, 6)
    assert as_image(torch.randn(3, 5, 6)).shape == (5, 6, 3)
    assert as_image(torch.randn(8, 5, 6)).shape == (5, 6, 3)


def test_figures(captured):
    images, got = captured
    fig = compare_attention(images, got, block=1)
    assert len(fig.axes) == 2 * (len(ATTENTION_KINDS) + 1) + 1  # the grid and one colour bar
    heat = [im for ax in fig.axes[:-1] for im in ax.images if im.get_alpha() is not None]
    assert heat and {im.get_cmap().name for im in heat} == {"viridis"}
    assert {im.get_clim() for im in heat} == {(0, 1)}, "one fixed scale for every heat map"
    assert fig.get_facecolor() == (1.0, 1.0, 1.0, 1.0), "an opaque white figure"
    assert [ax.get_title() for ax in fig.axes[1:7]] == list(ATTENTION_KINDS)
    plt.close(fig)
    fig = feature_grid(got["se"]["block0"][0], max_channels=5)
    assert sum(1 for ax in fig.axes if ax.images) == 5
    plt.close(fig)
    fig = channel_gates(got)
    assert [ax.get_title() for ax in fig.axes] == ["se", "eca", "cbam", "coordatt"]
    plt.close(fig)


def test_bad_input(captured):
    images, got = captured
    with pytest.raises(ValueError, match="unknown attention kind 'sk'"):
        attention_heatmap("sk", got["se"], 0, 0, (12, 16))
    with pytest.raises(ValueError, match="captured_by_kind is empty"):
        compare_attention(images, {})
    with pytest.raises(ValueError, match="must be a 4-D tensor"):
        compare_attention(images[0], got)
    with pytest.raises(ValueError, match="no.* channel gate|none of the captured"):
        channel_gates({"none": got["none"]})


def test_figures_are_white_and_viridis_whatever_the_defaults(captured):
    """A reader's dark matplotlib style must not leak into the book's figures."""
    _, got = captured
    with plt.rc_context({"figure.facecolor": "black", "axes.facecolor": "black",
                         "image.cmap": "jet"}):
        fig = feature_grid(got["se"]["block0"][0], max_channels=2)
    assert fig.get_facecolor() == (1.0, 1.0, 1.0, 1.0)
    assert {im.get_cmap().name for ax in fig.axes for im in ax.images} == {"viridis"}
    plt.close(fig)


def test_no_rainbow_colour_maps_in_the_library_or_the_notebooks():
    import re

    from .conftest import BOOK, ROOT
    pattern = re.compile(r"""cmap\s*=\s*\\?["'](jet|rainbow|hsv|gist_rainbow|nipy_spectral)""")
    files = [*(ROOT / "attn_lessons").rglob("*.py"), *BOOK.rglob("*.ipynb")]
    offenders = [str(f.relative_to(ROOT)) for f in files if pattern.search(f.read_text())]
    assert not offenders, f"rainbow colour maps (use viridis or cividis): {offenders}"


def test_book_style_sets_white_figures_and_viridis():
    with plt.rc_context():
        from attn_lessons.visualize import book_style
        book_style()
        assert plt.rcParams["figure.facecolor"] == "white"
        assert plt.rcParams["image.cmap"] == "viridis"
