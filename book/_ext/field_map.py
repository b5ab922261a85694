"""The field guide's map, rendered from data: ``attn_lessons.taxonomy`` (one entry per module).

Two directives, no argument, no content:

- ``{field-map-classes}``: one row per class of Guo et al.'s (2022) taxonomy, the question it
  answers and the book's modules in it (each linked to the page that derives it);
- ``{field-map}``: one row per module, grouped by class, with what it pools, how it transforms,
  what gate it computes and how it applies the gate.

The rows are generated, not written in the page, so they are not messages of the page's
catalogue: the Chinese edition takes the Chinese texts of ``attn_lessons.taxonomy`` (and the
column headings below). A module whose page is not (yet) in the book is shown without a link.
``tests/test_taxonomy.py`` checks that every kind of the factory is placed.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import simple_table
from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCE = ROOT / "attn_lessons" / "taxonomy.py"
HEADINGS = {
    "en": {"classes": ("Class", "Chooses", "Modules of the book"),
           "steps": ("Module", "Class", "Pools", "Transforms", "Gate", "Applies")},
    "zh": {"classes": ("类别", "选择的是", "本书的模块"),
           "steps": ("模块", "类别", "池化", "变换", "门控", "作用方式")},
}
#: What each class chooses (the survey's "what, where, when, which").
CHOOSES = {
    "channel": ("what: which channels", "什么：哪些通道"),
    "spatial": ("where: which positions", "哪里：哪些位置"),
    "temporal": ("when: which frames", "何时：哪些帧"),
    "branch": ("which: which path of the network", "哪条路：网络的哪个分支"),
    "channel_spatial": ("what and where", "什么与哪里"),
    "spatial_temporal": ("where and when", "哪里与何时"),
}


def _taxonomy():
    return importlib.import_module("attn_lessons.taxonomy")


class _MapDirective(SphinxDirective):
    has_content = False
    required_arguments = 0

    def _language(self) -> int:
        """0 for English, 1 for Chinese: the index into the (English, Chinese) pairs."""
        return 1 if (self.config.language or "en").startswith("zh") else 0

    def _headings(self, which: str) -> tuple[str, ...]:
        return HEADINGS["zh" if self._language() else "en"][which]

    def _module(self, placement) -> nodes.Node:
        text = placement.name[self._language()]
        if placement.page not in self.env.found_docs:
            return nodes.inline("", text)
        return addnodes.pending_xref("", nodes.inline("", text), refdomain="std", reftype="doc",
                                     reftarget="/" + placement.page, refexplicit=True,
                                     refdoc=self.env.docname, refwarn=True)

    def _table(self, headings: tuple[str, ...], rows: list[list[list[nodes.Node]]],
               css: str) -> nodes.table:
        self.env.note_dependency(str(SOURCE))
        return simple_table.table(headings, rows, ["field-map", css])


class FieldMapClasses(_MapDirective):
    def run(self) -> list[nodes.Node]:
        tax, lang = _taxonomy(), self._language()
        rows = []
        for key, members in tax.by_category().items():
            modules: list[nodes.Node] = []
            for index, placement in enumerate(members):
                if index:
                    modules.append(nodes.Text("、" if lang else ", "))
                modules.append(self._module(placement))
            rows.append([[nodes.Text(tax.CATEGORIES[key][lang])],
                         [nodes.Text(CHOOSES[key][lang])],
                         modules or [nodes.Text("—")]])
        return [self._table(self._headings("classes"), rows, "field-map-classes")]


class FieldMap(_MapDirective):
    def run(self) -> list[nodes.Node]:
        tax, lang = _taxonomy(), self._language()
        rows = []
        for key, members in tax.by_category().items():
            for placement in members:
                source = tax.SOURCES[placement.source][lang]
                category = f"{tax.CATEGORIES[key][lang]}（{source}）" if lang \
                    else f"{tax.CATEGORIES[key][lang]} ({source})"
                rows.append([[self._module(placement)], [nodes.Text(category)],
                             *([nodes.Text(getattr(placement, step)[lang])]
                               for step in ("pools", "transforms", "gate", "applies"))])
        return [self._table(self._headings("steps"), rows, "field-map-steps")]


def setup(app) -> dict:
    app.add_directive("field-map-classes", FieldMapClasses)
    app.add_directive("field-map", FieldMap)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
