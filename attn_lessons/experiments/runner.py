"""Run an experiment: every (task, arm, seed) on one CPU thread, N at a time, into one JSON file.

:func:`run_experiment` runs each run of an :class:`~.design.Experiment` by calling its runner,
``run_one(arm, task, seed, settings) -> {metric: value}``, with ``torch.set_num_threads(1)``, so
a record is reproducible exactly on the same CPU and torch version. With ``jobs > 1`` the runs go
to that many worker processes (``multiprocessing`` 'spawn' by default: a fresh interpreter, safe
whatever the parent did with threads or a GPU); the records are sorted in the design's order (cell
by cell, seed by seed) and do not depend on ``jobs``. The file (the design, one record per run,
and the provenance: command, versions, commit, machine, date, wall time) is written atomically:
a temporary file in the same folder, flushed to disk, then renamed over the old one, so an
interrupted run never leaves half a file.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import importlib
import json
import math
import multiprocessing
import numbers
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .design import Experiment

__all__ = [
    "SCHEMA_VERSION",
    "default_path",
    "provenance",
    "resolve_runner",
    "run_experiment",
    "run_one_record",
    "write_json_atomic",
]

#: The result file format's version (``"schema"`` in every file).
SCHEMA_VERSION = 1


def results_folder() -> Path:
    """The package folder ``attn_lessons/results`` where the shipped result files live."""
    from .. import results as package

    return Path(package.__file__).resolve().parent


def default_path(name: str) -> Path:
    """Where ``run`` writes experiment ``name`` by default: ``attn_lessons/results/<name>.json``."""
    return results_folder() / f"{name}.json"


def resolve_runner(runner: str) -> Callable[..., Mapping[str, float]]:
    """Import ``'package.module:function'`` and return the function."""
    if not isinstance(runner, str) or runner.count(":") != 1:
        raise ValueError(f"runner must be 'package.module:function', got {runner!r}")
    module_name, function_name = runner.split(":")
    module = importlib.import_module(module_name)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValueError(f"runner {runner!r}: module {module_name!r} has no function "
                         f"{function_name!r}")
    return function


def run_one_record(runner: str, task: str, arm: str, seed: int, settings: Mapping[str, Any],
                   metrics: tuple[str, ...]) -> dict[str, Any]:
    """Run one (task, arm, seed) on one torch thread; return its record.

    The record is ``{"task", "arm", "seed", "metrics": {name: float}, "seconds"}``. The runner
    must return exactly the declared ``metrics``, each a finite number. The caller's torch thread
    count is restored afterwards.
    """
    import torch

    function = resolve_runner(runner)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        values = function(arm, task, seed, json.loads(json.dumps(settings)))
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    where = f"{runner}({arm!r}, {task!r}, seed={seed})"
    if not isinstance(values, Mapping):
        raise TypeError(f"{where} must return a dict of metrics, got {type(values).__name__}")
    if set(values) != set(metrics):
        raise ValueError(f"{where} returned metrics {sorted(values)}, but the experiment "
                         f"declares {sorted(metrics)}")
    out = {}
    for name in metrics:
        value = values[name]
        if hasattr(value, "item"):  # a 0-d tensor or numpy scalar
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{where}: metric {name!r} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{where}: metric {name!r} must be finite, got {value!r}")
        out[name] = float(value)
    return {"task": task, "arm": arm, "seed": int(seed), "metrics": out,
            "seconds": round(seconds, 3)}


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _git(*args: str, cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(root: Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout holding the library, or (None, None) outside one.

    Dirty means a tracked file differs from the commit or an untracked file is present, leaving
    out the result files themselves (``attn_lessons/results``), which a run writes.
    """
    if root is None:
        root = Path(__file__).resolve().parents[2]
    top = _git("rev-parse", "--show-toplevel", cwd=root)
    commit = _git("rev-parse", "HEAD", cwd=root)
    if top is None or commit is None:
        return None, None
    # an installed copy inside some other repository (a venv in a checkout) is not that commit
    package = os.path.relpath(Path(__file__).resolve().parents[1] / "__init__.py", top.strip())
    if _git("ls-files", "--error-unmatch", package, cwd=Path(top.strip())) is None:
        return None, None
    results = os.path.relpath(results_folder(), top.strip())
    status = _git("status", "--porcelain", "--", ".", f":(exclude){results}", cwd=Path(top.strip()))
    return commit.strip(), (None if status is None else bool(status.strip()))


def cpu_model() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict[str, Any]:
    """The machine a run used: platform, processor, CPU model, CPU count, load average."""
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "load_average_at_start": (list(os.getloadavg()) if hasattr(os, "getloadavg")
                                  else None),
    }


def provenance(*, command: str, jobs: int, device: str = "cpu", threads: int = 1,
               date: str | None = None, wall_seconds: float = 0.0) -> dict[str, Any]:
    """The provenance block of a result file (every key the schema requires)."""
    import torch

    import attn_lessons

    commit, dirty = git_state()
    return {
        "command": command,
        "library_version": attn_lessons.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "commit": commit,
        "dirty": dirty,
        "machine": machine(),
        "device": device,
        "threads": threads,
        "jobs": jobs,
        "date": date or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 1),
    }


def _format(value: Any, indent: int) -> str:
    """JSON with short lists and objects on one line, longer ones one item per line."""
    flat = json.dumps(value, allow_nan=False)
    if not isinstance(value, (dict, list)) or len(flat) + indent <= 96:
        return flat
    pad = " " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {_format(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if all(not isinstance(v, (dict, list)) for v in value):  # numbers, strings: packed lines
        chunks: list[list[str]] = [[]]
        for v in value:
            item = json.dumps(v, allow_nan=False)
            if chunks[-1] and len(pad) + len(", ".join([*chunks[-1], item])) + 1 > 96:
                chunks.append([])
            chunks[-1].append(item)
        lines = [pad + ", ".join(chunk) for chunk in chunks]
        return "[\n" + ",\n".join(lines) + "\n" + " " * indent + "]"
    items = [pad + _format(v, indent + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def dumps(record: Mapping[str, Any]) -> str:
    """A result file's text: indented, short lists on one line, one run per line (diffs show
    which runs changed)."""
    parts = []
    for key, value in record.items():
        if key == "runs":
            runs = ",\n".join("  " + json.dumps(run, allow_nan=False) for run in value)
            parts.append(f' "runs": [\n{runs}\n ]' if runs else ' "runs": []')
        else:
            parts.append(f" {json.dumps(key)}: {_format(value, 1)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_json_atomic(path: str | os.PathLike, record: Mapping[str, Any]) -> Path:
    """Write ``record`` to ``path`` atomically: temporary file, fsync, ``os.replace``.

    If anything fails (the serialisation, the disk), the old file is left as it was and the
    temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(record)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable (not possible on every platform)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError:
        pass
    return path


def run_experiment(
    experiment: Experiment | str,
    *,
    jobs: int = 1,
    out: str | os.PathLike | None = None,
    progress: bool = True,
    command: str | None = None,
    start_method: str = "spawn",
):
    """Run every (task, arm, seed) of ``experiment`` and write its result file; return it loaded.

    ``experiment`` is an :class:`Experiment` or the name of a declared one. ``jobs`` runs that
    many at once in worker processes (``start_method`` 'spawn', 'forkserver' or 'fork'); 1 runs
    them here, one after another. ``out`` defaults to ``attn_lessons/results/<name>.json``.
    ``command`` is recorded in the provenance (the CLI passes its command line). Returns the
    :class:`~.results.Results` read back from the file (validated).
    """
    from ..progress import progress_bar
    from . import get_experiment
    from .results import load_results

    exp = get_experiment(experiment) if isinstance(experiment, str) else experiment
    if not isinstance(exp, Experiment):
        raise TypeError(f"experiment must be an Experiment or its name, got {experiment!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if start_method not in multiprocessing.get_all_start_methods():
        raise ValueError(f"start_method must be one of {multiprocessing.get_all_start_methods()}, "
                         f"got {start_method!r}")
    path = Path(out) if out is not None else default_path(exp.name)
    if command is None:
        command = f"attn_lessons.experiments.run_experiment({exp.name!r}, jobs={jobs})"
    resolve_runner(exp.runner)  # fail now, not in a worker
    order = [(task, arm, seed) for task, arm in exp.cells for seed in exp.seeds]
    prov = provenance(command=command, jobs=jobs, device=str(exp.settings.get("device", "cpu")),
                      threads=1)  # the commit and machine as the run starts
    start = time.perf_counter()
    records: dict[tuple[str, str, int], dict[str, Any]] = {}
    bar = progress_bar(total=len(order), desc=exp.name, unit="run",
                       **({} if progress else {"disable": True}))
    try:
        if jobs == 1:
            for task, arm, seed in order:
                records[task, arm, seed] = run_one_record(exp.runner, task, arm, seed,
                                                          exp.settings, exp.metrics)
                bar.update(1)
        else:
            context = multiprocessing.get_context(start_method)
            with concurrent.futures.ProcessPoolExecutor(
                    max_workers=jobs, mp_context=context, initializer=_worker_init) as pool:
                futures = {pool.submit(run_one_record, exp.runner, task, arm, seed,
                                       exp.settings, exp.metrics): (task, arm, seed)
                           for task, arm, seed in order}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        records[futures[future]] = future.result()
                        bar.update(1)
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    finally:
        bar.close()
    wall = time.perf_counter() - start
    record = {
        "schema": SCHEMA_VERSION,
        "design": exp.to_dict(),
        "runs": [records[key] for key in order],
        "provenance": {**prov, "wall_seconds": round(wall, 1)},
    }
    write_json_atomic(path, record)
    return load_results(exp.name, path=path)


def main_command(argv: list[str]) -> str:
    """The command line as a reader would type it: ``python -m attn_lessons.experiments ...``."""
    import shlex

    return shlex.join(["python", "-m", "attn_lessons.experiments", *argv])
