"""Time the stages of `make test` and print where the time went.

``make test`` sets the variable ``ATTN_TIMINGS`` to a file (``_build/timings.jsonl``) and runs
each stage through this script::

    python scripts/stage_times.py start                   # empty the file, note the load
    python scripts/stage_times.py run NAME -- COMMAND...  # run COMMAND, append one line
    python scripts/stage_times.py report                  # the table; _build/timings.json

``run`` runs the command and exits with its exit status, so a failing stage still fails
``make test``; where ``ATTN_TIMINGS`` is not set (``make pytest`` on its own) it only runs the
command. Each line records the stage's start and end (seconds after ``start``), its wall time, the
CPU time (user + system) of the command and every process it waited for, its exit status and the
load average at its start and end. Stages that ran at the same time (pytest beside the book
build, the browser processes) show overlapping start and end. The CPU column tells a stage that
computes (CPU close to, or above, wall) from one that waits (a browser waiting for pages).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ENV = "ATTN_TIMINGS"
ROOT = Path(__file__).resolve().parent.parent


def _path() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


def _append(path: Path, record: dict) -> None:
    """One line per stage, written with one ``write`` in append mode (stages run in parallel)."""
    line = (json.dumps(record) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def start(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")
    _append(path, {"event": "start", "time": time.time(), "load": os.getloadavg()[0],
                   "cores": os.cpu_count()})
    return 0


def run(name: str, command: list[str]) -> int:
    if not command:
        raise SystemExit("stage_times.py run NAME -- COMMAND: no command given")
    path = _path()
    if path is None:
        return subprocess.call(command)
    records = _read(path)
    origin = next((r["time"] for r in records if r.get("event") == "start"), time.time())
    load_start = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.time()
    status = subprocess.call(command)
    ended = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    _append(path, {"event": "stage", "stage": name, "start": round(began - origin, 1),
                   "end": round(ended - origin, 1), "wall_s": round(ended - began, 1),
                   "cpu_s": round(cpu, 1), "status": status, "load_start": load_start,
                   "load_end": os.getloadavg()[0]})
    if status != 0:
        print(f"stage_times: stage {name!r} failed (exit status {status}) after "
              f"{ended - began:.0f} s", file=sys.stderr)
    return status


def table(records: list[dict]) -> str:
    """The breakdown as text: one row per stage, in the order the stages started."""
    begin = next((r for r in records if r.get("event") == "start"), None)
    stages = sorted((r for r in records if r.get("event") == "stage"), key=lambda r: r["start"])
    width = max([len(r["stage"]) for r in stages] + [5])
    lines = [f"{'stage':<{width}}  {'start':>7}  {'end':>7}  {'wall s':>7}  {'CPU s':>7}  "
             f"{'load':>9}  status"]
    for r in stages:
        load = f"{r['load_start']:.1f}-{r['load_end']:.1f}"
        status = "ok" if r["status"] == 0 else f"FAILED ({r['status']})"
        lines.append(f"{r['stage']:<{width}}  {r['start']:>7.1f}  {r['end']:>7.1f}  "
                     f"{r['wall_s']:>7.1f}  {r['cpu_s']:>7.1f}  {load:>9}  {status}")
    if begin is not None:
        total = time.time() - begin["time"]
        cpu = sum(r["cpu_s"] for r in stages)
        lines.append(f"{'total':<{width}}  {0:>7.1f}  {total:>7.1f}  {total:>7.1f}  {cpu:>7.1f}  "
                     f"{begin['load']:.1f}-{os.getloadavg()[0]:.1f}  "
                     f"({begin['cores']} cores; load = 1-minute load average)")
    return "\n".join(lines)


def report(path: Path) -> int:
    records = _read(path)
    if not records:
        print(f"stage_times: no timings in {path}")
        return 0
    text = table(records)
    print("\n== make test: time per stage (seconds after the start) ==")
    print(text)
    summary = path.with_suffix(".json")
    summary.write_text(json.dumps({"records": records, "table": text.splitlines()}, indent=1)
                       + "\n", encoding="utf-8")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"start", "run", "report"}:
        raise SystemExit(__doc__)
    if argv[0] == "run":
        if len(argv) < 2:
            raise SystemExit("stage_times.py run NAME -- COMMAND...")
        rest = argv[2:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        return run(argv[1], rest)
    path = _path() or ROOT / "_build" / "timings.jsonl"
    return start(path) if argv[0] == "start" else report(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
