"""The errata page: the changelog's "Corrections" list, shown in the book as it is.

A reader of the printed v0.1.0 learns from one page what it says that is wrong. The list lives
once, in CHANGELOG.md between two markers; ``book/errata.md`` includes it (so the Chinese edition
translates it through the page's catalogue like any other page), and the page is in the book.
"""

from __future__ import annotations

import re

import yaml

from .conftest import BOOK, ROOT

START = "<!-- corrections:start -->"
END = "<!-- corrections:end -->"


def corrections() -> str:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1, (
        f"CHANGELOG.md needs exactly one {START} ... {END} block (the errata page shows it)"
    )
    before, rest = text.split(START)
    block = rest.split(END)[0]
    heading = before.rstrip().splitlines()[-1]
    assert heading == "### Corrections", (
        f"the corrections block must sit right under a '### Corrections' heading, not {heading!r}"
    )
    return block


def test_the_corrections_are_a_list_each_naming_where_it_applies():
    items = re.findall(r"^- (.*)$", corrections(), flags=re.MULTILINE)
    assert len(items) >= 5
    for item in items:
        assert re.match(r"\*\*(Preface|Chapters? [0-9]|Field guide|Glossary)", item), (
            f"each correction starts by naming the page it applies to in bold: {item!r}"
        )


def test_the_errata_page_includes_the_corrections_and_is_in_the_book():
    page = (BOOK / "errata.md").read_text(encoding="utf-8")
    assert "```{include} ../CHANGELOG.md" in page
    assert f":start-after: {START}" in page and f":end-before: {END}" in page
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    assert "book/errata" in files
