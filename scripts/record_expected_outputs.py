"""Record the expected output of every ``nbval-check-output`` cell into the cell's metadata.

Usage: ``.venv/bin/python scripts/record_expected_outputs.py book/ch02_se/se_lab.ipynb [...]``

The notebook is executed (in its own folder, with the current Python), the outputs of the cells
tagged ``nbval-check-output`` are stored under ``metadata["nbval"]["expected_outputs"]``, and the
notebook is written back with no outputs, no execution counts and the standard ``python3``
kernelspec, ready to commit. Only text
outputs are stored: a checked cell should print deterministic text (counts, shapes, True/False,
rounded numbers), never a figure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from attn_lessons._files import atomic_write_text

CHECK_TAG = "nbval-check-output"


def _text_only(output: dict) -> dict:
    output = dict(output)
    output.pop("execution_count", None)
    output["metadata"] = {}
    if "data" in output:
        output["data"] = {k: v for k, v in output["data"].items() if k == "text/plain"}
    return output


KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def strip_outputs(nb: nbformat.NotebookNode) -> None:
    """Remove outputs and execution counts; normalise the notebook-level metadata."""
    # Only these two keys: nbclient also saves the widget state of the progress bars
    # (``widgets``), which makes the book page load ipywidgets' JavaScript from a CDN.
    nb.metadata = nbformat.from_dict(
        {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    )
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)  # timings nbclient adds


def record(path: Path, timeout: int = 300) -> int:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    checked = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        if CHECK_TAG in tags:
            outputs = [_text_only(o) for o in cell.outputs]
            bad = [o for o in outputs if o.get("output_type") == "error"]
            if bad:
                raise RuntimeError(f"{path}: a checked cell raised {bad[0].get('ename')}")
            cell.metadata.setdefault("nbval", {})["expected_outputs"] = outputs
            checked += 1
        else:
            cell.metadata.pop("nbval", None)
    strip_outputs(nb)
    # Atomically: an interrupted write must not truncate the committed notebook.
    atomic_write_text(path, nbformat.writes(nb) + "\n")
    return checked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks:
        n = record(path)
        print(f"{path}: recorded {n} checked cell(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
