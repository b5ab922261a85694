"""The Chinese edition shows each notebook figure's Chinese copy, with Chinese alt text.

A notebook's figures are drawn in its kernel, once per build, for both editions: the build's
kernels draw every figure shown a second time with its text translated from the figure-text
catalogue ``locale/zh_CN/LC_MESSAGES/figures.po`` (``attn_lessons.figure_translation``), and the
copy travels in the PNG output's metadata. On the Chinese edition's pages (``language`` zh_CN)
only, this extension has myst-nb write that copy instead of the English PNG, for a cell's output
and for a glued figure alike, and translates the image's alt text (a cell's
``mystnb.image.alt``) with the same catalogue.

The Chinese build fails (a warning, and the build is strict) on a figure whose copy is missing
(executed without the build's kernel start-up), was drawn without the CJK font, drew a string the
catalogue does not translate, or was drawn from translations the catalogue has since changed
(``scripts/execute_notebooks.py`` executes such a notebook again), and on alt text the catalogue
does not translate. The English edition is not touched: its images are the PNGs as shown.

The SVG diagrams of the pages need nothing here: Sphinx's ``figure_language_filename``
(``{root}.{language}{ext}``) picks ``diagram.zh_CN.svg`` beside ``diagram.svg`` in the Chinese
build. ``tests/test_figure_translation.py`` checks the catalogue and the copies of the diagrams;
``tests/browser/test_chinese_figures.py`` checks every image of the Chinese pages.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

HERE = Path(__file__).resolve().parent
CATALOGUE = HERE / "locale" / "zh_CN" / "LC_MESSAGES" / "figures.po"
LANGUAGE = "zh_CN"

logger = logging.getLogger(__name__)


def translate_alt(alt: str, catalogue: dict[str, str]) -> str | None:
    """The Chinese of an image's alt text (``None`` when the catalogue lacks it)."""
    from attn_lessons.figure_translation import needs_translation

    if not needs_translation(alt):
        return alt
    return catalogue.get(alt)


def catalogue() -> dict[str, str]:
    """The figure-text catalogue, read once per version of the file."""
    from attn_lessons._catalogue import cached_translations

    return cached_translations(CATALOGUE, "figure-text")


def chinese_render_image(original):
    """myst-nb's ``render_image``, which on a Chinese page writes the figure's Chinese copy and
    its Chinese alt text (on an English page it is the original)."""
    from attn_lessons.figure_translation import stale_reasons, translations_of_output

    def render_image(self, data):
        env = self.renderer.sphinx_env
        if env is None or (env.config.language or "").replace("-", "_") != LANGUAGE:
            return original(self, data)
        figures = catalogue()
        where = (env.docname, data.line)
        if data.mime_type == "image/png":
            record = translations_of_output({"metadata": data.output_metadata})
            reasons = stale_reasons(record, figures)
            if reasons:
                logger.warning(
                    "figure of cell %s: its Chinese copy is not what the figure-text catalogue "
                    "(book/_ext/locale/zh_CN/LC_MESSAGES/figures.po) draws: %s. Add and translate "
                    "missing strings (scripts/figure_catalogue.py), then run "
                    "scripts/execute_notebooks.py: it executes such a notebook again",
                    data.cell_index, "; ".join(r.rstrip(".") for r in reasons), location=where,
                    type="translated_figures", subtype="figure")
            if record is not None and "png" in record:
                data = dataclasses.replace(data, content=record["png"])
        nodes = original(self, data)
        for node in nodes:
            alt = node.get("alt")
            if not alt:
                continue
            chinese = translate_alt(alt, figures)
            if chinese is None:
                logger.warning("alt text of cell %s has no translation in the figure-text "
                               "catalogue (scripts/figure_catalogue.py adds it): %r",
                               data.cell_index, alt, location=where,
                               type="translated_figures", subtype="alt")
            else:
                node["alt"] = chinese
        return nodes

    render_image.chinese_edition = True
    return render_image


def setup(app: Sphinx) -> dict:
    from myst_nb.core.render import NbElementRenderer

    if not getattr(NbElementRenderer.render_image, "chinese_edition", False):
        NbElementRenderer.render_image = chinese_render_image(NbElementRenderer.render_image)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
