"""Execute one notebook in a kernel of its own started in the notebook's own folder; measure it.

Usage: ``.venv/bin/python scripts/run_notebook.py NOTEBOOK [--save OUT.ipynb] [--after CODE]
[--kernel NAME]``

The last line printed is one JSON object::

    {"notebook": ..., "seconds": ..., "peak_rss_mb": ..., "error": null or "cell n: ..."}

``n`` counts code cells from 1, as ``scripts/exec_notebook.py`` does, and the error is plain text
(the terminal colour codes of IPython's traceback are removed). ``--timeout`` is the per-cell
limit in seconds, a positive integer (nbclient would read 0 or less as "no limit").

``seconds`` is the wall time from starting the kernel to shutting it down (the kernel's start and
``import torch`` included: that is what a reader waits for). ``peak_rss_mb`` is the kernel's peak
resident memory: this script runs one kernel and waits for it, so ``RUSAGE_CHILDREN`` of this
process is exactly that kernel. Run it once per notebook in a fresh process (``make bench`` and the
student-edition test do) or the figure becomes the largest of several kernels. With another kernel
spec than ``python3`` it is null: that spec's process need not be the kernel (a forked kernel's is
a stub, ``scripts/forked_kernels.py``).

``--after CODE`` appends a code cell with CODE, executed in the same kernel once the notebook has
run to the end (the tests use it to ask the kernel where it imported ``attn_lessons`` from).
``--save`` writes the executed notebook, outputs included, for the caller to inspect; it is written
even when a cell raises, so the caller can see how far the notebook got. ``--kernel`` names the
kernel spec (``python3`` unless given; the student edition's test names the forked kernels of
``scripts/forked_kernels.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import resource
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
ROOT = Path(__file__).resolve().parent.parent


def _atomic_write_text(path: Path, text: str) -> None:
    """``attn_lessons._files.atomic_write_text``, its module loaded from its file.

    Importing it as ``attn_lessons._files`` runs the package's ``__init__``, which imports torch:
    about 2 CPU-s in this process, which needs none of it, once for every notebook run (the
    student edition's test runs 18).
    """
    spec = importlib.util.spec_from_file_location("_attn_lessons_files",
                                                  ROOT / "attn_lessons" / "_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.atomic_write_text(path, text)


def run(path: Path, timeout: int = 300, after: str | None = None,
        save: Path | None = None, kernel: str = "python3") -> dict:
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    nb = nbformat.read(path, as_version=4)
    if after:
        nb.cells.append(nbformat.v4.new_code_cell(after, metadata={"tags": ["appended-check"]}))
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    error = None
    start = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as exc:
        code = [c for c in nb.cells if c.cell_type == "code"]
        failed = next((i for i, c in enumerate(code, start=1) if any(
            o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        text = ANSI_ESCAPE.sub("", str(exc)).strip()
        first_line = text.splitlines()[-1] if text else type(exc).__name__
        error = f"cell {failed}: {first_line}" if failed is not None else first_line
    seconds = time.perf_counter() - start
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    # Another spec's process need not be the kernel (a forked kernel's is not): no figure then.
    peak = (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale / 2**20
            if kernel == "python3" else None)
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(save, nbformat.writes(nb) + "\n")
    return {"notebook": str(path), "seconds": round(seconds, 2),
            "peak_rss_mb": None if peak is None else round(peak, 1), "error": error}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=int, default=300, help="per-cell timeout in seconds")
    parser.add_argument("--after", help="code to run in the same kernel after the notebook")
    parser.add_argument("--save", type=Path, help="write the executed notebook here")
    parser.add_argument("--kernel", default="python3", help="the kernel spec's name")
    args = parser.parse_args(argv)
    if args.timeout < 1:
        parser.error(f"--timeout must be a positive number of seconds, got {args.timeout}")
    result = run(args.notebook, timeout=args.timeout, after=args.after, save=args.save,
                 kernel=args.kernel)
    print(json.dumps(result))
    return 0 if result["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
