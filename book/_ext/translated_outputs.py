"""The Chinese edition shows the text a notebook's code writes for a reader in Chinese.

A notebook's outputs come from one execution for both editions (``_build/.jupyter_cache``); the
text its code writes is English. On the Chinese edition's pages (``language`` zh_CN) only, this
extension has myst-nb translate, as it renders them, the cell outputs shown as text for a reader:
a ``text/markdown`` output (a ``display(Markdown(...))`` summary, a markdown table) line by line and
cell by cell, and a ``text/html`` output (a table, an experiment's re-run report) text node by
text node, from the output-text catalogue ``locale/zh_CN/LC_MESSAGES/outputs.po``. Its entries
are templates with the numbers and identifiers of a run replaced by ``{0}``, ``{1}``...
(``attn_lessons.output_translation``), so a re-run that measures other numbers is translated all
the same; nothing is executed again. A translation's backquoted names (```clutter```) are shown as
code in an HTML output, as markdown shows them.

The outputs printed as text (``print``, a ``text/plain`` result) are shown as they are: a
monospace block whose columns Chinese text would misalign, read as code.

The Chinese build fails (a warning, and the build is strict) on a unit of an output that needs a
translation the catalogue lacks: after a notebook's edit, ``scripts/output_catalogue.py`` adds its
new templates to the catalogue, to be translated. The English edition is not touched.
``tests/test_output_translation.py`` checks the templating and the catalogue;
``tests/browser/test_chinese_prose.py`` checks the built pages.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

HERE = Path(__file__).resolve().parent
CATALOGUE = HERE / "locale" / "zh_CN" / "LC_MESSAGES" / "outputs.po"
LANGUAGE = "zh_CN"

logger = logging.getLogger(__name__)

def catalogue() -> dict[str, str]:
    """The output-text catalogue, read once per version of the file."""
    from attn_lessons._catalogue import cached_translations

    return cached_translations(CATALOGUE, "output-text")


def _chinese_page(renderer) -> bool:
    env = renderer.renderer.sphinx_env
    return env is not None and (env.config.language or "").replace("-", "_") == LANGUAGE


def chinese_render(original, mime_type: str):
    """myst-nb's renderer of ``mime_type`` (text/markdown or text/html), which on a Chinese page
    renders the output translated (on an English page it is the original)."""
    from attn_lessons.output_translation import TRANSLATED_MIME_TYPES, Translator

    translate = TRANSLATED_MIME_TYPES[mime_type]

    def render(self, data):
        if not _chinese_page(self):
            return original(self, data)
        # a page is read again when the catalogue changes (an incremental build)
        self.renderer.sphinx_env.note_dependency(str(CATALOGUE))
        translator = Translator(catalogue())
        chinese = translate(translator, data.string)
        for template in translator.missing:
            logger.warning(
                "%s output of cell %s: no translation in the output-text catalogue "
                "(book/_ext/locale/zh_CN/LC_MESSAGES/outputs.po) of %r. Run "
                "scripts/output_catalogue.py, which adds it, and translate it",
                mime_type, data.cell_index, template,
                location=(self.renderer.sphinx_env.docname, data.line),
                type="translated_outputs", subtype="missing")
        return original(self, dataclasses.replace(data, content=chinese))

    render.chinese_edition = True
    return render


def setup(app: Sphinx) -> dict:
    from myst_nb.core.render import NbElementRenderer

    for method, mime_type in (("render_markdown", "text/markdown"),
                              ("render_text_html", "text/html")):
        original = getattr(NbElementRenderer, method)
        if not getattr(original, "chinese_edition", False):
            setattr(NbElementRenderer, method, chinese_render(original, mime_type))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
