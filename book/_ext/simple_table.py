"""A docutils table from headings and rows of nodes: what the generated tables share.

The field guide's map (``field_map.py``), the glossary (``glossary_table.py``) and the ledger
(``attention_ledger.py``) build their tables from data at build time; each row is a list of cells
and each cell a list of inline nodes (text, a cross-reference, a literal), set in one paragraph.
Not an extension: the three import it (``book/_ext`` is on ``sys.path``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from docutils import nodes


def cell(*children: nodes.Node) -> nodes.entry:
    """A table cell holding ``children`` in one paragraph."""
    return nodes.entry("", nodes.paragraph("", "", *children))


def table(headings: Sequence[str], rows: Iterable[Sequence[Sequence[nodes.Node]]],
          classes: Sequence[str]) -> nodes.table:
    """A table with one heading row of ``headings`` (text) and one row per item of ``rows``,
    each a cell per heading; ``classes`` are the table's CSS classes."""
    out = nodes.table(classes=list(classes))
    group = nodes.tgroup(cols=len(headings))
    out += group
    for _ in headings:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    head += nodes.row("", *(cell(nodes.Text(h)) for h in headings))
    group += head
    body = nodes.tbody()
    for number, row in enumerate(rows):
        if len(row) != len(headings):
            raise ValueError(f"row {number} has {len(row)} cells for {len(headings)} headings")
        body += nodes.row("", *(cell(*children) for children in row))
    group += body
    return out
