"""Figure text a reader can read on a phone: never smaller than 9 px on the screen.

A figure is an image (a notebook's PNG, a page's SVG diagram) that the theme shrinks to the width of
the page's column, and its text shrinks with it: a 1300 px chart whose smallest text is 11 px shows
that text at 3 px in a phone's 350 px column. The rule here: an image is never shown narrower than
the width at which its smallest text is :data:`MIN_TEXT_PX` pixels; where the column is narrower,
the image keeps that width inside a box of the column's width that scrolls sideways (as a wide
equation does, ``static/phone_layout.css``), and the caption stays at the column's width.

Where the sizes come from, for every image of every page (at ``doctree-resolved``):

- a PNG records its own: :func:`attn_lessons.visualize.book_style` writes the size of the
  figure's smallest text, in pixels of the PNG, into a text chunk of every PNG a notebook shows.
  The build has every notebook's kernel call it before the first cell, with no line in the
  notebooks: this extension names ``figure_text_startup.py`` in ``PYTHONSTARTUP``, which IPython
  runs at start-up. A PNG without a record (drawn before this existed, or by other means) is left
  as it is, and the browser test names it;
- an SVG is read: the font size of each ``<text>`` and ``<tspan>`` (attribute, inline style, a
  class or element rule of the file's ``<style>``, inherited from the elements around it) in the
  drawing's units, times the drawing's width over its ``viewBox`` width.

The image is then wrapped in ``<div class="book-figure-text">`` with its smallest width in a CSS
variable (``--book-figure-min-width``) and the numbers it came from in ``data-`` attributes.

``tests/browser/test_pages.py`` measures every figure's smallest text on every page of both
editions at 390 px and at 1280 px, and ``tests/test_figure_text.py`` tests the parts.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

HERE = Path(__file__).resolve().parent
STARTUP = HERE / "figure_text_startup.py"
STATIC = HERE / "static"
CSS = "figure_text.css"

#: The smallest text size, in CSS pixels, a figure may show.
MIN_TEXT_PX = 9.0

_SVG = "{http://www.w3.org/2000/svg}"
_LENGTH = re.compile(r"^\s*([0-9.]+)\s*(px)?\s*$")


class figure_text_box(nodes.General, nodes.Element):
    """The box around an image whose smallest width keeps its text at MIN_TEXT_PX."""


def _length(value: str | None) -> float | None:
    match = _LENGTH.match(value or "")
    return float(match.group(1)) if match else None


def _relative(value: str | None, inherited: float) -> float | None:
    """A font size relative to the parent's (``75%``, ``0.8em``) in pixels, else ``None``."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*(%|em)\s*", value or "")
    if not match:
        return None
    factor = float(match.group(1)) / (100.0 if match.group(2) == "%" else 1.0)
    return factor * inherited


def _declared_font_size(style: str) -> float | None:
    match = re.search(r"font-size\s*:\s*([0-9.]+)\s*(px)?\s*(;|$)", style or "")
    return float(match.group(1)) if match else None


def _style_rules(root: ET.Element) -> list[tuple[str, float]]:
    """``[(selector, size), ...]`` of the file's ``<style>`` rules that set a font size (simple
    selectors only: ``text``, ``.name``, ``text.name``)."""
    rules = []
    for style in root.iter(f"{_SVG}style"):
        for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", style.text or ""):
            size = _declared_font_size(body)
            if size is not None:
                rules.extend((s.strip(), size) for s in selectors.split(",") if s.strip())
    return rules


def _matches(selector: str, element: ET.Element) -> bool:
    tag = element.tag.removeprefix(_SVG)
    name, _, cls = selector.partition(".")
    if not re.fullmatch(r"[A-Za-z]*(\.[A-Za-z0-9_-]+)?", selector):
        raise ValueError(f"SVG <style> selector {selector!r} is not a simple one "
                         "(element, .class or element.class): teach figure_text.py to read it")
    return (not name or name == tag) and (not cls or cls in element.get("class", "").split())


def svg_text_sizes(svg: str | bytes) -> tuple[float, float | None]:
    """``(width, smallest)`` of an SVG file's text: the width it is drawn at by itself (its
    ``width``, else its ``viewBox`` width), and its smallest text at that width, in pixels
    (``None`` without text). The CSS cascade for ``font-size``: inline style, then ``<style>``
    rules, then the attribute, then the parent's size (16 px at the root, the CSS default)."""
    root = ET.fromstring(svg)
    view_box = [float(v) for v in re.split(r"[\s,]+", root.get("viewBox", "").strip()) if v]
    width = _length(root.get("width")) or (view_box[2] if len(view_box) == 4 else None)
    if not width:
        raise ValueError("the SVG has neither a width in pixels nor a viewBox")
    scale = width / view_box[2] if len(view_box) == 4 and view_box[2] else 1.0
    rules = _style_rules(root)
    sizes: list[float] = []

    def walk(element: ET.Element, inherited: float) -> None:
        size = (_declared_font_size(element.get("style", ""))
                or next((s for sel, s in reversed(rules) if _matches(sel, element)), None)
                or _length(element.get("font-size"))
                or _relative(element.get("font-size"), inherited)
                or inherited)
        if element.tag in (f"{_SVG}text", f"{_SVG}tspan") and (element.text or "").strip():
            sizes.append(size)
        for child in element:
            walk(child, size)
            if element.tag in (f"{_SVG}text", f"{_SVG}tspan") and (child.tail or "").strip():
                sizes.append(size)  # text after a tspan is the element's own

    walk(root, 16.0)
    return width, (min(sizes) * scale if sizes else None)


def image_text_sizes(path: Path) -> tuple[float, float] | None:
    """``(natural width, smallest text px)`` of an image file, or ``None`` when unknown (a PNG
    without a record, another format). ``math.inf`` as the size: an image without text."""
    suffix = path.suffix.lower()
    if suffix == ".svg":
        width, smallest = svg_text_sizes(path.read_bytes())
        return width, math.inf if smallest is None else smallest
    if suffix == ".png":
        from attn_lessons.visualize import recorded_text_size

        data = path.read_bytes()
        smallest = recorded_text_size(data)
        if smallest is None:
            return None
        return float(int.from_bytes(data[16:20], "big")), smallest  # IHDR's width
    return None


def min_display_width(natural_width: float, smallest_px: float) -> int:
    """The smallest width, in CSS pixels, at which text of ``smallest_px`` (at ``natural_width``)
    is MIN_TEXT_PX; 0 for an image without text."""
    if not smallest_px > 0:
        raise ValueError(f"smallest_px must be positive, got {smallest_px!r}")
    return math.ceil(natural_width * MIN_TEXT_PX / smallest_px) if math.isfinite(smallest_px) else 0


def _image_path(app: Sphinx, image: nodes.image) -> Path | None:
    uri = image.get("candidates", {}).get("*") or image.get("uri", "")
    if not uri or "://" in uri or uri.startswith("data:"):
        return None
    path = Path(app.srcdir, uri)
    return path if path.is_file() else None


def _wrap_images(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    for image in list(doctree.findall(nodes.image)):
        if isinstance(image.parent, figure_text_box):
            continue
        path = _image_path(app, image)
        sizes = image_text_sizes(path) if path else None
        if sizes is None:
            continue
        natural, smallest = sizes
        width = min_display_width(natural, smallest)
        if width == 0:
            continue
        box = figure_text_box(min_width=width, smallest=smallest, natural=natural)
        image.replace_self(box)
        box += image


def _visit_box(self, node: figure_text_box) -> None:
    self.body.append(
        f'<div class="book-figure-text" style="--book-figure-min-width: {node["min_width"]}px" '
        f'data-smallest-text-px="{node["smallest"]:.2f}" '
        f'data-natural-width="{node["natural"]:g}">')


def _depart_box(self, node: figure_text_box) -> None:
    self.body.append("</div>")


def _pass(self, node) -> None:
    pass


def _run_book_style_in_kernels(app: Sphinx, config) -> None:
    """Every notebook kernel the build starts runs figure_text_startup.py first (IPython runs
    the file named by PYTHONSTARTUP): the figures it shows record their smallest text."""
    os.environ["PYTHONSTARTUP"] = str(STARTUP)


def _add_static_path(app: Sphinx, config) -> None:
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _add_static_path)
    app.connect("config-inited", _run_book_style_in_kernels)
    app.add_css_file(CSS, priority=900)  # after the themes' stylesheets
    app.connect("doctree-resolved", _wrap_images)
    app.add_node(figure_text_box, html=(_visit_box, _depart_box),
                 latex=(_pass, _pass), text=(_pass, _pass), man=(_pass, _pass),
                 texinfo=(_pass, _pass))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
