"""The reader notebooks after the build: the committed notebooks/ is what the build generates, and
every link they make to the book lands on a page and an anchor that exist.

book/_ext/reader_notebooks.py writes the reader notebooks into `_build/html/_notebooks/` at the end
of `make book`; Colab and Binder open the committed copy in `notebooks/`, so the two must be equal.
The rendering checks that need no build (no MyST left, equation numbers, absolute links) are in
tests/test_reader_notebooks.py.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import reader_notebooks as rn  # book/_ext is not a package

REFRESH = ("run `make notebooks` (it rebuilds the book and copies _build/html/_notebooks to "
           "notebooks/, _build/html/zh_CN/_notebooks to notebooks/zh_CN/) and commit notebooks/")
COMMITTED = ROOT / rn.REPO_FOLDER
BASEURL = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"]


def _notebooks(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*.ipynb"))} \
        if folder.is_dir() else {}


def test_committed_reader_notebooks_equal_the_build(book_html):
    """notebooks/ is the English build's, notebooks/zh_CN/ the Chinese build's."""
    built = _notebooks(book_html / rn.HTML_FOLDER)
    assert built, f"the build wrote no reader notebooks into {book_html / rn.HTML_FOLDER}"
    chinese = _notebooks(book_html / "zh_CN" / rn.HTML_FOLDER)
    assert sorted(chinese) == sorted(built), "the Chinese build wrote other reader notebooks"
    built.update({f"zh_CN/{name}": path for name, path in chinese.items()})
    committed = _notebooks(COMMITTED)
    assert sorted(committed) == sorted(built), f"notebooks/ and the build differ: {REFRESH}"
    stale = [name for name in built if built[name].read_bytes() != committed[name].read_bytes()]
    assert not stale, f"out of date in notebooks/: {stale}: {REFRESH}"


def _ids(page: Path) -> set[str]:
    return set(re.findall(r'\s(?:id|name)="([^"]*)"', page.read_text(encoding="utf-8",
                                                                    errors="replace")))


@pytest.mark.parametrize("name", sorted(_notebooks(COMMITTED)))
def test_links_to_the_book_resolve_in_the_build(book_html, name):
    nb = json.loads((COMMITTED / name).read_text(encoding="utf-8"))
    broken, seen = [], 0
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        for href in re.findall(r"\]\((" + re.escape(BASEURL) + r"[^)\s]*)\)", text):
            seen += 1
            parsed = urllib.parse.urlparse(href[len(BASEURL):])
            page = book_html / urllib.parse.unquote(parsed.path)
            if not page.is_file():
                broken.append(f"cell {index}: {href} (no page {parsed.path} in the build)")
            elif parsed.fragment and urllib.parse.unquote(parsed.fragment) not in _ids(page):
                broken.append(f"cell {index}: {href} (no anchor #{parsed.fragment})")
    assert not broken, f"{name}:\n" + "\n".join(broken)
