"""Run every reader notebook top to bottom, as "Run all" in Colab would, outside the repository.

Usage: ``python scripts/run_reader_notebooks.py [FOLDER] [--jobs N] [--timeout S]``

Each notebook under FOLDER (default ``notebooks/``, both languages) is copied into a temporary
folder outside the repository, so that ``attn_lessons`` can only come from the installed package,
and executed there in a fresh kernel by ``scripts/run_notebook.py``, N at a time. One line per
notebook (its time, or the cell that failed); the exit status is 1 if any notebook failed.

The GitHub workflow's platform job (``.github/workflows/ci.yml``) runs it on the pinned Python and
torch and on the newest, after the library's tests; ``make test``'s browser stage runs a few of
these notebooks with finer checks (``tests/browser/test_reader_notebooks.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "scripts" / "run_notebook.py"


def run_one(notebook: Path, folder: Path, base: Path, timeout: int) -> dict:
    copy = base / notebook.relative_to(folder)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook, copy)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, str(RUNNER), str(copy), "--timeout", str(timeout)],
                          cwd=copy.parent, env=env, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        return {"error": f"the runner failed: {proc.stderr[-2000:]}", "seconds": None}
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--timeout", type=int, default=600, help="per cell, in seconds")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    notebooks = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not notebooks:
        print(f"run_reader_notebooks: no notebook under {folder}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reader-notebooks-") as tmp:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(lambda p: run_one(p, folder, Path(tmp), args.timeout),
                                    notebooks))
    failed = 0
    for notebook, result in zip(notebooks, results, strict=True):
        name = notebook.relative_to(folder)
        if result.get("error"):
            failed += 1
            print(f"FAILED  {name}: {result['error']}")
        else:
            print(f"ok      {name}: {result['seconds']:.1f} s")
    print(f"run_reader_notebooks: {len(notebooks) - failed} of {len(notebooks)} ran to the end "
          f"in {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
