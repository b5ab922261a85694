"""The page furniture of both editions, before the book is built.

- book/_ext/reader_feedback.py: the addresses of the "suggest an edit" (a Chinese page's catalogue)
  and "open an issue" buttons; _config.yml turns both buttons on;
- book/_ext/chinese_furniture.py: the book's catalogues of the themes' strings (mainland usage,
  every msgid one the themes or extensions really use), and the catalogue put in front of the
  theme's;
- scripts/build_zh.py: the Chinese edition's footer names the English footer's licences and links;
- a small Chinese Sphinx project with sphinx-book-theme, sphinx-exercise and these extensions,
  built here: the exercise headers in Chinese form, emphasis marked for the upright style, the
  themes' strings and the buttons as a Chinese page shows them.

The built book itself is checked page by page in the browser stage (tests/browser/test_pages.py).
"""

from __future__ import annotations

import re
import sys
import urllib.parse
from io import StringIO
from pathlib import Path

import pytest
import yaml

from .conftest import BOOK, ROOT

sys.path.insert(0, str(BOOK / "_ext"))
sys.path.insert(0, str(ROOT / "scripts"))
import build_zh
import chinese_furniture as cf
import reader_feedback as rf

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
#: Latin words a translated theme string may keep: names and file types.
NAMES = {"GitHub", "PDF", "JavaScript", "Jupyter"}


# --- the buttons ------------------------------------------------------------------------------

def test_both_buttons_are_on_and_their_extensions_listed():
    assert CONFIG["html"]["use_issues_button"] is True
    assert CONFIG["html"]["use_edit_page_button"] is True
    for name in ("reader_feedback", "chinese_furniture", "phone_layout"):
        assert CONFIG["sphinx"]["local_extensions"][name] == "book/_ext"


@pytest.mark.parametrize("docname", ["book/intro", "book/ch2_se/se", "book/ch2_se/se_lab",
                                     "book/preface/first_attention", "book/glossary"])
def test_a_chinese_pages_edit_link_opens_its_catalogue(docname):
    path = rf.catalogue_path(docname, CONFIG["sphinx"]["config"]["locale_dirs"][0])
    assert path == f"book/locale/zh_CN/LC_MESSAGES/{docname}.po"
    assert (ROOT / path).is_file(), f"{path}: no such catalogue"
    url = rf.edit_url(CONFIG["repository"]["url"], CONFIG["repository"]["branch"], path)
    assert url == f"{CONFIG['repository']['url']}/edit/main/{path}"


def test_a_chinese_issue_names_the_chinese_page_in_chinese():
    url = rf.issue_url("https://github.com/o/r", "book/ch2_se/se")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert url.startswith("https://github.com/o/r/issues/new?")
    assert "/zh_CN/book/ch2_se/se.html" in query["title"][0]
    assert CJK.search(query["title"][0]) and CJK.search(query["body"][0])
    assert not LATIN_WORD.search(query["body"][0])


@pytest.mark.parametrize("bad", ["", "/book/intro", "book/../x", "../book/intro"])
def test_a_bad_page_name_is_refused(bad):
    with pytest.raises(ValueError, match="not a page name"):
        rf.catalogue_path(bad)


@pytest.mark.parametrize("call", [lambda: rf.edit_url("https://gitlab.com/o/r", "main", "x.po"),
                                  lambda: rf.issue_url("ftp://github.com/o/r", "book/intro")])
def test_only_a_github_repository_is_accepted(call):
    with pytest.raises(ValueError, match="not a GitHub repository"):
        call()


# --- the themes' strings ----------------------------------------------------------------------

def _catalogue(domain: str) -> dict[str, str]:
    return cf.read_catalogue(cf.catalogue_file("zh_CN", domain))


@pytest.mark.parametrize("domain", cf.DOMAINS)
def test_every_theme_string_is_translated_into_chinese(domain):
    messages = _catalogue(domain)
    assert messages, f"no messages in {cf.catalogue_file('zh_CN', domain)}"
    for msgid, msgstr in messages.items():
        assert CJK.search(msgstr), f"{msgid!r} -> {msgstr!r}: no Chinese"
        words = LATIN_WORD.findall(re.sub(r"%\(\w+\)s", "", msgstr))
        assert not set(words) - NAMES, f"{msgid!r} -> {msgstr!r}"
        assert "列印" not in msgstr, f"{msgstr!r}: Taiwanese usage"
        for placeholder in re.findall(r"%\(\w+\)s", msgid):
            assert placeholder in msgstr, f"{msgid!r}: {placeholder} lost"


def test_print_is_mainland_usage():
    assert _catalogue("booktheme")["Print to PDF"] == "打印为 PDF"


def _sources_of_strings() -> str:
    """The text of everything that can ask a catalogue for a string on our pages."""
    import jupyter_book
    import myst_nb
    import pydata_sphinx_theme
    import sphinx
    import sphinx_book_theme
    import sphinx_togglebutton

    texts = []
    for package in (sphinx_book_theme, pydata_sphinx_theme, sphinx, jupyter_book, myst_nb,
                    sphinx_togglebutton):
        folder = Path(package.__file__).parent
        for path in folder.rglob("*"):
            if path.suffix in (".py", ".html") and "tests" not in path.parts:
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    texts += [p.read_text(encoding="utf-8") for p in (*(BOOK / "_ext" / "templates").glob("*.html"),
                                                      *(BOOK / "_ext").glob("*.py"))]
    return "\n".join(texts)


@pytest.mark.parametrize("domain", cf.DOMAINS)
def test_every_translated_string_is_one_the_themes_use(domain):
    """A msgid with a typo would translate nothing: each one is found in the themes' sources."""
    sources = _sources_of_strings()
    unused = [msgid for msgid in _catalogue(domain)
              if msgid not in sources
              and msgid.replace("%(copyright)s", "{{ copyright }}") not in sources]
    assert not unused, f"not used by the themes or extensions: {unused}"


def test_the_books_catalogue_comes_first_and_the_themes_translate_the_rest():
    import gettext

    class Theme(gettext.NullTranslations):
        def gettext(self, message):
            return {"Print to PDF": "列印成 PDF", "Download this page": "下载此页面",
                    "next page": "下一页"}.get(message, message)

    first = cf.BookFirst({"Print to PDF": "打印为 PDF"}, Theme())
    assert first.gettext("Print to PDF") == "打印为 PDF"
    assert first.gettext("next page") == "下一页"
    assert first.gettext("Nothing translates this") == "Nothing translates this"


# --- the Chinese footer -----------------------------------------------------------------------

def test_the_chinese_footer_names_the_english_footers_licences_and_links(tmp_path):
    english = CONFIG["html"]["extra_footer"]
    target = build_zh.edition_config(tmp_path / "_config.yml", language="zh_CN")
    chinese = yaml.safe_load(target.read_text(encoding="utf-8"))
    footer = chinese["html"]["extra_footer"]
    assert footer != english and CJK.search(footer)
    for name in ("CC BY 4.0", "MIT", "LICENSE", "THIRD_PARTY_NOTICES.md", "attn_lessons"):
        assert name in english and name in footer, name
    links = re.findall(r'href="(https://creativecommons\.org/licenses/by/4\.0/)', english)
    assert links and all(link in footer for link in links)
    words = re.findall(r"[A-Za-z][A-Za-z_]+", re.sub(r"<[^>]+>", "", footer))
    assert not set(words) - {"CC", "BY", "MIT", "LICENSE", "THIRD_PARTY_NOTICES", "md",
                             "attn_lessons"}, words
    assert CJK.search(chinese["author"])
    english_config = yaml.safe_load(build_zh.edition_config(tmp_path / "en.yml").read_text(
        encoding="utf-8"))
    assert english_config["html"]["extra_footer"] == english


# --- a small Chinese project built with the theme ---------------------------------------------

PAGE = """\
# 页面

一段*强调的文字*，和一个 *Latin* 词。

```{prf:proposition} 均值
:label: prop-means

命题的正文。
```

```{exercise} 门控的数目
:label: ex-gates

题目。
```

```{solution} ex-gates
:label: sol-gates

解答的正文。
```

```{exercise} 没有编号的练习
:label: ex-plain
:nonumber:

题目。
```

```{solution} ex-plain
:label: sol-plain

解答。
```
"""


@pytest.fixture(scope="module")
def chinese_site(tmp_path_factory) -> Path:
    """A one-page Chinese project built with the book's theme and extensions: its HTML folder."""
    import sphinx.locale
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    tmp = tmp_path_factory.mktemp("zh")
    src = tmp / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BOOK / '_ext')!r})\n"
        "extensions = ['myst_parser', 'sphinx_exercise', 'sphinx_book_theme', "
        "'language_switch', 'exercise_titles', 'chinese_furniture', 'reader_feedback', "
        "'phone_layout', 'sphinx_proof']\n"
        "language = 'zh_CN'\nlocale_dirs = ['book/locale']\nhtml_theme = 'sphinx_book_theme'\n"
        "numfig = True\n"
        "author = '贡献者'\nproject = '书'\nmyst_enable_extensions = ['colon_fence']\n"
        "html_theme_options = {'repository_url': 'https://github.com/o/r', "
        "'use_issues_button': True, 'use_edit_page_button': True, "
        "'use_repository_button': True, 'use_download_button': True, "
        "'search_bar_text': 'Search this book...'}\n", encoding="utf-8")
    (src / "index.md").write_text(PAGE, encoding="utf-8")
    # Sphinx keeps its translators in a module-level dict: the Chinese ones go when this is done.
    saved = dict(sphinx.locale.translators)
    try:
        with docutils_namespace():  # the nodes and directives this build registers go after it
            app = Sphinx(str(src), str(src), str(tmp / "out"), str(tmp / "doctrees"), "html",
                         status=StringIO(), warning=StringIO(), freshenv=True)
            app.build()
        yield tmp / "out"
    finally:
        sphinx.locale.translators.clear()
        sphinx.locale.translators.update(saved)


@pytest.fixture(scope="module")
def chinese_page(chinese_site) -> str:
    return (chinese_site / "index.html").read_text(encoding="utf-8")


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_exercise_headers_take_the_chinese_form(chinese_page):
    titles = [_text(t) for t in re.findall(r'<p class="admonition-title">(.*?)</p>', chinese_page,
                                           re.S)]
    titles = [t for t in titles if not t.startswith("命题")]  # (the proof index's proposition)
    assert "练习 1（门控的数目）" in titles, titles
    assert re.search(r'<span class="caption-number">练习 1</span>（', chinese_page), (
        "a space between the number and the parenthesis")
    assert "练习 1 的解答" in titles, titles
    assert "练习（没有编号的练习）" in titles and "练习（没有编号的练习）的解答" in titles, titles
    assert not [t for t in titles if "(" in t or "  " in t or t.startswith("解答")], titles


def test_chinese_emphasis_is_marked_and_latin_emphasis_is_not(chinese_page):
    assert '<em class="cjk">强调的文字</em>' in chinese_page
    assert "<em>Latin</em>" in chinese_page
    css = (BOOK / "_ext" / "static" / cf.CSS).read_text(encoding="utf-8")
    assert re.search(r"em\.cjk\s*\{[^}]*font-style:\s*normal[^}]*text-emphasis:", css)


def test_the_themes_strings_on_a_chinese_page(chinese_page):
    for shown in ("打印为 PDF", "建议修改", "报告问题", "作者：贡献者", "搜索本书",
                  'title="显示或隐藏全书目录"', 'title="链接到此标题"', "浅色", "深色"):
        assert shown in chinese_page, shown
    for english in ("列印", "Suggest edit", "Open issue", "Toggle primary sidebar",
                    "Search this book", "Link to this heading", "Color mode", "作者： "):
        assert english not in chinese_page, english


def test_the_buttons_of_a_chinese_page(chinese_page):
    hrefs = dict(re.findall(r'href="([^"]+)"[^>]*class="btn btn-sm (btn-source-[\w-]+)',
                            chinese_page))
    by_label = {label: href for href, label in hrefs.items()}
    assert by_label["btn-source-edit-button"] == (
        "https://github.com/o/r/edit/main/book/locale/zh_CN/LC_MESSAGES/index.po")
    issue = urllib.parse.unquote(by_label["btn-source-issues-button"])
    assert issue.startswith("https://github.com/o/r/issues/new?") and "/zh_CN/index.html" in issue


def test_the_proof_index_of_a_chinese_site_is_in_chinese(chinese_site):
    """sphinx-proof's index page: a Chinese title, the kind and the page's title in Chinese."""
    html = (chinese_site / "prf-prf.html").read_text(encoding="utf-8")
    text = _text(html[html.index("<article"):html.index("</article>")])
    assert "命题索引" in text and "命题" in text and "页面" in text and "prop-means" in text, text
    assert "Proof" not in text and "proposition" not in text, text
    assert '<code class="xref">prop-means</code>' in html
    assert "<em>命题（页面）</em>" in html, "the kind and the page's title, full-width parentheses"
    css = (BOOK / "_ext" / "static" / cf.CSS).read_text(encoding="utf-8")
    assert re.search(r'html\[lang\|="zh"\] table\.modindextable em\s*\{\s*font-style: normal', css)


def test_a_chinese_page_of_the_small_site_reads_in_chinese(chinese_site):
    """The furniture of a Chinese page and the proof index, counted as tests/browser counts the
    book's pages (scripts/chinese_prose.py): no English word outside the names."""
    import chinese_prose

    names = chinese_prose.load_names()
    # (the page's own "*Latin* 词" is the one English word it holds)
    for page, english in (("index.html", {"Latin": 1}), ("prf-prf.html", {})):
        share = chinese_prose.latin_share((chinese_site / page).read_text(encoding="utf-8"), names)
        assert share.offending == english, f"{page}: {share.report()}"
