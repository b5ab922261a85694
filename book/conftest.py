"""nbval support: exact output checks for notebooks committed without outputs.

Notebooks are committed with no outputs, so nbval has nothing to compare against by default.
A code cell tagged ``nbval-check-output`` carries its expected output in its metadata instead
(``metadata["nbval"]["expected_outputs"]``, written by ``scripts/record_expected_outputs.py``).
This hook puts those outputs where nbval looks for them before the cells run, so under
``--nbval-lax`` exactly these cells are compared with what the notebook prints today.
"""

from __future__ import annotations

import nbformat

CHECK_TAG = "nbval-check-output"


def pytest_collection_modifyitems(session, config, items):
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
