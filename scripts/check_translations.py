"""Check the Chinese edition's gettext catalogues (book/locale/zh_CN/LC_MESSAGES/**/*.po).

Every message is checked against its English source:

- it is translated and not fuzzy;
- its protected spans are kept: inline maths ``$...$``, inline code, the targets of links and of
  roles (``{ref}`text <target>``` may translate ``text``; ``{eq}``, ``{cite}``, ``{glue:text}``,
  ``{math}`` and any role without a ``<target>`` must be kept whole);
- a block of display maths (a message that starts with a line break) is copied unchanged, except
  the words inside ``\text{...}``, which may be translated (in inline maths too);
- every number written in digits in the English is written in digits in the Chinese, or states the
  same number with 万 or 亿 ("25.6 M" as "2560 万", "9.8 million" as "980 万");
- a shape or other code-like tuple written as plain text in the English, ``(B, C, H, W)``, is
  written the same way in the Chinese, as plain text or as code (one notation in both editions:
  not ``B × C × H × W``, not in full-width parentheses ``（B, C）``);
- a message with English prose words (two or more lower-case words; names do not count) is
  translated into Chinese (it contains Chinese characters);
- punctuation: full-width in Chinese prose (no ASCII , . : ; ? ! next to Chinese characters, no
  ASCII parentheses around or next to Chinese text, except a code-like tuple), no space around
  full-width punctuation, no space between a number and its percent sign (10%), none between a
  cross-reference and Chinese (the build sets it);
- spacing, one rule: one space between a Chinese character and an adjacent Latin letter, digit,
  maths, code or role that renders as Latin text ({eq}, {cite}, {glue:text}); none next to
  full-width punctuation; cross-references ({ref}, {doc}, {numref}) take no space in the
  catalogue: the Chinese build names them ("第 2 章（标题）", "式 (2.3)") and sets their spacing
  itself (book/_ext/chinese_references.py);
- a one-line message does not begin with a list marker ("1. 点积与相似度"): Sphinx's i18n
  transform drops a translation that parses as a list, and the English stays on the page;
- emphasis renders: no ``*`` is left over once the message is parsed as Markdown (in Chinese a
  closing ``**`` between a full-width mark and a Chinese character does not close: write
  ``**标签**：``, not ``**标签：**``);
- no variant that the glossary (book/glossary/terms.yml) lists under ``avoid`` is used;
- the glossary is a contract: wherever a glossary term's English appears in a message's prose
  (outside maths, code and roles), the Chinese uses the glossary's Chinese term, unless the English
  word itself is kept (a name such as "Triplet Attention") or book/glossary/exceptions.yml
  accepts another rendering for that message (a verb such as "to score", or another sense of the
  word), each exception with its reason;
- first use: in each chapter (a chapter of the table of contents with its sections, or a page on
  its own), the first message that uses a glossary term's Chinese gives its English in
  parentheses right after it, 挤压（squeeze）; see :func:`missing_first_glosses`.

Before any of that, each file must be a well-formed catalogue: a ``.po`` file whose every line
is a comment, blank, a keyword (``msgid``, ``msgstr``, ...) followed by a quoted string, or a
quoted continuation, and which holds at least one message. (babel reads ``msgstr 文本`` without
its quotes as the text with its first and last characters cut off, and a Markdown file as an empty
catalogue, both without an error.)

Run ``python scripts/check_translations.py [FILE.po ...]`` (all catalogues when none is named): it
prints one line per problem and exits 1 if there is any, or if there is no catalogue to check.
``python scripts/check_translations.py --add-glosses`` writes the missing first-use glosses into
the catalogues mechanically (read them afterwards: a compound word may need the gloss moved).
tests/test_translations.py calls :func:`check_catalogue` on every catalogue.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import yaml
from babel.messages.pofile import PoFileError, read_po
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "book" / "locale" / "zh_CN" / "LC_MESSAGES"
GLOSSARY = ROOT / "book" / "glossary" / "terms.yml"
EXCEPTIONS = ROOT / "book" / "glossary" / "exceptions.yml"

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
FULL_WIDTH_PUNCT = "，。：；？！、）（「」『』《》“”‘’…—"
_ROLE = r"\{[A-Za-z][\w:.-]*\}`[^`]*`"
PROTECTED = re.compile(
    rf"(?P<role>{_ROLE})"
    r"|(?P<code2>``[^`]+``)"
    r"|(?P<code>`[^`]+`)"
    r"|(?P<dmath>\$\$.+?\$\$)"
    r"|(?P<math>\$[^$\n]+\$)"
    r"|(?P<link>\]\([^)\s]+\))"
    r"|(?P<url>https?://[^\s)>]+)",
    re.S,
)
PLACEHOLDER = "\ue000"  # maths, code, links, and roles that render as Latin text or numbers
NEUTRAL = "\ue001"  # cross-references: they render as the target's title, Chinese in this edition
XREF_ROLES = ("{ref}", "{doc}", "{numref}", "{prf:ref}", "{term}")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
WORD = re.compile(r"[A-Za-z]{2,}")
# English prose words (names such as ResNet-50, SE or CBAM are not: a cell of names may be copied).
PROSE_WORD = re.compile(r"(?<![\w-])[a-z]{2,}(?![\w-])")
_MARKDOWN = MarkdownIt("commonmark")
_QUOTED = r'"(?:[^"\\]|\\.)*"'
PO_LINE = re.compile(
    rf"^(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)[ \t]+)?{_QUOTED}[ \t]*$"
)


TEXT_COMMAND = re.compile(r"\\text\s*\{")
# A code-like tuple in prose: items that are a letter (with a subscript), a number or a lower-case
# identifier, joined by + - * /; at least one comma: "(B, C, H, W)", "(k,)", "(C/r, C)", "(out,
# in)".
_ITEM = r"\s*(?:[A-Za-z](?:_\w+)?|\d+|[a-z]+)(?:\s*[-+*/]\s*(?:[A-Za-z](?:_\w+)?|\d+|[a-z]+))*\s*"
TUPLE = re.compile(rf"\((?:{_ITEM},)+(?:{_ITEM})?\)")
FULL_WIDTH_TUPLE = re.compile(rf"（(?:{_ITEM},)+(?:{_ITEM})?）")
# A number with its scale: "25.6 M", "9.8 million", "4,194,304"; in Chinese "2560 万", "3.5 亿".
SCALED_EN = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s?(M|million|G|billion|k|"
                       r"thousand)(?![\w]))?")
SCALED_ZH = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(万亿|亿|万)")
SCALE = {None: 1, "k": 10**3, "thousand": 10**3, "M": 10**6, "million": 10**6, "G": 10**9,
         "billion": 10**9, "万": 10**4, "亿": 10**8, "万亿": 10**12}


def tuples(text: str) -> list[str]:
    """The code-like tuples in ``text``: at least one item a single letter (a shape's B, C, H, W,
    n), so that words in parentheses, "(pool, transform, gate, apply)", and numbers, "widths (8, 16,
    32)", a position "(1, 1)", are prose that a translation may write its own way."""
    return [t for t in TUPLE.findall(text)
            if any(re.fullmatch(r"\s*[A-Za-z](?:_\w+)?\s*", item)
                   for item in t[1:-1].split(","))]


def untext(maths: str) -> str:
    """``maths`` with the contents of every ``\\text{...}`` emptied (braces balanced): the words a
    translation may change inside maths."""
    out, pos = [], 0
    for m in TEXT_COMMAND.finditer(maths):
        if m.start() < pos:
            continue
        depth, i = 1, m.end()
        while i < len(maths) and depth:
            depth += {"{": 1, "}": -1}.get(maths[i], 0) if maths[i - 1] != "\\" else 0
            i += 1
        out.append(maths[pos:m.end()] + "}")
        pos = i
    out.append(maths[pos:])
    return "".join(out)


def _scaled(pattern: re.Pattern, text: str) -> list[tuple[list[str], Fraction]]:
    """(the digit strings NUMBER finds in it, the value) of each scaled number in ``text``."""
    found = []
    for m in pattern.finditer(text):
        digits = m.group(1).replace(",", "")
        found.append((NUMBER.findall(m.group(1)), Fraction(digits) * SCALE[m.group(2)]))
    return found


def invalid_lines(text: str) -> list[tuple[int, str]]:
    """The lines of a .po file that are not a comment, blank, keyword + quoted string or quoted
    continuation: ``(line number, line)`` for each."""
    bad = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or PO_LINE.match(stripped):
            continue
        bad.append((number, line))
    return bad


def stray_asterisks(text: str) -> bool:
    """Whether Markdown leaves a ``*`` unparsed in ``text`` (maths, code and roles left out)."""
    html = _MARKDOWN.render(PROTECTED.sub(" ", text))
    return "*" in re.sub(r"<[^>]+>", "", html)


@dataclass(frozen=True)
class Problem:
    path: str
    msgid: str
    what: str

    def __str__(self) -> str:
        if not self.msgid:  # a problem of the whole file
            return f"{self.path}: {self.what}"
        short = self.msgid.replace("\n", " ")
        short = short if len(short) <= 70 else short[:67] + "..."
        return f"{self.path}: {self.what}: {short!r}"


def protected_spans(text: str) -> list[str]:
    """The spans a translation must keep, each normalised to what must stay equal."""
    spans = []
    for m in PROTECTED.finditer(text):
        kind = m.lastgroup
        span = m.group()
        if kind == "role":
            name, _, content = span.partition("`")
            content = content[:-1]
            target = re.search(r"<([^<>]+)>$", content)
            if target and name in XREF_ROLES:
                span = f"{name}<{target.group(1)}>"
        elif kind in ("math", "dmath"):
            span = untext(span)
        spans.append(span)
    return spans


def _mask(text: str) -> str:
    def one(m: re.Match) -> str:
        if m.lastgroup == "role" and m.group().startswith(XREF_ROLES):
            return NEUTRAL
        return PLACEHOLDER

    return PROTECTED.sub(one, text)


def load_avoid() -> dict[str, str]:
    """Variant -> the glossary's term (the Chinese the edition uses instead)."""
    terms = yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))
    return {v: t["zh"] for t in terms for v in t.get("avoid", []) or []}


def english_term(en: str) -> str:
    """The English a glossary entry's ``en`` stands for in prose: its parenthesised note removed
    ("tap (one weight of a 1-D kernel)" -> "tap")."""
    return re.sub(r"\s*\(.*\)\s*$", "", en).strip()


@dataclass
class Glossary:
    """The glossary as a contract: for each English term (a pattern over the English prose), the
    Chinese renderings accepted, and the exceptions of book/glossary/exceptions.yml.

    An exception is ``{term, page, msgid, zh, why}``: in the message of ``page`` (a docname) whose
    msgid starts with ``msgid``, ``zh`` is accepted for ``term``; with ``page: "*"`` and no msgid,
    ``zh`` is accepted on every page (a construction Chinese needs, such as 一批 for "a batch of");
    with ``page: "*"`` and neither msgid nor zh, ``term`` is not checked for positive use at all
    (an English word too ambiguous to find mechanically, such as "plus"); with ``english`` (a
    regular expression), the term is looked for only where it matches (the noun "the cost", not
    the verb "costs 524 288 weights"). ``used`` records which exceptions accepted something (the
    test requires every exception to be needed)."""

    terms: dict[str, tuple[re.Pattern, tuple[str, ...]]]
    exceptions: list[dict]
    used: set[int]

    def problems(self, msgid: str, msgstr: str, page: str | None) -> list[str]:
        src = _mask(msgid)
        out = []
        for en, (pattern, zh) in self.terms.items():
            m = pattern.search(src)
            if not m or any(z in msgstr for z in zh) or m.group().lower() in msgstr.lower():
                continue  # not there, rendered as the glossary says, or kept as a name
            if self._excepted(en, page, msgid, msgstr):
                continue
            out.append(f"glossary: {en!r} is {zh[0]!r} in this edition (or an exception in "
                       f"book/glossary/exceptions.yml)")
        return out

    def _excepted(self, en: str, page: str | None, msgid: str, msgstr: str) -> bool:
        for index, e in enumerate(self.exceptions):
            if e["term"] != en or e.get("first_use") is False:
                continue
            if e.get("english"):
                continue
            whole = e["page"] == "*" and not e.get("msgid") and not e.get("zh")
            here = (e["page"] in (page, "*") and msgid.startswith(e.get("msgid", ""))
                    and e.get("zh", "\0") in msgstr)
            if whole or here:
                self.used.add(index)
                return True
        return False


def load_glossary(path: Path = GLOSSARY, exceptions: Path = EXCEPTIONS) -> Glossary:
    """The glossary's terms as patterns, with the exceptions (ValueError names a bad one)."""
    terms: dict[str, tuple[re.Pattern, tuple[str, ...]]] = {}
    for t in yaml.safe_load(path.read_text(encoding="utf-8")):
        en = english_term(t["en"])
        words = [r"\s+".join(map(re.escape, alt.split())) for alt in en.split(" / ")]
        flags = re.I if en == en.lower() else 0
        pattern = re.compile(rf"(?<![\w-])(?:{'|'.join(words)})(?:s|es)?(?![\w-])", flags)
        zh = tuple(z.strip() for z in t["zh"].split(" / "))
        old = terms.get(en, (pattern, ()))[1]
        terms[en] = (pattern, old + zh)
    listed = yaml.safe_load(exceptions.read_text(encoding="utf-8")) if exceptions.exists() else []
    for e in listed or []:
        if e.get("first_use") is False:
            if not e.get("why"):
                raise ValueError(f"{exceptions}: say why the term needs no gloss: {e!r}")
            continue
        if e.get("english") and e.get("term") in terms:
            terms[e["term"]] = (re.compile(e["english"]), terms[e["term"]][1])
            continue
        if e.get("term") not in terms or not e.get("why") or not e.get("page"):
            raise ValueError(f"{exceptions}: an exception needs a glossary term, a page and a "
                             f"reason: {e!r}")
        if e["page"] != "*" and not (e.get("msgid") and e.get("zh")):
            raise ValueError(f"{exceptions}: an exception on a page names the message (msgid) "
                             f"and the Chinese it accepts (zh): {e!r}")
    return Glossary(terms, list(listed or []), set())


def check_message(msgid: str, msgstr: str, avoid: dict[str, str] | None = None,
                  glossary: Glossary | None = None, page: str | None = None) -> list[str]:
    """The problems of one translated message (an empty list when it is right); with a
    ``glossary``, the positive use of its terms too (``page``, the docname, for its exceptions)."""
    problems = []
    if not msgstr:
        return ["untranslated"]
    if msgid.startswith("\n") or not WORD.search(_mask(msgid)):
        # Display maths, or a message made only of maths, code, roles and numbers: kept as is,
        # unless it contains Chinese-translatable role text (then the checks below apply).
        if msgid.startswith("\n"):
            if untext(msgstr) == untext(msgid):
                return []
            return ["display maths must be copied unchanged (only words inside \\text{} may be "
                    "translated)"]
    src, dst = _mask(msgid), _mask(msgstr)
    a, b = Counter(protected_spans(msgid)), Counter(protected_spans(msgstr))
    for span in list((b - a).elements()):  # a tuple of the English prose written as code
        if span.strip("`") in tuples(src):
            b[span] -= 1
    b = +b
    if a != b:
        missing = list((a - b).elements())
        extra = list((b - a).elements())
        detail = []
        if missing:
            detail.append("missing " + ", ".join(missing[:3]))
        if extra:
            detail.append("added " + ", ".join(extra[:3]))
        problems.append("maths/code/roles differ: " + "; ".join(detail))
    need = Counter(NUMBER.findall(src))
    have = Counter(NUMBER.findall(dst))
    english = _scaled(SCALED_EN, src)
    for digits, value in _scaled(SCALED_ZH, dst):  # 2560 万 states 25.6 M
        have.subtract(digits)
        same = next((e for e in english if e[1] == value), None)
        if same is not None:
            english.remove(same)
            have.update(same[0])
    lost = need - +have
    for tup in tuples(src):
        if tup not in msgstr:
            problems.append(f"shape/tuple {tup!r} not written as in the English (plain or as code)")
    if (m := FULL_WIDTH_TUPLE.search(msgstr)) and tuples(f"({m.group()[1:-1]})"):
        problems.append(f"code-like tuple in full-width parentheses: {m.group()!r} (write it "
                        f"as the English does)")
    if lost:
        problems.append("numbers lost: " + ", ".join(sorted(lost.elements())))
    if len(PROSE_WORD.findall(src)) >= 2 and not re.search(f"[{CJK}]", dst):
        problems.append("not translated into Chinese")
    dst = TUPLE.sub(PLACEHOLDER, dst)  # a code-like tuple keeps its ASCII parentheses
    if re.search(f"[{CJK}]", dst):
        if m := re.search(rf"[{CJK}][ ]?[,.:;?!]|[,;:?!][ ]?[{CJK}]", dst):
            problems.append(f"ASCII punctuation in Chinese prose: {m.group()!r}")
        if m := re.search(rf"\([^()]*[{CJK}][^()]*\)|[{CJK}][ ]?\(|\)[ ]?[{CJK}]", dst):
            problems.append(f"ASCII parentheses in Chinese prose: {m.group()!r}")
        chinese = f"[{CJK}{FULL_WIDTH_PUNCT}]"
        if re.search(rf"{chinese} {NEUTRAL}|{NEUTRAL} {chinese}", dst):
            problems.append("a space beside a cross-reference: the Chinese build sets its spacing "
                            "(write 见{ref}`ch2-se`。)")
        if m := re.search(rf"[0-9{PLACEHOLDER}] %", dst):
            problems.append(f"a space before the percent sign (Chinese writes 10%): {m.group()!r}")
        if m := re.search(rf" [{FULL_WIDTH_PUNCT}]|[{FULL_WIDTH_PUNCT}] ", dst):
            problems.append(f"space next to full-width punctuation: {m.group()!r}")
        latin = f"A-Za-z0-9{PLACEHOLDER}"
        if m := re.search(rf"[{CJK}][{latin}]|[{latin}%][{CJK}]", dst):
            problems.append(f"no space between Chinese and Latin/number/maths: {m.group()!r}")
    if re.match(r"\d+[.)]\s", msgstr) and "\n" not in msgstr:
        problems.append("begins with a list marker: Sphinx drops a translation that parses as a "
                        "list (write 第 1 章 …, or escape it: 1\\.)")
    if stray_asterisks(msgstr) and not stray_asterisks(msgid):
        problems.append("emphasis does not render (a '*' is left over): punctuation outside '**'")
    for variant, term in (avoid or {}).items():
        if variant in msgstr:
            problems.append(f"glossary: use {term!r}, not {variant!r}")
    if glossary is not None and re.search(f"[{CJK}]", msgstr):
        problems += glossary.problems(msgid, msgstr, page)
    return problems


def docname(path: Path) -> str | None:
    """The page a catalogue translates ("book/ch2_se/se"), None for a file outside the locale."""
    path = path.resolve()
    return str(path.relative_to(LOCALE).with_suffix("")) if path.is_relative_to(LOCALE) else None


def check_catalogue(path: Path, avoid: dict[str, str] | None = None,
                    glossary: Glossary | None = None) -> list[Problem]:
    """Every problem of one .po file (a malformed file is one problem per bad line). With
    ``avoid`` left out, the glossary's variants and its positive use are both checked."""
    if avoid is None:
        avoid, glossary = load_avoid(), glossary or load_glossary()
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    if path.suffix != ".po" or not path.is_file():
        return [Problem(rel, "", "not a .po catalogue file")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [Problem(rel, "", f"not UTF-8 text: {exc}")]
    bad = invalid_lines(text)
    if bad:
        return [Problem(rel, line, f"line {number} is not valid .po syntax (a keyword and a "
                                   f"quoted string, or a quoted continuation)")
                for number, line in bad]
    try:
        catalog = read_po(io.BytesIO(text.encode("utf-8")), abort_invalid=True)
    except PoFileError as exc:
        return [Problem(rel, "", f"babel cannot read it: {exc}")]
    if not any(message.id for message in catalog):
        return [Problem(rel, "", "no message at all: not a catalogue of a page")]
    out = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        msgstr = message.string if isinstance(message.string, str) else message.string[0]
        if message.fuzzy:
            out.append(Problem(rel, msgid, "fuzzy (the English changed: update the translation)"))
            continue
        out.extend(Problem(rel, msgid, what)
                   for what in check_message(msgid, msgstr, avoid, glossary, docname(path)))
    return out


def chapters() -> list[list[str]]:
    """The chapters whose first uses are glossed, each a list of pages in reading order: every
    chapter of the table of contents with its sections (the preface, chapters 1-8, each page of the
    field guide). The front page and the back matter are not chapters."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [[ch["file"]] + [sec["file"] for sec in ch.get("sections", [])]
            for part in toc["parts"] if part.get("caption") != "Back matter"
            for ch in part["chapters"]]


def headings() -> set[str]:
    """The text of every heading and admonition title of the book's sources (a gloss belongs in
    the running text, not in a title that the sidebar and the references repeat)."""
    found = set()
    line = re.compile(r"^(?:#{1,6}\s+|```\{admonition\}\s+|:::\{admonition\}\s+)(.+?)\s*$", re.M)
    for path in (ROOT / "book").rglob("*"):
        if path.suffix == ".md":
            found.update(line.findall(path.read_text(encoding="utf-8")))
        elif path.suffix == ".ipynb" and ".ipynb_checkpoints" not in path.parts:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            for cell in cells:
                if cell["cell_type"] == "markdown":
                    found.update(line.findall("".join(cell["source"])))
    return found


def glossed_terms() -> list[dict]:
    """The glossary entries whose first use in a chapter carries the English: all but those whose
    Chinese has Latin letters or is one character (键, 值: too common inside other words to find),
    and those exceptions.yml marks ``first_use: false``."""
    terms = yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))
    listed = yaml.safe_load(EXCEPTIONS.read_text(encoding="utf-8")) if EXCEPTIONS.exists() else []
    exempt = {e["term"] for e in listed or [] if e.get("first_use") is False}
    return [t for t in terms if english_term(t["en"]) not in exempt
            and not re.search("[A-Za-z]", t["zh"]) and len(t["zh"].split(" / ")[0]) >= 2]


def _first_use(text: str, zh: str, longer: list[str]) -> re.Match | None:
    """The first occurrence of ``zh`` in ``text`` outside maths, code and roles, and not part of a
    longer glossary term (注意力 inside 自注意力 is a use of 自注意力)."""
    spans = [m.span() for m in PROTECTED.finditer(text)]
    spans += [m.span() for other in longer for m in re.finditer(re.escape(other), text)]
    for m in re.finditer(re.escape(zh), text):
        if not any(a <= m.start() and m.end() <= b for a, b in spans):
            return m
    return None


def glossed(text: str, at: re.Match, term: dict) -> bool:
    """Whether the use ``at`` is followed (after a closing ``**``, or after one more character
    that makes a compound: 门控值（gate）, 卷积核（convolution kernel）) by parentheses holding
    the English term or its abbreviation: 挤压（squeeze）, **降维比**（reduction ratio，r）; inside
    parentheses already, by a comma and the English: （即全局平均池化，global average pooling）."""
    after = text[at.end():].lstrip("*")
    if re.match(f"[{CJK}]（", after):
        after = after[1:]
    if after.startswith("，") and "）" in after:  # inside parentheses already: （…挤压，squeeze）
        after = "（" + after[1:]
    if not after.startswith("（") or "）" not in after:
        return False
    inside = _mask(after[1:after.index("）")])
    return english_term(term["en"]).lower() in inside.lower() or (
        "abbr" in term and re.search(rf"(?<![A-Za-z]){re.escape(term['abbr'])}(?![A-Za-z])",
                                     inside) is not None)


def missing_first_glosses() -> list[Problem]:
    """For each chapter and glossed term: the first message of the chapter (headings and display
    maths left out) that uses the term's Chinese must give its English in parentheses."""
    terms = glossed_terms()
    all_zh = [z.strip() for t in yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))
              for z in t["zh"].split(" / ")]
    titles = headings()
    problems = []
    for pages in chapters():
        messages = []
        for page in pages:
            path = LOCALE / f"{page}.po"
            if not path.is_file():
                continue
            with open(path, "rb") as f:
                for message in read_po(f):
                    if (message.id and isinstance(message.string, str) and message.string
                            and not message.id.startswith("\n") and message.id not in titles):
                        messages.append((path, message.id, message.string))
        for term in terms:
            zh = term["zh"].split(" / ")[0].strip()
            longer = [z for z in all_zh if zh in z and z != zh]
            for path, msgid, msgstr in messages:
                at = _first_use(msgstr, zh, longer)
                if at is None:
                    continue
                if not glossed(msgstr, at, term):
                    rel = str(path.relative_to(ROOT))
                    problems.append(Problem(rel, msgid, f"first use of {zh!r} in the chapter of "
                                                        f"{pages[0]}: write {zh}（"
                                                        f"{english_term(term['en'])}）"))
                break
    return problems


def catalogues() -> list[Path]:
    return sorted(LOCALE.rglob("*.po"))


def _gloss(msgstr: str, zh: str, term: dict, longer: list[str]) -> str:
    """``msgstr`` with the English gloss after the first use of ``zh`` (the mechanical fix of a
    missing first-use gloss): "挤压（squeeze）", "挤压（squeeze，…" before parentheses already
    there, "（…挤压，squeeze）" at the end of parentheses."""
    at = _first_use(msgstr, zh, longer)
    if at is None or glossed(msgstr, at, term):
        return msgstr
    end = at.end() + len(msgstr[at.end():]) - len(msgstr[at.end():].lstrip("*"))
    gloss = english_term(term["en"])
    if term.get("abbr") and term["abbr"] not in msgstr[end:end + 40]:
        gloss += f"，{term['abbr']}"
    if msgstr[end:end + 1] == "（":
        return msgstr[:end + 1] + gloss + "，" + msgstr[end + 1:]
    before = msgstr[:at.start()]
    if msgstr[end:end + 1] == "）" and before.count("（") > before.count("）"):
        return msgstr[:end] + f"，{gloss}" + msgstr[end:]  # not nested: （…挤压，squeeze）
    after = msgstr[end:].lstrip(" ") if re.match(r" [A-Za-z0-9$`{]", msgstr[end:]) else msgstr[end:]
    return msgstr[:end] + f"（{gloss}）" + after


def add_first_glosses() -> int:
    """Write the missing first-use glosses into the catalogues (``--add-glosses``), changing only
    the msgstr of the messages concerned; returns how many were added. Read the result: a gloss
    is placed mechanically after the first use, which may sit inside a compound word."""
    from babel.messages.pofile import normalize, unescape

    by_term = {t["zh"].split(" / ")[0].strip(): t for t in glossed_terms()}
    all_zh = [z.strip() for t in yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))
              for z in t["zh"].split(" / ")]
    todo: dict[tuple[str, str], list[str]] = {}
    for problem in missing_first_glosses():
        zh = re.search(r"first use of '([^']+)'", problem.what).group(1)
        todo.setdefault((problem.path, problem.msgid), []).append(zh)
    added = 0
    for (rel, msgid), terms in todo.items():
        path = ROOT / rel
        blocks = path.read_text(encoding="utf-8").split("\n\n")
        for index, block in enumerate(blocks):
            lines = block.split("\n")
            keys = [i for i, line in enumerate(lines) if re.match(r"(msgid|msgstr) ", line)]
            if len(keys) != 2:
                continue
            start_id, start_str = keys
            text_id = "".join(unescape(x.split(" ", 1)[-1] if i == start_id else x)
                              for i, x in enumerate(lines[start_id:start_str], start_id))
            if text_id != msgid:
                continue
            end_str = start_str + 1
            while end_str < len(lines) and lines[end_str].startswith('"'):
                end_str += 1
            text = "".join(unescape(x.split(" ", 1)[-1] if i == start_str else x)
                           for i, x in enumerate(lines[start_str:end_str], start_str))
            for zh in terms:
                new = _gloss(text, zh, by_term[zh], [z for z in all_zh if zh in z and z != zh])
                added += new != text
                text = new
            rendered = "msgstr " + normalize(text, prefix="", width=76)
            lines[start_str:end_str] = rendered.split("\n")
            blocks[index] = "\n".join(lines)
        path.write_text("\n\n".join(blocks), encoding="utf-8")
    return added


def main(argv: list[str]) -> int:
    if argv == ["--add-glosses"]:
        print(f"{add_first_glosses()} first-use gloss(es) added: read them, then check again")
        return 0
    paths = [Path(a).resolve() for a in argv] or catalogues()
    if not paths:
        print(f"no catalogue (*.po) found under {LOCALE}: nothing was checked", file=sys.stderr)
        return 1
    avoid, glossary = load_avoid(), load_glossary()
    problems = [p for path in paths for p in check_catalogue(path, avoid, glossary)]
    if not argv:  # the whole edition: the first use of each term in each chapter
        problems += missing_first_glosses()
    for p in problems:
        print(p)
    counts = Counter(p.path for p in problems)
    for path in paths:
        rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        print(f"{rel}: {counts.get(rel, 0)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
