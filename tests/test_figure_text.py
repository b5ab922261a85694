"""Figure text on a phone: the smallest text of a figure, recorded in its PNG by the book style
(attn_lessons.visualize) and read from the pages' SVG diagrams by the build
(book/_ext/figure_text.py), which never shows a figure narrower than where that text is 9 px."""

from __future__ import annotations

import base64
import io
import math
import os
import sys
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from attn_lessons.visualize import (
    TEXT_SIZE_KEY,
    figure_png_with_text_size,
    png_dpi,
    record_text_size,
    record_text_size_in_shown_figures,
    recorded_text_size,
    smallest_text_points,
)

from .conftest import BOOK

sys.path.insert(0, str(BOOK / "_ext"))
import figure_text


def _png(fig, dpi: float = 100) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------
# The smallest text a figure draws
# ------------------------------------------------------------------------------------------------

def test_the_smallest_text_is_the_smallest_font_drawn():
    fig, ax = plt.subplots()
    ax.set_title("title", fontsize=14)
    ax.plot([0, 1], label="line")
    ax.legend(fontsize=6.5)
    assert smallest_text_points(fig) == 6.5
    ax.get_legend().remove()
    assert smallest_text_points(fig) == pytest.approx(10.0)  # tick labels: "medium", 10 pt
    plt.close(fig)


def test_text_that_is_not_drawn_does_not_count():
    """An axis turned off keeps its tick label objects; hidden and empty texts draw nothing."""
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((4, 4)))
    ax.axis("off")
    ax.set_title("only this", fontsize=12)
    ax.text(0, 0, "hidden", fontsize=3, visible=False)
    ax.text(0, 0, "   ", fontsize=2)
    assert smallest_text_points(fig) == 12
    ax.set_title("")
    assert smallest_text_points(fig) is None  # no text at all
    plt.close(fig)


def test_mathtext_and_figure_level_text_count():
    fig, ax = plt.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, r"$\theta_1$", fontsize=7)
    fig.suptitle("suptitle", fontsize=15)
    fig.text(0.01, 0.01, "note", fontsize=8)
    assert smallest_text_points(fig) == 7
    plt.close(fig)


def test_smallest_text_points_rejects_what_is_not_a_figure():
    with pytest.raises(TypeError, match="Figure"):
        smallest_text_points("a figure")


# ------------------------------------------------------------------------------------------------
# The record in the PNG
# ------------------------------------------------------------------------------------------------

def test_a_record_round_trips_and_leaves_the_picture_unchanged():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1])
    png = _png(fig)
    plt.close(fig)
    assert recorded_text_size(png) is None
    recorded = record_text_size(png, 11.111)
    assert recorded_text_size(recorded) == 11.11
    again = record_text_size(recorded, 9.5)  # replaces, never adds a second record
    assert recorded_text_size(again) == 9.5
    assert again.count(TEXT_SIZE_KEY.encode()) == 1
    assert recorded_text_size(record_text_size(png, None)) == math.inf  # no text
    before, after = Image.open(io.BytesIO(png)), Image.open(io.BytesIO(again))
    assert after.info[TEXT_SIZE_KEY] == "9.50"  # an ordinary PNG text chunk, read by any reader
    assert np.array_equal(np.asarray(before), np.asarray(after))


def test_a_record_can_be_read_from_a_file(tmp_path):
    fig, _ = plt.subplots(figsize=(2, 2))
    path = tmp_path / "figure.png"
    path.write_bytes(record_text_size(_png(fig), 12.0))
    plt.close(fig)
    assert recorded_text_size(path) == 12.0
    assert recorded_text_size(str(path)) == 12.0


@pytest.mark.parametrize("bad", [0, -3, float("nan"), float("inf"), "12"])
def test_record_text_size_rejects_a_size_that_is_not_a_positive_number(bad):
    fig, _ = plt.subplots(figsize=(1, 1))
    png = _png(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="px must be"):
        record_text_size(png, bad)


def test_what_is_not_a_png_is_refused():
    with pytest.raises(ValueError, match="not a PNG"):
        recorded_text_size(b"GIF89a....")
    with pytest.raises(ValueError, match="not a PNG"):
        record_text_size(b"<svg/>", 10.0)


@pytest.mark.parametrize("dpi", [72, 100, 200])
def test_the_size_is_in_pixels_of_the_png_at_the_dpi_it_was_saved_at(dpi):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("x", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    png = _png(fig, dpi=dpi)
    assert png_dpi(png) == pytest.approx(dpi, rel=1e-3)
    recorded = recorded_text_size(figure_png_with_text_size(fig, png))
    assert recorded == pytest.approx(9 * dpi / 72, abs=0.01)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------
# In IPython: every figure a notebook shows carries the record
# ------------------------------------------------------------------------------------------------

def _fake_shell():
    from IPython.core.formatters import PNGFormatter

    callbacks = []
    events = SimpleNamespace(register=lambda name, fn: callbacks.append((name, fn)))
    shell = SimpleNamespace(display_formatter=SimpleNamespace(
        formatters={"image/png": PNGFormatter()}), events=events)
    return shell, callbacks


def test_the_shells_figure_formatter_is_wrapped_now_and_after_every_execution():
    from matplotlib.figure import Figure

    shell, callbacks = _fake_shell()
    png = shell.display_formatter.formatters["image/png"]
    # as matplotlib-inline registers it: base64 text
    png.for_type(Figure, lambda fig: base64.b64encode(_png(fig)).decode("ascii"))
    record_text_size_in_shown_figures(shell)
    record_text_size_in_shown_figures(shell)  # a second call registers nothing more
    assert [name for name, _ in callbacks] == ["post_execute"]
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.axis("off")
    ax.set_title("t", fontsize=8)
    shown = base64.b64decode(png(fig))
    assert recorded_text_size(shown) == pytest.approx(8 * 100 / 72, abs=0.01)
    # a cell installs another formatter (bytes this time): wrapped again after the cell
    png.for_type(Figure, _png)
    callbacks[0][1]()
    assert recorded_text_size(png(fig)) == pytest.approx(8 * 100 / 72, abs=0.01)
    plt.close(fig)


def test_a_notebook_kernel_started_by_the_build_records_its_figures(tmp_path):
    """The real thing: a kernel started as the build starts it (PYTHONSTARTUP), a notebook
    that never calls book_style, plt.show() in its first plotting cell."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from .conftest import ROOT

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n"
                                  "fig, ax = plt.subplots(figsize=(3, 2))\n"
                                  "ax.plot([0, 1], label='a'); ax.legend(fontsize=6)\nplt.show()"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots(figsize=(2, 2)); ax.axis('off')\n"
                                  "ax.imshow([[0, 1], [1, 0]])"),
    ]
    env = {"PYTHONSTARTUP": str(figure_text.STARTUP),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    pngs = [base64.b64decode(o["data"]["image/png"]) for c in nb.cells for o in c.outputs
            if "image/png" in o.get("data", {})]
    assert [recorded_text_size(p) for p in pngs] == [pytest.approx(6 * 100 / 72, abs=0.01),
                                                     math.inf]
    # and each carries its Chinese copy (attn_lessons.figure_translation), drawn or refused
    from attn_lessons.figure_translation import translations_of_output

    copies = [translations_of_output(o) for c in nb.cells for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert len(copies) == 2 and all(c and ("png" in c or "error" in c) for c in copies)


# ------------------------------------------------------------------------------------------------
# The build: SVG diagrams read, the smallest width of an image
# ------------------------------------------------------------------------------------------------

_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="100"
  viewBox="0 0 400 100" font-size="13">
  <style>.small {{ font-size: 10px; }} text.tiny, .other {{ font-size: 7px }}</style>
  <text x="0" y="10">inherits 13</text>
  <g font-size="12"><text x="0" y="20">inherits 12<tspan font-size="{sup}">sup</tspan></text></g>
  <text class="small" font-size="20" x="0" y="30">the class rule beats the attribute</text>
  <text class="small" style="font-size: 15px" x="0" y="40">inline style beats the rule</text>
  <text x="0" y="50" font-size="5"> </text>
  {extra}
</svg>"""


def _svg(width=400, sup=11, extra=""):
    return _SVG.format(width=width, sup=sup, extra=extra).encode()


def test_an_svgs_smallest_text_follows_the_css_cascade():
    assert figure_text.svg_text_sizes(_svg()) == (400, 10)  # the class rule's 10, not 5 (blank)
    assert figure_text.svg_text_sizes(_svg(sup=8)) == (400, 8)
    assert figure_text.svg_text_sizes(_svg(extra='<text class="tiny">x</text>')) == (400, 7)
    assert figure_text.svg_text_sizes(_svg(extra='<text>a<tspan font-size="4"> </tspan>b</text>')
                                      ) == (400, 10)  # "b" is the text's, at 13


def test_an_svg_drawn_wider_than_its_view_box_scales_its_text():
    assert figure_text.svg_text_sizes(_svg(width=800)) == (800, 20)


def test_an_svg_without_text_or_with_a_selector_not_understood():
    empty = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 20"><rect/></svg>'
    assert figure_text.svg_text_sizes(empty) == (50, None)
    odd = (b'<svg xmlns="http://www.w3.org/2000/svg" width="9"><style>g > text {font-size: 3px}'
           b'</style><text>x</text></svg>')
    with pytest.raises(ValueError, match="not a simple one"):
        figure_text.svg_text_sizes(odd)


def test_every_diagram_of_the_book_is_read():
    # (book/_ext holds the site's own files, its icon among them: not figures)
    diagrams = sorted(p for p in BOOK.rglob("*.svg") if "_ext" not in p.relative_to(BOOK).parts)
    assert diagrams
    for path in diagrams:
        width, smallest = figure_text.svg_text_sizes(path.read_bytes())
        assert width > 0 and smallest is not None and 5 <= smallest <= 20, path


def test_the_smallest_width_puts_the_smallest_text_at_9_px():
    assert figure_text.MIN_TEXT_PX == 9
    assert figure_text.min_display_width(1300, 13.0) == 900
    assert figure_text.min_display_width(640, 8.0) == 720  # wider than drawn: text under 9 px
    assert figure_text.min_display_width(1300, 9.0) == 1300
    assert figure_text.min_display_width(500, math.inf) == 0  # no text: no limit
    with pytest.raises(ValueError, match="smallest_px"):
        figure_text.min_display_width(500, 0)


def test_image_text_sizes_of_png_files(tmp_path):
    fig, _ = plt.subplots(figsize=(3, 2))
    png = _png(fig)
    plt.close(fig)
    (tmp_path / "none.png").write_bytes(png)
    (tmp_path / "rec.png").write_bytes(record_text_size(png, 12.5))
    assert figure_text.image_text_sizes(tmp_path / "none.png") is None  # unknown: left alone
    assert figure_text.image_text_sizes(tmp_path / "rec.png") == (300.0, 12.5)
    (tmp_path / "d.svg").write_bytes(_svg())
    assert figure_text.image_text_sizes(tmp_path / "d.svg") == (400, 10)


def test_the_build_wraps_each_image_whose_text_it_knows(tmp_path):
    """doctree-resolved: an image with a known smallest text gets a box with its smallest width;
    an image without a record, one without text and a non-HTML build are left alone."""
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.utils import new_document

    fig, _ = plt.subplots(figsize=(6, 2))
    png = _png(fig)  # 600 px wide
    plt.close(fig)
    (tmp_path / "rec.png").write_bytes(record_text_size(png, 12.0))
    (tmp_path / "none.png").write_bytes(png)
    (tmp_path / "blank.png").write_bytes(record_text_size(png, None))
    (tmp_path / "d.svg").write_bytes(_svg())  # 400 wide, smallest 10

    def doctree():
        document = new_document("test", get_default_settings())
        for name in ("rec.png", "none.png", "blank.png", "d.svg", "missing.png"):
            figure = nodes.figure()
            figure += nodes.image(uri=name, candidates={"*": name})
            document += figure
        return document

    app = SimpleNamespace(srcdir=str(tmp_path), builder=SimpleNamespace(format="html"))
    document = doctree()
    figure_text._wrap_images(app, document, "test")
    boxes = {box[0]["uri"]: box for box in document.findall(figure_text.figure_text_box)}
    assert sorted(boxes) == ["d.svg", "rec.png"]
    assert boxes["rec.png"]["min_width"] == 450  # 600 * 9 / 12
    assert boxes["d.svg"]["min_width"] == 360  # 400 * 9 / 10
    assert all(isinstance(box.parent, nodes.figure) for box in boxes.values())
    figure_text._wrap_images(app, document, "test")  # a second pass wraps nothing twice
    assert len(list(document.findall(figure_text.figure_text_box))) == 2

    translator = SimpleNamespace(body=[])
    figure_text._visit_box(translator, boxes["rec.png"])
    figure_text._depart_box(translator, boxes["rec.png"])
    assert translator.body == [
        '<div class="book-figure-text" style="--book-figure-min-width: 450px" '
        'data-smallest-text-px="12.00" data-natural-width="600">', "</div>"]

    latex = SimpleNamespace(srcdir=str(tmp_path), builder=SimpleNamespace(format="latex"))
    untouched = doctree()
    figure_text._wrap_images(latex, untouched, "test")
    assert not list(untouched.findall(figure_text.figure_text_box))
