"""Figures readable in the theme's dark mode: a stylesheet that gives every figure of the book a
white background of its own and leaves its colours undimmed (``static/dark_figures.css``).

The figures themselves are drawn in ``attn_lessons.visualize``'s style (an opaque white figure,
viridis), so they are also readable in a dark JupyterLab or Colab theme; the stylesheet covers
the pages' diagrams (SVG, transparent) and any notebook figure drawn with plain matplotlib.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

STATIC = Path(__file__).resolve().parent / "static"
CSS = "dark_figures.css"


def _add_static_path(app: Sphinx, config) -> None:
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _add_static_path)
    app.add_css_file(CSS, priority=900)  # after the theme's own stylesheets
    return {"parallel_read_safe": True, "parallel_write_safe": True}
