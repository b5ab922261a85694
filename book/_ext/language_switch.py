"""Two editions, one source: every page links to the same page of the other edition.

The English book is built into ``_build/html`` and the Chinese one (Sphinx's ``language`` set to
``zh_CN``, text from the gettext catalogues in ``book/locale``) into ``_build/html/zh_CN``, so page
``P`` of one edition has its twin at ``zh_CN/P.html`` or ``../P.html``. This extension puts that
link in the article header of every page (link text "中文" on English pages, "English" on Chinese
pages; template ``templates/language-switch.html``), and adds the stylesheet that sets the Chinese
pages' fonts (``static/cjk_fonts.css``: fonts installed on the reader's machine, no web fonts).

A notebook's markdown quotes its own glued values in the cross-document form
(``{glue:text}`notebook.ipynb::key:fmt```): Sphinx parses each translated message as a small
document of its own, after myst-nb has put the notebook's glue data away, and only the
cross-document form (resolved later, from ``<notebook>.glue.json``) survives that;
tests/test_notebook_conventions.py enforces it.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
#: The folder of the Chinese edition inside the English edition's output.
CHINESE_FOLDER = "zh_CN"
TEMPLATE = "language-switch.html"


def is_chinese(language: str | None) -> bool:
    """True for the Chinese edition's ``language`` (``zh_CN``, ``zh-CN``, ``zh``)."""
    return bool(language) and language.replace("-", "_").split("_")[0] == "zh"


def twin_href(pagename: str, language: str | None) -> str:
    """The relative address, from page ``pagename``, of the same page in the other edition.

    >>> twin_href("book/ch2_se/se", "en")
    '../../zh_CN/book/ch2_se/se.html'
    >>> twin_href("book/ch2_se/se", "zh_CN")
    '../../../book/ch2_se/se.html'
    """
    if not pagename or pagename.startswith("/") or ".." in pagename.split("/"):
        raise ValueError(f"not a page name: {pagename!r}")
    up = "../" * pagename.count("/")
    if is_chinese(language):
        return f"{up}../{pagename}.html"
    return f"{up}{CHINESE_FOLDER}/{pagename}.html"


def _configure(app: Sphinx, config) -> None:
    if str(TEMPLATES) not in config.templates_path:
        config.templates_path.append(str(TEMPLATES))
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))
    options = config.html_theme_options
    end = options.get("article_header_end") or ["article-header-buttons.html"]
    if isinstance(end, str):
        end = [part.strip() for part in end.split(",") if part.strip()]
    if TEMPLATE not in end:
        options["article_header_end"] = [TEMPLATE, *end]


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    chinese = is_chinese(app.config.language)
    context["language_switch"] = {
        "href": twin_href(pagename, app.config.language),
        "text": "English" if chinese else "中文",
        "lang": "en" if chinese else "zh-CN",
        "title": "Read this page in English" if chinese else "阅读本页的中文版",
    }


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure, priority=800)
    app.connect("html-page-context", _page_context)
    app.add_css_file("cjk_fonts.css", priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
