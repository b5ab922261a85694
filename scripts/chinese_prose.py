"""How much English a reader of the Chinese edition meets on a built page (issue 27, item 8).

A page's *visible words* are read from its static HTML as a reader meets them: the article and the
page furniture (header, sidebars, table of contents, footer, the tab's title, buttons' labels, and
the ``title``, ``aria-label``, ``placeholder`` and ``alt`` texts a reader sees in a tooltip, a
screen reader or an empty search box). Left out, because a Chinese book keeps them as they are:

- ``<script>``, ``<style>``, ``<head>`` (except its ``<title>``) and hidden nodes (the ``hidden``
  attribute, an inline ``display: none`` or ``visibility: hidden``, Bootstrap's ``d-none`` unless
  a ``d-<breakpoint>-<display>`` class shows it on wider screens), an element in another
  language than Chinese (``lang="en"``: the link to the English page, for the English reader),
  and the attributes inside the print-only block (``.onlyprint``: the printed page shows its text,
  but nobody meets a tooltip or a label on paper, and on screen it is not shown);
- code: ``<code>``, ``<pre>``, ``<kbd>``, ``<samp>``, ``.highlight``, notebook input cells
  (``.cell_input``) and anything Sphinx marks ``notranslate`` (literals, maths);
- maths: ``.math`` elements, and MathJax source ``\\(...\\)``, ``\\[...\\]``, ``$$...$$`` left in
  a text;
- citations: the citation in a sentence (``.bibtex-citation``, whose link's title is the
  bibliography entry) and the bibliography (``.citation``, ``.citation-list``);
- the English column of the glossary's table (the glossary is where the English belongs) and the
  English gloss a term carries at its first use in a chapter, 挤压（squeeze）: a glossary term's
  English right after a full-width parenthesis or a comma inside one (特征图（feature map，每个
  滤波器一个）), or the whole of a full-width parenthesis of at most three Latin words (a
  full-width parenthesis belongs to a Chinese sentence: a longer English one is prose);
- URLs and e-mail addresses.

**Unit.** A Chinese word is taken as two CJK characters (a page's CJK characters / 2, rounded
up): jieba cuts the edition's Chinese into words of about 1.7 characters, so halving the
characters counts fewer Chinese words than a segmenter would, which makes the English share a
little larger than a reader's count, never smaller; and it costs nothing. A Latin-script word is
a run of Latin letters (hyphens and apostrophes inside it kept: ``non-local``, ``Welch's``) of two
letters or more: a single letter is a symbol (C 个通道), and a token with a digit, an underscore,
a dot or a slash inside (``ResNet-18``, ``top-1``, ``gate_sd``, ``se.md``) an identifier. A
Latin word *offends* unless the allowlist of names (``book/glossary/latin_allowlist.yml``), an
abbreviation of the glossary or a Latin word of a glossary term's Chinese (softmax, Gram 矩阵)
holds it; a name of several words on the allowlist counts as one word.

``share = offending Latin words / (Chinese words + Latin words)``; the Chinese edition keeps it at
or under :data:`THRESHOLD` on every page (tests/browser/test_chinese_prose.py).

Run ``python scripts/chinese_prose.py [HTML_DIR]`` (default ``_build/html/zh_CN``) to print every
page's share and its most frequent offending words.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / "book" / "glossary" / "latin_allowlist.yml"
TERMS = ROOT / "book" / "glossary" / "terms.yml"
#: The most a Chinese page may hold of offending Latin words, as a share of its visible words.
THRESHOLD = 0.02
#: CJK characters per Chinese word (see the module's docstring).
CHARS_PER_WORD = 2

CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: A Latin-script token: letters and digits, joined by inner hyphens, apostrophes, underscores,
#: dots or slashes (the last three make it an identifier: ``gate_sd``, ``se.md``, ``book/ch2``).
_ALNUM = r"[A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]"
TOKEN = re.compile(rf"{_ALNUM}+(?:['’\-_./]{_ALNUM}+)*")
IDENTIFIER = re.compile(r"[0-9_./]")
LETTER = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")
MATHS = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]|\$\$.*?\$\$", re.S)
URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+|\S+@\S+\.\w+")

SKIP_TAGS = {"script", "style", "noscript", "template", "code", "pre", "kbd", "samp", "svg",
             "math", "textarea"}
SKIP_CLASSES = {"highlight", "cell_input", "math", "notranslate", "bibtex-citation", "citation",
                "citation-list"}
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
_SHOWN_AGAIN = re.compile(r"d-(?:sm|md|lg|xl|xxl)-(?:block|flex|inline|inline-block|inline-flex|"
                          r"grid|table|table-cell|table-row)$")
_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")


@dataclass
class Names:
    """The Latin words and phrases a Chinese page may hold, and the glossary's English terms."""

    words: set[str] = field(default_factory=set)
    phrases: list[str] = field(default_factory=list)
    glosses: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        phrases = sorted(self.phrases, key=len, reverse=True)
        self.phrase = re.compile("|".join(rf"(?<!\w){re.escape(p)}(?!\w)" for p in phrases)
                                 or r"(?!)")
        terms = "|".join(re.escape(g) for g in sorted(self.glosses, key=len, reverse=True))
        # After a full-width parenthesis or a comma inside one: a glossary term (its plural too);
        # or the whole of a full-width parenthesis (a Chinese sentence's) of at most three words,
        # the English of the Chinese before it (时间注意力（temporal attention）).
        self.gloss = re.compile(
            rf"(?<=[（，、])\s*(?:{terms or '(?!)'})(?:e?s)?(?=\s*[），、；：])"
            rf"|(?<=（)[A-Za-z][A-Za-z\-]*(?: [A-Za-z\-]+){{0,2}}(?=）)",
            re.I)

    def allows(self, word: str) -> bool:
        if word in self.words or word.replace("’", "'") in self.words:
            return True
        # "Hu's": a name's possessive; "CNNs": an allowed name's plural
        base = re.sub(r"(?:['’]s|s)$", "", word)
        return base != word and base in self.words


def load_names(allowlist: Path = ALLOWLIST, terms: Path = TERMS) -> Names:
    """The allowlist's names (a name of several words is allowed as a whole: "Triplet
    Attention"), the glossary's abbreviations and the Latin words of its Chinese terms, and the
    glossary's English terms (without a parenthesised note) for the first-use glosses."""
    listed = yaml.safe_load(allowlist.read_text(encoding="utf-8")) or {}
    if not isinstance(listed, dict):
        raise ValueError(f"{allowlist}: expected a mapping of kind -> list of names")
    words: set[str] = set()
    phrases: list[str] = []
    for kind, names in listed.items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"{allowlist}: {kind!r} is not a list of names: {names!r}")
        for name in names:
            if " " in name.strip():
                phrases.append(name.strip())
            else:
                words.add(name.strip())
    glosses = []
    for term in yaml.safe_load(terms.read_text(encoding="utf-8")):
        for abbr in str(term.get("abbr") or "").split("/"):
            words.update(TOKEN.findall(abbr))
        words.update(TOKEN.findall(str(term["zh"])))
        english = re.sub(r"\s*\(.*\)\s*$", "", term["en"]).strip()
        glosses += [part.strip() for part in english.split(" / ")]
    return Names(words, phrases, glosses)


def _hidden(tag: str, attributes: dict, classes: list[str]) -> bool:
    if "hidden" in attributes or (tag == "input" and attributes.get("type") == "hidden"):
        return True
    if _HIDING_STYLE.search(attributes.get("style") or ""):
        return True
    return "d-none" in classes and not any(_SHOWN_AGAIN.match(c) for c in classes)


def _skipped(tag: str, attributes: dict, classes: list[str], also: frozenset = frozenset()) -> bool:
    if tag in SKIP_TAGS or _hidden(tag, attributes, classes):
        return True
    # deliberately in another language (the "English" link, for the English reader)
    if not str(attributes.get("lang") or "zh").lower().startswith("zh"):
        return True
    return bool((SKIP_CLASSES | also) & set(classes))


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr"}


class _Reader(HTMLParser):
    """Collects the visible texts of a page (the standard library's parser, streamed: a tree of
    the book's 4 MB of pages would take seconds to build)."""

    def __init__(self, skip: frozenset = frozenset()):
        super().__init__(convert_charrefs=True)
        self.skip = skip
        #: open elements: (tag, skipped, printed, in the glossary's table)
        self.stack: list[tuple[str, bool, bool, bool]] = []
        self.texts: list[str] = []
        self.title: list[str] = []
        self.in_title = False
        self.cell = 0  # the column of the glossary table's current cell

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, push=tag not in VOID)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, push=False)

    def _start(self, tag, attrs, push):
        if tag == "title":
            self.in_title = True
        skipped, printed, glossary = self.stack[-1][1:] if self.stack else (False, False, False)
        attributes = {name: value or "" for name, value in attrs}
        classes = attributes.get("class", "").split()
        if not skipped:
            skipped = tag == "head" or _skipped(tag, attributes, classes, self.skip)
            printed = printed or "onlyprint" in classes
            glossary = glossary or (tag == "table" and "glossary-table" in classes)
            if glossary and tag == "tr":
                self.cell = 0
            elif glossary and tag == "td":
                self.cell += 1
                skipped = self.cell == 1  # the English column: the glossary gives the English
            if not skipped and not printed:
                self.texts += [attributes[a] for a in ATTRIBUTES if attributes.get(a, "").strip()]
        if push:
            self.stack.append((tag, skipped, printed, glossary))

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif data.strip() and not (self.stack and self.stack[-1][1]):
            self.texts.append(data)


def visible_texts(html: str, skip: frozenset = frozenset()) -> list[str]:
    """The texts a reader meets on the page, in document order (see the module's docstring),
    less the elements of the classes `skip` (``{"cell_output"}``: the page without its notebook
    cells' outputs)."""
    reader = _Reader(skip)
    reader.feed(html)
    reader.close()
    title = "".join(reader.title).strip()
    return ([title] if title else []) + reader.texts


@dataclass
class Share:
    """One page's count: Chinese words, Latin words, and the offending Latin words with the
    context of their first occurrence."""

    chinese: int
    latin: int
    offending: Counter
    context: dict[str, str]

    @property
    def words(self) -> int:
        return self.chinese + self.latin

    @property
    def ratio(self) -> float:
        return sum(self.offending.values()) / self.words if self.words else 0.0

    def report(self, top: int = 12) -> str:
        lines = [f"{sum(self.offending.values())} offending Latin words in {self.words} visible "
                 f"words ({self.ratio:.1%}); most frequent:"]
        for word, count in self.offending.most_common(top):
            lines.append(f"  {word!r} x{count}: ...{self.context[word]}...")
        return "\n".join(lines)


def latin_share(html: str, names: Names, skip: frozenset = frozenset()) -> Share:
    """Count a page's visible words (see the module's docstring), less the elements of the
    classes `skip`."""
    characters = latin = 0
    offending: Counter = Counter()
    context: dict[str, str] = {}
    for raw in visible_texts(html, skip):
        text = URL.sub(" ", MATHS.sub(" ", raw))
        characters += len(CJK.findall(text))
        # a gloss (挤压（squeeze）) counts for nothing; an allowed name of several words for one
        text = names.gloss.sub(" ", text)
        text, allowed = names.phrase.subn(" ", text)
        latin += allowed
        for match in TOKEN.finditer(text):
            word = match.group()
            if len(LETTER.findall(word)) < 2 or IDENTIFIER.search(word):
                continue  # a symbol (one letter) or an identifier
            latin += 1
            if names.allows(word):
                continue
            offending[word] += 1
            if word not in context:
                around = text[max(0, match.start() - 40):match.end() + 40]
                context[word] = " ".join(around.split())
    return Share(math.ceil(characters / CHARS_PER_WORD), latin, offending, context)


ASSET_DIRS = {"_static", "_sources", "_images", "_notebooks"}


def pages(root: Path) -> list[Path]:
    """Every HTML page of a built edition (not the copied assets)."""
    return sorted(p for p in root.rglob("*.html")
                  if not ASSET_DIRS & set(p.relative_to(root).parts))


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else ROOT / "_build" / "html" / "zh_CN"
    names = load_names()
    shares = {str(p.relative_to(root)): latin_share(p.read_text(encoding="utf-8"), names)
              for p in pages(root)}
    over = 0
    for page, share in sorted(shares.items(), key=lambda kv: -kv[1].ratio):
        over += share.ratio > THRESHOLD
        top = ", ".join(f"{w} x{c}" for w, c in share.offending.most_common(6))
        print(f"{share.ratio:6.2%} {share.words:6d} {page}  {top}")
    print(f"{len(shares)} pages, {over} over {THRESHOLD:.0%}")
    return 1 if over or not shares else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
