"""Experiments as data: declared designs, one result file per experiment, re-run checks.

Each comparison the book makes is an :class:`Experiment` declared in a chapter module of this
package (``ch2.py``, ``ch7.py``, ``guide.py``, ...: every submodule whose name starts with ``ch``
or ``guide`` is found by :func:`all_experiments`; it defines ``EXPERIMENTS``, a tuple of
Experiments, and the run functions they name). One command runs an experiment and writes its
result file, ``attn_lessons/results/<name>.json``:

.. code-block:: json

    {"schema": 1,
     "design": {"name": ..., every Experiment field, "seeds_required": 24,
                "minimum_detectable_effect": 0.012},
     "runs": [{"task": "clutter", "arm": "cbam", "seed": 0,
               "metrics": {"accuracy": 0.913, "loss": 0.251}, "seconds": 1.8}, ...],
     "provenance": {"command": ..., "library_version": ..., "torch_version": ...,
                    "python_version": ..., "commit": ..., "dirty": false,
                    "machine": {"platform": ..., "processor": ..., "cpu_model": ..., "cpus": 2},
                    "device": "cpu", "threads": 1, "jobs": 2, "date": ..., "wall_seconds": 512.3}}

Notebooks read it with :func:`load_results`, analyse it with :func:`attn_lessons.stats.analyse`,
and re-run a few records with :func:`check_reruns`. From a shell::

    python -m attn_lessons.experiments list
    python -m attn_lessons.experiments run NAME [--jobs 2] [--out PATH]
    python -m attn_lessons.experiments check NAME [--per-cell 1]
"""

from __future__ import annotations

import importlib
import pkgutil

from .design import (
    ROLES,
    TESTS,
    Comparison,
    Experiment,
    minimum_detectable_effect,
    seeds_required,
)
from .results import (
    RerunMismatch,
    RerunReport,
    ResultFileError,
    Results,
    check_reruns,
    load_results,
    validate,
)
from .runner import default_path, run_experiment, write_json_atomic

__all__ = [
    "ROLES",
    "TESTS",
    "Comparison",
    "Experiment",
    "RerunMismatch",
    "RerunReport",
    "ResultFileError",
    "Results",
    "all_experiments",
    "chapter_modules",
    "check_reruns",
    "default_path",
    "get_experiment",
    "load_results",
    "minimum_detectable_effect",
    "run_experiment",
    "seeds_required",
    "validate",
    "write_json_atomic",
]

#: Submodules whose names start with one of these declare experiments.
PREFIXES = ("ch", "guide")


def chapter_modules() -> list[str]:
    """The names of the submodules that declare experiments (``ch*``, ``guide*``), sorted."""
    return sorted(f"{__name__}.{info.name}" for info in pkgutil.iter_modules(__path__)
                  if info.name.startswith(PREFIXES))


def all_experiments() -> dict[str, Experiment]:
    """Every declared experiment by name, module by module (sorted), in declaration order.

    Imports each chapter module; one that lacks ``EXPERIMENTS``, declares something other than
    Experiments, or reuses a name already declared is an error.
    """
    found: dict[str, Experiment] = {}
    for module_name in chapter_modules():
        module = importlib.import_module(module_name)
        declared = getattr(module, "EXPERIMENTS", None)
        if not isinstance(declared, tuple):
            raise TypeError(f"{module_name} must define EXPERIMENTS, a tuple of Experiment, got "
                            f"{type(declared).__name__}")
        for exp in declared:
            if not isinstance(exp, Experiment):
                raise TypeError(f"{module_name}.EXPERIMENTS holds {exp!r}, not an Experiment")
            if exp.name in found:
                raise ValueError(f"experiment name {exp.name!r} is declared twice (again in "
                                 f"{module_name})")
            found[exp.name] = exp
    return found


def get_experiment(name: str) -> Experiment:
    """The declared experiment called ``name`` (a ``ValueError`` lists the known names)."""
    experiments = all_experiments()
    if name not in experiments:
        raise ValueError(f"no experiment called {name!r}; declared: {sorted(experiments)}")
    return experiments[name]
