"""``python -m attn_lessons.experiments {list,run,check}``: the experiments from a shell.

    python -m attn_lessons.experiments list                  # name, chapter, cells, seeds, time
    python -m attn_lessons.experiments run NAME [NAME ...] [--jobs 2] [--out PATH]
    python -m attn_lessons.experiments run --all --jobs 2    # what `make results` does
    python -m attn_lessons.experiments run NAME --config gpu --jobs 4   # the larger GPU design
    python -m attn_lessons.experiments check NAME [--per-cell 1] [--budget 15] [--path PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from . import all_experiments, check_reruns, get_experiment, load_results
from .design import gpu_configuration, seeds_required
from .guide import EXPERIMENTS as GUIDE_EXPERIMENTS
from .guide import run_guide
from .results import RerunMismatch
from .runner import default_path, main_command, results_folder, run_experiment

GUIDE_NAME = GUIDE_EXPERIMENTS[0].name


def _recorded_seconds(name: str) -> float | None:
    if not default_path(name).is_file():
        return None
    try:
        results = load_results(name)
    except (OSError, ValueError):
        return None
    return sum(run["seconds"] for run in results.runs)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def cmd_list(args: argparse.Namespace) -> int:
    experiments = all_experiments()
    if not experiments:
        print("No experiments are declared (attn_lessons/experiments/ch*.py, guide*.py).")
        return 0
    header = ("name", "chapter", "cells", "seeds", "required", "runs", "run time (1 job)")
    rows = []
    total = 0.0
    for name, exp in experiments.items():
        seconds = _recorded_seconds(name)
        total += seconds or 0.0
        rows.append((name, exp.chapter, str(len(exp.cells)), str(len(exp.seeds)),
                     str(seeds_required(exp)) + ("" if not exp.note else " (note)"),
                     str(exp.runs), _duration(seconds)))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for line in (header, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    print(f"{len(rows)} experiment(s); recorded run time {_duration(total)} on one job "
          f"('?': no result file yet)")
    return 0


def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    if args.all == bool(args.names):
        print("run: name one or more experiments, or --all", file=sys.stderr)
        return 2
    if args.out is not None and (args.all or len(args.names) != 1):
        print("run: --out needs exactly one experiment name", file=sys.stderr)
        return 2
    names = list(all_experiments()) if args.all else args.names
    try:
        experiments = [get_experiment(name) for name in names]
    except ValueError as error:
        print(f"run: {error}", file=sys.stderr)
        return 2
    if args.config == "gpu":
        import torch

        if args.device.startswith("cuda") and not torch.cuda.is_available():
            print(f"run: --config gpu asks for device {args.device!r}, but this machine has no "
                  "CUDA device (--device cpu runs the larger design on the CPU)", file=sys.stderr)
            return 2
        try:
            experiments = [gpu_configuration(exp, args.device) for exp in experiments]
        except ValueError as error:
            print(f"run: {error}", file=sys.stderr)
            return 2
    command = main_command(argv)
    start = time.perf_counter()
    for exp in experiments:
        out = args.out
        if out is None and args.config == "gpu":
            out = results_folder() / "gpu" / f"{exp.name}.json"
        if exp.name == GUIDE_NAME and args.config != "gpu":
            # the field guide trains its new cells only and copies its partners' records from
            # ch7_tasks.json (run before it: --all runs the chapters in order); the resumable
            # record of finished runs lives in a folder that is gone when this run ends
            with tempfile.TemporaryDirectory() as scratch:
                path = run_guide(jobs=args.jobs, out=out, command=command,
                                 partial=Path(scratch) / "partial.jsonl",
                                 progress=not args.no_progress)
            results = load_results(exp.name, path=path)
        else:
            results = run_experiment(exp, jobs=args.jobs, out=out, command=command,
                                     progress=not args.no_progress)
        print(f"{exp.name}: {exp.runs} runs in {results.provenance['wall_seconds']:.0f} s "
              f"-> {results.path}", flush=True)
    print(f"{len(experiments)} experiment(s) in {_duration(time.perf_counter() - start)} "
          f"with {args.jobs} job(s)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    try:
        report = check_reruns(args.name, path=args.path, budget=args.budget,
                              per_cell=args.per_cell, quiet=True)
    except RerunMismatch as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    print(report)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m attn_lessons.experiments",
                                  description="The book's experiments: list, run, check.")
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every declared experiment, its size and recorded run time")
    run = sub.add_parser("run", help="run experiments and write their result files")
    run.add_argument("names", nargs="*", metavar="NAME")
    run.add_argument("--all", action="store_true", help="every declared experiment")
    run.add_argument("--jobs", type=int, default=1, help="runs at once (worker processes)")
    run.add_argument("--out", help="write here instead of attn_lessons/results/NAME.json")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--config", choices=("book", "gpu"), default="book",
                     help="book: the shipped designs (CPU); gpu: every seed the power calculation "
                          "asks for, on --device, into attn_lessons/results/gpu/NAME.json")
    run.add_argument("--device", default="cuda",
                     help="the device of --config gpu (default cuda)")
    check = sub.add_parser("check", help="re-run a few records and compare with the file")
    check.add_argument("name", metavar="NAME")
    check.add_argument("--per-cell", type=int, default=1, help="seeds re-run per cell")
    check.add_argument("--budget", type=float, default=15.0,
                       help="seconds of recorded run time to re-run at most (default 15)")
    check.add_argument("--path", help="a result file to check instead of the shipped one")
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    if args.command == "list":
        return cmd_list(args)
    if args.command == "run":
        if args.jobs < 1:
            print(f"run: --jobs must be a positive integer, got {args.jobs}", file=sys.stderr)
            return 2
        return cmd_run(args, argv)
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
