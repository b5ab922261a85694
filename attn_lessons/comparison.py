r"""The field guide's comparison table: every attention kind side by side.

Three kinds of column, each computed, never typed:

* **cost** (:func:`cost_rows`): the parameters (:func:`~attn_lessons.cost.count_parameters`) and
  the MACs of one image's forward pass (:func:`~attn_lessons.cost.count_flops`, PyTorch's counter:
  convolutions and matrix products only, see :mod:`attn_lessons.cost`) at 64, 256 and 512
  channels on a 32 x 32 map, each module with its authors' defaults (:func:`table_options` lists
  the one exception: Shuffle Attention's 64 groups need 128 channels);
* **time** (:func:`measure_times`): the forward pass in inference mode divided by the time of one
  elementwise pass ``x * 2`` over the same tensor, the yardstick of :mod:`attn_lessons.bench`
  (chapter 7's cost page explains why), at the same three widths. ``python -m
  attn_lessons.comparison --json PATH`` measures it and writes a result file with its provenance;
  the book's page reads the committed one (``book/guide/results/module_times.json``);
* **what the module can and cannot see** (:data:`VIEWS`): what the gate is computed from and what
  is invisible to it; and its place in the taxonomy of Guo et al. (2022), taken from
  :mod:`attn_lessons.taxonomy` (the map page's data), so the two pages cannot disagree.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._files import atomic_write_text
from ._validation import check_int
from .bench import _time_interleaved, _Times2, machine_info
from .cost import count_flops, count_parameters
from .factory import ALL_ATTENTION_KINDS, make_attention
from .taxonomy import CATEGORIES, SOURCES, placement

__all__ = [
    "TABLE_CHANNELS",
    "TABLE_SIZE",
    "VIEWS",
    "CostRow",
    "ModuleView",
    "cost_rows",
    "main",
    "markdown_table",
    "measure_times",
    "table_options",
    "taxonomy_cell",
    "views_table",
]

#: The channel counts of the table's columns.
TABLE_CHANNELS: tuple[int, ...] = (64, 256, 512)
#: The map the costs are counted on, (H, W); the times use a batch of 8 such maps.
TABLE_SIZE: tuple[int, int] = (32, 32)
#: Batch size of the timed tensor (chapter 7's module benchmark uses the same (8, C, 32, 32)).
TIME_BATCH = 8

@dataclass(frozen=True)
class ModuleView:
    """A kind's short label, what its gate is computed from and what it cannot see."""

    label: str
    sees: str
    cannot_see: str


#: One entry per kind of :data:`attn_lessons.factory.ALL_ATTENTION_KINDS`, in that order.
VIEWS: dict[str, ModuleView] = {
    "none": ModuleView(
        "none",
        "nothing: the baseline without attention",
        "everything"),
    "se": ModuleView(
        "SE",
        "each channel's mean over the whole map, all channels mixed through a bottleneck",
        "where anything is (one gate value per channel), any statistic but the mean"),
    "eca": ModuleView(
        "ECA",
        "each channel's mean over the whole map, and those of the k nearest channels",
        "where anything is; channels farther than (k - 1)/2 in index"),
    "cbam": ModuleView(
        "CBAM",
        "channel gate: each channel's mean and maximum, all channels mixed; spatial gate: the "
        "mean and maximum over channels in a 7 x 7 window",
        "in the spatial gate, which channel is active (only their mean and maximum) and "
        "anything beyond 7 x 7"),
    "coordatt": ModuleView(
        "CoordAtt",
        "each channel's row means and column means, all channels mixed through a bottleneck",
        "a pattern that is not a product of a row profile and a column profile (e.g. a "
        "diagonal)"),
    "self_attention": ModuleView(
        "SelfAttention2d",
        "every position compared with every other, from all channels",
        "where a position is (no position encoding: permuting the positions permutes the "
        "output)"),
    "simam": ModuleView(
        "SimAM",
        "each activation's squared distance from its channel's mean, in units of the channel's "
        "variance",
        "other channels, and neighbours (only its own channel's mean and variance); it learns "
        "nothing"),
    "gc": ModuleView(
        "GC",
        "one attention-weighted average of all positions, all channels mixed through a "
        "bottleneck",
        "where it adds (the same vector at every position); a context that depends on the "
        "query position"),
    "sk": ModuleView(
        "SK",
        "the channel means of the sum of a 3 x 3 and a 5 x 5 (dilated) convolution branch",
        "where anything is (one softmax weight per channel and branch)"),
    "bam": ModuleView(
        "BAM",
        "channel branch: each channel's mean, channels mixed; spatial branch: a 1 x 1 reduction "
        "seen through two dilated 3 x 3 convolutions (17 x 17 receptive field)",
        "channel maxima; anything beyond 17 x 17 in the spatial branch"),
    "triplet": ModuleView(
        "Triplet",
        "the maximum and mean along one axis at a time (C, H or W), each plane through a 7 x 7 "
        "convolution",
        "anything beyond 7 steps along any axis; channels are neighbours only by their index"),
    "shuffle": ModuleView(
        "Shuffle",
        "one half of each group: each channel's mean; the other half: each activation against "
        "its channel's mean and spread",
        "other channels (no mixing; only the next layer after the shuffle mixes them) and "
        "neighbours"),
    "ema": ModuleView(
        "EMA",
        "within each group of channels: row and column means, a 3 x 3 neighbourhood, and the "
        "group's channel means weighting both branches",
        "other groups; a channel apart from its group (one spatial gate per group)"),
    "ela": ModuleView(
        "ELA",
        "each channel's row and column means, through a 1-D convolution over k = 7 neighbouring "
        "rows or columns",
        "other channels (only GroupNorm's statistics are shared) and a pattern that is not a "
        "product of a row and a column profile"),
}


def taxonomy_cell(kind: str) -> str:
    """The kind's class in Guo et al.'s taxonomy, and who placed it there, for a table cell."""
    if kind == "none":
        return ""
    entry = placement(kind)
    return f"{CATEGORIES[entry.category][0]} ({SOURCES[entry.source][0]})"


def table_options(kind: str, channels: int) -> dict[str, Any]:
    """The options a kind needs at width ``channels`` where its authors' default cannot fit.

    Only Shuffle Attention needs any: 64 groups of two halves need a multiple of 128 channels,
    so at 64 channels it takes the largest group count that fits (32). Every other kind is built
    with its defaults at 64, 256 and 512 channels.
    """
    channels = check_int("channels", channels)
    if kind == "shuffle" and channels % 128 != 0:
        if channels % 2 != 0:
            raise ValueError(f"Shuffle Attention needs an even channel count, got {channels}")
        return {"groups": math.gcd(channels // 2, 64)}
    return {}


@dataclass(frozen=True)
class CostRow:
    """A kind's parameters and MACs (one image, :data:`TABLE_SIZE`) at each width, in order."""

    kind: str
    label: str
    params: tuple[int, ...]
    macs: tuple[int, ...]
    options: tuple[dict[str, Any], ...]


def _build(kind: str, channels: int) -> nn.Module:
    return make_attention(kind, channels, **table_options(kind, channels))


def cost_rows(
    channels: tuple[int, ...] = TABLE_CHANNELS, size: tuple[int, int] = TABLE_SIZE,
    kinds: tuple[str, ...] = ALL_ATTENTION_KINDS[1:],
) -> list[CostRow]:
    """Count every kind at every width: modules built on PyTorch's meta device, so nothing is
    allocated or computed (the counts equal a real CPU run's; :mod:`attn_lessons.cost`)."""
    widths = tuple(check_int("channels", c) for c in channels)
    h, w = (check_int("size", s) for s in size)
    rows = []
    for kind in kinds:
        params, macs, options = [], [], []
        for c in widths:
            with torch.device("meta"):
                m = _build(kind, c).eval()
                x = torch.empty(1, c, h, w)
            params.append(count_parameters(m))
            macs.append(count_flops(m, x).macs)
            options.append(table_options(kind, c))
        rows.append(CostRow(kind, VIEWS[kind].label, tuple(params), tuple(macs), tuple(options)))
    return rows


def measure_times(
    channels: tuple[int, ...] = TABLE_CHANNELS, size: tuple[int, int] = TABLE_SIZE,
    batch: int = TIME_BATCH, repeats: int = 20, warmup: int = 3,
    kinds: tuple[str, ...] = ALL_ATTENTION_KINDS[1:], device: str | torch.device = "cpu",
) -> dict[str, dict[str, float]]:
    """Median forward time (ms) of each kind and of ``x * 2``, and their ratio, at each width.

    Returns ``{str(channels): {"yardstick_ms": t0, kind: ratio, ...}}``. All kinds of one width
    are timed interleaved with the yardstick (:func:`attn_lessons.bench._time_interleaved`), in
    inference mode (``eval()``, ``torch.no_grad()``); self-attention uses PyTorch's fused kernel,
    as chapter 7's benchmark does.
    """
    device = torch.device(device)
    batch = check_int("batch", batch)
    h, w = (check_int("size", s) for s in size)
    out: dict[str, dict[str, float]] = {}
    for c in (check_int("channels", c) for c in channels):
        torch.manual_seed(0)
        x = torch.randn(batch, c, h, w, device=device)
        modules: list[nn.Module] = [_Times2()]
        for kind in kinds:
            options = table_options(kind, c)
            if kind == "self_attention":
                options["fused"] = True
            modules.append(make_attention(kind, c, **options).to(device).eval())
        fns = [_no_grad_forward(m, x) for m in modules]
        times = _time_interleaved(fns, device, check_int("repeats", repeats),
                                  check_int("warmup", warmup, minimum=0))
        row = {"yardstick_ms": times[0]}
        row.update({kind: t / times[0] for kind, t in zip(kinds, times[1:], strict=True)})
        out[str(c)] = row
    return out


def _no_grad_forward(module: nn.Module, x: torch.Tensor):
    """A function that runs ``module(x)`` without recording gradients."""
    def forward() -> None:
        with torch.no_grad():
            module(x)
    return forward


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def markdown_table(
    costs: list[CostRow], ratios: dict[str, dict[str, float]] | None = None,
    channels: tuple[int, ...] = TABLE_CHANNELS, views: bool = True,
) -> str:
    """The comparison table as Markdown: cost (and, given ``ratios``, time) columns per width,
    then, with ``views``, the taxonomy and what the module sees and cannot see."""
    head = ["module"]
    head += [f"params C={c}" for c in channels]
    head += [f"MACs C={c}" for c in channels]
    if ratios is not None:
        head += [f"time / x*2 C={c}" for c in channels]
    if views:
        head += ["taxonomy (Guo et al.)", "sees", "cannot see"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in costs:
        view = VIEWS[row.kind]
        cells = [view.label]
        cells += [_fmt_int(p) for p in row.params]
        cells += [_fmt_int(m) for m in row.macs]
        if ratios is not None:
            cells += [f"{ratios[str(c)][row.kind]:.1f}" for c in channels]
        if views:
            cells += [taxonomy_cell(row.kind), view.sees, view.cannot_see]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def views_table(kinds: tuple[str, ...] = ALL_ATTENTION_KINDS[1:]) -> str:
    """What each kind sees and cannot see, and its place in the taxonomy, as Markdown."""
    lines = ["| module | taxonomy (Guo et al.) | sees | cannot see |", "|---|---|---|---|"]
    for kind in kinds:
        view = VIEWS[kind]
        lines.append(f"| {view.label} | {taxonomy_cell(kind)} | {view.sees} | {view.cannot_see} |")
    return "\n".join(lines)


def results_dict(ratios: dict[str, dict[str, float]], settings: dict[str, Any],
                 machine: dict[str, Any], started: datetime.datetime,
                 wall_seconds: float) -> dict[str, Any]:
    """The result file's content: settings, provenance (machine, load, versions, commit), times."""
    return {
        "what": "forward time of each attention kind divided by the time of x * 2 "
                "(attn_lessons.comparison)",
        "date_utc": started.isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 1),
        "settings": settings,
        "machine": machine,
        "git": _git_state(),
        "ratios": ratios,
    }


def _git_state() -> dict[str, Any]:
    """The commit of the library's checkout and whether it had uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                     "attn_lessons"], check=True, capture_output=True,
                                    text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m attn_lessons.comparison",
        description="Time every attention kind against x * 2 at 64, 256 and 512 channels.")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per measurement")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for PyTorch (default: PyTorch's choice)")
    parser.add_argument("--quick", action="store_true",
                        help="widths (64, 128), a 4 x 4 map and 2 repeats: checks the command runs")
    parser.add_argument("--json", type=str, default=None, metavar="PATH",
                        help="write settings, provenance and the ratios to PATH as JSON")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be a positive integer, got {args.repeats}")
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be a positive integer, got {args.threads}")
        torch.set_num_threads(args.threads)
    machine = machine_info()  # the load average before any timing
    started = datetime.datetime.now(datetime.UTC)
    channels, size = ((64, 128), (4, 4)) if args.quick else (TABLE_CHANNELS, TABLE_SIZE)
    repeats = min(2, args.repeats) if args.quick else args.repeats
    warmup = 1 if args.quick else 3
    ratios = measure_times(channels, size, TIME_BATCH, repeats, warmup)
    wall = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    for c, row in ratios.items():
        print(f"C={c}: x * 2 takes {row['yardstick_ms']:.3f} ms")
        for kind in ALL_ATTENTION_KINDS[1:]:
            print(f"  {VIEWS[kind].label:<16} {row[kind]:8.2f} x yardstick")
    if args.json:
        settings = {"channels": list(channels), "shape": [TIME_BATCH, "C", *size],
                    "repeats": repeats, "warmup": warmup, "device": "cpu",
                    "threads": torch.get_num_threads(), "mode": "eval, torch.no_grad()",
                    "statistic": "median of interleaved runs in one process",
                    "command": "python -m attn_lessons.comparison "
                               + " ".join(sys.argv[1:] if argv is None else argv)}
        data = results_dict(ratios, settings, machine, started, wall)
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        atomic_write_text(args.json, json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
