"""How fast the book runs and builds, against the targets readers and CI rely on (`make bench`).

Usage: ``.venv/bin/python scripts/bench_book.py [--skip-notebooks|--skip-build|--skip-modules]
[--quick] [--toc TOC]``

It prints

1. each notebook's execution wall time and the kernel's peak memory (every notebook run alone in a
   fresh kernel started in its own folder, by ``scripts/run_notebook.py`` in its own process);
2. the cold build time of the whole book, execution and HTML, from an empty folder (a temporary
   ``--path-output``, so the reader's ``_build`` and its execution cache are not touched), and the
   warm rebuild time of the same build with nothing changed;
3. the module benchmark, ``python -m attn_lessons.bench`` (``--quick`` is passed on).

Each figure is followed by PASS or MISS against its target: every notebook under 60 s and 1.5 GB
(Binder gives 2 GB), the cold build under 5 minutes, the warm rebuild under 30 s. The targets are
for the 2-core CPU machine CI uses; figures from a loaded machine are pessimistic. It exits 1 only
when something fails to run, never for a MISS: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
RUNNER = ROOT / "scripts" / "run_notebook.py"

NOTEBOOK_SECONDS = 60.0
NOTEBOOK_MB = 1.5 * 1024
COLD_BUILD_SECONDS = 300.0
WARM_BUILD_SECONDS = 30.0
BUILD_FLAGS = ["-W", "-n", "--keep-going"]  # as `make book`


def verdict(value: float, limit: float) -> str:
    return "PASS" if value < limit else "MISS"


def notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(BOOK).parts))


def bench_notebooks() -> bool:
    print(f"\n== Notebooks: one fresh kernel each (targets: < {NOTEBOOK_SECONDS:.0f} s, "
          f"< {NOTEBOOK_MB / 1024:.1f} GB peak) ==")
    print(f"{'notebook':<52} {'seconds':>8} {'peak MB':>8}  verdict")
    ok = True
    total = 0.0
    for path in notebooks():
        proc = subprocess.run([sys.executable, str(RUNNER), str(path)], cwd=path.parent,
                              capture_output=True, text=True)
        lines = proc.stdout.strip().splitlines()
        name = str(path.relative_to(ROOT))
        if not lines or not lines[-1].startswith("{"):
            print(f"{name:<52} the runner failed:\n{proc.stderr[-2000:]}")
            ok = False
            continue
        result = json.loads(lines[-1])
        total += result["seconds"]
        both = "PASS" if (verdict(result["seconds"], NOTEBOOK_SECONDS) == "PASS"
                          and verdict(result["peak_rss_mb"], NOTEBOOK_MB) == "PASS") else "MISS"
        note = f"  (stopped: {result['error']})" if result["error"] else ""
        print(f"{name:<52} {result['seconds']:>8.1f} {result['peak_rss_mb']:>8.0f}  {both}{note}")
        ok &= result["error"] is None
    print(f"{'all notebooks, one after the other':<52} {total:>8.1f}")
    return ok


def timed_build(output: Path, toc: Path | None) -> tuple[float, int, str]:
    start = time.perf_counter()
    toc_args = ["--toc", str(toc)] if toc else []
    proc = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
                           "--path-output", str(output), *toc_args, *BUILD_FLAGS],
                          cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode, proc.stdout[-3000:] + proc.stderr[-3000:]


def _problems(log: str) -> str:
    lines = [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln or "Error" in ln]
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln) for ln in lines if "IPKernelApp" not in ln]
    return "\n".join(f"    {ln}" for ln in lines[-20:]) or f"    {log[-1500:]}"


def bench_build(toc: Path | None) -> bool:
    print(f"\n== Book build, {' '.join(BUILD_FLAGS)} as `make book` (targets: cold < "
          f"{COLD_BUILD_SECONDS / 60:.0f} min, warm < {WARM_BUILD_SECONDS:.0f} s) ==")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench_book_") as tmp:
        output = Path(tmp)
        for label, limit in (("cold build (empty output folder)", COLD_BUILD_SECONDS),
                             ("warm rebuild (nothing changed)", WARM_BUILD_SECONDS)):
            seconds, rc, log = timed_build(output, toc)
            failed = f"  (the build failed, exit {rc}:)\n{_problems(log)}" if rc else ""
            print(f"{label:<34} {seconds:7.1f} s  {verdict(seconds, limit)}{failed}")
            ok &= rc == 0
        if not (output / "_build" / ".jupyter_cache").is_dir():
            print("note: no execution cache was made: the warm figure includes execution")
    return ok


def bench_modules(quick: bool) -> bool:
    print("\n== Module benchmark: python -m attn_lessons.bench ==")
    if importlib.util.find_spec("attn_lessons.bench") is None:
        print("attn_lessons.bench is missing: no module benchmark to run")
        return True
    command = [sys.executable, "-m", "attn_lessons.bench", *(["--quick"] if quick else [])]
    return subprocess.run(command, cwd=ROOT).returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-modules", action="store_true")
    parser.add_argument("--quick", action="store_true", help="pass --quick to the module bench")
    parser.add_argument("--toc", type=Path, help="build with this table of contents instead")
    args = parser.parse_args(argv)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python "
          f"{platform.python_version()}; load average "
          + (" ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"))
    if shutil.which("nvidia-smi"):
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True).stdout.strip()
        print(f"GPU: {gpu or 'none found'}")
    ok = True
    if not args.skip_notebooks:
        ok &= bench_notebooks()
    if not args.skip_build:
        ok &= bench_build(args.toc)
    if not args.skip_modules:
        ok &= bench_modules(args.quick)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
