"""Smoke test of `python -m attn_lessons.bench`: it runs, and its table has the right structure.

Timings are never asserted (they depend on the machine); only the table's rows, columns and the
deterministic columns (parameters, FLOPs) are.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import torch

from attn_lessons import bench
from attn_lessons.cost import count_parameters
from attn_lessons.factory import make_attention


def test_run_benchmark_rows():
    rows, attention = bench.run_benchmark("cpu", (1, 16, 4, 4), repeats=1, warmup=0)
    assert [r.name for r in rows] == ["x * 2 (yardstick)", "SE", "ECA", "CBAM", "CoordAtt",
                                      "SelfAttention2d"]
    assert rows[0].ratio == 1.0 and rows[0].params == 0 and rows[0].flops == 0
    for r, (_, kind) in zip(rows[1:], bench.MODULES, strict=True):
        assert r.params == count_parameters(make_attention(kind, 16))
        assert r.forward_ms > 0 and r.train_ms > 0 and r.ratio > 0 and r.train_ratio > 0
    assert rows[0].train_ratio == 1.0
    assert rows[1].flops == 2 * (16 * 1 + 1 * 16)  # SE at C=16, r=16: two 16x1 products
    assert attention["tokens"] == 16 and attention["written_ms"] > 0 and attention["fused_ms"] > 0
    lines = bench.check_targets(rows)
    assert len(lines) == 4 and all(line[:4] in ("PASS", "MISS") for line in lines)
    assert "4-D inputs" in bench.attention_line(attention)


def test_command_quick(capsys):
    assert bench.main(["--quick", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("device"))
    for column in ("fwd ms", "fwd+bwd ms", "params", "FLOPs", "x yardstick", "fwd+bwd x"):
        assert column in header
    table = [line for line in lines if line.startswith("cpu ")]
    assert len(table) == 6
    assert "Targets:" in out
    assert sum(line.startswith("[cpu] PASS") or line.startswith("[cpu] MISS")
               for line in lines) == 4
    assert any(line.startswith("[cpu] written-out attention") for line in lines)


def test_command_bad_options(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--device", "tpu"])
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--repeats", "0", "--device", "cpu"])
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--threads", "0", "--device", "cpu"])
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            bench.main(["--device", "cuda"])


def test_time_call_counts_repeats():
    calls = []
    ms = bench.time_call(lambda: calls.append(1), torch.device("cpu"), repeats=4, warmup=2)
    assert len(calls) == 6 and ms >= 0


RESULT_FILE = Path(__file__).resolve().parent.parent / "book/ch7_networks/results/module_bench.json"
_NUMBER = {"type": "number"}
RESULT_SCHEMA = {
    "type": "object",
    "required": ["date_utc", "settings", "machine", "targets", "rows", "attention", "verdicts"],
    "properties": {
        "date_utc": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT"},
        "settings": {
            "type": "object",
            "required": ["shape", "repeats", "warmup", "devices", "threads", "command"],
            "properties": {"shape": {"type": "array", "items": {"type": "integer"},
                                     "minItems": 4, "maxItems": 4},
                           "repeats": {"type": "integer", "minimum": 20},
                           "threads": {"type": "integer", "minimum": 1}},
        },
        "machine": {
            "type": "object",
            "required": ["platform", "cpu_count", "torch_threads", "torch", "attn_lessons",
                         "load_average_at_start"],
            "properties": {"load_average_at_start": {"type": "array", "items": _NUMBER,
                                                     "minItems": 3, "maxItems": 3}},
        },
        "rows": {
            "type": "array", "minItems": 6,
            "items": {"type": "object",
                      "required": ["device", "name", "forward_ms", "train_ms", "params", "flops",
                                   "ratio", "train_ratio"],
                      "properties": {k: {"type": "number", "exclusiveMinimum": 0}
                                     for k in ("forward_ms", "train_ms", "ratio", "train_ratio")}},
        },
        "attention": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["tokens", "written_ms", "fused_ms"]}},
        "verdicts": {"type": "array", "items": {"type": "string", "pattern": "^(PASS|MISS) "}},
    },
}


def test_committed_result_file_matches_the_schema():
    data = json.loads(RESULT_FILE.read_text())
    jsonschema.validate(data, RESULT_SCHEMA)
    assert data["settings"]["shape"] == [8, 256, 32, 32]
    names = [r["name"] for r in data["rows"] if r["device"] == "cpu"]
    assert names == [name for name, _ in [("x * 2 (yardstick)", None), *bench.MODULES]]


def test_json_option_writes_a_file_matching_the_schema(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--device", "cpu", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    schema = json.loads(json.dumps(RESULT_SCHEMA))
    schema["properties"]["settings"]["properties"]["repeats"]["minimum"] = 1  # --quick: 3 runs
    jsonschema.validate(data, schema)
    assert data["settings"]["shape"] == [2, 16, 8, 8]
