"""No English prose on a Chinese page: the built Chinese edition read as a reader reads it.

On every page of ``_build/html/zh_CN`` (every page the English edition has: the page list is
test_chinese_edition.py's), the visible words, article and furniture alike (header, sidebars,
table of contents, footer, the tab's title, buttons' labels, tooltips, alt texts), less code,
maths, citations and hidden nodes, hold at most 2 % of Latin-script words that are not names of
the allowlist (``book/glossary/latin_allowlist.yml``) or of the glossary. A Chinese word is two
CJK characters. The rules, and why, are scripts/chinese_prose.py's docstring;
tests/test_chinese_prose.py checks them on small pages. Read from the static HTML (no browser):
the whole edition takes a few seconds.

A failure names the page, its share and its most frequent English words, each with the text
around its first occurrence: translate that text at its source (the page's catalogue in
``book/locale/zh_CN/LC_MESSAGES``, the figure-text catalogue, the theme's strings in
``book/_ext/locale``), or, for a proper name, add it to the allowlist.
"""

from __future__ import annotations

import sys

import pytest

from .conftest import ROOT, html_dir
from .test_chinese_edition import CHINESE, ENGLISH, ZH

sys.path.insert(0, str(ROOT / "scripts"))
import chinese_prose

NAMES = chinese_prose.load_names()

# A notebook cell's text output (a ``display(Markdown(...))`` summary, a table, an experiment's
# re-run report) is held to the rule like the rest of the page: the Chinese build translates it
# from the output-text catalogue (book/_ext/translated_outputs.py) and fails on a template the
# catalogue lacks; printed output is a ``<pre>`` block, read as code.


def test_every_english_page_is_read_in_chinese():
    assert CHINESE and sorted(CHINESE) == sorted(ENGLISH), f"run `make book` ({html_dir() / ZH})"


@pytest.mark.parametrize("page", [f"{ZH}/{p}" for p in CHINESE])
def test_a_chinese_page_holds_at_most_2_percent_english_words(page):
    share = chinese_prose.latin_share((html_dir() / page).read_text(encoding="utf-8"), NAMES)
    assert share.words > 0 or page == f"{ZH}/index.html", f"{page}: no visible words"  # a redirect
    assert share.ratio <= chinese_prose.THRESHOLD, (
        f"{page}: {share.ratio:.1%} of its words are English (at most "
        f"{chinese_prose.THRESHOLD:.0%}):\n{share.report()}")
