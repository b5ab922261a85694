"""Cross-references and citations on the Chinese edition's pages, as Chinese readers write them.

Sphinx renders a ``{ref}`` or ``{doc}`` to a chapter as the chapter's bare title, which in a
Chinese sentence reads as words of the sentence ("……的空间门控：真实网络中的注意力 中在 clutter
任务上训练的 CBAM 网络"), and sphinxcontrib-bibtex writes "Hu *et al.* [2018]". On the Chinese
edition's pages only (``language`` zh_CN; the English pages and the catalogues' msgids are left
as they are), the post-transforms here rewrite the resolved references:

- a chapter: "第 7 章（真实网络中的注意力）", the form of the reader notebooks
  (book/_ext/reader_notebooks.py, ``WORDS["zh"]``) and of the review of issue 27;
- a field-guide page (lettered A, B, ...: ``_toc.yml``): "实用指南 B（SimAM：……）";
- a numbered section inside a page, or a chapter's section page (a lab, 7.10): "第 2.7 节（标题）".
  The section number already names its chapter and is the number the heading carries on the
  page, so the reader finds it in the sidebar or on the page; "第 2 章 2.7 节" would say the
  chapter twice and "第 2 章中的“标题”" would not say where in the chapter;
- an unnumbered page or section (the preface, the glossary): its title in quotation marks,
  “第一个注意力：依赖于输入的加权平均”, which sets it off from the sentence;
- inside full-width parentheses the number alone, "挤压-激励（第 2 章）", since a title there would
  nest a second pair of parentheses (and the text before the parentheses usually names the
  subject already); so too right before one: "第 2 章（SE）、第 3 章（ECA）"; where the text
  just before already says the target's chapter ("第 2 章（{ref}`ch2-reading-an-effect`）") the
  title is kept as it is;
- an equation: "式 (2.3)": the word 式 is put before the number where the reference stands for the
  equation itself (at the start of a clause, inside parentheses, after 由/用/根据/见/即 ...; once
  for a list of equations: "（式 (5.2)，(5.3)）"), not where it is a gloss after a noun
  ("SE 的激励 (2.2)", the form Chinese textbooks use too);
- an exercise: "练习 5.1" as sphinx-exercise writes it; a 练习 the translator wrote before it
  (which made "练习 练习 5.1") is taken out;
- a figure: "图 3.1" as Sphinx writes it;
- references in a figure's caption are treated like those in a paragraph;
- spacing at both ends of each of these references follows the translation checker's rule
  (scripts/check_translations.py): one space between Chinese and Latin letters or digits, none
  between Chinese characters, none next to full-width punctuation;
- a citation: "Hu 等 [2018]" and "[Hu 等, 2018]" for "Hu *et al.*", "Hu 和 Shen" for "Hu and
  Shen"; the link and its title (the full reference) are kept.

A reference written with its own text (``{ref}`第 7 章 <ch7-networks>```) keeps it (only its
spacing is set): only a reference whose text is the target's title is rewritten.
tests/test_chinese_references.py builds a small project in both languages.
"""

from __future__ import annotations

import re

from docutils import nodes
from language_switch import is_chinese
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: Full-width punctuation (CJK symbols, full-width forms, curly quotes, dashes and ellipsis).
FULL_WIDTH = re.compile("[\u3000-\u303f\uff00-\uffef\u2018\u2019\u201c\u201d\u2014\u2026]")
#: Words after which an equation's number stands for the equation itself ("由式 (4.1)").
EQUATION_VERBS = ("由", "用", "利用", "根据", "依据", "按照", "据", "即", "见", "参见", "就是",
                  "这是", "对应", "代入", "满足", "得回", "针对", "将", "从")
#: What may end the text before an equation reference that starts a clause.
CLAUSE_STARTS = ("（", "。", "；", "：", "！", "？")

#: The elements whose references are read inside a sentence (a figure's caption included).
PROSE = (nodes.paragraph, nodes.caption, nodes.term, nodes.line)

FORMS = {
    "chapter": "第 {number} 章（{title}）", "chapter_bare": "第 {number} 章",
    "guide": "实用指南 {number}（{title}）", "guide_bare": "实用指南 {number}",
    "section": "第 {number} 节（{title}）", "section_bare": "第 {number} 节",
    "unnumbered": "“{title}”",
}


def char_kind(char: str) -> str:
    """'cjk', 'full' (full-width punctuation), 'latin' (ASCII letters, digits, punctuation),
    'space' or 'other'."""
    if not char:
        return "other"
    if char.isspace():
        return "space"
    if CJK.match(char):
        return "cjk"
    if FULL_WIDTH.match(char):
        return "full"
    if char.isascii():
        return "latin"
    return "other"


def gap(left: str, right: str) -> str | None:
    """The space between a text ending in `left` and one starting with `right` (both one
    character), or None where the rule says nothing (the existing spacing stays)."""
    kinds = {char_kind(left), char_kind(right)}
    if "full" in kinds:
        return ""
    if kinds == {"cjk"}:
        return ""
    if kinds == {"cjk", "latin"}:
        return " "
    return None


def reference_text(number: tuple | None, title: str, *, compact: bool = False) -> str:
    """How a Chinese sentence names a page or section with this section number and title.

    >>> reference_text((7,), "真实网络中的注意力")
    '第 7 章（真实网络中的注意力）'
    >>> reference_text(("B",), "SimAM", compact=True)
    '实用指南 B'
    >>> reference_text((2, 7), "跨随机种子解读效应")
    '第 2.7 节（跨随机种子解读效应）'
    >>> reference_text(None, "术语表")
    '“术语表”'
    """
    if not number:
        return FORMS["unnumbered"].format(title=title)
    shown = ".".join(map(str, number))
    if len(number) == 1:
        kind = "guide" if str(number[0]).isalpha() else "chapter"
    else:
        kind = "section"
    form = FORMS[f"{kind}_bare"] if compact else FORMS[kind]
    return form.format(number=shown, title=title)


def inside_parentheses(before: str) -> bool:
    """True if the text before a point leaves a full-width parenthesis open."""
    depth = 0
    for char in before:
        if char == "（":
            depth += 1
        elif char == "）" and depth:
            depth -= 1
    return depth > 0


def equation_needs_word(before: str) -> bool:
    """True where an equation's number stands for the equation itself and needs "式"."""
    text = before.rstrip()
    if text.endswith(("式", "公式", "方程")):
        return False
    if not text or text.endswith(CLAUSE_STARTS):
        return True
    if text.endswith(("，", "、")) and inside_parentheses(text):
        # "（第 4 章，式 (4.2)）", but "（式 (5.2)，(5.3)）": a list of equations says 式 once
        return not text[:-1].rstrip().endswith(")")
    return text.endswith(EQUATION_VERBS)


def _text_before(node: nodes.Node) -> str:
    """The text of the paragraph before `node` (its preceding siblings, and theirs up to the
    enclosing paragraph)."""
    parts = []
    current = node
    while current.parent is not None and not isinstance(current, PROSE):
        parent = current.parent
        index = parent.index(current)
        parts.append("".join(child.astext() for child in parent.children[:index]))
        current = parent
    return "".join(reversed(parts))


def _text_after(node: nodes.Node) -> str:
    """The text of the paragraph right after `node` (its following siblings)."""
    parent = node.parent
    return "".join(child.astext() for child in parent.children[parent.index(node) + 1:])


def _set_text(node: nodes.Text, text: str) -> nodes.Text:
    new = nodes.Text(text)
    node.parent.replace(node, new)
    return new


def _space_around(reference: nodes.reference) -> None:
    """One space or none at both ends of `reference`, by the spacing rule."""
    text = reference.astext()
    if not text:
        return
    parent = reference.parent
    index = parent.index(reference)
    if index > 0 and isinstance(parent[index - 1], nodes.Text):
        before = parent[index - 1]
        stripped = before.astext().rstrip(" ")
        wanted = gap(stripped[-1:], text[0]) if stripped else None
        if wanted is not None and before.astext() != stripped + wanted:
            _set_text(before, stripped + wanted)
    index = parent.index(reference)
    if index + 1 < len(parent) and isinstance(parent[index + 1], nodes.Text):
        after = parent[index + 1]
        stripped = after.astext().lstrip(" ")
        wanted = gap(text[-1], stripped[:1]) if stripped else None
        if wanted is not None and after.astext() != wanted + stripped:
            _set_text(after, wanted + stripped)


def _drop_following_noun(reference: nodes.Element) -> None:
    """"第 1.1 节（标题）一节": the 一节 (or 一章) the translator wrote after a title goes."""
    parent = reference.parent
    index = parent.index(reference)
    if index + 1 < len(parent) and isinstance(parent[index + 1], nodes.Text):
        after = parent[index + 1].astext()
        match = re.match(r"\s*一[章节]", after)
        if match:
            _set_text(parent[index + 1], after[match.end():])


def _in_prose(node: nodes.Node) -> bool:
    return isinstance(node.parent, PROSE) and not isinstance(node.parent, _not_prose())


class _Sections:
    """Each section id of a page -> (its number or None, its title); the page's top section also
    under "" (read from the environment once per page and build: the pickled doctrees and the
    section numbers do not change while the pages are written, and unpickling a doctree for every
    page that links to it was about 5 % of the Chinese build, profiled)."""

    def __init__(self, env):
        self.env = env
        if not hasattr(env.app, "_attn_chinese_sections"):
            env.app._attn_chinese_sections = {}
        self.pages: dict[str, dict[str, tuple[tuple | None, str]]] = env.app._attn_chinese_sections

    def get(self, docname: str, anchor: str) -> tuple[tuple | None, str] | None:
        if docname not in self.env.titles:
            return None
        if docname not in self.pages:
            numbers = self.env.toc_secnumbers.get(docname, {})
            found: dict[str, tuple[tuple | None, str]] = {}
            doctree = self.env.get_doctree(docname)
            for position, section in enumerate(doctree.findall(nodes.section)):
                if not (section.children and isinstance(section[0], nodes.title)):
                    continue
                if position == 0:
                    number = numbers.get("")
                    found[""] = (tuple(number) if number else None, section[0].astext())
                else:
                    number = next((numbers[f"#{i}"] for i in section["ids"]
                                   if numbers.get(f"#{i}")), None)
                for node_id in section["ids"]:
                    found[node_id] = (tuple(number) if number else None, section[0].astext())
            self.pages[docname] = found
        return self.pages[docname].get(anchor)


class ChineseSectionReferences(SphinxPostTransform):
    """A ``{ref}`` or ``{doc}`` to a page or section written the Chinese way.

    Runs before Sphinx resolves the references (ReferencesResolver, priority 10): a reference
    that would show its target's title is given the Chinese text as its own explicit text, which
    the resolver then links as usual. A reference written with its own text is not touched (the
    field guide's map writes "CBAM" and "坐标注意力" as the names of modules, not of pages).
    """

    default_priority = 5
    formats = ("html",)

    def run(self, **kwargs) -> None:
        if not is_chinese(self.config.language):
            return
        from sphinx.util import docname_join
        from sphinx.util.nodes import clean_astext

        sections = _Sections(self.env)
        labels = self.env.domaindata["std"]["labels"]
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("refdomain") != "std" or node.get("refexplicit") or not _in_prose(node):
                continue
            if node.get("reftype") == "ref" and node["reftarget"] in labels:
                docname, anchor, title = labels[node["reftarget"]]
            elif node.get("reftype") == "doc":
                docname = docname_join(node.get("refdoc", self.env.docname), node["reftarget"])
                if docname not in self.env.titles:
                    continue
                anchor, title = "", clean_astext(self.env.titles[docname])
            else:
                continue
            entry = sections.get(docname, anchor)
            if entry is None:  # not a section (an exercise, a figure ...)
                continue
            number = entry[0]
            before = _text_before(node)
            if number and re.search(rf"第\s*{re.escape(str(number[0]))}\s*章\s*（?\s*$", before):
                continue  # the text before already names the chapter: the title completes it
            compact = number is not None and (inside_parentheses(before) or
                                              _text_after(node).lstrip().startswith("（"))
            text = reference_text(number, title, compact=compact)
            classes = node[0].get("classes", []) if len(node) and isinstance(
                node[0], nodes.Element) else []
            node.children = []
            node += nodes.inline(text, text, classes=classes)
            node["refexplicit"] = True
            if number is not None:
                _drop_following_noun(node)


class ChineseCrossReferences(SphinxPostTransform):
    """Equations, exercises, figures: the Chinese words; and the spacing around references."""

    default_priority = 30  # after the references are resolved (10) and sphinx-exercise (20, 21)
    formats = ("html",)

    def run(self, **kwargs) -> None:
        if not is_chinese(self.config.language):
            return
        for reference in list(self.document.findall(nodes.reference)):
            if reference.get("internal") and _in_prose(reference) and not _in_citation(
                    reference):
                self._rewrite(reference)

    def _rewrite(self, reference: nodes.reference) -> None:
        text = reference.astext()
        classes = set()
        for inner in reference.findall(nodes.inline):
            classes.update(inner.get("classes", []))
        target = reference.get("refid") or reference.get("refuri", "").rpartition("#")[2]
        parent = reference.parent
        index = parent.index(reference)
        previous = parent[index - 1] if index > 0 else None
        if {"std-ref", "std-doc", "doc"} & classes:
            pass  # written by ChineseSectionReferences, or the translator's own text
        elif target.startswith("equation-") and re.fullmatch(r"\(\S+\)", text):
            if equation_needs_word(_text_before(reference)):
                if isinstance(previous, nodes.Text):
                    _set_text(previous, previous.astext().rstrip(" ") + "式")
                else:
                    parent.insert(index, nodes.Text("式"))
        elif text.startswith("练习"):
            if isinstance(previous, nodes.Text) and previous.astext().rstrip().endswith("练习"):
                _set_text(previous, previous.astext().rstrip()[:-2])
        elif not re.match(r"(图|表|命题|定理|引理|定义|推论|证明|代码)", text):
            return
        _space_around(reference)


def _not_prose() -> tuple:
    """Paragraph kinds whose references are not prose (the toctree's, the sidebar's)."""
    return (addnodes.compact_paragraph,)


def _in_citation(node: nodes.Node) -> bool:
    while node is not None:
        if isinstance(node, nodes.Element) and "bibtex-citation" in node.get("classes", []):
            return True
        node = node.parent
    return False


class ChineseCitations(SphinxPostTransform):
    """sphinxcontrib-bibtex's "Hu *et al.*" as "Hu 等", "Hu and Shen" as "Hu 和 Shen"."""

    default_priority = 30
    formats = ("html",)

    def run(self, **kwargs) -> None:
        if not is_chinese(self.config.language):
            return
        for holder in list(self.document.findall(nodes.inline)):
            if "bibtex-citation" not in holder.get("classes", []):
                continue
            # The authors are inside the link ("[Hu et al., 2018]") or before it ("Hu et al.
            # [2018]", the textual form); the link and its title (the full entry) are kept.
            for emphasis in list(holder.findall(nodes.emphasis)):
                if emphasis.astext().strip() == "et al.":
                    emphasis.parent.replace(emphasis, nodes.Text("等"))
            for text in list(holder.findall(nodes.Text)):
                if " and " in text.astext():
                    _set_text(text, text.astext().replace(" and ", " 和 "))


def setup(app: Sphinx) -> dict:
    app.add_post_transform(ChineseSectionReferences)
    app.add_post_transform(ChineseCrossReferences)
    app.add_post_transform(ChineseCitations)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
