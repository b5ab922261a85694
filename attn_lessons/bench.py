r"""Benchmark: what each attention module costs in time, beside its parameters and FLOPs.

Run ``python -m attn_lessons.bench`` (options: ``--device cpu|cuda|all``, ``--repeats N``,
``--threads N``, ``--quick``, ``--json PATH``). ``make module-bench`` writes the committed result
file ``book/ch7_networks/results/module_bench.json`` (settings, machine, load, the table).
For SE, ECA, CBAM, Coordinate Attention and 2-D self-attention at
(B, C, H, W) = (8, 256, 32, 32) it prints the median forward and forward+backward latency, the
parameters, the FLOPs (PyTorch's counter; see :mod:`attn_lessons.cost` for what it leaves out) and
the forward latency divided by that of one elementwise pass ``x * 2`` over the same tensor
(and forward+backward divided by the yardstick's forward+backward).

Why that yardstick
------------------
``x * 2`` reads every element once and writes every element once, and does almost no arithmetic:
its time is the time to move the feature map through memory. SE needs one read to pool and one
read plus one write to scale, about 1.5 such passes, yet its FLOP count is almost zero. Measuring
modules in units of the yardstick shows how much of their cost is memory traffic, which no FLOP
count reveals. The targets are checked and printed as PASS or MISS: SE and ECA forward within
1.6x of the yardstick on the CPU, CBAM and Coordinate Attention within 5x. Written-out attention
is compared with PyTorch's fused ``F.scaled_dot_product_attention`` at H·W tokens on 4-D
(B, 1, H·W, d) tensors: with 3-D tensors PyTorch finds no fused kernel and runs its unfused
fallback, which would make a meaningless comparison. That ratio is reported, not a target.

Timings are medians over ``repeats`` (default 20) interleaved runs in one process after warm-up
runs, with ``torch.cuda.synchronize()`` around each run on a GPU.
They depend on the machine and on what else it is doing; never compare
numbers from different machines.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._files import atomic_write_text
from ._validation import check_int
from .cost import count_flops, count_parameters
from .factory import make_attention
from .self_attention import scaled_dot_product_attention

__all__ = ["TARGETS", "BenchRow", "format_table", "main", "run_benchmark", "time_call"]

#: The modules benchmarked: (row label, factory name).
MODULES: tuple[tuple[str, str], ...] = (
    ("SE", "se"),
    ("ECA", "eca"),
    ("CBAM", "cbam"),
    ("CoordAtt", "coordatt"),
    ("SelfAttention2d", "self_attention"),
)

#: Targets on the ratio to the yardstick (CPU only): row label -> largest allowed ratio.
TARGETS: dict[str, float] = {"SE": 1.6, "ECA": 1.6, "CBAM": 5.0, "CoordAtt": 5.0}


@dataclass(frozen=True)
class BenchRow:
    """One line of the table. Times in milliseconds; ``ratio`` = forward / yardstick forward,
    ``train_ratio`` = forward+backward / yardstick forward+backward."""

    device: str
    name: str
    forward_ms: float
    train_ms: float
    params: int
    flops: int
    ratio: float
    train_ratio: float


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int) -> float:
    """Median wall time of ``fn()`` in milliseconds, after ``warmup`` untimed calls."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    repeats = check_int("repeats", repeats)
    warmup = check_int("warmup", warmup, minimum=0)
    return _time_interleaved([fn], torch.device(device), repeats, warmup)[0]


def _time_once(fn: Callable[[], object], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return (time.perf_counter() - start) * 1e3


def _time_interleaved(fns: list[Callable[[], object]], device: torch.device, repeats: int,
                      warmup: int) -> list[float]:
    """Median time (ms) of each function, the functions timed in turn within each repeat.

    Interleaving matters on a shared machine: a burst of load from another process then slows
    one run of every function instead of all the runs of one, and the medians stay comparable.
    """
    for fn in fns:
        for _ in range(warmup):
            fn()
    _sync(device)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            times[i].append(_time_once(fn, device))
    return [statistics.median(t) for t in times]


class _Times2(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


def _callables(module: nn.Module, x: torch.Tensor) -> tuple[Callable[[], object],
                                                            Callable[[], object]]:
    """(inference forward, training forward + backward) of ``module`` on ``x``."""
    inference = copy.deepcopy(module).eval()  # BatchNorm (CoordAtt) uses running statistics
    training = module.train()
    xg = x.detach().clone().requires_grad_(True)
    grad = torch.ones_like(x)

    def forward() -> None:
        with torch.no_grad():
            inference(x)

    def step() -> None:
        training(xg).backward(grad)

    return forward, step


def run_benchmark(
    device: str | torch.device = "cpu",
    shape: tuple[int, int, int, int] = (8, 256, 32, 32),
    repeats: int = 20,
    warmup: int = 3,
    tokens_dim: int = 64,
) -> tuple[list[BenchRow], dict[str, float]]:
    """Time every module on ``device`` at ``shape``.

    Returns the table rows (the yardstick ``x * 2`` first) and a dict with the written-out and
    fused attention times (ms) on (B, H·W, ``tokens_dim``) queries, keys and values, B and H·W from
    ``shape``. All measurements of one call are interleaved (see :func:`_time_interleaved`).
    """
    device = torch.device(device)
    repeats = check_int("repeats", repeats)
    warmup = check_int("warmup", warmup, minimum=0)
    if not isinstance(shape, tuple | list) or len(shape) != 4:
        raise ValueError(f"shape must be (B, C, H, W), four positive integers, got {shape!r}")
    b, c, h, w = (check_int("shape", s) for s in shape)
    torch.manual_seed(0)
    x = torch.randn(b, c, h, w, device=device)
    labels = ["x * 2 (yardstick)"]
    modules: list[nn.Module] = [_Times2()]
    for label, kind in MODULES:
        options = {"fused": True} if kind == "self_attention" else {}
        labels.append(label)
        modules.append(make_attention(kind, c, **options).to(device))
    params = [count_parameters(m) for m in modules]
    flops = [count_flops(m.eval(), x).flops for m in modules]
    fns = []
    for m in modules:
        fns.extend(_callables(m, x))
    q, k, v = (torch.randn(b, 1, h * w, tokens_dim, device=device) for _ in range(3))

    def written() -> None:
        with torch.no_grad():
            scaled_dot_product_attention(q, k, v)

    def fused() -> None:
        with torch.no_grad():
            F.scaled_dot_product_attention(q, k, v)

    times = _time_interleaved([*fns, written, fused], device, repeats, warmup)
    for m in modules:
        m.zero_grad(set_to_none=True)
    base, base_train = times[0], times[1]
    rows = [
        BenchRow(device.type, label, times[2 * i], times[2 * i + 1], params[i], flops[i],
                 times[2 * i] / base, times[2 * i + 1] / base_train)
        for i, label in enumerate(labels)
    ]
    return rows, {"tokens": h * w, "written_ms": times[-2], "fused_ms": times[-1]}


def format_table(rows: list[BenchRow]) -> str:
    """The rows as a fixed-width text table (one header line, one line per row)."""
    header = (
        f"{'device':<6} {'module':<18} {'fwd ms':>9} {'fwd+bwd ms':>11} {'params':>9} "
        f"{'FLOPs':>13} {'x yardstick':>11} {'fwd+bwd x':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.device:<6} {r.name:<18} {r.forward_ms:>9.3f} {r.train_ms:>11.3f} {r.params:>9,} "
            f"{r.flops:>13,} {r.ratio:>11.2f} {r.train_ratio:>9.2f}"
        )
    return "\n".join(lines)


def check_targets(rows: list[BenchRow], attention: dict[str, float] | None = None) -> list[str]:
    """One 'PASS'/'MISS' line per target. The module targets apply on the CPU only.

    ``attention`` is accepted for compatibility and not used: the written-out/fused ratio is a
    measurement (:func:`attention_line`), not a target.
    """
    lines = []
    for r in rows:
        if r.device == "cpu" and r.name in TARGETS:
            limit = TARGETS[r.name]
            verdict = "PASS" if r.ratio <= limit else "MISS"
            lines.append(
                f"{verdict}  {r.name} forward = {r.ratio:.2f}x yardstick (target <= {limit}x)"
            )
    return lines


def attention_line(attention: dict[str, float]) -> str:
    """The written-out against fused attention comparison, in words (a measurement, no target)."""
    ratio = attention["written_ms"] / attention["fused_ms"]
    return (f"written-out attention = {ratio:.2f}x fused at {attention['tokens']} tokens "
            f"({attention['written_ms']:.3f} ms vs {attention['fused_ms']:.3f} ms, 4-D inputs)")


def machine_info() -> dict[str, object]:
    """What the numbers depend on: CPU, cores, threads, GPU, versions, load."""
    from . import __version__

    info: dict[str, object] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "attn_lessons": __version__,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def results_dict(rows: list[BenchRow], attention: dict[str, dict[str, float]],
                 settings: dict[str, object], machine: dict[str, object]) -> dict[str, object]:
    """The benchmark as one JSON-ready dict (the schema tests/test_bench.py checks)."""
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "settings": settings,
        "machine": machine,
        "targets": {"forward_ratio_max": TARGETS, "applies_to": "cpu"},
        "rows": [r.__dict__ for r in rows],
        "attention": attention,
        "verdicts": [line for d in sorted({r.device for r in rows})
                     for line in check_targets([r for r in rows if r.device == d], {})],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m attn_lessons.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--device", default="all", help="cpu, cuda, or all (default: all present)")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per measurement")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for PyTorch (default: PyTorch's choice); 1 gives "
                        "steadier timings on a machine shared with other work")
    parser.add_argument("--quick", action="store_true",
                        help="tiny size (2, 16, 8, 8) and 3 repeats: checks the command runs")
    parser.add_argument("--json", type=str, default=None, metavar="PATH",
                        help="also write settings, machine, load and the table to PATH as JSON")
    args = parser.parse_args(argv)
    if args.device == "all":
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    elif args.device in ("cpu", "cuda"):
        if args.device == "cuda" and not torch.cuda.is_available():
            parser.error("--device cuda was asked for but CUDA is not available here")
        devices = [args.device]
    else:
        parser.error(f"--device must be cpu, cuda or all, got {args.device!r}")
    if args.repeats < 1:
        parser.error(f"--repeats must be a positive integer, got {args.repeats}")
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be a positive integer, got {args.threads}")
        torch.set_num_threads(args.threads)
    machine = machine_info()  # the load average is taken before any timing
    shape = (2, 16, 8, 8) if args.quick else (8, 256, 32, 32)
    repeats = min(3, args.repeats) if args.quick else args.repeats
    print(f"(B, C, H, W) = {shape}; median of {repeats} runs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads")
    all_rows, verdicts, attentions = [], [], {}
    warmup = 1 if args.quick else 3
    for device in devices:
        rows, attention = run_benchmark(device, shape, repeats=repeats, warmup=warmup)
        all_rows += rows
        attentions[device] = attention
        verdicts += [f"[{device}] {line}" for line in check_targets(rows)]
        verdicts.append(f"[{device}] {attention_line(attention)}")
    print(format_table(all_rows))
    print()
    print("Targets:")
    print("\n".join(verdicts))
    if args.json:
        settings = {"shape": list(shape), "repeats": repeats, "warmup": warmup,
                    "devices": devices, "threads": torch.get_num_threads(),
                    "statistic": "median of interleaved runs in one process",
                    "command": "python -m attn_lessons.bench " + " ".join(argv or sys.argv[1:])}
        data = results_dict(all_rows, attentions, settings, machine)
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        # Atomically: a failed write (disk full, interrupted) keeps the previous results file.
        atomic_write_text(args.json, json.dumps(data, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
