"""The build-time translation catalogues' shared plumbing (figure text, notebook text outputs).

Both catalogues are gettext ``.po`` files in ``book/_ext/locale/zh_CN/LC_MESSAGES`` keyed by the
English: ``figures.po`` (``attn_lessons.figure_translation``, ``scripts/figure_catalogue.py``) and
``outputs.po`` (``attn_lessons.output_translation``, ``scripts/output_catalogue.py``). Reading
one, reading it once per version of the file during a build, and writing it back in the one
layout the scripts keep are the same for both, so they live here. Babel comes with Sphinx.
"""

from __future__ import annotations

import io
from pathlib import Path

__all__ = ["cached_translations", "load_translations", "write_catalogue"]


def load_translations(path: str | Path, what: str) -> dict[str, str]:
    """The translated, non-fuzzy messages of the ``.po`` file ``path``, ``{english: chinese}``.

    A missing file is a ``FileNotFoundError`` naming ``what`` it should hold.
    """
    from babel.messages.pofile import read_po

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} catalogue at {path}")
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    return {m.id: m.string for m in catalogue
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


_CACHE: dict[tuple[str, int], dict[str, str]] = {}


def cached_translations(path: str | Path, what: str) -> dict[str, str]:
    """:func:`load_translations`, read again only when the file changed (a build reads it per
    page). One entry per file is kept."""
    path = Path(path)
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _CACHE:
        for old in [k for k in _CACHE if k[0] == key[0]]:
            del _CACHE[old]
        _CACHE[key] = load_translations(path, what)
    return _CACHE[key]


def write_catalogue(path: str | Path, catalogue, header: list[str]) -> list[str]:
    """Write the babel ``catalogue`` to ``path`` atomically, with ``header`` (comment lines) on
    top, in the scripts' layout (lines of 100, the catalogue's order, no line numbers); returns
    the messages still without a translation."""
    from babel.messages.pofile import write_po

    from ._files import atomic_write_bytes

    catalogue.header_comment = "\n".join(header)
    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=100, sort_output=False, omit_header=False,
             include_lineno=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return [m.id for m in catalogue if m.id and not m.string]
