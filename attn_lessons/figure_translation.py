"""A figure drawn a second time with its text in Chinese, in the same execution (the book's build).

The book is built in two editions from one execution of each notebook (``_build/.jupyter_cache``).
A notebook's figures are PNG images drawn in the kernel, so the Chinese edition's copies must be
drawn there too. When the book's build runs a notebook, every figure the notebook shows is drawn
twice by the same PNG formatter: once as it is (the English image, unchanged), and once with every
string it draws looked up in a figure-text catalogue (``figures.po``, English to Chinese) and set
in Debian's Noto Sans CJK SC font. The Chinese copy travels in the output's metadata
(``metadata["image/png"][METADATA_KEY]["zh_CN"]``), with what it was drawn from: the translations
used and any string the catalogue lacks. The Chinese build (``book/_ext/translated_figures.py``)
shows the copy instead of the English image, and fails on a copy that is missing, drawn without the
font, or drawn from strings the catalogue does not (or no longer) translate as it did.

How the strings are swapped: while the copy is drawn, :meth:`matplotlib.text.Text.get_text` answers
with the translation. Every piece of a figure's text (titles, axis labels, tick labels, which the
axis sets from its formatter at each draw, legend entries, colour-bar labels, annotations) is a
``Text`` whose layout, extent and drawing all read it through ``get_text``, so the layout (tight
bounding box, legend frame, alignment) is computed for the Chinese strings. Nothing of the figure
is changed: the English image drawn after it is the same.

A string needs no translation when it has no two Latin letters in a row outside ``$...$`` maths
and code identifiers (numbers, tick values, symbols: ``0.5``, ``$10^{2}$``, ``d_k``, ``T = 1.0``,
``round_odd``); every other string must be in the catalogue (a name such as ``SE`` or ``CBAM`` is
translated to itself). Without the font the copy is not drawn: the record
says why, and the Chinese build fails with it, rather than show boxes for the characters.
"""

from __future__ import annotations

import base64
import re
import warnings
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path

from matplotlib.figure import Figure

#: The language of the copies, as Sphinx names it.
LANGUAGE = "zh_CN"
#: The font family of the copies (Debian's fonts-noto-cjk).
FONT_FAMILY = "Noto Sans CJK SC"
#: The key of the copies in a PNG output's metadata.
METADATA_KEY = "attn_lessons_translations"
#: Keyword of the PNG text chunk naming the language of a translated copy.
LANGUAGE_CHUNK_KEY = "attn_lessons language"

_MATHS = re.compile(r"(?<!\\)\$.*?(?<!\\)\$", re.S)
_IDENTIFIER = re.compile(r"\b[A-Za-z0-9]*_[A-Za-z0-9_]*\b")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def needs_translation(text: str) -> bool:
    """Whether ``text`` has a word for a reader: two Latin letters in a row outside ``$...$``
    maths and code identifiers (``snake_case``). A single letter is a symbol (``a``, ``d_k``,
    ``T = 0.5``), a number is a number (``0.5``, ``$10^{2}$``)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return bool(re.search(r"[A-Za-z]{2}", _IDENTIFIER.sub("", _MATHS.sub("", text))))


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a Chinese character."""
    return bool(_CJK.search(text))


def load_catalogue(path: str | Path) -> dict[str, str]:
    """The translated, non-fuzzy messages of a ``.po`` file, ``{english: chinese}``."""
    from ._catalogue import load_translations

    return load_translations(path, "figure-text")


def cjk_font_path(family: str = FONT_FAMILY) -> str:
    """The file of ``family`` as matplotlib finds it; RuntimeError naming the package without it."""
    from matplotlib import font_manager

    try:
        return font_manager.findfont(font_manager.FontProperties(family=family),
                                     fallback_to_default=False)
    except ValueError:
        raise RuntimeError(
            f"the font {family!r} is not installed (Debian: apt-get install fonts-noto-cjk), so "
            "the Chinese copies of the figures cannot be drawn; after installing it, make book "
            "(scripts/execute_notebooks.py) executes again the notebooks drawn without it"
        ) from None


@contextmanager
def translated_text(translate: Callable[[str], str], family: str = FONT_FAMILY):
    """Inside the block, every matplotlib ``Text`` reads as ``translate(its text)`` and is set in
    ``family`` first, then in its own fonts and DejaVu Sans for a glyph ``family`` lacks (``ᵀ``;
    matplotlib takes each glyph from the first font of the list that has it). Figures are not
    changed."""
    import matplotlib
    from matplotlib.font_manager import FontManager
    from matplotlib.text import Text

    first = cjk_font_path(family)
    last = matplotlib.font_manager.findfont("DejaVu Sans")  # matplotlib's own font
    original_text, original_fonts = Text.get_text, FontManager._find_fonts_by_props

    def get_text(self):
        text = original_text(self)
        return translate(text) if text else text

    def find_fonts(self, prop, *args, **kwargs):
        fonts = original_fonts(self, prop, *args, **kwargs)
        return list(dict.fromkeys([first, *fonts, last]))

    # mathtext's text outside $...$ is set in the rc's sans-serif font: the CJK font first there
    rc = {"font.sans-serif": [family, *matplotlib.rcParams["font.sans-serif"]]}
    with matplotlib.rc_context(rc):
        Text.get_text, FontManager._find_fonts_by_props = get_text, find_fonts
        try:
            yield
        finally:
            Text.get_text, FontManager._find_fonts_by_props = original_text, original_fonts


def record_language(png: bytes, language: str) -> bytes:
    """``png`` with a ``tEXt`` chunk :data:`LANGUAGE_CHUNK_KEY` naming ``language``."""
    from .visualize import record_text_chunk

    return record_text_chunk(png, LANGUAGE_CHUNK_KEY, language)


def recorded_language(png: bytes | str | Path) -> str | None:
    """The language a PNG's copy was drawn in (its :data:`LANGUAGE_CHUNK_KEY`), else ``None``."""
    from .visualize import recorded_text_chunk

    return recorded_text_chunk(png, LANGUAGE_CHUNK_KEY)


def draw_translated(fig: Figure, formatter: Callable, catalogue: Mapping[str, str]) -> dict:
    """Draw ``fig`` through ``formatter`` (an IPython PNG formatter) with its strings translated.

    Returns the record kept in the output's metadata: ``png`` (base64, the copy's smallest text
    and language recorded in it), ``translations`` (each string looked up and its translation),
    ``missing`` (strings that need a translation the catalogue lacks, drawn in English) and
    ``problems`` (glyphs that no font had, drawn as boxes: matplotlib's warnings);
    or ``error`` alone when the copy could not be drawn.
    """
    from .visualize import figure_png_with_text_size

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    try:
        cjk_font_path()
    except RuntimeError as exc:
        return {"error": str(exc)}
    used: dict[str, str] = {}
    missing: set[str] = set()

    def translate(text: str) -> str:
        if not needs_translation(text):
            return text
        if text in catalogue:
            used[text] = catalogue[text]
            return catalogue[text]
        missing.add(text)
        return text

    with warnings.catch_warnings(record=True) as caught, translated_text(translate):
        warnings.simplefilter("always")  # matplotlib warns of a glyph no font has: a box
        shown = formatter(fig)
        if isinstance(shown, tuple):  # (data, metadata), as the retina formatter returns
            shown = shown[0]
        png = base64.b64decode(shown) if isinstance(shown, str) else bytes(shown)
        png = figure_png_with_text_size(fig, png)
    png = record_language(png, LANGUAGE)
    return {"png": base64.b64encode(png).decode("ascii"),
            "translations": dict(sorted(used.items())),
            "missing": sorted(missing),
            "problems": sorted({str(w.message) for w in caught
                                if "missing from font" in str(w.message)})}


def translations_of_output(output: Mapping) -> dict | None:
    """The translated copy's record of a notebook output (``None`` when it has none)."""
    metadata = (output.get("metadata") or {}).get("image/png") or {}
    return (metadata.get(METADATA_KEY) or {}).get(LANGUAGE)


def stale_reasons(record: Mapping | None, catalogue: Mapping[str, str]) -> list[str]:
    """Why a copy's record does not show what ``catalogue`` says now ([] when it does)."""
    if record is None:
        return ["the figure has no Chinese copy (executed without the build's kernel start-up)"]
    if "error" in record:
        return [record["error"]]
    reasons = [f"no translation of {s!r} in the figure-text catalogue" for s in record["missing"]
               if s not in catalogue and needs_translation(s)]
    if any(s in catalogue for s in record["missing"]):
        reasons.append("drawn before the catalogue translated some of its strings")
    if any(catalogue.get(s) != t for s, t in record["translations"].items()):
        reasons.append("drawn with translations the catalogue has since changed")
    reasons += [f"drawing it warned: {p}" for p in record.get("problems", [])]
    return reasons


def redraw_needed(record: Mapping | None, catalogue: Mapping[str, str]) -> bool:
    """Whether executing the figure's notebook again may draw a different Chinese copy: none was
    drawn, the font is installed now, a glyph was drawn as a box (by an older version of this
    module, or with other fonts), or the catalogue translates its strings differently."""
    if record is None or record.get("problems"):
        return True
    if "error" in record:
        try:
            cjk_font_path()
        except RuntimeError:
            return False
        return True
    return (any(s in catalogue for s in record["missing"])
            or any(catalogue.get(s) != t for s, t in record["translations"].items()))


def notebook_needs_redraw(notebook, catalogue: Mapping[str, str]) -> bool:
    """Whether any PNG figure of an executed notebook needs :func:`redraw_needed`."""
    return any(redraw_needed(translations_of_output(output), catalogue)
               for cell in notebook.cells for output in cell.get("outputs", [])
               if "image/png" in (output.get("data") or {}))
