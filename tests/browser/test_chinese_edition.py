"""The Chinese edition (built by `make book` into _build/html/zh_CN) against the English one.

After the build (the browser stage):

- every English page has its Chinese twin, each links to the other ("中文" / "English"), and the
  link works in the browser both ways;
- each Chinese page has as many equations, figures, exercises, solutions and cross-references as
  its English page, counted in the built HTML (a translation that drops a role or a maths span
  shows here even if the checker was bypassed);
- Chinese text is drawn with a CJK font installed on the machine (Chrome DevTools Protocol:
  CSS.getPlatformFontsForNode on Chinese text), no web font is requested;
- Chinese search works: the search index holds words segmented by jieba, and a search finds the
  glossary page from a Chinese word;
- no variant the glossary lists under ``avoid`` appears in any Chinese page.

(Console errors, requests to other hosts, images, internal links and maths rendering are checked on
every page of both editions by test_pages.py, whose page list includes zh_CN/.)
"""

from __future__ import annotations

import json
import re
import urllib.parse
from html import unescape
from html.parser import HTMLParser
from typing import ClassVar

import pytest
import yaml

from .conftest import ROOT, html_dir

ZH = "zh_CN"
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
ASSET_DIRS = {"_static", "_sources", "_images", "_notebooks"}


def _html_pages(root) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.html")
                  if not ASSET_DIRS & set(p.relative_to(root).parts))


ENGLISH = [p for p in _html_pages(html_dir()) if not p.startswith(f"{ZH}/")]
CHINESE = _html_pages(html_dir() / ZH)
BOOK_PAGES = [p for p in ENGLISH if p.startswith("book/")]


class _Counter(HTMLParser):
    """Counts, inside the page's <article>, what must be the same in both editions."""

    KINDS: ClassVar[dict] = {
        "display maths": lambda tag, cls: tag == "div" and "math" in cls,
        "inline maths": lambda tag, cls: tag == "span" and "math" in cls,
        "figures": lambda tag, cls: tag == "figure",
        "images": lambda tag, cls: tag == "img",
        "exercises": lambda tag, cls: "exercise" in cls and "admonition" in cls,
        "solutions": lambda tag, cls: "solution" in cls and "admonition" in cls,
        "cross-references": lambda tag, cls: tag == "a" and "internal" in cls,
        "code cells": lambda tag, cls: tag == "div" and "cell_input" in cls,
        "tables": lambda tag, cls: tag == "table",
    }

    def __init__(self):
        super().__init__()
        self.depth = 0  # inside <article> while > 0
        self.counts = dict.fromkeys(self.KINDS, 0)
        self.text: list[str] = []
        self.switch: list[tuple[str, str]] = []
        self._in_switch = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        cls = set((attrs.get("class") or "").split())
        if tag == "a" and "language-switch" in cls:
            self.switch.append((attrs.get("href", ""), ""))
            self._in_switch = True
        if tag == "article":
            self.depth += 1
        elif self.depth:
            for kind, test in self.KINDS.items():
                if test(tag, cls):
                    self.counts[kind] += 1

    def handle_endtag(self, tag):
        if tag == "article" and self.depth:
            self.depth -= 1
        if tag == "a":
            self._in_switch = False

    def handle_data(self, data):
        if self._in_switch:
            href, text = self.switch[-1]
            self.switch[-1] = (href, text + data.strip())
        if self.depth:
            self.text.append(data)


def parse(page: str) -> _Counter:
    counter = _Counter()
    counter.feed((html_dir() / page).read_text(encoding="utf-8"))
    return counter


def test_the_chinese_edition_was_built():
    assert CHINESE, f"no Chinese edition in {html_dir() / ZH}: run `make book`"
    html = (html_dir() / ZH / "book" / "intro.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN"' in html


def test_every_english_page_has_a_chinese_twin_and_no_more():
    assert sorted(ENGLISH) == sorted(CHINESE)


@pytest.mark.parametrize("page", [*BOOK_PAGES, "search.html", "genindex.html"])
def test_each_edition_links_to_the_same_page_of_the_other(page):
    english, chinese = parse(page), parse(f"{ZH}/{page}")
    assert [t for _, t in english.switch] == ["中文"], english.switch
    assert [t for _, t in chinese.switch] == ["English"], chinese.switch
    base = urllib.parse.urljoin("http://book/", page)
    zh_base = urllib.parse.urljoin("http://book/", f"{ZH}/{page}")
    assert urllib.parse.urljoin(base, english.switch[0][0]) == zh_base
    assert urllib.parse.urljoin(zh_base, chinese.switch[0][0]) == base


@pytest.mark.parametrize("page", BOOK_PAGES)
def test_chinese_page_has_the_english_pages_maths_figures_exercises_and_references(page):
    english, chinese = parse(page).counts, parse(f"{ZH}/{page}").counts
    differ = {k: (english[k], chinese[k]) for k in english if english[k] != chinese[k]}
    assert not differ, f"(English, Chinese) counts differ: {differ}"


@pytest.mark.parametrize("page", [p for p in BOOK_PAGES if "ch2_se" in p or "glossary" in p])
def test_the_language_link_works_in_the_browser_both_ways(browser, server, page):
    tab = browser.new_page()
    try:
        tab.goto(server + page, wait_until="load")
        tab.locator("a.language-switch").first.click()
        tab.wait_for_load_state("load")
        assert tab.url == server + f"{ZH}/{page}"
        assert tab.locator("html").get_attribute("lang") == "zh-CN"
        tab.locator("a.language-switch").first.click()
        tab.wait_for_load_state("load")
        assert tab.url == server + page
    finally:
        tab.close()


#: In the page: the first elements of the article whose own text has Chinese characters.
_CHINESE_ELEMENTS = r"""() => {
  const cjk = /[\u3400-\u4dbf\u4e00-\u9fff]/;
  const found = [...document.querySelectorAll('article p, article h1, article li, article td')]
    .filter(el => [...el.childNodes].some(n => n.nodeType === 3 && cjk.test(n.textContent)));
  found.slice(0, 3).forEach((el, i) => el.setAttribute('data-cjk-probe', String(i)));
  return found.length;
}"""


#: Pages whose fonts are probed (one of each kind: a prose page, a notebook page, the generated
#: glossary, the front page): the stylesheet is the same on every page, and each probe costs a
#: page load in CI.
FONT_PAGES = [f"{ZH}/book/{p}.html" for p in ("intro", "ch2_se/se", "ch2_se/se_lab", "glossary")]


@pytest.mark.parametrize("page", FONT_PAGES)
def test_chinese_text_is_drawn_with_a_local_cjk_font(browser, server, page):
    tab = browser.new_page()
    fonts_requested = []
    tab.on("request", lambda r: r.resource_type == "font" and fonts_requested.append(r.url))
    try:
        tab.goto(server + page, wait_until="load")
        if not tab.evaluate(_CHINESE_ELEMENTS):
            pytest.skip(f"{page}: no Chinese text yet (its catalogue is not translated)")
        cdp = tab.context.new_cdp_session(tab)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        probes = cdp.send("DOM.querySelectorAll", {"nodeId": root,
                                                    "selector": "[data-cjk-probe]"})["nodeIds"]
        assert probes
        for node in probes:
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            families = [f["familyName"] for f in fonts]
            assert any("CJK" in f for f in families), f"no CJK font for Chinese text: {families}"
        assert not [u for u in fonts_requested if not u.startswith(server)], fonts_requested
    finally:
        tab.close()


def _search_index(folder) -> dict:
    text = (folder / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


def test_the_chinese_search_index_holds_words_segmented_by_jieba():
    index = _search_index(html_dir() / ZH)
    words = [t for t in index["terms"] if CJK.search(t)]
    # From the glossary page (translated by its own catalogue): its title, "术语表", and its
    # first paragraph, "本书术语的英文与中文对照……", which jieba cuts into 本书 / 术语 / 的 ...
    assert {"术语", "术语表"} <= set(index["titleterms"]), index["titleterms"]
    assert {"英文", "对照"} <= set(index["terms"]), words[:20]
    # jieba segments: words of two or more characters, not one entry per character or sentence.
    assert words and sum(len(w) for w in words) / len(words) < 6, words[:20]
    assert len([w for w in words if len(w) >= 2]) > len(words) / 2, words[:20]


def test_a_chinese_search_finds_the_glossary(browser, server):
    tab = browser.new_page()
    try:
        tab.goto(server + f"{ZH}/search.html?q=" + urllib.parse.quote("术语"), wait_until="load")
        tab.wait_for_selector("#search-results li", timeout=30_000)
        links = tab.eval_on_selector_all("#search-results li a", "as => as.map(a => a.href)")
        assert any(link.endswith("book/glossary.html") for link in links), links
    finally:
        tab.close()


def test_no_glossary_variant_appears_in_a_chinese_page():
    terms = yaml.safe_load((ROOT / "book" / "glossary" / "terms.yml").read_text(encoding="utf-8"))
    avoid = {v: t["zh"] for t in terms for v in t.get("avoid") or []}
    found = []
    for page in CHINESE:
        text = "".join(parse(f"{ZH}/{page}").text)
        found += [f"{page}: {v!r} (use {t!r})" for v, t in avoid.items() if v in text]
    assert not found, "\n".join(found)


def test_the_glossary_page_lists_every_term_in_both_editions():
    terms = yaml.safe_load((ROOT / "book" / "glossary" / "terms.yml").read_text(encoding="utf-8"))
    for page in ("book/glossary.html", f"{ZH}/book/glossary.html"):
        # Docutils typesets apostrophes as ’ (smart quotes).
        html = unescape((html_dir() / page).read_text(encoding="utf-8")).replace("’", "'")
        rows = re.findall(r"<tr[ >].*?</tr>", html, re.S)
        assert len(rows) == len(terms) + 1, (page, len(rows))
        for term in terms:
            assert term["zh"] in html and term["en"] in html, (page, term["en"])
    assert "首次出现" in (html_dir() / ZH / "book" / "glossary.html").read_text(encoding="utf-8")


_ADMONITION_TITLE = re.compile(r'<p class="admonition-title">(.*?)</p>', re.S)


@pytest.mark.parametrize("page", BOOK_PAGES)
def test_exercise_and_solution_titles_are_in_chinese(page):
    """Each exercise's title, and each solution's header, in Chinese and in Chinese form.

    sphinx-exercise keeps its titles out of gettext's reach; book/_ext/exercise_titles.py brings
    them in, and writes the headers as a Chinese book does: "练习 2.1（标题）" (full-width
    parentheses, no space before them), "练习 2.1 的解答". An English title left on a Chinese page
    reads "练习 2.2（Gates that compete）".
    """
    html = (html_dir() / ZH / page).read_text(encoding="utf-8")
    titles = [" ".join(re.sub(r"<[^>]+>", "", t).split()) for t in _ADMONITION_TITLE.findall(html)]
    exercises = [t for t in titles if t.startswith(("练习", "解答"))]
    english = [t for t in exercises if "（" in t and not CJK.search(t.split("（", 1)[1])]
    assert not english, f"{page}: titles not translated: {english}"
    number = r"(?:\d+|[A-Z])\.\d+"  # chapter N, or a lettered page of the field guide
    form = re.compile(rf"练习( {number})?（\S.*）(的解答)?|练习 {number}( 的解答)?")
    wrong = [t for t in exercises if not form.fullmatch(t) or " (" in t or "  " in t]
    assert not wrong, f"{page}: headers not in Chinese form: {wrong}"


def test_the_chinese_doctrees_are_no_larger_than_the_english():
    """book/_ext/translated_doctrees.py at work: no Chinese doctree carries the environment."""
    build = html_dir().parent

    def size(folder):
        return sum(p.stat().st_size for p in (folder / "book").rglob("*.doctree"))

    english, chinese = size(build / ".doctrees"), size(build / ZH / "_build" / ".doctrees")
    assert english > 0 and chinese > 0, "doctrees not found: run `make book`"
    assert chinese < 2 * english, f"Chinese doctrees {chinese:,} B, English {english:,} B"
