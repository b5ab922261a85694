"""Sphinx extension for the printed edition (`make pdf`): it acts in the ``singlehtml`` build only.

The single-page build meets nodes that extensions (myst-nb, sphinx-proof, ...) register for the
``html`` builder only; this hands ``singlehtml`` every ``html`` handler it lacks. A printed page has
nothing to click, so collapsed content is written open: a notebook cell hidden behind its summary
(the solutions of the code exercises with their checks, book/_ext/exercise_checks.py) is printed as
an open ``<details>``.

It is listed in _config.yml with the other extensions, so that the single-page build of
scripts/make_pdf.py has exactly the HTML build's configuration and reuses its doctrees: a change
in the list of extensions makes Sphinx read every page again.
"""

from __future__ import annotations

from html import escape

from sphinx.application import Sphinx


def _visit_open(self, node) -> None:
    classes = " ".join(node["classes"])
    self.body.append(f'<details open class="admonition hide {classes}">\n')
    self.body.append('<summary aria-label="Toggle hidden content">\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def _depart_open(self, node) -> None:
    self.body.append("</details>\n")


def _share_html_handlers(app: Sphinx) -> None:
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node_name, visitors in handlers.get("html", {}).items():
        single.setdefault(node_name, visitors)
    single["HideCodeCellNode"] = (_visit_open, _depart_open)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _share_html_handlers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
