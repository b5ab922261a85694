"""The book on a phone (390 px) and on a laptop: sidebars that open, maths and code that scroll.

- ``static/sidebar_toggles.js`` makes every sidebar toggle work: the built page has two primary and
  two secondary toggle buttons, and the themes' scripts bind only the first of each
  (pydata-sphinx-theme#2451), so the visible ones did nothing. A local patch: sphinx-book-theme
  1.3.0 pins pydata-sphinx-theme exactly and the release that fixes it needs a Sphinx that Jupyter
  Book 1 excludes (the script says more, and when to remove it).
- ``static/phone_layout.css``: a display equation wider than the column scrolls inside its own
  box instead of being clipped under its number, the number stays beside it; code blocks and
  other wide content scroll inside the page, never widen it; long inline code breaks.
- ``static/wide_content.js``: on a wide screen a display equation or table wider than the column
  takes the margin beside it (the page's table of contents folds while it passes), so that every
  one fits at 1280 px; at any width an inline formula wider than its box scrolls.

tests/browser/test_pages.py measures every page of both editions at 1280 px and at 390 px.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

STATIC = Path(__file__).resolve().parent / "static"
CSS = "phone_layout.css"
SCRIPTS = ("sidebar_toggles.js", "wide_content.js")


def _add_static_path(app: Sphinx, config) -> None:
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _add_static_path)
    app.add_css_file(CSS, priority=900)  # after the themes' stylesheets
    for script in SCRIPTS:
        app.add_js_file(script, priority=900)  # after the themes' scripts (their handlers first)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
