"""The checkers' words in the reader's language: one message catalogue, English or Chinese.

Every verdict and hint a checker gives is written in English in the checker's source, wrapped in
:func:`tr` (or marked with :func:`mark` where it is defined before it is given, as a module-level
table of mistakes). The English text is the message's key, as in gettext: the catalogue
``attn_lessons/exercises/locale/zh_CN.po`` pairs each English message with its Chinese
translation. Values that vary (a shape, a name, a number) are named placeholders, ``{shape}``,
filled after the translation, so a translation may move them but keeps every one of them
(tests/test_exercise_messages.py checks that, and that no checker writes a message outside the
catalogue).

Why a ``.po`` file read by this module rather than gettext's compiled ``.mo``: the book's own
translation already lives in ``.po`` catalogues (book/locale), so a translator uses the same
tools and format here; the English stays beside the mistake it describes, where a maintainer
reads both; and a ``.po`` read at run time needs no build step, so the library installed from
git in Colab has its Chinese without ``msgfmt``. ``scripts/checker_messages.py`` re-extracts the
messages from the checkers into the catalogue (new ones untranslated, dropped ones removed, the
translations kept).

The language: :func:`set_language` (``"en"`` or ``"zh_CN"``) when a reader calls it, otherwise the
environment variable ``ATTN_LESSONS_LANGUAGE``, otherwise English. The Chinese reader notebooks
and the Chinese student edition set the variable in their first code cell (the generator,
book/_ext/reader_notebooks.py, writes it there), so a Chinese reader gets Chinese hints in Colab,
Binder or plain Jupyter without doing anything. A message missing from the catalogue is given
in English rather than not at all.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

#: The languages the checkers answer in; the first is the source language.
LANGUAGES = ("en", "zh_CN")
#: The environment variable the Chinese notebooks set.
ENV = "ATTN_LESSONS_LANGUAGE"
#: One catalogue per language other than English.
LOCALE = Path(__file__).with_name("locale")

#: "Correct: " and "Not yet: ", the two words a verdict starts with, per language.
VERDICTS = {
    "en": {True: "Correct: ", False: "Not yet: "},
    "zh_CN": {True: "正确：", False: "还不对："},
}

_chosen: str | None = None


def _normalise(language: Any) -> str | None:
    """``"en"`` or ``"zh_CN"`` for the usual spellings (``zh``, ``zh-CN``, ``zh_Hans``,
    ``en_US``...); None for anything else."""
    if not isinstance(language, str):
        return None
    code = language.strip().replace("-", "_").split(".")[0].lower()
    if code == "en" or code.startswith("en_"):
        return "en"
    if code in ("zh", "zh_cn", "zh_hans", "zh_hans_cn", "zh_sg"):
        return "zh_CN"
    return None


def set_language(language: str | None) -> str:
    """Make the checkers answer in ``language``, ``"en"`` or ``"zh_CN"`` (``None``: back to the
    default, the environment variable or English). Returns the language now in use.

    >>> from attn_lessons.exercises import set_language
    >>> set_language("zh_CN")
    'zh_CN'
    """
    global _chosen
    if language is None:
        _chosen = None
        return get_language()
    normalised = _normalise(language)
    if normalised is None:
        raise ValueError(f"set_language: unknown language {language!r}; the checkers answer in "
                         f"{', '.join(repr(x) for x in LANGUAGES)}")
    _chosen = normalised
    return normalised


def get_language() -> str:
    """The language the checkers answer in now: :func:`set_language`'s, else the environment
    variable's (an unknown value there is ignored), else English."""
    if _chosen is not None:
        return _chosen
    return _normalise(os.environ.get(ENV, "")) or "en"


@contextmanager
def language(code: str | None) -> Iterator[str]:
    """``with language("zh_CN"): ...``: the checkers answer in ``code`` inside the block."""
    global _chosen
    before = _chosen
    try:
        yield set_language(code)
    finally:
        _chosen = before


class Message(str):
    """A message in the reader's language that remembers its English key (``msgid``) and what
    it says in English (``english``: the key with its values filled in, in English too)."""

    msgid: str | None = None
    english: str | None = None


def mark(english: str) -> str:
    """Mark ``english`` for the catalogue without translating it now (a table of hints built at
    import time); :func:`tr` translates it where it is given."""
    return english


def tr(english: str, /, **values: Any) -> Message:
    """``english`` in the current language, its ``{placeholders}`` filled from ``values``.

    Without ``values`` the text is not formatted (braces in it stay as they are). A message
    already made by ``tr`` is returned as it is.
    """
    if isinstance(english, Message) and not values:
        return english
    lang = get_language()
    template = english if lang == "en" else catalogue(lang).get(english, english)
    try:
        text = template.format(**values) if values else template
    except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder
        text, lang = english.format(**values), "en"
    out = Message(spaced(text) if lang == "zh_CN" else text)
    out.msgid = english
    if lang == "en":
        out.english = text
    else:  # the same message in English, values made by tr in English too
        out.english = english.format(**{k: getattr(v, "english", None) or v
                                        for k, v in values.items()}) if values else english
    return out


_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_BEFORE = re.compile(rf"([{_CJK}])([A-Za-z0-9`(\[{{'\"])")
_AFTER = re.compile(rf"([A-Za-z0-9`)\]}}'\"])([{_CJK}])")


def spaced(text: str) -> str:
    """Chinese text with one space between a Chinese character and a neighbouring Latin letter,
    digit or piece of code (``你的 squeeze 应当``), as the book's Chinese pages set them: a
    placeholder filled with a code name or a number then reads right whatever it holds."""
    return _AFTER.sub(r"\1 \2", _BEFORE.sub(r"\1 \2", text))


def verdict_word(passed: bool, lang: str | None = None) -> str:
    """``"Correct: "`` / ``"Not yet: "`` in ``lang`` (default: the current language)."""
    return VERDICTS.get(lang or get_language(), VERDICTS["en"])[bool(passed)]


# --- the catalogue -----------------------------------------------------------------------------


def catalogue_path(lang: str) -> Path:
    return LOCALE / f"{lang}.po"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """``{English: translation}`` of ``lang``'s catalogue: translated, not fuzzy entries whose
    translation keeps the English's placeholders (any other is given in English)."""
    path = catalogue_path(lang)
    if not path.is_file():
        return {}
    return {e.msgid: e.msgstr for e in read_po(path.read_text(encoding="utf-8"))
            if e.msgid and e.msgstr and not e.fuzzy
            and sorted(_PLACEHOLDER.findall(e.msgid)) == sorted(_PLACEHOLDER.findall(e.msgstr))}


_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class Entry:
    """One entry of a ``.po`` file."""

    def __init__(self) -> None:
        self.msgid = ""
        self.msgstr = ""
        self.fuzzy = False
        self.comments: list[str] = []

    def __repr__(self) -> str:  # pragma: no cover - for debugging
        return f"Entry({self.msgid!r}, {self.msgstr!r}, fuzzy={self.fuzzy})"


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def read_po(text: str) -> list[Entry]:
    """The entries of a ``.po`` file (msgid, msgstr, the fuzzy flag, ``#`` comments); obsolete
    (``#~``) entries are skipped. Only what this catalogue uses: no plurals, no contexts."""
    entries: list[Entry] = []
    current: Entry | None = None
    field: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            current, field = None, None
            continue
        if line.startswith("#~"):
            continue
        if current is None:
            current = Entry()
            entries.append(current)
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                current.fuzzy = True
            current.comments.append(line)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgid", "msgstr"):
            field, line = keyword, rest.strip()
        elif not line.startswith('"') or field is None:
            raise ValueError(f"line {number} of the catalogue is not a .po line: {raw!r}")
        if not _QUOTED.fullmatch(line):
            raise ValueError(f"line {number} of the catalogue is not a quoted string: {raw!r}")
        setattr(current, field, getattr(current, field) + ast.literal_eval(line))
    return [e for e in entries if e.msgid or e.msgstr]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _wrapped(keyword: str, text: str, width: int = 76) -> list[str]:
    """``msgid "..."`` on one line if short, else gettext's form: ``msgid ""`` then pieces."""
    if len(keyword) + len(text) + 3 <= width + 3:
        return [f"{keyword} {_quote(text)}"]
    pieces, piece = [], ""
    for word in re.findall(r"\S*\s*", text):
        if piece and len(piece) + len(word) > width:
            pieces.append(piece)
            piece = ""
        while len(word) > width:  # Chinese has no spaces: cut it at the width
            pieces.append(piece + word[: width - len(piece)])
            word, piece = word[width - len(piece):], ""
        piece += word
    if piece:
        pieces.append(piece)
    return [f'{keyword} ""'] + [_quote(p) for p in pieces]


def write_po(entries: list[Entry], header: str) -> str:
    """The ``.po`` text of ``entries`` after ``header`` (comment lines and the empty entry)."""
    out = [header.rstrip("\n"), ""]
    for e in entries:
        out.extend(e.comments)
        out.extend(_wrapped("msgid", e.msgid))
        out.extend(_wrapped("msgstr", e.msgstr))
        out.append("")
    return "\n".join(out)
