"""Run a notebook's code without Jupyter: read the .ipynb JSON, exec its code cells in order.

Usage: ``python scripts/exec_notebook.py NOTEBOOK [--out DIR] [--device cpu|auto]``

For machines that have Python, torch and the book's library but no Jupyter, nbclient, nbformat or
myst-nb (the GPU check, ``scripts/gpu_check.sh``). It needs only the standard library besides what
the notebook itself imports. Differences from a Jupyter kernel, all deliberate:

* the first code cell is skipped when it is the Colab-install cell (it mentions ``google.colab``);
* matplotlib runs on its ``Agg`` backend; after each cell every open figure is saved to
  ``DIR/<notebook>/cell<NN>_fig<K>.png`` and closed;
* ``display`` prints its argument's text (a ``Markdown`` object its source), ``get_ipython()``
  returns a stub whose methods do nothing, and lines starting with ``%`` or ``!`` (magics) are
  dropped; when IPython is not installed, a small ``IPython.display`` stand-in is provided;
* cells run in the notebook's folder, in one namespace, as a kernel would; ``TQDM_DISABLE=1``.

``--device cpu`` hides CUDA (``CUDA_VISIBLE_DEVICES=""`` is set before torch is imported) so the
CPU configuration runs; the default ``auto`` lets ``get_device()`` pick the GPU where there is one.
The last line printed is one JSON object: notebook, seconds, cells run, error (null or
"cell N: ...", N counting code cells from 1, as ``scripts/run_notebook.py`` does). A cell that
calls ``sys.exit`` (even ``sys.exit(0)``) is an error, not the end of a successful run: the later
cells did not run. A file that is not notebook JSON is an error naming the file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import types
from pathlib import Path


def code_cells(path: Path) -> list[str]:
    """The source of each code cell of the notebook, in order (nbformat 4 JSON).

    Raises ``ValueError`` naming the file when it is not a notebook's JSON.
    """
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a notebook (.ipynb JSON): {exc}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise ValueError(f"{path} is not a notebook (.ipynb JSON): no list of cells")
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append("".join(source) if isinstance(source, list) else source)
    return cells


def strip_magics(source: str) -> str:
    """Drop IPython magics and shell escapes (lines starting with % or !)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


class _Stub:
    """``get_ipython()`` stand-in: every attribute is a function that does nothing."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


def _display(*objs, **kwargs) -> None:
    for obj in objs:
        text = getattr(obj, "data", None)
        print(text if isinstance(text, str) else repr(obj))


def _install_ipython_standin() -> None:
    try:
        import IPython.display  # noqa: F401
    except ImportError:
        display_mod = types.ModuleType("IPython.display")

        class _Rich:
            def __init__(self, data="", *args, **kwargs) -> None:
                self.data = data

            def __repr__(self) -> str:
                return str(self.data)

        for name in ("Markdown", "HTML", "Latex", "Math", "Image", "SVG"):
            setattr(display_mod, name, type(name, (_Rich,), {}))
        display_mod.display = _display
        ipython = types.ModuleType("IPython")
        ipython.display = display_mod
        ipython.get_ipython = lambda: _Stub()
        sys.modules["IPython"] = ipython
        sys.modules["IPython.display"] = display_mod


def run(path: Path, out: Path | None = None) -> dict:
    path = path.resolve()
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TQDM_DISABLE", "1")
    _install_ipython_standin()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = None
    if out is not None:
        figures = out / path.stem
        figures.mkdir(parents=True, exist_ok=True)
    cells = code_cells(path)
    namespace: dict = {"__name__": "__main__", "display": _display, "get_ipython": _Stub}
    error, ran, skipped = None, 0, 0
    start = time.perf_counter()
    old_cwd = os.getcwd()
    os.chdir(path.parent)
    sys.path.insert(0, str(path.parent))
    try:
        for number, source in enumerate(cells, start=1):
            if number == 1 and "google.colab" in source:
                skipped += 1
                continue  # the Colab-install cell
            try:
                exec(compile(strip_magics(source), f"{path.name}:cell{number}", "exec"),
                     namespace)
            except Exception as exc:  # report the cell, keep the traceback
                traceback.print_exc()
                error = f"cell {number}: {type(exc).__name__}: {exc}"[:500]
                break
            except SystemExit as exc:  # sys.exit(0) too: the cells after it would not run
                error = (f"cell {number}: SystemExit: {exc.code!r} (a cell called sys.exit; "
                         f"the cells after it did not run)")[:500]
                break
            finally:
                for k, num in enumerate(plt.get_fignums(), start=1):
                    if figures is not None:
                        plt.figure(num).savefig(figures / f"cell{number:02d}_fig{k}.png",
                                                dpi=60)
                plt.close("all")
            ran += 1
    finally:
        os.chdir(old_cwd)
        sys.path.remove(str(path.parent))
    return {"notebook": str(path), "seconds": round(time.perf_counter() - start, 2),
            "cells_run": ran, "cells_skipped": skipped, "code_cells": len(cells), "error": error}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="folder for the figures")
    parser.add_argument("--device", choices=("auto", "cpu"), default="auto")
    args = parser.parse_args(argv)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    try:
        result = run(args.notebook, args.out)
    except (OSError, ValueError) as exc:  # not readable, or not a notebook: still one JSON line
        result = {"notebook": str(args.notebook), "seconds": 0.0, "cells_run": 0,
                  "cells_skipped": 0, "code_cells": 0, "error": str(exc)[:500]}
    print(json.dumps(result))
    return 0 if result["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
