"""Cross-references and citations on the built Chinese pages (book/_ext/chinese_references.py).

Read from the built HTML (no browser needed), on every Chinese page of the book:

- no reference to a chapter or a field-guide page shows only that page's title in a sentence
  ("……真实网络中的注意力 中在 clutter 任务上……"): it reads "第 7 章（真实网络中的注意力）" or,
  inside parentheses, "第 7 章" (a title right after the text "第 N 章（" is allowed: the translator
  named the chapter; a table's cell may list modules by name);
- no space between a Chinese character and a reference that starts or ends with one, and one
  space between a reference that ends in a digit ("图 1.2") and the Chinese after it;
- no "练习 练习 5.1", and citations say "等", not "et al." (outside the link's title, which is the
  bibliography entry).

tests/test_chinese_references.py builds a small project and checks each form; this file checks
that the book's pages got them.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from .conftest import html_dir

ZH = html_dir() / "zh_CN"
CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_LINK = re.compile(r'<a class="reference internal" href="(?P<href>[^"]*)"[^>]*>(?P<inner>.*?)</a>',
                   re.S)
#: The inner span of a {ref}, {numref} and {doc} (Sphinx gives a {doc} the class "doc" alone).
_XREF = re.compile(r'<span class="(?:std std-(?:ref|doc|numref)|doc)"')
_TITLE = re.compile(r"<h1>(.*?)</h1>", re.S)


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def _article(html: str) -> str:
    start = html.find("<article")
    end = html.find("</article>")
    return html[start:end] if start >= 0 else ""


def _page_title(html: str) -> str:
    match = _TITLE.search(_article(html))
    title = _text(match.group(1)) if match else ""
    return re.sub(r"^[0-9A-Z.]+\.?\s+", "", title.replace("#", "")).strip()


def chapter_titles(root: Path) -> dict[str, str]:
    """The page address (relative to the Chinese site) of each numbered chapter and field-guide
    page -> its title."""
    titles = {}
    for path in sorted((root / "book").rglob("*.html")):
        html = path.read_text(encoding="utf-8")
        heading = _TITLE.search(_article(html))
        number = re.match(r"\s*([0-9]+|[A-Z])\.\s", _text(heading.group(1))) if heading else None
        if number:
            titles[str(path.relative_to(root))] = _page_title(html)
    return titles


def reference_problems(root: Path) -> dict[str, list[str]]:
    """What a Chinese reader should not meet, by kind: one line per occurrence."""
    chapters = chapter_titles(root)
    found: dict[str, list[str]] = {"bare chapter title": [], "spacing": [], "练习 练习": [],
                                   "et al.": []}
    for path in sorted((root / "book").rglob("*.html")):
        page = str(path.relative_to(root))
        article = _article(path.read_text(encoding="utf-8"))
        # A table's cell may list modules by name (the field guide's map links "挤压-激励" to
        # chapter 2 with that text on purpose): only sentences are checked for bare titles.
        cells = set(re.findall(r"<p>(.*?)</p>", "".join(re.findall(r"<table.*?</table>", article,
                                                                     re.S)), re.S))
        for paragraph in re.findall(r"<p>(.*?)</p>", article, re.S):
            for link in _LINK.finditer(paragraph):
                if not _XREF.search(link["inner"]) and "equation-" not in link["href"]:
                    continue
                text = _text(link["inner"]).strip()
                before = _text(paragraph[:link.start()])
                after = _text(paragraph[link.end():])
                where = f"{page}: …{before[-15:]}[{text}]{after[:15]}…"
                target = str((path.parent / link["href"].split("#")[0]).resolve().relative_to(
                    root.resolve())) if link["href"].split("#")[0] else page
                if paragraph not in cells and chapters.get(target) == text and not re.search(
                        r"第\s*\S+\s*章\s*（?\s*$", before):
                    found["bare chapter title"].append(where)
                if (re.search(f"[{CJK}] +$", before) and re.match(f"[{CJK}]", text)) or (
                        re.search(f"[{CJK}]$", text) and re.match(f" +[{CJK}]", after)) or (
                        re.search(r"[0-9]$", text) and re.match(f"[{CJK}]", after)):
                    found["spacing"].append(where)
                if text.startswith("练习") and re.search(r"练习\s*$", before):
                    found["练习 练习"].append(where)
        for citation in re.findall(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', article,
                                   re.S):
            if "et al." in _text(re.sub(r'title="[^"]*"', "", citation)):
                found["et al."].append(f"{page}: {_text(citation)}")
    return found


def _problems() -> dict[str, list[str]]:
    if not (ZH / "book").is_dir():
        pytest.fail(f"no Chinese edition in {ZH}: run `make book` first", pytrace=False)
    return reference_problems(ZH)


@pytest.mark.parametrize("kind", ["bare chapter title", "spacing", "练习 练习", "et al."])
def test_chinese_pages_name_references_the_chinese_way(kind):
    problems = _problems()[kind]
    assert not problems, f"{len(problems)} on the Chinese pages: {problems[:8]}"
