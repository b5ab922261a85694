"""The README is written for a reader who meets the book first.

It says what the book is, links to the published book (``html.baseurl`` of _config.yml) and to one
notebook in Colab (the address the launch buttons build from ``repository.url``, its branch and
``launch_buttons.colab_url``, for the reader notebook that Colab opens), gives the two commands,
and only then sends contributors to CONTRIBUTING.md, where the machinery is described. The Chinese
README links to the Chinese book and the Chinese reader notebook. tests/test_readme_zh.py keeps
the two READMEs' sections and commands in step.
"""

from __future__ import annotations

import re
import sys
import urllib.parse

import yaml

from .conftest import BOOK, ROOT

sys.path.insert(0, str(BOOK / "_ext"))
import reader_notebooks as rn

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
BASEURL = CONFIG["html"]["baseurl"]
FIRST_NOTEBOOK = "book/preface/first_attention"
README = {"en": (ROOT / "README.md").read_text(encoding="utf-8"),
          "zh_CN": (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")}


def colab_address(reader_notebook: str) -> str:
    """As sphinx-book-theme's Colab button, pointed at the reader notebook (reader_notebooks.py)."""
    repo = urllib.parse.urlparse(CONFIG["repository"]["url"]).path.strip("/")
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    branch = CONFIG["repository"].get("branch", "main")
    return f"{colab}/github/{repo}/blob/{branch}/{reader_notebook}"


def _links(text: str) -> list[str]:
    return re.findall(r"\]\((https?://[^)\s]+)\)", text) + re.findall(r"<(https?://[^>\s]+)>", text)


def test_the_readme_links_to_the_published_books():
    for language, text in README.items():
        links = _links(text)
        assert BASEURL in links, f"README ({language}) does not link to the book at {BASEURL}"
        assert f"{BASEURL}zh_CN/" in links, f"README ({language}) has no link to the Chinese book"


def test_the_readme_links_to_the_first_notebook_in_colab_as_the_launch_buttons_do():
    english = f"{rn.REPO_FOLDER}/{rn.reader_path(FIRST_NOTEBOOK)}"
    chinese = f"{rn.REPO_FOLDER}/zh_CN/{rn.reader_path(FIRST_NOTEBOOK)}"
    assert colab_address(english) in _links(README["en"])
    assert colab_address(chinese) in _links(README["zh_CN"])
    assert (ROOT / english).is_file() and (ROOT / chinese).is_file()


def test_the_readme_puts_the_reader_first_and_the_machinery_in_contributing():
    headings = re.findall(r"^## (.+)$", README["en"], re.M)
    assert headings[:3] == ["Read it, or run it in Colab", "The two commands", "For contributors"]
    contributors = README["en"].split("## For contributors", 1)[1].split("\n## ", 1)[0]
    assert "`CONTRIBUTING.md`" in contributors
    commands = re.findall(r"^make (\w+)", README["en"], re.M)
    assert commands == ["book", "test"], commands
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for section in ("## Reader notebooks", "## Binder and Colab", "## The printed book",
                    "## Publishing, and publishing a fork", "## Repository layout",
                    "## How to add a chapter"):
        assert section in contributing, f"CONTRIBUTING.md has no section {section!r}"
