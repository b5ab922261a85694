"""Cross-references and citations on the Chinese pages (book/_ext/chinese_references.py), and
citations in the Chinese reader notebooks (book/_ext/reader_notebooks.py).

A small project (two numbered chapters, one with a section page; a lettered guide part like the
book's ``_toc.yml``; an unnumbered preface; equations, a figure, an exercise, a bibliography) is
built in Chinese and in English, with and without the extension: each kind of reference takes
its Chinese form, and the English pages are the same with the extension as without it.
"""

from __future__ import annotations

import re
import struct
import sys
import zlib
from io import StringIO
from pathlib import Path

import pytest

from .conftest import BOOK

sys.path.insert(0, str(BOOK / "_ext"))
import chinese_references as cr
import reader_notebooks as rn

TOC = """\
format: jb-book
root: index
parts:
  - caption: Start
    chapters:
      - file: preface
      - file: refs
  - caption: Chapters
    numbered: true
    chapters:
      - file: ch1/one
        sections:
          - file: ch1/lab
      - file: ch2
  - caption: Guide
    numbered: true
    style: alphaupper
    restart_numbering: true
    chapters:
      - file: guide/map
      - file: guide/simam
"""

PAGES = {
    "index.md": "# 书\n\n正文。\n",
    "preface.md": "# 前言\n\n一个 notebook {doc}`ch1/lab` 用五分钟展示。\n",
    "refs.md": "# 参考文献\n\n```{bibliography}\n```\n",
    "ch1/one.md": """\
(ch1-one)=
# 点积

$$ a = b $$ (eq-one)

$$ c = d $$ (eq-two)

(ch1-sub)=
## 小节标题

由 {eq}`eq-two` 可知。SE 的激励 {eq}`eq-one`。均值（{eq}`eq-one`）。{eq}`eq-two` 给出。
池化（{eq}`eq-one`，{eq}`eq-two`）。

```{figure} pic.png
:name: fig-two

门控 $g$（{eq}`eq-one`），见 {ref}`ch2-two`。
```

```{figure} pic.png
:name: fig-one

图题。
```

{numref}`fig-one`展示了一个图。

```{exercise} 题目一
:label: ex-one

题。
```

（练习 {ref}`ex-one`）。

## 引用

见 {cite:t}`hu2018` 与 {cite}`hu2018`，以及 {cite:t}`two2019`。
""",
    "ch1/lab.md": """\
(ch1-lab)=
# 实验：点积

本实验检验{ref}`ch1-one`中的每一个公式，并回到 {ref}`ch1-sub` 一节。
""",
    "ch2.md": """\
(ch2-two)=
# 挤压-激励

这里的比较就是 {ref}`ch1-one` 中的点积。

挤压-激励（{ref}`ch2-two`）用一个数。

第 1 章（{ref}`ch1-sub`）解释了区间。

通道注意力（{ref}`ch1-one` 与 {ref}`ch2-two`）决定强调什么。

{ref}`ch2-two`（SE）、第 1 章（点积）。

CBAM 的空间门控（{ref}`ch1-one`，{eq}`eq-one`）保留了位置。

见 {ref}`guide-simam` 与 {ref}`guide-map`。

{ref}`第 1 章 <ch1-one>`保持不变。

模块名：{doc}`挤压-激励 <ch2>`、{ref}`点积 <ch1-one>`。

见 {doc}`preface`。
""",
    "guide/map.md": "(guide-map)=\n# 地图\n\n地图。\n",
    "guide/simam.md": "(guide-simam)=\n# SimAM：无参数注意力\n\n正文。\n",
}

BIB = """\
@inproceedings{hu2018,
  title={Squeeze-and-excitation networks},
  author={Hu, Jie and Shen, Li and Sun, Gang},
  booktitle={CVPR}, year={2018}}
@inproceedings{two2019,
  title={A two author paper},
  author={Alpha, Ann and Beta, Bob},
  booktitle={CVPR}, year={2019}}
"""


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


def _build(tmp: Path, language: str, with_extension: bool, builder: str = "html") -> dict[str, str]:
    """The body text of each page of the project built in `language`: {page: html} (the
    single-page builder: {"index": html})."""
    import sphinx.locale
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    src = tmp / "src"
    for name, text in PAGES.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    (src / "ch1" / "pic.png").write_bytes(_png())
    (src / "_toc.yml").write_text(TOC, encoding="utf-8")
    (src / "refs.bib").write_text(BIB, encoding="utf-8")
    extensions = ["myst_parser", "sphinx_external_toc", "sphinx_exercise",
                  "sphinxcontrib.bibtex"] + (["chinese_references"] if with_extension else [])
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BOOK / '_ext')!r})\n"
        f"extensions = {extensions!r}\nlanguage = {language!r}\n"
        "external_toc_path = '_toc.yml'\nnumfig = True\nmath_numfig = True\n"
        "math_eqref_format = '({number})'\nbibtex_bibfiles = ['refs.bib']\n"
        "bibtex_reference_style = 'author_year'\nbibtex_default_style = 'plain'\n"
        "myst_enable_extensions = ['dollarmath', 'amsmath']\nproject = 'p'\n",
        encoding="utf-8")
    saved = dict(sphinx.locale.translators)
    warnings = StringIO()
    try:
        with docutils_namespace():  # the nodes and directives this build registers go after it
            app = Sphinx(str(src), str(src), str(tmp / "out"), str(tmp / "doctrees"), builder,
                         status=StringIO(), warning=warnings, freshenv=True)
            app.build()
    finally:
        sphinx.locale.translators.clear()
        sphinx.locale.translators.update(saved)
    # A second Sphinx application in one process warns that the node classes are registered
    # again; any other warning (a reference not found, a bad citation) fails the test.
    problems = [line for line in warnings.getvalue().splitlines()
                if "WARNING" in line and "is already registered" not in line]
    assert not problems, problems
    pages = {}
    if builder == "singlehtml":
        return {"index": (tmp / "out" / "index.html").read_text(encoding="utf-8")}
    for name in PAGES:
        html = (tmp / "out" / name.replace(".md", ".html")).read_text(encoding="utf-8")
        body = html[html.index('<div class="body"'):html.index('<div class="sphinxsidebar"')]
        pages[name.removesuffix(".md")] = body
    return pages


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[tuple[str, bool], dict[str, str]]:
    return {(language, ext): _build(tmp_path_factory.mktemp(f"{language}{int(ext)}"), language,
                                    ext)
            for language in ("zh_CN", "en") for ext in (True, False)}


def _paragraphs(html: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", "", p).split()) for p in
            re.findall(r"<p>(.*?)</p>", html, re.S)]


def _zh(built, page: str) -> list[str]:
    return _paragraphs(built["zh_CN", True][page])


# --- the forms --------------------------------------------------------------------------------

def test_a_chapter_is_named_by_its_number_and_title(built):
    assert "这里的比较就是第 1 章（点积）中的点积。" in _zh(built, "ch2")
    assert "本实验检验第 1 章（点积）中的每一个公式，并回到第 1.1 节（小节标题）。" in _zh(
        built, "ch1/lab"), "the chapter, the section, and the translator's 一节 after it"


def test_inside_parentheses_the_number_alone(built):
    paragraphs = _zh(built, "ch2")
    assert "挤压-激励（第 2 章）用一个数。" in paragraphs
    assert "通道注意力（第 1 章与第 2 章）决定强调什么。" in paragraphs, "no space between CJK"
    assert "第 2 章（SE）、第 1 章（点积）。" in paragraphs, "no title before a parenthesis"
    assert "CBAM 的空间门控（第 1 章，式 (1.1)）保留了位置。" in paragraphs


def test_a_title_after_its_chapter_is_kept(built):
    assert "第 1 章（小节标题）解释了区间。" in _zh(built, "ch2")


def test_a_field_guide_page_is_named_by_its_letter(built):
    assert "见实用指南 B（SimAM：无参数注意力）与实用指南 A（地图）。" in _zh(built, "ch2")


def test_a_section_page_and_an_unnumbered_page(built):
    assert "一个 notebook 第 1.3 节（实验：点积）用五分钟展示。" in _zh(built, "preface")
    assert "见“前言”。" in _zh(built, "ch2")


def test_a_reference_with_its_own_text_is_left_alone(built):
    assert "第 1 章保持不变。" in _zh(built, "ch2")
    assert "模块名：挤压-激励、点积。" in _zh(built, "ch2"), "even a title written as the text"


def test_equations_figures_and_exercises(built):
    paragraphs = _zh(built, "ch1/one")
    assert ("由式 (1.2) 可知。SE 的激励 (1.1)。均值（式 (1.1)）。式 (1.2) 给出。 "
            "池化（式 (1.1)，(1.2)）。") in paragraphs, "式 once for a list of equations"
    figure = built["zh_CN", True]["ch1/one"].partition('id="fig-two"')[2]
    caption = re.search(r'<span class="caption-text">(.*?)</span><a class="headerlink"', figure,
                        re.S)
    assert _paragraphs(f"<p>{caption.group(1)}</p>") == [
        "门控 \\(g\\)（式 (1.1)），见第 2 章（挤压-激励）。"], "a caption's references too"
    assert "图 1.2 展示了一个图。" in paragraphs, "a space between the number and Chinese"
    assert "（练习 1.1）。" in paragraphs, "练习 written twice"


def test_citations_say_deng_and_keep_their_links(built):
    html = built["zh_CN", True]["ch1/one"]
    assert "见 Hu 等 [2018] 与 [Hu 等, 2018]，以及 Alpha 和 Beta [2019]。" in _paragraphs(html)
    assert "et al." not in re.sub(r'title="[^"]*"', "", html)
    assert len(re.findall(r'<a class="reference internal" href="../refs.html#', html)) == 3


def test_every_link_is_still_there(built):
    for page in PAGES:
        page = page.removesuffix(".md")
        with_it, without = built["zh_CN", True][page], built["zh_CN", False][page]
        assert re.findall(r'href="([^"]*)"', with_it) == re.findall(r'href="([^"]*)"', without)


def test_without_the_extension_the_chinese_page_shows_bare_titles(built):
    """What the extension fixes (the test above can fail)."""
    assert "这里的比较就是 点积 中的点积。" in _paragraphs(built["zh_CN", False]["ch2"])


def test_the_english_pages_are_unchanged(built):
    for page in PAGES:
        page = page.removesuffix(".md")
        assert built["en", True][page] == built["en", False][page], page
    assert "见 Hu et al. [2018] 与 [Hu et al., 2018]，以及 Alpha and Beta [2019]。" in _paragraphs(
        built["en", True]["ch1/one"])


def test_the_single_page_build_of_the_printed_book_too(tmp_path):
    """make pdf prints the single-page build, where every page's references are resolved from
    the root page (a reference within its own page included)."""
    paragraphs = _paragraphs(_build(tmp_path, "zh_CN", True, "singlehtml")["index"])
    for expected in ("这里的比较就是第 1 章（点积）中的点积。", "挤压-激励（第 2 章）用一个数。",
                     "见实用指南 B（SimAM：无参数注意力）与实用指南 A（地图）。",
                     "一个 notebook 第 1.3 节（实验：点积）用五分钟展示。"):
        assert expected in paragraphs, expected


# --- the rules --------------------------------------------------------------------------------

@pytest.mark.parametrize("number, compact, expected", [
    ((7,), False, "第 7 章（标题）"), ((7,), True, "第 7 章"),
    (("B",), False, "实用指南 B（标题）"), (("B",), True, "实用指南 B"),
    ((2, 7), False, "第 2.7 节（标题）"), ((2, 7), True, "第 2.7 节"),
    ((2, 7, 1), False, "第 2.7.1 节（标题）"),
    (None, False, "“标题”"), (None, True, "“标题”"),
])
def test_reference_text(number, compact, expected):
    assert cr.reference_text(number, "标题", compact=compact) == expected


def test_the_forms_are_the_reader_notebooks():
    words = rn.WORDS["zh"]
    for kind in ("chapter", "section", "guide", "chapter_bare", "section_bare", "guide_bare"):
        assert cr.FORMS[kind] == words[kind], kind


@pytest.mark.parametrize("left, right, expected", [
    ("中", "第", ""), ("中", "(", " "), ("4", "展", " "), ("k", "第", " "), ("（", "第", ""),
    ("章", "）", ""), ("”", "a", ""), ("a", "b", None), (" ", "第", None),
])
def test_the_spacing_rule(left, right, expected):
    assert cr.gap(left, right) == expected


@pytest.mark.parametrize("before, needed", [
    ("", True), ("可知。", True), ("均值（", True), ("由 ", True), ("利用", True),
    ("SE 的激励 ", False), ("式 ", False), ("公式", False), ("(2.1) 和 ", False),
    ("（第 4 章，", True), ("（式 (5.2)，", False), ("门控，", False),
])
def test_when_an_equation_needs_the_word(before, needed):
    assert cr.equation_needs_word(before) is needed


def test_inside_parentheses():
    assert cr.inside_parentheses("通道注意力（")
    assert cr.inside_parentheses("（a）与（b，")
    assert not cr.inside_parentheses("（a）与")


# --- the reader notebooks ---------------------------------------------------------------------

class _Resolver(rn.Resolver):
    baseurl = "https://example.org/book/"

    def __init__(self, language: str):
        self.words = rn.WORDS[language]

    def citation(self, key):
        table = {"hu2018": ("Hu et al.", "2018"), "two2019": ("Alpha and Beta", "2019")}
        return (*table[key], rn.Target("book/references", f"id-{key}", kind="citation"))


REFS = "https://example.org/book/book/references.html#id-"


@pytest.mark.parametrize("source, english, chinese", [
    ("{cite}`hu2018`", f"([Hu et al., 2018]({REFS}hu2018))", f"（[Hu 等，2018]({REFS}hu2018)）"),
    ("{cite:p}`hu2018,two2019`",
     f"([Hu et al., 2018]({REFS}hu2018); [Alpha and Beta, 2019]({REFS}two2019))",
     f"（[Hu 等，2018]({REFS}hu2018)；[Alpha 和 Beta，2019]({REFS}two2019)）"),
    ("{cite:t}`hu2018`", f"[Hu et al. (2018)]({REFS}hu2018)", f"[Hu 等（2018）]({REFS}hu2018)"),
    ("{cite:t}`hu2018,two2019`",
     f"[Hu et al. (2018)]({REFS}hu2018), [Alpha and Beta (2019)]({REFS}two2019)",
     f"[Hu 等（2018）]({REFS}hu2018)、[Alpha 和 Beta（2019）]({REFS}two2019)"),
])
def test_reader_notebook_citations_in_each_edition(source, english, chinese):
    for language, expected in (("en", english), ("zh", chinese)):
        out = rn.convert_markdown(source, _Resolver(language), notebook="n.ipynb", cell=0,
                                  docname="book/ch2/lab")
        assert out == expected, language
