"""Every image of the Chinese edition is the Chinese one, and says so in Chinese.

After the build (the browser stage), on every page of ``_build/html/zh_CN``:

- every ``<img>`` has alt text, in Chinese (a notebook figure's from the figure-text catalogue, a
  diagram's from the page's catalogue, a launch button's logo from the theme's strings);
- every figure (an image of ``_images``) is the Chinese copy: a PNG names its language in its
  ``attn_lessons language`` text chunk (the copy drawn in the kernel with its text translated,
  attn_lessons.figure_translation), an SVG diagram is the ``.zh_CN.svg`` copy (Sphinx's
  figure_language_filename) and its text is Chinese.

And no English page shows a Chinese copy. The pages are read as served files (the ``<img>`` tags
and the image files they name): every image loading in Chromium is test_pages.py's check.
"""

from __future__ import annotations

import re
import urllib.parse
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from attn_lessons.figure_translation import has_cjk, recorded_language

from .conftest import html_dir

ZH = "zh_CN"
ASSET_DIRS = {"_static", "_sources", "_images", "_notebooks"}
_SVG_TEXT = ("{http://www.w3.org/2000/svg}text", "{http://www.w3.org/2000/svg}tspan")


def _pages(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.html")
                  if not ASSET_DIRS & set(p.relative_to(root).parts))


class _Images(HTMLParser):
    """The ``(src, alt)`` of every ``<img>`` of the page (the launch buttons' logos included)."""

    def __init__(self):
        super().__init__()
        self.images: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            attrs = dict(attrs)
            self.images.append((attrs.get("src", ""), attrs.get("alt")))


def _images(page: Path) -> list[tuple[Path | None, str, str | None]]:
    parser = _Images()
    parser.feed(page.read_text(encoding="utf-8"))
    found = []
    for src, alt in parser.images:
        if "://" in src or src.startswith("data:"):
            found.append((None, src, alt))
        else:
            found.append(((page.parent / urllib.parse.unquote(src.split("#")[0])).resolve(),
                          src, alt))
    return found


def _is_figure(path: Path | None) -> bool:
    """A figure of the book's pages (Sphinx copies them to ``_images``), not a theme's icon."""
    return path is not None and "_images" in path.parts


def _language_of(path: Path) -> str | None:
    """``zh_CN`` for a Chinese copy, else ``None``."""
    if path.suffix.lower() == ".png":
        return recorded_language(path)
    if path.suffix.lower() == ".svg":
        # Sphinx copies diagram.zh_CN.svg of two chapters as diagram.zh_CN.svg, diagram.zh_CN1.svg
        return ZH if re.search(rf"\.{ZH}\d*\.svg$", path.name) else None
    return None


CHINESE = _pages(html_dir() / ZH)
ENGLISH = [p for p in _pages(html_dir()) if ZH not in p.relative_to(html_dir()).parts]


def test_the_chinese_edition_is_built():
    if not CHINESE:
        pytest.fail(f"no Chinese pages in {html_dir() / ZH}: run `make book` first", pytrace=False)


@pytest.mark.parametrize("page", CHINESE, ids=lambda p: str(p.relative_to(html_dir())))
def test_every_image_of_a_chinese_page_is_the_chinese_one_with_chinese_alt_text(page):
    problems = []
    for path, src, alt in _images(page):
        if not alt or not has_cjk(alt):
            problems.append(f"{src}: alt text not Chinese: {alt!r}")
        if path is None or not path.is_file():
            problems.append(f"{src}: not an image file of the book")
            continue
        if not _is_figure(path):
            continue
        if _language_of(path) != ZH:
            problems.append(f"{src}: not the Chinese copy (no zh_CN language record)")
        if path.suffix.lower() == ".svg":
            texts = ["".join(el.itertext()) for el in ET.parse(path).getroot().iter()
                     if el.tag in _SVG_TEXT]
            if not any(has_cjk(t) for t in texts):
                problems.append(f"{src}: the diagram's text is not Chinese")
    assert not problems, "\n".join(problems)


def test_the_chinese_edition_has_its_figures():
    """The notebook figures and the diagrams are there to check (a build that lost them would
    pass the test above on pages without images)."""
    images = {path for page in CHINESE for path, _, _ in _images(page) if _is_figure(path)}
    assert sum(p.suffix == ".png" for p in images) >= 30
    assert sum(p.suffix == ".svg" for p in images) >= 6


def test_no_english_page_shows_a_chinese_copy():
    shown = [(str(page.relative_to(html_dir())), src) for page in ENGLISH
             for path, src, _ in _images(page)
             if path is not None and path.is_file() and _language_of(path) == ZH]
    assert not shown, f"Chinese copies on English pages: {shown[:10]}"
