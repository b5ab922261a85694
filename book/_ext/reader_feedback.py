"""A way back from every page: the theme's "open an issue" and "suggest an edit" buttons.

sphinx-book-theme draws both buttons (``use_issues_button``, ``use_edit_page_button`` in
_config.yml) in the article header's repository menu. What it does not know is that the Chinese
edition is built from the English sources and a catalogue per page, so this extension, on the
Chinese edition's pages only (``language`` zh_CN):

- points "suggest an edit" at the page's catalogue,
  ``book/locale/zh_CN/LC_MESSAGES/<docname>.po`` in the repository (:func:`catalogue_path`), where
  the text the reader sees can be corrected, instead of the English source;
- opens the issue with the edition named (``/zh_CN/<page>.html``) and its placeholder text in
  Chinese, so the report says which edition the reader was on.

The buttons' labels are translated with the theme's other strings
(book/_ext/chinese_furniture.py). tests/browser/test_pages.py checks both buttons and their links
on every page of both editions; tests/test_reader_feedback.py the addresses made here.
"""

from __future__ import annotations

import posixpath
import urllib.parse

from language_switch import CHINESE_FOLDER, is_chinese
from sphinx.application import Sphinx

EDIT_LABEL = "source-edit-button"
ISSUES_LABEL = "source-issues-button"
#: The Chinese edition's wording of the issue form and of the edit button's tooltip.
ISSUE_TITLE_ZH = "页面 {page} 的问题"
ISSUE_BODY_ZH = "请在这里描述问题（哪一句、哪个公式或哪张图，哪里不对）。"
EDIT_TOOLTIP_ZH = "修改本页的中文译文（本页的翻译目录）"


def catalogue_path(docname: str, locale_dir: str = "book/locale", language: str = "zh_CN",
                   path_to_book: str = "") -> str:
    """The repository path of a page's translation catalogue.

    >>> catalogue_path("book/ch2_se/se")
    'book/locale/zh_CN/LC_MESSAGES/book/ch2_se/se.po'
    """
    if not docname or docname.startswith("/") or ".." in docname.split("/"):
        raise ValueError(f"not a page name: {docname!r}")
    return posixpath.join(path_to_book.strip("/"), locale_dir.strip("/"), language,
                          "LC_MESSAGES", f"{docname}.po")


def edit_url(repository_url: str, branch: str, path: str) -> str:
    """GitHub's editor for `path` on `branch` of the repository.

    >>> edit_url("https://github.com/o/r", "main", "book/x.po")
    'https://github.com/o/r/edit/main/book/x.po'
    """
    if not repository_url.startswith("https://github.com/"):
        raise ValueError(f"not a GitHub repository: {repository_url!r}")
    return f"{repository_url.rstrip('/')}/edit/{branch}/{path.lstrip('/')}"


def issue_url(repository_url: str, pagename: str) -> str:
    """A new issue on the Chinese edition's page `pagename`, title and placeholder in Chinese.

    >>> issue_url("https://github.com/o/r", "book/intro").split("?")[0]
    'https://github.com/o/r/issues/new'
    """
    if not repository_url.startswith("https://github.com/"):
        raise ValueError(f"not a GitHub repository: {repository_url!r}")
    query = urllib.parse.urlencode({
        "title": ISSUE_TITLE_ZH.format(page=f"/{CHINESE_FOLDER}/{pagename}.html"),
        "body": ISSUE_BODY_ZH,
    }, quote_via=urllib.parse.quote)
    return f"{repository_url.rstrip('/')}/issues/new?{query}"


def _buttons(buttons: list[dict]):
    for button in buttons:
        yield button
        yield from _buttons(button.get("buttons") or [])


def _chinese_links(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Run after sphinx-book-theme has made the header's buttons (its handlers: priority 501)."""
    if not is_chinese(app.config.language):
        return
    options = app.config.html_theme_options
    repository = (options.get("repository_url") or "").rstrip("/")
    branch = options.get("repository_branch") or "main"
    locale_dirs = app.config.locale_dirs or ["book/locale"]
    for button in _buttons(context.get("header_buttons") or []):
        if button.get("label") == EDIT_LABEL:
            path = catalogue_path(pagename, locale_dirs[0], app.config.language,
                                  options.get("path_to_docs") or "")
            button["url"] = edit_url(repository, branch, path)
            button["tooltip"] = EDIT_TOOLTIP_ZH
        elif button.get("label") == ISSUES_LABEL:
            button["url"] = issue_url(repository, pagename)


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _chinese_links, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
