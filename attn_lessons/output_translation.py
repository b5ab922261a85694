"""A notebook cell's text output in Chinese, from the execution the English edition shows.

The book is built in two editions from one execution of each notebook (``_build/.jupyter_cache``).
The text a notebook's code writes for a reader (a ``display(Markdown(...))`` summary, a table's
column names and values, the experiments' re-run reports) is English in that execution. The
Chinese edition translates it at build time (``book/_ext/translated_outputs.py``), nothing is
executed again, from the output-text catalogue ``outputs.po`` (English to Chinese), kept by
``scripts/output_catalogue.py``.

A catalogue entry is a *template*: a unit of text (a line of a markdown output, a cell of a
markdown table, a text node of an HTML output outside ``<code>``) with every number and every
identifier replaced by a numbered placeholder, ``{0}``, ``{1}``..., in order. A re-run that
measures other numbers finds the same template, and the numbers of this run go back into the
translation's placeholders, whichever order the Chinese puts them in; an identifier passes through
unchanged. A number is a run of digits (with its sign, decimals, thousands commas and exponent)
not inside a word; an identifier is a word with an underscore, or with both letters and digits
(``ch2_gates``, ``block1``, ``SelfAttention2d``, a commit's hash ``5514b1a``). A unit
without an English word (numbers, symbols, identifiers) needs no translation.

The outputs printed as text (``print``, a ``text/plain`` result) are left as they are: they are
shown as a monospace block, whose columns Chinese text would misalign, and the Chinese edition
counts them as code (scripts/chinese_prose.py).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

#: A number not inside a word (sign, digits, decimals or thousands groups, exponent), or an
#: identifier: a word with an underscore, or with letters and digits (``ch2_gates``, ``block1``,
#: ``SelfAttention2d``, a commit's hash ``5514b1a``).
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(?:[+\-−]?\d+(?:[.,]\d+)*(?:[eE][+\-]?\d+)?(?![A-Za-z0-9_])"
                    r"|[A-Za-z0-9]*(?:_|[A-Za-z][0-9]|[0-9][A-Za-z])[A-Za-z0-9_]*(?![A-Za-z0-9_]))")
#: A Latin-script token (hyphens and apostrophes inside a word kept), as scripts/chinese_prose.py
#: reads a page; a token with a digit, an underscore, a dot or a slash inside is an identifier.
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’\-_./][A-Za-z0-9]+)*")
#: HTML elements whose text is not translated: code is shown as it is.
SKIPPED_TAGS = ("style", "script", "code", "pre", "kbd", "samp")
_IDENTIFIER = re.compile(r"[0-9_./]")
_MATHS = re.compile(r"(?<!\\)\$.*?(?<!\\)\$|`[^`]*`", re.S)


def needs_translation(text: str) -> bool:
    """Whether ``text`` has an English word for a reader: a Latin token of two letters or more
    that is not an identifier (no digit, underscore, dot or slash inside), outside ``$...$`` maths
    and ``code``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return any(len(re.sub(r"[^A-Za-z]", "", token)) >= 2 and not _IDENTIFIER.search(token)
               for token in _TOKEN.findall(_MATHS.sub(" ", text)))


def template(text: str) -> tuple[str, list[str]]:
    """``text`` with each number replaced by ``{i}`` (braces of the text doubled), and the numbers.

    ``fill(*template(text)) == text`` for every text.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    numbers: list[str] = []
    pieces: list[str] = []
    start = 0
    for match in NUMBER.finditer(text):
        pieces.append(text[start:match.start()].replace("{", "{{").replace("}", "}}"))
        pieces.append(f"{{{len(numbers)}}}")
        numbers.append(match.group())
        start = match.end()
    pieces.append(text[start:].replace("{", "{{").replace("}", "}}"))
    return "".join(pieces), numbers


def fill(pattern: str, numbers: list[str]) -> str:
    """``pattern`` (a template or its translation) with its placeholders replaced by ``numbers``;
    ValueError naming the placeholder that ``numbers`` lacks."""
    def number(match: re.Match) -> str:
        index = int(match.group(1))
        if index >= len(numbers):
            raise ValueError(f"placeholder {match.group()} of {pattern!r} has no number "
                             f"(only {len(numbers)})")
        return numbers[index]

    return re.sub(r"\{\{|\}\}|\{(\d+)\}",
                  lambda m: m.group()[0] if m.group(1) is None else number(m), pattern)


def placeholders(pattern: str) -> list[str]:
    """The placeholders of a template or translation, sorted (``["{0}", "{1}"]``)."""
    found = re.findall(r"\{\{|\}\}|(\{\d+\})", pattern)
    return sorted((p for p in found if p), key=lambda p: int(p[1:-1]))


def translation_problems(english: str, chinese: str) -> list[str]:
    """Why ``chinese`` cannot translate the template ``english`` ([] when it can): each
    placeholder must appear in it exactly as often as in the template."""
    if placeholders(english) != placeholders(chinese):
        return [f"the placeholders of {chinese!r} ({', '.join(placeholders(chinese)) or 'none'}) "
                f"are not those of {english!r} ({', '.join(placeholders(english)) or 'none'})"]
    return []


class Translator:
    """Translates text units with a catalogue ``{template: translation}``; records the templates
    it lacked (``missing``) and those it used (``used``)."""

    def __init__(self, catalogue: Mapping[str, str]):
        self.catalogue = catalogue
        self.missing: list[str] = []
        self.used: list[str] = []

    def unit(self, text: str) -> str:
        """One unit: its surrounding white space kept, its template looked up and filled."""
        core = text.strip()
        if not needs_translation(core):
            return text
        pattern, numbers = template(core)
        chinese = self.catalogue.get(pattern)
        if chinese is None or translation_problems(pattern, chinese):
            if pattern not in self.missing:
                self.missing.append(pattern)
            return text
        if pattern not in self.used:
            self.used.append(pattern)
        lead = text[:len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()):]
        return lead + fill(chinese, numbers) + trail

    def markdown(self, text: str) -> str:
        """A markdown output: each line a unit, each cell of a table's row a unit; a fenced code
        block is kept."""
        lines = []
        fence = None
        for line in text.split("\n"):
            opening = re.match(r"\s*(`{3,}|~{3,})", line)
            if fence is not None or opening:
                if fence is None:
                    fence = opening.group(1)
                elif line.strip().startswith(fence):
                    fence = None
                lines.append(line)
                continue
            if line.strip().startswith("|") and line.strip().endswith("|"):
                cells = line.split("|")
                line = "|".join([cells[0], *(self.unit(c) for c in cells[1:-1]), cells[-1]])
            else:
                line = self.unit(line)
            lines.append(line)
        return "\n".join(lines)

    def html(self, text: str) -> str:
        """An HTML output: each text node a unit (entities read and written again), outside
        :data:`SKIPPED_TAGS`; tags and attributes are kept."""
        out = []
        skipping = None
        for piece in re.split(r"(<[^>]*>)", text):
            if piece.startswith("<"):
                tag = re.match(r"</?\s*([A-Za-z0-9]+)", piece)
                name = tag.group(1).lower() if tag else ""
                if skipping is None and name in SKIPPED_TAGS and not piece.startswith("</"):
                    skipping = name
                elif skipping == name and piece.startswith("</"):
                    skipping = None
                out.append(piece)
            elif skipping or not piece.strip():
                out.append(piece)
            else:
                english = html.unescape(piece)
                translated = self.unit(english)
                out.append(piece if translated == english else _html_of(translated))
        return "".join(out)


def _html_of(translation: str) -> str:
    """A translated unit of an HTML output as HTML: escaped, its backquoted names as code."""
    return re.sub(r"`([^`]+)`", r'<code class="docutils literal notranslate">\1</code>',
                  html.escape(translation, quote=False))


def markdown_units(text: str) -> Iterator[str]:
    """The units of a markdown output that need a translation, as templates."""
    record = Translator({})
    record.markdown(text)
    yield from record.missing


def html_units(text: str) -> Iterator[str]:
    """The units of an HTML output that need a translation, as templates."""
    record = Translator({})
    record.html(text)
    yield from record.missing


#: How each MIME type the Chinese edition translates is read.
TRANSLATED_MIME_TYPES: dict[str, Callable[[Translator, str], str]] = {
    "text/html": Translator.html,
    "text/markdown": Translator.markdown,
}


def shown_mime_type(data: Mapping) -> str | None:
    """The MIME type of an output's data that the HTML edition shows (myst-nb's priority: an image
    before markdown, HTML before all), when it is one that is translated."""
    for mime in ("text/html", "image/svg+xml", "image/png", "image/gif", "image/jpeg",
                 "text/markdown"):
        if mime in data:
            return mime if mime in TRANSLATED_MIME_TYPES else None
    return None


def output_templates(notebook) -> list[str]:
    """The templates of the text outputs the HTML edition shows of an executed notebook, in
    order, each once."""
    found: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            data = output.get("data") or {}
            mime = shown_mime_type(data)
            if mime is None:
                continue
            text = data[mime]
            text = "".join(text) if isinstance(text, list) else text
            record = Translator({})
            TRANSLATED_MIME_TYPES[mime](record, text)
            found += [t for t in record.missing if t not in found]
    return found


def load_catalogue(path: str | Path) -> dict[str, str]:
    """The translated, non-fuzzy messages of a ``.po`` file, ``{template: translation}``."""
    from ._catalogue import load_translations

    return load_translations(path, "output-text")
