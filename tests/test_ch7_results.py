"""Chapter 7's (and chapter 6's) result files: the runs the pages quote, from declared experiments.

The files are written by ``python -m attn_lessons.experiments run ch7_tasks`` (and ``ch6_lookup``)
into ``attn_lessons/results``; their schema, provenance and seed count are checked for every file
by ``tests/test_result_files.py``. Here: what the chapters rely on beyond the schema. The earlier
files (``book/ch7_networks/results/other_seeds.json``, ``relation_cpu.json``, written by
``scripts/ch7_results.py``) are gone: their runs used other seeds and an older design, and the
page no longer quotes them.
"""

from __future__ import annotations

import pytest

from attn_lessons.experiments import load_results

from .conftest import ROOT


@pytest.mark.parametrize("name", ["ch6_lookup", "ch7_tasks"])
def test_the_result_file_holds_every_cell_and_seed(name):
    res = load_results(name)
    for task, arm in res.experiment.cells:
        assert len(res.values(task, arm)) == len(res.experiment.seeds)
    assert res.provenance["threads"] == 1 and res.provenance["dirty"] is False


def test_the_old_chapter_7_result_files_are_gone():
    folder = ROOT / "book" / "ch7_networks" / "results"
    assert sorted(p.name for p in folder.glob("*.json")) == ["module_bench.json"]
    assert not (ROOT / "scripts" / "ch7_results.py").exists()


def test_every_comparison_of_the_page_has_both_cells():
    res = load_results("ch7_tasks")
    for c in res.experiment.comparisons:
        assert {(c.task, c.arm), (c.task, c.baseline)} <= set(res.experiment.cells)
