"""nbval support: exact output checks for notebooks committed without outputs.

Notebooks are committed with no outputs, so nbval has nothing to compare against by default.
A code cell tagged ``nbval-check-output`` carries its expected output in its metadata instead
(``metadata["nbval"]["expected_outputs"]``, written by ``scripts/record_expected_outputs.py``).
This hook puts those outputs where nbval looks for them before the cells run, so under
``--nbval-lax`` exactly these cells are compared with what the notebook prints today.

``--nbval-from-cache DIR`` (``make test``): nbval's checks without executing the notebooks a
second time. The book build executes every notebook once into its jupyter-cache
(``_build/.jupyter_cache``, ``scripts/execute_notebooks.py``); with this option each cell's
outputs are taken from that execution instead of from a kernel, and judged by nbval's own code,
as ``make nbval`` judges them: a cell whose execution raised fails with the traceback, and a
cell tagged ``nbval-check-output`` fails when its outputs differ from the recorded ones (nbval's
``compare_outputs``, streams coalesced as nbval does). The cache holds a notebook only for its
current code (it matches on the code cells), so an edited notebook that was not executed again
fails here with a message saying so. ``make nbval`` (no option) executes every notebook as before.
"""

from __future__ import annotations

import functools

import nbformat
import pytest

CHECK_TAG = "nbval-check-output"


def pytest_addoption(parser):
    parser.addoption("--nbval-from-cache", metavar="DIR", default=None,
                     help="judge each notebook's cells by the outputs of its execution in this "
                          "jupyter-cache (the book build's) instead of executing it again")


def _cached_code_cells(path, cache_dir):
    """The code cells of `path` as the cache's execution left them; a str saying why not."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import standard_nb_read

    with open(path, encoding="utf-8") as handle:
        notebook = standard_nb_read(handle.read())
    try:
        _, executed = get_cache(str(cache_dir)).merge_match_into_notebook(notebook)
    except KeyError:
        return (f"{path} has no execution of its current code in {cache_dir}: the book build "
                "(`make book`, scripts/execute_notebooks.py) executes it; or run `make nbval`")
    return [cell for cell in executed.cells if cell.cell_type == "code"]


def _runtest_from_cache(item, executed):
    """nbval's IPyNbCell.runtest, with the outputs read from the cache instead of a kernel."""
    from nbval.plugin import coalesce_streams

    if item.options["skip"]:
        pytest.skip()
    if isinstance(executed, str):
        item.raise_cell_error(executed)
    outs = [nbformat.from_dict(output) for output in executed.get("outputs", [])]
    for out in outs:
        if out.output_type == "error" and not item.options["check_exception"]:
            item.raise_cell_error("Cell execution caused an exception",
                                  "\n" + "\n".join(out.get("traceback", [])))
    outs = coalesce_streams(outs)
    unrun = item.cell.execution_count is None
    if unrun and item.cell.outputs:
        item.raise_cell_error("Unrun reference cell has outputs")
    if item.options["check"] and not unrun:
        if not item.compare_outputs(outs, coalesce_streams(item.cell.outputs)):
            item.raise_cell_error("Cell outputs differ", "\n".join(item.comparison_traceback))


def _from_cache(config, items):
    cache_dir = config.getoption("nbval_from_cache", None)
    if not cache_dir:
        return
    files = {}
    for item in items:
        if getattr(item, "cell", None) is None:
            continue
        parent = item.parent
        first = parent not in files
        if first:
            parent.setup = lambda: None  # no kernel: nothing is executed
            files[parent] = _cached_code_cells(str(item.path), cache_dir)
        cells = files[parent]
        if isinstance(cells, str):  # the whole reason on the notebook's first cell only
            executed = cells if first else f"no cached execution of {item.path} (first cell)"
        elif item.cell_num < len(cells):
            executed = cells[item.cell_num]
        else:
            executed = f"{item.path}: the cached execution has fewer code cells than the notebook"
        item.runtest = functools.partial(_runtest_from_cache, item, executed)


def pytest_collection_modifyitems(session, config, items):
    _from_cache(config, items)
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or CHECK_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        expected = cell.metadata.get("nbval", {}).get("expected_outputs")
        if expected is None:
            raise ValueError(
                f"{item.nodeid} is tagged {CHECK_TAG!r} but has no expected output: run "
                "`.venv/bin/python scripts/record_expected_outputs.py NOTEBOOK`"
            )
        cell.outputs = [nbformat.from_dict(output) for output in expected]
        # nbval compares only cells that were run in the reference (an execution count), and
        # refuses a never-run cell that has outputs: mark the reference as run.
        cell.execution_count = 1
