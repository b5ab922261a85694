"""The two editions' configuration: the language link, the Chinese build, the glossary page.

(book/_ext/language_switch.py, scripts/build_zh.py, book/_ext/glossary_table.py; the built
editions themselves are compared after the build by tests/browser/test_chinese_edition.py.)
"""

from __future__ import annotations

import posixpath
import sys

import pytest
import yaml

from .conftest import BOOK, ROOT

sys.path.insert(0, str(BOOK / "_ext"))
sys.path.insert(0, str(ROOT / "scripts"))
import build_zh
import language_switch as ls


@pytest.mark.parametrize("page", ["book/intro", "book/ch2_se/se_lab", "search", "genindex"])
def test_twin_links_lead_to_the_same_page_of_the_other_edition_and_back(page):
    english = posixpath.normpath(posixpath.join(posixpath.dirname(page),
                                                ls.twin_href(page, "en")))
    assert english == f"zh_CN/{page}.html"
    chinese_page = f"zh_CN/{page}"
    back = posixpath.normpath(posixpath.join(posixpath.dirname(chinese_page),
                                             ls.twin_href(page, "zh_CN")))
    assert back == f"{page}.html"


@pytest.mark.parametrize("language, chinese", [("zh_CN", True), ("zh-CN", True), ("zh", True),
                                               ("en", False), (None, False), ("", False)])
def test_which_edition_is_chinese(language, chinese):
    assert ls.is_chinese(language) is chinese


@pytest.mark.parametrize("bad", ["", "/book/intro", "../book/intro", "book/../../x"])
def test_twin_href_refuses_what_is_not_a_page_name(bad):
    with pytest.raises(ValueError, match="not a page name"):
        ls.twin_href(bad, "en")


def test_the_extensions_are_configured_and_the_glossary_is_in_the_back_matter():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    local = config["sphinx"]["local_extensions"]
    assert local["language_switch"] == "book/_ext" and local["glossary_table"] == "book/_ext"
    assert config["sphinx"]["config"]["locale_dirs"] == ["book/locale"]
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    back = next(p for p in toc["parts"] if p["caption"] == "Back matter")
    assert {"file": "book/glossary"} in back["chapters"]


def test_the_chinese_build_reuses_the_cache_and_is_published_under_zh_cn(tmp_path):
    path = build_zh.edition_config(tmp_path / "_config.yml", language="zh_CN",
                                   cache=build_zh.CACHE)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    english = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["cache"] == str(ROOT / "_build" / ".jupyter_cache")
    assert config["execute"]["execute_notebooks"] == english["execute"]["execute_notebooks"]
    assert config["sphinx"]["config"]["language"] == "zh_CN"
    assert config["html"]["baseurl"] == english["html"]["baseurl"].rstrip("/") + "/zh_CN/"
    assert all(p.startswith("/") for p in config["sphinx"]["local_extensions"].values())
    assert build_zh.SITE_FOLDER == ROOT / "_build" / "html" / "zh_CN"
    assert set(build_zh.STRICT) == {"-W", "-n", "--keep-going"}


def test_make_book_builds_both_editions():
    """After the notebooks' one execution, the two editions are built (at the same time)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")

    def recipe(target: str) -> str:
        return makefile.split(f"\n{target}: ", 1)[1].split("\n\n", 1)[0]

    book = recipe("book")
    assert book.index("scripts/execute_notebooks.py") < book.index("book-en book-zh")
    assert "jupyter-book build . $(BOOK_FLAGS)" in recipe("book-en")
    assert "scripts/build_zh.py" in recipe("book-zh")
    assert "scripts/build_zh.py --catalogues" in makefile.split("\ncatalogues: ", 1)[1]
