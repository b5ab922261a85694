"""The glossary page, rendered from data: ``book/glossary/terms.yml`` (one entry per term).

The directive ``{glossary-table}`` (no argument, no content) becomes a table with one row per term:
the English term, the Chinese term, the abbreviation, and a link to the page that introduces it
(the page's title, in the edition's language). The same YAML file is what
scripts/check_translations.py reads for the variants the Chinese edition must not use, so the
page and the checks cannot disagree. The rows are generated, not written in the page: they are not
messages of the page's catalogue (the Chinese edition gets the column headings in Chinese).
"""

from __future__ import annotations

from pathlib import Path

import simple_table
import yaml
from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent.parent
TERMS = ROOT / "book" / "glossary" / "terms.yml"
FIELDS = ("en", "zh", "abbr", "introduced", "avoid")
REQUIRED = ("en", "zh", "introduced")
HEADINGS = {
    "en": ("English", "Chinese", "Abbreviation", "Introduced in"),
    "zh": ("英文", "中文", "缩写", "首次出现"),
}


def load_terms(path: Path = TERMS) -> list[dict]:
    """The glossary's entries; ValueError names a malformed entry or a repeated term."""
    terms = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(terms, list):
        raise ValueError(f"{path}: expected a list of terms, got {type(terms).__name__}")
    seen: dict[str, set[str]] = {"en": set(), "zh": set()}
    for index, term in enumerate(terms):
        if not isinstance(term, dict):
            raise ValueError(f"{path}: entry {index} is not a mapping: {term!r}")
        unknown = set(term) - set(FIELDS)
        missing = [f for f in REQUIRED if not term.get(f)]
        if unknown or missing:
            raise ValueError(f"{path}: entry {index} ({term.get('en')!r}): unknown fields "
                             f"{sorted(unknown)}, missing {missing}")
        for field in ("en", "zh"):
            if term[field] in seen[field]:
                raise ValueError(f"{path}: the {field} term {term[field]!r} is listed twice")
            seen[field].add(term[field])
    return terms


class GlossaryTable(SphinxDirective):
    has_content = False
    required_arguments = 0

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(TERMS))
        terms = sorted(load_terms(), key=lambda t: t["en"].lower())
        language = (self.config.language or "en").split("_")[0]
        headings = HEADINGS.get(language, HEADINGS["en"])
        rows = []
        for term in terms:
            xref = addnodes.pending_xref("", nodes.inline("", term["introduced"]),
                                         refdomain="std", reftype="doc",
                                         reftarget="/" + term["introduced"], refexplicit=False,
                                         refdoc=self.env.docname, refwarn=True)
            zh = nodes.inline("", term["zh"], classes=["glossary-zh"])
            zh["lang"] = "zh-CN"
            abbr = nodes.literal("", term["abbr"]) if term.get("abbr") else nodes.Text("")
            rows.append([[nodes.Text(term["en"])], [zh], [abbr], [xref]])
        table = simple_table.table(headings, rows, ["glossary-table"])
        return [table]


def setup(app) -> dict:
    app.add_directive("glossary-table", GlossaryTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
