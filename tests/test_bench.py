"""Smoke test of `python -m attn_lessons.bench`: it runs, and its table has the right structure.

Timings are never asserted (they depend on the machine); only the table's rows, columns and the
deterministic columns (parameters, FLOPs) are.
"""

from __future__ import annotations

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
        assert r.forward_ms > 0 and r.train_ms > 0 and r.ratio > 0
    assert rows[1].flops == 2 * (16 * 1 + 1 * 16)  # SE at C=16, r=16: two 16x1 products
    assert attention["tokens"] == 16 and attention["written_ms"] > 0 and attention["fused_ms"] > 0
    lines = bench.check_targets(rows, attention)
    assert len(lines) == 5 and all(line[:4] in ("PASS", "MISS") for line in lines)


def test_command_quick(capsys):
    assert bench.main(["--quick", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("device"))
    for column in ("fwd ms", "fwd+bwd ms", "params", "FLOPs", "x yardstick"):
        assert column in header
    table = [line for line in lines if line.startswith("cpu ")]
    assert len(table) == 6
    assert "Targets:" in out
    assert sum(line.startswith("[cpu] PASS") or line.startswith("[cpu] MISS")
               for line in lines) == 5


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
