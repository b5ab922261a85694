"""book/_ext/simple_table.py: the generated tables' one builder (field map, glossary, ledger)."""

from __future__ import annotations

import importlib.util

import pytest
from docutils import nodes

from .conftest import ROOT


def _module():
    spec = importlib.util.spec_from_file_location("simple_table",
                                                  ROOT / "book" / "_ext" / "simple_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_table_has_one_heading_row_and_a_row_per_item_in_order():
    table = _module().table(["a", "b"], [[[nodes.Text("1")], [nodes.literal("", "x")]],
                                         [[nodes.Text("2")], []]], ["one", "two"])
    assert table["classes"] == ["one", "two"]
    group = table[0]
    assert group["cols"] == 2 and len(list(group.findall(nodes.colspec))) == 2
    head, body = group[2], group[3]
    assert isinstance(head, nodes.thead) and head.astext().split() == ["a", "b"]
    assert isinstance(body, nodes.tbody) and len(body) == 2
    assert [row.astext().split() for row in body] == [["1", "x"], ["2"]]
    assert isinstance(body[0][1][0][0], nodes.literal)  # a cell keeps its nodes, in a paragraph


def test_a_row_with_the_wrong_number_of_cells_is_refused():
    with pytest.raises(ValueError, match="row 1 has 1 cells for 2 headings"):
        _module().table(["a", "b"], [[[], []], [[]]], ["t"])
