"""Reader notebooks: the book's notebooks, their MyST markdown turned into plain Jupyter markdown.

The notebooks under ``book/`` are written in MyST: ``{eq}`` and ``{ref}`` cross-references,
``{cite}`` citations, ``{exercise}`` boxes, ``(label)=`` targets, labelled equations. The HTML
book renders all of it; Colab, JupyterLab and Binder show it as raw text. The numbers a reader
needs (equation 2.3, Exercise 3.4, Proposition 2.1) exist only once Sphinx has resolved the whole
book, so this extension writes the *reader notebooks* at the end of the build, from the build's
own environment:

- code cells, their ids and metadata are copied (the notebooks carry no outputs; the expected
  outputs recorded for nbval are left out, as in the student edition: they quote the answers);
- a solution cell (a code cell tagged ``solution``) becomes a markdown cell in the same place, a
  collapsed ``<details>`` block ("Solution to Exercise 2.5") holding its code as a fenced block: it
  is shown, never executed, so "Run all" (or running the cell after an answer) never replaces the
  reader's function with the solution, and the checker after it judges the reader's code. The
  notebook's code cells are then exactly the student edition's (scripts/make_student.py);
- every markdown cell is converted: a cross-reference becomes its number or title linked to the
  published book (``html.baseurl`` in ``_config.yml``), a citation becomes "(Hu et al., 2018)"
  (in the Chinese notebooks "（Hu 等，2018）") linked to the references page, a labelled
  equation gets a visible ``\\tag{2.3}``, a directive becomes plain markdown (an exercise a
  numbered block quote, a solution a ``<details>`` block), targets and ``%`` comments disappear;
- anything the converter does not know (a role, a directive, a ``{{ substitution }}``) stops the
  build with the notebook, the cell and the construct named, so new markup is never shipped raw.

The notebooks are written to ``<html>/_notebooks/`` (mirroring ``book/``), which the page's
download button serves; the Colab and Binder buttons point at the committed copy in the
repository's top-level ``notebooks/`` folder, which ``make notebooks`` refreshes from the build
and ``tests/browser/test_reader_notebooks.py`` keeps identical to it.

The conversion itself (:func:`convert_markdown`, :func:`convert_notebook`) only needs a
*resolver* (the numbers, titles and addresses); :class:`SphinxResolver` answers from the build,
and the unit tests (tests/test_reader_notebooks.py) use a fake one.
"""

from __future__ import annotations

import ast
import copy
import json
import posixpath
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

#: Where the reader notebooks go, inside the HTML output and (committed) in the repository.
HTML_FOLDER = "_notebooks"
REPO_FOLDER = "notebooks"
#: The folder of the book's sources that the notebooks mirror.
BOOK_FOLDER = "book"


class ReaderNotebookError(Exception):
    """A construct with no plain-markdown form, or a reference the book does not define."""


# --------------------------------------------------------------------------------------------
# What the converter needs to know about the book
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A place in the book: its page (docname), anchor, shown title and number (or None)."""

    docname: str
    anchor: str = ""
    title: str = ""
    number: str | None = None
    kind: str = ""  # "section", "figure", "exercise", "proposition", ...


#: The words the converter writes itself, per edition language ("zh" for zh_CN).
WORDS = {
    "en": {"chapter": "Chapter {number} ({title})", "section": "Section {number} ({title})",
           "chapter_bare": "Chapter {number}", "section_bare": "Section {number}",
           "guide": "Field guide {number} ({title})", "guide_bare": "Field guide {number}",
           "exercise": "Exercise", "solution": "Solution to {what}", "title": "{head} ({title})",
           "solution_unnumbered": "Solution",
           "cite_p": "({cites})", "cite_p_item": "{authors}, {year}", "cite_p_sep": "; ",
           "cite_t": "{authors} ({year})", "cite_t_sep": ", ", "et_al": "et al.", "and": "and"},
    "zh": {"chapter": "第 {number} 章（{title}）", "section": "第 {number} 节（{title}）",
           "chapter_bare": "第 {number} 章", "section_bare": "第 {number} 节",
           "guide": "实用指南 {number}（{title}）", "guide_bare": "实用指南 {number}",
           "exercise": "练习", "solution": "{what} 的解答", "title": "{head}（{title}）",
           "solution_unnumbered": "解答",
           # "（Hu 等，2018）" and "Hu 等（2018）": the names stay as the papers write them, "et
           # al." and "and" become 等 and 和 (the Chinese pages' citations say the same,
           # book/_ext/chinese_references.py).
           "cite_p": "（{cites}）", "cite_p_item": "{authors}，{year}", "cite_p_sep": "；",
           "cite_t": "{authors}（{year}）", "cite_t_sep": "、", "et_al": "等", "and": "和"},
}
#: Proof-like blocks in Chinese (English: the kind, capitalised).
PROOF_WORDS_ZH = {"proposition": "命题", "theorem": "定理", "lemma": "引理", "definition": "定义",
                  "corollary": "推论", "remark": "注", "example": "例", "proof": "证明"}


class Resolver:
    """The questions the converter asks about the book. Every method raises KeyError if unknown."""

    baseurl: str = ""
    raw_url: str = ""  # raw file address of the repository (images), ending in "/"
    words: dict = WORDS["en"]

    def equation(self, label: str) -> Target:
        raise NotImplementedError

    def label(self, label: str) -> Target:
        """A ``(label)=`` target, a figure ``:name:``, an exercise or proof ``:label:``."""
        raise NotImplementedError

    def document(self, docname: str) -> Target:
        raise NotImplementedError

    def citation(self, key: str) -> tuple[str, str, Target]:
        """(authors, year, target on the references page)."""
        raise NotImplementedError

    def glue(self, docname: str, key: str):
        raise NotImplementedError

    def numfig_format(self, kind: str) -> str:
        return {"figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s",
                "section": "Section %s"}.get(kind, kind.capitalize() + " %s")

    def url(self, target: Target) -> str:
        page = f"{self.baseurl.rstrip('/')}/{target.docname}.html"
        return f"{page}#{target.anchor}" if target.anchor else page


# --------------------------------------------------------------------------------------------
# Markdown conversion
# --------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\s*(?P<info>.*?)\s*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[A-Za-z][\w:.-]*)\}\s*(?P<arg>.*)$")
_TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
_EQ_LABEL = re.compile(r"\$\$\s*\((?P<label>[^()\s]+)\)\s*$")
_INLINE = re.compile(
    r"(?P<role>\{(?P<name>[A-Za-z][\w:.+-]*)\}(?P<ticks>`+)(?P<content>.+?)(?P=ticks))"
    r"|(?P<code>(?P<cticks>`+).+?(?P=cticks))"
    r"|(?P<subst>\{\{.*?\}\})"
    r"|(?P<link>(?P<bang>!?)\[(?P<text>[^\]]*)\]\((?P<href>[^)\s]+)(?P<ltitle>\s+\"[^\"]*\")?\))",
    re.DOTALL,
)
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)

ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
               "error", "seealso", "admonition", "margin", "sidebar", "topic", "dropdown",
               "epigraph"}
PROOF_KINDS = {"proposition", "theorem", "lemma", "definition", "corollary", "remark", "example",
               "algorithm", "conjecture", "axiom", "criterion", "observation", "property",
               "assumption", "notation", "proof"}
CODE_DIRECTIVES = {"code", "code-block", "sourcecode"}
#: sphinxcontrib-bibtex's citation roles: parenthetical "(Hu et al., 2018)" or textual
#: "Hu et al. (2018)" (the starred "s" forms, all authors, are shown like the short ones).
_CITE_ROLES = {"cite": "cite:p", "cite:p": "cite:p", "cite:ps": "cite:p", "cite:t": "cite:t",
               "cite:ts": "cite:t"}
#: Roles whose rendering needs nothing from the book.
_SIMPLE_ROLES = {"math": lambda c: f"${c}$", "sub": lambda c: f"<sub>{c}</sub>",
                 "sup": lambda c: f"<sup>{c}</sup>", "abbr": lambda c: re.sub(r"\s*\(.*\)$", "", c),
                 "kbd": lambda c: f"<kbd>{c}</kbd>", "code": lambda c: f"`{c}`",
                 "samp": lambda c: f"`{c}`", "file": lambda c: f"`{c}`",
                 "command": lambda c: f"**{c}**", "term": lambda c: c}


@dataclass
class _Where:
    """The cell being converted, for error messages and relative references."""

    notebook: str
    cell: int
    docname: str

    def fail(self, what: str) -> ReaderNotebookError:
        return ReaderNotebookError(f"{self.notebook}, cell {self.cell}: {what}")


def _quote(lines: list[str]) -> list[str]:
    return [f"> {line}" if line else ">" for line in lines]


def _strip_blank(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _directive_parts(body: list[str]) -> tuple[dict[str, str], list[str]]:
    """A directive's options (``:key: value`` lines or a ``---`` YAML block) and its content."""
    options: dict[str, str] = {}
    i = 0
    if body and body[0].strip() == "---":
        end = next((j for j in range(1, len(body)) if body[j].strip() == "---"), None)
        if end is not None:
            import yaml

            block = yaml.safe_load("\n".join(body[1:end])) or {}
            options = {str(k): str(v) for k, v in block.items()}
            i = end + 1
    while i < len(body):
        match = re.match(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*)$", body[i])
        if not match:
            break
        options[match["key"]] = match["value"].strip()
        i += 1
    return options, body[i:]


class _Converter:
    def __init__(self, resolver: Resolver, where: _Where):
        self.r = resolver
        self.where = where

    # ---- references -------------------------------------------------------------------------

    def _link(self, text: str, target: Target) -> str:
        return f"[{text}]({self.r.url(target)})"

    def _lookup(self, kind: str, fn, key: str) -> Target:
        try:
            return fn(key)
        except KeyError:
            raise self.where.fail(f"{kind} {key!r} is not defined anywhere in the book") from None

    def _numbered(self, target: Target) -> str:
        if target.number is None:
            raise self.where.fail(f"{target.kind} {target.anchor!r} has no number in the book")
        return self.r.numfig_format(target.kind) % target.number

    def _titled(self, target: Target) -> str:
        if target.number and target.kind == "section":
            word = "chapter" if "." not in target.number else "section"
            if word == "chapter" and target.number.isalpha():
                word = "guide"  # the field guide's pages are lettered (A, B, ...), not chapters
            if target.title:
                return self.r.words[word].format(number=target.number, title=target.title)
            return self.r.words[f"{word}_bare"].format(number=target.number)
        if target.number and target.kind != "section":  # an exercise, a figure, a proposition
            return self._numbered(target)
        if target.title:
            return target.title
        return self._numbered(target)

    def _docname(self, ref: str) -> str:
        ref = ref.removesuffix(".md").removesuffix(".ipynb")
        if ref.startswith("/"):
            return ref.lstrip("/")
        return posixpath.normpath(posixpath.join(posixpath.dirname(self.where.docname), ref))

    def _authors(self, authors: str) -> str:
        """"Hu et al." and "Hu and Shen" in the edition's words."""
        words = self.r.words
        authors = re.sub(r" et al\.$", " " + words.get("et_al", "et al."), authors)
        return authors.replace(" and ", f" {words.get('and', 'and')} ")

    def _cite(self, name: str, content: str) -> str:
        keys = [k.strip() for k in content.split(",") if k.strip()]
        words = {**WORDS["en"], **self.r.words}
        parts = []
        for key in keys:
            try:
                authors, year, target = self.r.citation(key)
            except KeyError:
                raise self.where.fail(f"citation key {key!r} is not in the bibliography") from None
            authors = self._authors(authors)
            if name == "cite:t":
                parts.append(self._link(words["cite_t"].format(authors=authors, year=year),
                                        target))
            else:
                parts.append(self._link(words["cite_p_item"].format(authors=authors, year=year),
                                        target))
        if name == "cite:t":
            return words["cite_t_sep"].join(parts)
        return words["cite_p"].format(cites=words["cite_p_sep"].join(parts))

    def role(self, name: str, content: str) -> str:
        explicit = _EXPLICIT.match(content)
        text, ref = (explicit["text"], explicit["target"]) if explicit else ("", content.strip())
        if name in _SIMPLE_ROLES:
            return _SIMPLE_ROLES[name](content)
        if name == "eq":
            target = self._lookup("equation", self.r.equation, ref)
            if target.number is None:
                raise self.where.fail(f"equation {ref!r} has no number in the book")
            return self._link(text or f"({target.number})", target)
        if name == "ref":
            target = self._lookup("label", self.r.label, ref)
            return self._link(text or self._titled(target), target)
        if name in ("numref", "prf:ref"):
            target = self._lookup("label", self.r.label, ref)
            if text:
                number = target.number or ""
                return self._link(text.replace("{number}", number).replace("%s", number), target)
            return self._link(self._numbered(target), target)
        if name == "doc":
            target = self._lookup("document", self.r.document, self._docname(ref))
            return self._link(text or self._titled(target), target)
        if name in _CITE_ROLES:
            return self._cite(_CITE_ROLES[name], content)
        if name in ("glue", "glue:text", "glue:md", "glue:any"):
            return self._glue(content)
        raise self.where.fail(f"unknown MyST role {{{name}}}`{content}` (teach "
                              "book/_ext/reader_notebooks.py to convert it)")

    def _glue(self, content: str) -> str:
        spec = content.strip()
        docname = self.where.docname
        if "::" in spec:
            path, spec = spec.split("::", 1)
            docname = self._docname(path)
        key, _, fmt = spec.partition(":")
        try:
            value = self.r.glue(docname, key)
        except KeyError:
            raise self.where.fail(f"glued value {key!r} of {docname} not found") from None
        return format(value, fmt) if fmt else str(value)

    # ---- inline text ------------------------------------------------------------------------

    def inline(self, text: str) -> str:
        def replace(match: re.Match) -> str:
            if match["role"]:
                return self.role(match["name"], match["content"])
            if match["code"]:
                return match["code"]
            if match["subst"]:
                raise self.where.fail(f"MyST substitution {match['subst']} has no plain form")
            return self._relink(match)

        return _INLINE.sub(replace, text)

    def _relink(self, match: re.Match) -> str:
        href = match["href"]
        parsed = urllib.parse.urlparse(href)
        if parsed.scheme or href.startswith("#") or href.startswith("mailto:"):
            return match[0]
        path = posixpath.normpath(posixpath.join(posixpath.dirname(self.where.docname),
                                                 urllib.parse.unquote(parsed.path)))
        if path.endswith((".md", ".ipynb")):
            target = Target(docname=path.rsplit(".", 1)[0], anchor=parsed.fragment)
            url = self.r.url(target)
        else:  # an image or a file of the repository
            url = self.r.raw_url + path
        return f"{match['bang']}[{self.inline(match['text'])}]({url}{match['ltitle'] or ''})"

    # ---- blocks -----------------------------------------------------------------------------

    def blocks(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            fence = _FENCE.match(line)
            if fence:
                char, length = fence["fence"][0], len(fence["fence"])
                end = i + 1
                while end < len(lines):
                    close = re.match(r"^ {0,3}(`{3,}|:{3,})\s*$", lines[end])
                    if close and close[1][0] == char and len(close[1]) >= length:
                        break
                    end += 1
                body = lines[i + 1:end]
                directive = _DIRECTIVE.match(fence["info"])
                if directive:
                    out += self.directive(directive["name"], directive["arg"], body)
                elif char == "`":
                    out += lines[i:end + 1]  # a plain code block: verbatim
                else:
                    raise self.where.fail(f"colon fence without a directive: {line.strip()!r}")
                i = end + 1
                continue
            if _TARGET.match(line) or line.startswith("%") or line.strip() == "+++":
                i += 1
                continue
            if line.lstrip().startswith("$$"):
                end = i
                rest = line.lstrip()[2:]
                if not re.search(r"\$\$(\s*\([^()\s]+\))?\s*$", rest):
                    end = i + 1
                    while end < len(lines) and not re.search(r"\$\$(\s*\([^()\s]+\))?\s*$",
                                                             lines[end]):
                        end += 1
                out += self.display_math(lines[i:end + 1])
                i = end + 1
                continue
            # A paragraph-ish run: convert inline markup over the whole run, so that a role or a
            # code span broken across lines is still seen as one.
            end = i
            while end < len(lines) and lines[end].strip() and not _FENCE.match(lines[end]) \
                    and not lines[end].lstrip().startswith("$$") and not _TARGET.match(lines[end]) \
                    and not lines[end].startswith("%"):
                end += 1
            if end == i:  # a blank line
                out.append(line)
                i += 1
                continue
            out += self.inline("\n".join(lines[i:end])).split("\n")
            i = end
        return out

    def display_math(self, block: list[str]) -> list[str]:
        block = list(block)
        match = _EQ_LABEL.search(block[-1])
        if match is None:
            return block
        target = self._lookup("equation", self.r.equation, match["label"])
        if target.number is None:
            raise self.where.fail(f"equation {match['label']!r} has no number in the book")
        block[-1] = block[-1][:match.start()] + f"\\tag{{{target.number}}} $$"
        if len(block) == 1 or block[-1].strip() != f"\\tag{{{target.number}}} $$":
            return block
        # Keep the closing "$$" on its own line, the tag on the line before it.
        block[-1:] = [f"\\tag{{{target.number}}}", "$$"]
        return block

    def directive(self, name: str, arg: str, body: list[str]) -> list[str]:
        options, content = _directive_parts(body)
        content = _strip_blank(content)
        inner = self.blocks(content)
        if name in ("exercise", "solution"):
            return self._exercise(name, arg, options, inner)
        if name.startswith("prf:") and name[4:] in PROOF_KINDS:
            return self._proof(name[4:], arg, options, inner)
        if name in ADMONITIONS:
            title = self.inline(arg) if arg else ("" if name in ("margin", "sidebar", "epigraph",
                                                                 "dropdown")
                                                  else "See also" if name == "seealso"
                                                  else name.capitalize())
            if name == "dropdown" or "dropdown" in options.get("class", "").split():
                return self._details(title or "Details", inner)
            head = [f"**{title}**", ""] if title else []
            return _quote(head + inner)
        if name in ("math", "math:math"):
            label = options.get("label") or options.get("name")
            if label:
                target = self._lookup("equation", self.r.equation, label)
                return ["$$", *content, f"\\tag{{{target.number}}}", "$$"]
            return ["$$", *content, "$$"]
        if name in CODE_DIRECTIVES:
            return [f"```{arg}", *content, "```"]
        if name in ("figure", "image"):
            return self._figure(name, arg, options, inner)
        if name == "list-table":
            return self._list_table(arg, options, content)
        raise self.where.fail(f"unknown MyST directive {{{name}}} (teach "
                              "book/_ext/reader_notebooks.py to convert it)")

    def _details(self, summary: str, inner: list[str]) -> list[str]:
        return ["<details>", f"<summary>{summary}</summary>", "", *inner, "", "</details>"]

    def _exercise(self, name: str, arg: str, options: dict, inner: list[str]) -> list[str]:
        if name == "exercise":
            label = options.get("label")
            if "nonumber" in options:
                head = self.r.words["exercise"]
            elif label:
                target = self._lookup("exercise", self.r.label, label)
                head = self._link(self._numbered(target), target)
            else:
                raise self.where.fail(f"exercise {arg!r} has no :label:, so the reader notebook "
                                      "cannot show its number")
            title = self.r.words["title"].format(head=f"**{head}**", title=self.inline(arg)) \
                if arg else f"**{head}**"
            return _quote([title, "", *inner])
        target = self._lookup("exercise", self.r.label, arg.strip())
        summary = self.r.words["solution"].format(what=self._numbered(target))
        if "dropdown" in options.get("class", "").split():
            return self._details(summary, inner)
        return _quote([f"**{summary}**", "", *inner])

    def _proof(self, kind: str, arg: str, options: dict, inner: list[str]) -> list[str]:
        if kind == "proof":
            return ["*Proof.*", "", *inner, "", "$\\blacksquare$"]
        label = options.get("label")
        if label:
            target = self._lookup(kind, self.r.label, label)
            head = self._link(self._numbered(target), target)
        else:
            head = kind.capitalize()
        title = f"**{head}** ({self.inline(arg)})" if arg else f"**{head}**"
        return _quote([title, "", *inner])

    def _figure(self, name: str, arg: str, options: dict, inner: list[str]) -> list[str]:
        alt = options.get("alt", "")
        picture = self._relink(_INLINE.match(f"![{alt}]({arg.strip()})"))
        if name == "image":
            return [picture]
        out = [picture]
        label = options.get("name")
        caption = " ".join(line.strip() for line in inner if line.strip())
        if label:
            target = self._lookup("figure", self.r.label, label)
            number = self._link(self._numbered(target), target)
            out += ["", f"*{number}: {caption}*" if caption else f"*{number}*"]
        elif caption:
            out += ["", f"*{caption}*"]
        return out

    def _list_table(self, arg: str, options: dict, content: list[str]) -> list[str]:
        rows: list[list[str]] = []
        for line in content:
            row = re.match(r"^\*\s+-\s+(.*)$", line)
            cell = re.match(r"^\s+-\s+(.*)$", line)
            if row:
                rows.append([row[1].strip()])
            elif cell and rows:
                rows[-1].append(cell[1].strip())
            elif line.strip() and rows:
                rows[-1][-1] += " " + line.strip()
            elif line.strip():
                raise self.where.fail(f"list-table line not understood: {line!r}")
        if not rows:
            raise self.where.fail("empty list-table")
        width = max(len(r) for r in rows)
        rows = [[self.inline(c).replace("|", "\\|") for c in r] + [""] * (width - len(r))
                for r in rows]
        header_rows = int(options.get("header-rows", "0") or 0)
        head = rows[0] if header_rows else [""] * width
        body = rows[1:] if header_rows else rows
        out = [f"**{self.inline(arg)}**", ""] if arg else []
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * width]
        out += ["| " + " | ".join(r) + " |" for r in body]
        return out


def convert_markdown(source: str, resolver: Resolver, *, notebook: str = "<notebook>",
                     cell: int = 0, docname: str = "") -> str:
    """One markdown cell's MyST source as plain Jupyter markdown (raises ReaderNotebookError)."""
    where = _Where(notebook=notebook, cell=cell, docname=docname)
    lines = _Converter(resolver, where).blocks(source.split("\n"))
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


_LIST_ITEM = re.compile(r"^(?P<marker>\s*(?:[-*+]|\d+[.)])\s+)(?P<text>.*)$")
_HEADING = re.compile(r"^(?P<marker>#{1,6}\s+)(?P<text>.+?)\s*$")
_OPTION = re.compile(r"^\s*:[\w-]+:")


def translate_markdown(source: str, gettext) -> str:
    """A markdown cell's MyST source with its messages translated (a translated edition).

    ``gettext(msgid)`` is the page's catalogue (it returns the msgid itself when there is no
    translation). Sphinx's messages are the source's paragraphs, headings, list items and
    directive titles with their lines joined by spaces; each such block that the catalogue
    translates is replaced by its translation (on one line), everything else is kept: code and
    maths blocks, directive options, targets, tables, and any message not translated yet (it
    stays English, as on the page).
    """
    lines = source.split("\n")
    out: list[str] = []
    fence: str | None = None  # the closing fence of a code block being copied
    maths = False
    block: list[str] = []

    def flush() -> None:
        if not block:
            return
        first = _LIST_ITEM.match(block[0])
        marker, head = (first.group("marker"), first.group("text")) if first else ("", block[0])
        msgid = " ".join([head.strip(), *(line.strip() for line in block[1:])]).strip()
        translated = gettext(msgid) if msgid else msgid
        if translated and translated != msgid:
            out.append(marker + translated)
        else:
            out.extend(block)
        block.clear()

    for line in lines:
        stripped = line.strip()
        if fence is not None:
            out.append(line)
            if stripped == fence:
                fence = None
            continue
        if maths:
            out.append(line)
            maths = not stripped.endswith("$$")
            continue
        opener = _FENCE.match(line)
        if opener:
            flush()
            directive = _DIRECTIVE.match(opener.group("info"))
            if directive:  # the body is markdown: translate its title, then go on inside it
                arg = directive.group("arg")
                title = gettext(arg) if arg else arg
                out.append(line if not arg or title == arg else
                           line[: line.rindex(arg)] + title)
            elif stripped == opener.group("fence"):  # the end of a directive
                out.append(line)
            else:
                out.append(line)
                fence = opener.group("fence")
            continue
        if stripped.startswith("$$"):
            flush()
            out.append(line)
            maths = not (len(stripped) > 2 and stripped.endswith("$$"))
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            text = heading.group("text")
            title = gettext(text)
            out.append(heading.group("marker") + title if title != text else line)
            continue
        if (not stripped or _TARGET.match(line) or _OPTION.match(line) or stripped == "---"
                or stripped.startswith(("|", "%", "<", ">"))):
            flush()
            out.append(line)
            continue
        if _LIST_ITEM.match(line):
            flush()
        block.append(line)
    flush()
    return "\n".join(out)


#: The tag of a solution cell (as in scripts/make_student.py), and the metadata a reader notebook's
#: code cell does not carry: nbval's expected outputs quote the answers of the checked cells.
SOLUTION_TAG = "solution"
DROPPED_METADATA = ("nbval", "execution")
#: The tag of each notebook's first code cell, the one that installs the library in Colab.
INSTALL_TAG = "colab-install"
#: What a translated edition's reader notebooks add to that cell, so that the exercise checkers
#: answer in the edition's language with nothing for the reader to do, in Colab, Binder or plain
#: Jupyter (attn_lessons/exercises/_messages.py reads the variable when a checker answers). The
#: student edition (scripts/make_student.py) copies the cell from these notebooks.
CHECKER_LANGUAGE = {
    "zh_CN": [
        "\n",
        "# 中文版：练习的检查器用中文作答。想看英文提示，运行\n",
        "# from attn_lessons.exercises import set_language; set_language(\"en\")\n",
        "import os\n",
        "\n",
        "os.environ[\"ATTN_LESSONS_LANGUAGE\"] = \"zh_CN\"",
    ],
}


def with_checker_language(cell: dict, language: str | None) -> dict:
    """The install cell ``cell`` with the lines of :data:`CHECKER_LANGUAGE` for ``language``
    appended (unchanged for English or a language without checker messages)."""
    lines = CHECKER_LANGUAGE.get(language or "")
    if not lines:
        return cell
    source = cell["source"] if isinstance(cell["source"], list) else \
        cell["source"].splitlines(keepends=True)
    source = list(source)
    if source and not source[-1].endswith("\n"):
        source[-1] += "\n"
    return {**cell, "source": source + lines}


#: Display tags of the book's solution cells, which mean nothing in a markdown cell.
_DISPLAY_TAGS = {"hide-input", "hide-output", "hide-cell", "remove-input", "remove-output",
                 "remove-cell"}
_EXERCISE_OPENER = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})\s*\{exercise\}")


def _cell_text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def exercises_in(source: str) -> list[tuple[str | None, bool]]:
    """The ``{exercise}`` directives of a markdown cell's MyST source: (label, unnumbered)."""
    found = []
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if not _EXERCISE_OPENER.match(line):
            continue
        options, _ = _directive_parts(lines[i + 1:])
        found.append((options.get("label"), "nonumber" in options))
    return found


def _fence_for(code: str) -> str:
    """A backtick fence longer than any run of backticks in ``code``."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def solution_markdown(cell: dict, exercise: tuple[str | None, bool] | None, resolver: Resolver,
                      where: _Where) -> dict:
    """A solution code cell as the markdown cell that shows it collapsed, unexecuted."""
    if exercise is None:
        raise where.fail("a solution cell with no {exercise} before it: the reader notebook "
                         "could not say which exercise it solves")
    label, unnumbered = exercise
    words = resolver.words
    if unnumbered or label is None:
        summary = words["solution_unnumbered"]
    else:
        converter = _Converter(resolver, where)
        target = converter._lookup("exercise", resolver.label, label)
        summary = words["solution"].format(what=converter._numbered(target))
    code = _cell_text(cell).rstrip("\n")
    fence = _fence_for(code)
    text = "\n".join(["<details>", f"<summary>{summary}</summary>", "", f"{fence}python", code,
                      fence, "", "</details>"])
    metadata = {k: v for k, v in cell.get("metadata", {}).items()
                if k not in DROPPED_METADATA and k != "tags"}
    metadata["tags"] = [t for t in cell["metadata"]["tags"] if t not in _DISPLAY_TAGS]
    out = {"cell_type": "markdown", "metadata": metadata,
           "source": text.splitlines(keepends=True)}
    if "id" in cell:
        out["id"] = cell["id"]
    return out


def convert_notebook(nb: dict, resolver: Resolver, *, notebook: str, docname: str,
                     gettext=None, language: str | None = None) -> dict:
    """A copy of the notebook (a JSON dict) with every markdown cell converted.

    With ``gettext`` (a translated edition's catalogue for the page) the MyST source of each
    markdown cell is translated first (:func:`translate_markdown`). Each solution cell becomes a
    collapsed markdown block (:func:`solution_markdown`) named after the last ``{exercise}``
    before it; the other code cells lose the metadata in DROPPED_METADATA. With a ``language``
    of :data:`CHECKER_LANGUAGE` the install cell (tagged ``colab-install``) also sets the
    checkers' language (:func:`with_checker_language`); a notebook without it fails loudly.
    """
    out = copy.deepcopy(nb)
    exercise = None  # the last {exercise} seen: (label, unnumbered)
    installs = 0
    for index, cell in enumerate(out["cells"]):
        if cell["cell_type"] == "code":
            if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
                where = _Where(notebook=notebook, cell=index, docname=docname)
                out["cells"][index] = solution_markdown(cell, exercise, resolver, where)
            else:
                for key in DROPPED_METADATA:
                    cell.get("metadata", {}).pop(key, None)
                if INSTALL_TAG in cell.get("metadata", {}).get("tags", []):
                    out["cells"][index] = with_checker_language(cell, language)
                    installs += 1
            continue
        if cell["cell_type"] != "markdown":
            continue
        source = _cell_text(cell)
        found = exercises_in(source)
        if found:
            exercise = found[-1]
        if gettext is not None:
            source = translate_markdown(source, gettext)
        text = convert_markdown(source, resolver, notebook=notebook, cell=index, docname=docname)
        cell["source"] = text.splitlines(keepends=True)
    if CHECKER_LANGUAGE.get(language or "") and installs != 1:
        raise ReaderNotebookError(f"{notebook}: {installs} code cells tagged {INSTALL_TAG!r}; the "
                                  f"{language} reader notebook sets its checkers' language in "
                                  "exactly one")
    return out


def dumps(nb: dict) -> str:
    """The notebook as nbformat writes it (one-space indent, sorted keys, a final newline)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# The published address
# --------------------------------------------------------------------------------------------


def pages_address(repository_url: str) -> str:
    """GitHub Pages address of a repository: https://github.com/org/repo -> https://org.github.io/repo/."""
    parsed = urllib.parse.urlparse(repository_url)
    parts = parsed.path.strip("/").removesuffix(".git").split("/")
    if parsed.netloc != "github.com" or len(parts) != 2:
        raise ValueError(f"not a GitHub repository address: {repository_url!r}")
    org, repo = parts
    if repo.lower() == f"{org.lower()}.github.io":
        return f"https://{org.lower()}.github.io/"
    return f"https://{org.lower()}.github.io/{repo}/"


def reader_path(docname: str) -> str:
    """``book/ch2_se/se_lab`` -> ``ch2_se/se_lab.ipynb``: the path under notebooks/, _notebooks/."""
    return posixpath.relpath(docname, BOOK_FOLDER) + ".ipynb"


# --------------------------------------------------------------------------------------------
# Sphinx
# --------------------------------------------------------------------------------------------


def _authors(entry) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in people]
    if not last:
        return entry.fields.get("title", "Anonymous")
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


class SphinxResolver(Resolver):
    """Answers from a finished Sphinx build (its environment and the executed notebooks)."""

    def __init__(self, app):
        env = app.env
        self.env = env
        self.app = app
        self.baseurl = app.config.html_baseurl
        self.words = WORDS["zh"] if _translated(app) and app.config.language.startswith("zh") \
            else WORDS["en"]
        repo = app.config.html_theme_options.get("repository_url", "")
        branch = app.config.html_theme_options.get("repository_branch", "main")
        parsed = urllib.parse.urlparse(repo)
        self.raw_url = f"https://raw.githubusercontent.com{parsed.path.rstrip('/')}/{branch}/"
        # Every numbered object of the book: id -> (docname, kind, number).
        self.numbers: dict[str, tuple[str, str, str]] = {}
        for docname, kinds in env.toc_fignumbers.items():
            for kind, ids in kinds.items():
                for node_id, number in ids.items():
                    self.numbers[node_id] = (docname, kind, ".".join(map(str, number)))
        self._formats = dict(app.config.numfig_format or {})
        self._page_tops: dict[str, frozenset[str]] = {}  # docname -> the ids of its top section

    def numfig_format(self, kind: str) -> str:
        chinese = self.words is WORDS["zh"]
        if kind in ("exercise", "solution"):
            return self.words["exercise"] + " %s"
        if kind in PROOF_KINDS:
            return (PROOF_WORDS_ZH.get(kind, kind) if chinese else kind.capitalize()) + " %s"
        return self._formats.get(kind) or super().numfig_format(kind)

    def equation(self, label: str) -> Target:
        docname, _ = self.env.domaindata["math"]["objects"][label]
        node_id = f"equation-{label}"
        number = self.numbers.get(node_id, (None, None, None))[2]
        return Target(docname=docname, anchor=node_id, number=number, kind="equation")

    def _section_number(self, docname: str, anchor: str) -> str | None:
        numbers = self.env.toc_secnumbers.get(docname, {})
        number = numbers.get(f"#{anchor}") if anchor else None
        if number is None:
            number = numbers.get("") if not anchor or self._is_page_top(docname, anchor) else None
        return ".".join(map(str, number)) if number else None

    def _is_page_top(self, docname: str, anchor: str) -> bool:
        if docname not in self._page_tops:  # each page's doctree unpickled once, not per link
            from docutils import nodes

            top = next(iter(self.env.get_doctree(docname).findall(nodes.section)), None)
            self._page_tops[docname] = frozenset(top["ids"]) if top is not None else frozenset()
        return anchor in self._page_tops[docname]

    def label(self, label: str) -> Target:
        std = self.env.domaindata["std"]
        if label in self.numbers:
            docname, kind, number = self.numbers[label]
            title = std["labels"].get(label, (None, None, ""))[2]
            return Target(docname=docname, anchor=label, title=title, number=number, kind=kind)
        if label in std["labels"]:
            docname, anchor, title = std["labels"][label]
            number = self._section_number(docname, anchor)
            return Target(docname=docname, anchor=anchor if not self._is_page_top(docname, anchor)
                          else "", title=title, number=number, kind="section")
        if label in std["anonlabels"]:
            docname, anchor = std["anonlabels"][label]
            return Target(docname=docname, anchor=anchor, kind="target")
        raise KeyError(label)

    def document(self, docname: str) -> Target:
        if docname not in self.env.titles:
            raise KeyError(docname)
        number = self.env.toc_secnumbers.get(docname, {}).get("")
        return Target(docname=docname, title=self.env.titles[docname].astext(),
                      number=".".join(map(str, number)) if number else None, kind="section")

    def citation(self, key: str) -> tuple[str, str, Target]:
        for citation in self.env.domaindata["cite"]["citations"]:
            if citation.key == key:
                entry = citation.entry
                target = Target(docname=citation.bibliography_key.docname,
                                anchor=citation.citation_id, kind="citation")
                return _authors(entry), entry.fields.get("year", "n.d."), target
        raise KeyError(key)

    def glue(self, docname: str, key: str):
        folder = Path(self.app.outdir).parent / "jupyter_execute"
        # myst-nb writes every glued value of a notebook to <docname>.glue.json (and removes the
        # outputs of values glued without display from the executed notebook itself).
        data_file = folder / f"{docname}.glue.json"
        if data_file.is_file():
            glued = json.loads(data_file.read_text(encoding="utf-8"))
            if key in glued:
                text = glued[key].get("data", {}).get("text/plain", "")
                return ast.literal_eval("".join(text) if isinstance(text, list) else text)
        executed = folder / f"{docname}.ipynb"
        if not executed.is_file():
            raise KeyError(key)
        nb = json.loads(executed.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            for output in cell.get("outputs", []):
                scrap = output.get("metadata", {}).get("scrapbook", {})
                if scrap.get("name") == key:
                    text = output.get("data", {}).get("text/plain", "")
                    text = "".join(text) if isinstance(text, list) else text
                    return ast.literal_eval(text)
        raise KeyError(key)


def _notebook_docnames(app) -> list[str]:
    env = app.env
    return sorted(d for d in env.found_docs
                  if d.startswith(f"{BOOK_FOLDER}/") and env.doc2path(d, False).endswith(".ipynb"))


def write_reader_notebooks(app, exception) -> None:
    # The single page that make pdf prints has no download buttons: no reader notebooks.
    if exception is not None or app.builder.format != "html" or app.builder.name == "singlehtml":
        return
    from sphinx.errors import ExtensionError

    if not app.config.html_baseurl:
        raise ExtensionError("reader_notebooks: html.baseurl is empty in _config.yml; the reader "
                             "notebooks link to the published book at that address")
    resolver = SphinxResolver(app)
    out = Path(app.outdir) / HTML_FOLDER
    written = set()
    for docname in _notebook_docnames(app):
        source = Path(app.env.doc2path(docname))
        nb = json.loads(source.read_text(encoding="utf-8"))
        try:
            reader = convert_notebook(nb, resolver, notebook=f"{docname}.ipynb", docname=docname,
                                      gettext=_page_gettext(app, docname),
                                      language=app.config.language if _translated(app) else None)
        except ReaderNotebookError as exc:
            raise ExtensionError(f"reader_notebooks: {exc}") from None
        target = out / reader_path(docname)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dumps(reader), encoding="utf-8")
        written.add(target)
    for stale in out.rglob("*.ipynb"):
        if stale not in written:
            stale.unlink()


def _translated(app) -> bool:
    return bool(app.config.language) and app.config.language.split("_")[0] != "en"


def repo_folder(app) -> str:
    """Where a build's reader notebooks are committed: notebooks/, or notebooks/<language>/."""
    return f"{REPO_FOLDER}/{app.config.language}" if _translated(app) else REPO_FOLDER


def _page_gettext(app, docname: str):
    """The page's catalogue as a gettext function, in a translated edition (else None)."""
    if not _translated(app):
        return None
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import docname_to_domain

    dirs = [str(Path(app.srcdir) / d) for d in app.config.locale_dirs]
    domain = docname_to_domain(docname, app.config.gettext_compact)
    catalog, _ = init_locale(dirs, app.config.language, domain)
    return catalog.gettext


def _launch_url(url: str, book_path: str, reader: str) -> str:
    return url.replace(book_path, reader) if book_path in url else url


def point_buttons_at_reader_notebooks(app, pagename, templatename, context, doctree) -> None:
    """Colab and Binder open notebooks/<path>; the download button serves _notebooks/<path>."""
    if not pagename.startswith(f"{BOOK_FOLDER}/") or pagename not in app.env.found_docs:
        return
    if not app.env.doc2path(pagename, False).endswith(".ipynb"):
        return
    book_path = f"{pagename}.ipynb"
    repo_path = f"{repo_folder(app)}/{reader_path(pagename)}"
    download = f"{context['pathto'](HTML_FOLDER, 1)}/{reader_path(pagename)}"
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []):
            if button.get("label") == "download-source-button":
                button["url"] = download
                button["tooltip"] = "Download the notebook (plain Jupyter markdown)"
            elif button.get("type") == "link" and "url" in button and \
                    button.get("text") in ("Binder", "Colab", "JupyterHub", "Deepnote"):
                button["url"] = _launch_url(button["url"], book_path, repo_path)


def _baseurl_from_repository(app, config) -> None:
    """``html.baseurl`` left empty: the GitHub Pages address of ``repository.url``."""
    if not config.html_baseurl:
        repo = config.html_theme_options.get("repository_url", "")
        if repo:
            config.html_baseurl = pages_address(repo)


def setup(app) -> dict:
    app.connect("config-inited", _baseurl_from_repository, priority=900)
    app.connect("html-page-context", point_buttons_at_reader_notebooks, priority=600)
    app.connect("build-finished", write_reader_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
