"""The field guide's comparison table (attn_lessons.comparison): complete, counted, closed forms.

Timings are never asserted (they depend on the machine): only that every kind is timed, that the
ratios are positive and that the committed result file has its provenance.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from attn_lessons import comparison, taxonomy
from attn_lessons.bam import bam_num_params
from attn_lessons.cbam import cbam_num_params
from attn_lessons.coordatt import coordatt_num_params
from attn_lessons.cost import count_flops, count_parameters
from attn_lessons.eca import eca_num_params
from attn_lessons.ela import ela_macs, ela_num_params
from attn_lessons.ema import ema_macs, ema_num_params
from attn_lessons.factory import ALL_ATTENTION_KINDS, make_attention
from attn_lessons.global_context import gc_macs, gc_num_params
from attn_lessons.se import se_num_params
from attn_lessons.self_attention import self_attention2d_num_params
from attn_lessons.shuffle import shuffle_macs, shuffle_num_params
from attn_lessons.simam import simam_num_params
from attn_lessons.sk import sk_macs, sk_num_params
from attn_lessons.triplet import triplet_macs, triplet_num_params

KINDS = ALL_ATTENTION_KINDS[1:]
RESULT_FILE = (Path(__file__).resolve().parent.parent
               / "book/guide/results/module_times.json")

# Each module's closed-form parameter count at the table's options (independent of the counter).
PARAMS = {
    "se": se_num_params,
    "eca": eca_num_params,
    "cbam": cbam_num_params,
    "coordatt": coordatt_num_params,
    "self_attention": self_attention2d_num_params,
    "simam": simam_num_params,
    "gc": gc_num_params,
    "sk": sk_num_params,
    "bam": bam_num_params,
    "triplet": lambda c: triplet_num_params(),
    "shuffle": lambda c, **kw: shuffle_num_params(c, **kw),
    "ema": ema_num_params,
    "ela": ela_num_params,
}
# Closed-form MACs where the module file has one with this signature.
MACS = {
    "triplet": triplet_macs,
    "shuffle": lambda c, h, w, **kw: shuffle_macs(c, h, w, **kw),
    "ema": ema_macs,
    "ela": ela_macs,
    "gc": lambda c, h, w: gc_macs(c, h, w)["macs"],
    "sk": lambda c, h, w: sk_macs(c, h, w)["macs"],
}


def test_every_kind_has_a_view_and_nothing_else():
    assert tuple(comparison.VIEWS) == ALL_ATTENTION_KINDS
    labels = [v.label for v in comparison.VIEWS.values()]
    assert len(set(labels)) == len(labels)
    for kind, view in comparison.VIEWS.items():
        assert view.sees.strip() and view.cannot_see.strip(), kind
        assert "|" not in view.sees + view.cannot_see + view.label, kind  # table cells


def test_taxonomy_cells_come_from_the_maps_data():
    assert comparison.taxonomy_cell("none") == ""
    assert comparison.taxonomy_cell("se") == "Channel attention (listed by the survey)"
    assert comparison.taxonomy_cell("sk") == "Branch attention (listed by the survey)"
    assert comparison.taxonomy_cell("ela") == "Channel & spatial attention (placed by this book)"
    for kind in KINDS:
        entry = taxonomy.placement(kind)
        assert comparison.taxonomy_cell(kind).startswith(taxonomy.CATEGORIES[entry.category][0])


def test_table_options_only_where_the_default_cannot_fit():
    for kind in KINDS:
        for c in comparison.TABLE_CHANNELS:
            options = comparison.table_options(kind, c)
            assert options == ({"groups": 32} if (kind, c) == ("shuffle", 64) else {})
            make_attention(kind, c, **options)  # builds
    with pytest.raises(ValueError, match="make_attention|channels=64"):
        make_attention("shuffle", 64)  # the authors' 64 groups do not fit: why the option exists
    with pytest.raises(ValueError, match="even channel count, got 65"):
        comparison.table_options("shuffle", 65)
    with pytest.raises(ValueError, match="channels must be a positive integer, got 0"):
        comparison.table_options("se", 0)


@pytest.fixture(scope="module")
def rows():
    return comparison.cost_rows()


def test_cost_rows_equal_the_closed_forms(rows):
    h, w = comparison.TABLE_SIZE
    assert [r.kind for r in rows] == list(KINDS)
    for row in rows:
        for c, params, macs, options in zip(comparison.TABLE_CHANNELS, row.params, row.macs,
                                            row.options, strict=True):
            assert params == PARAMS[row.kind](c, **options), (row.kind, c)
            if row.kind in MACS:
                assert macs == MACS[row.kind](c, h, w, **options), (row.kind, c)


@pytest.mark.parametrize("kind", KINDS)
def test_meta_counts_equal_a_real_run(rows, kind):
    """The table counts on the meta device; a real CPU module at C = 64 gives the same."""
    row = next(r for r in rows if r.kind == kind)
    c = comparison.TABLE_CHANNELS[0]
    m = make_attention(kind, c, **comparison.table_options(kind, c)).eval()
    x = torch.randn(1, c, *comparison.TABLE_SIZE)
    assert count_parameters(m) == row.params[0]
    assert count_flops(m, x).macs == row.macs[0]


def test_markdown_tables_have_every_kind_and_regular_rows(rows):
    ratios = {str(c): {k: 1.0 + i for i, k in enumerate(KINDS)} for c in (64, 256, 512)}
    for table, columns in ((comparison.markdown_table(rows), 1 + 6 + 3),
                           (comparison.markdown_table(rows, ratios), 1 + 9 + 3),
                           (comparison.markdown_table(rows, ratios, views=False), 1 + 9),
                           (comparison.views_table(), 4)):
        lines = table.splitlines()
        assert len(lines) == 2 + len(KINDS)
        assert all(line.count("|") == columns + 1 for line in lines)
        for kind in KINDS:
            assert any(line.startswith(f"| {comparison.VIEWS[kind].label} |") for line in lines)
    assert "| 3.0 |" in comparison.markdown_table(rows, ratios)  # CBAM's made-up ratio, shown
    assert comparison.views_table().count("(placed by this book)") == 3


def test_measure_times_structure():
    out = comparison.measure_times((64,), (4, 4), batch=2, repeats=1, warmup=0)
    assert list(out) == ["64"]
    assert set(out["64"]) == {"yardstick_ms", *KINDS}
    assert all(v > 0 for v in out["64"].values())


def test_command_quick_writes_a_result_file(tmp_path, capsys):
    path = tmp_path / "times.json"
    assert comparison.main(["--quick", "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    assert set(data) == {"what", "date_utc", "wall_seconds", "settings", "machine", "git",
                         "ratios"}
    assert set(data["ratios"]) == {"64", "128"}
    assert "wrote" in capsys.readouterr().out
    for bad in (["--repeats", "0"], ["--threads", "0"]):
        with pytest.raises(SystemExit):
            comparison.main(["--quick", *bad])


def test_committed_result_file_covers_the_table():
    data = json.loads(RESULT_FILE.read_text())
    assert data["settings"]["channels"] == list(comparison.TABLE_CHANNELS)
    assert data["settings"]["shape"] == [comparison.TIME_BATCH, "C", *comparison.TABLE_SIZE]
    assert data["settings"]["repeats"] >= 20
    for key in ("processor", "cpu_count", "torch_threads", "torch", "load_average_at_start"):
        assert key in data["machine"]
    assert len(data["git"]["commit"]) == 40
    for c in comparison.TABLE_CHANNELS:
        row = data["ratios"][str(c)]
        assert set(row) == {"yardstick_ms", *KINDS}
        assert all(v > 0 for v in row.values())
