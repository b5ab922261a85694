"""Reading, checking and re-running an experiment's result file.

:func:`load_results` reads ``attn_lessons/results/<name>.json`` from the installed package (so a
notebook opened in Colab finds it) or a file given by ``path=``, and :func:`validate` checks it:
every design and provenance field is present, the design is a valid :class:`~.design.Experiment`
whose seed count is recomputed from its stated inputs, and every run has its task, arm, seed and
exactly the declared metrics. :func:`check_reruns` re-runs a few records with the record's
settings and compares: equality is asserted when the torch version, the thread count and the CPU
model match the file's provenance (then a record is reproducible exactly), otherwise both values
are printed with the reason nothing can be asserted.
"""

from __future__ import annotations

import datetime
import html
import importlib.resources
import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .design import Experiment, field_names, minimum_detectable_effect, seeds_required
from .runner import SCHEMA_VERSION, cpu_model, run_one_record

__all__ = [
    "COMPUTED_DESIGN_FIELDS",
    "MACHINE_FIELDS",
    "PROVENANCE_FIELDS",
    "RUN_FIELDS",
    "RerunMismatch",
    "RerunReport",
    "ResultFileError",
    "Results",
    "check_reruns",
    "load_results",
    "validate",
]

#: Keys of ``design`` computed from the others (and checked against a recomputation).
COMPUTED_DESIGN_FIELDS = ("seeds_required", "minimum_detectable_effect")
#: Keys every ``provenance`` must have.
PROVENANCE_FIELDS = ("command", "library_version", "torch_version", "python_version", "commit",
                     "dirty", "machine", "device", "threads", "jobs", "date", "wall_seconds")
#: Keys every ``provenance["machine"]`` must have.
MACHINE_FIELDS = ("platform", "processor", "cpu_model", "cpus")
#: Keys every run record must have.
RUN_FIELDS = ("task", "arm", "seed", "metrics", "seconds")


class ResultFileError(ValueError):
    """A result file that does not follow the schema; the message lists every problem."""


class RerunMismatch(AssertionError):
    """A re-run that gave a different value from its record, where equality was expected."""

    def __init__(self, task: str, arm: str, seed: int, metric: str, recorded: float,
                 rerun: float, *, more: Sequence[tuple] = ()) -> None:
        self.task, self.arm, self.seed, self.metric = task, arm, seed, metric
        self.recorded, self.rerun = recorded, rerun
        self.mismatches = [(task, arm, seed, metric, recorded, rerun), *more]
        lines = [f"task {t!r}, arm {a!r}, seed {s}, metric {m!r}: recorded {r!r}, re-run {v!r} "
                 f"(difference {v - r:+.3g})" for t, a, s, m, r, v in self.mismatches]
        super().__init__("re-run differs from the record although torch, threads and CPU match "
                         "the provenance:\n  " + "\n  ".join(lines))


# --- the schema ---------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return (not isinstance(value, bool) and isinstance(value, numbers.Real)
            and math.isfinite(value))


def validate(record: Mapping[str, Any], *, source: str = "result file") -> Experiment:
    """Check a result file's content against the schema; return its design as an Experiment.

    Raises :class:`ResultFileError` (a ``ValueError``) listing every problem: a missing design or
    provenance field (or machine field), a design that is not a valid Experiment (this recomputes
    ``seeds_required`` and refuses seeds that fall short without a ``note``), a stated
    ``seeds_required`` or ``minimum_detectable_effect`` that disagrees with the recomputation, a run
    lacking task, arm, seed, metrics or seconds, a run outside the declared cells or seeds, a
    metric that is not declared or missing, a non-finite value, or a missing or duplicated run.
    """
    problems: list[str] = []
    if not isinstance(record, Mapping):
        raise ResultFileError(f"{source}: a result file is a JSON object, got "
                              f"{type(record).__name__}")
    for key in ("schema", "design", "runs", "provenance"):
        if key not in record:
            problems.append(f"lacks {key!r}")
    if problems:
        raise ResultFileError(f"{source}: " + "; ".join(problems))
    if record["schema"] != SCHEMA_VERSION:
        problems.append(f"schema is {record['schema']!r}, this library reads {SCHEMA_VERSION}")
    design, runs, prov = record["design"], record["runs"], record["provenance"]
    exp = None
    if not isinstance(design, Mapping):
        problems.append("design must be an object")
    else:
        missing = [k for k in (*field_names(), *COMPUTED_DESIGN_FIELDS) if k not in design]
        if missing:
            problems.append(f"design lacks the field(s) {missing}")
        else:
            try:
                exp = Experiment.from_dict(design)
            except (TypeError, ValueError) as error:
                problems.append(f"design is not a valid experiment: {error}")
        if exp is not None:
            if design["seeds_required"] != seeds_required(exp):
                problems.append(f"design states seeds_required {design['seeds_required']!r} but "
                                f"its inputs give {seeds_required(exp)}")
            mde = minimum_detectable_effect(exp)
            stated = design["minimum_detectable_effect"]
            if not _is_number(stated) or not math.isclose(stated, mde, rel_tol=1e-6):
                problems.append(f"design states minimum_detectable_effect {stated!r} but its "
                                f"inputs give {mde!r}")
    if not isinstance(prov, Mapping):
        problems.append("provenance must be an object")
    else:
        missing = [k for k in PROVENANCE_FIELDS if k not in prov]
        if missing:
            problems.append(f"provenance lacks the field(s) {missing}")
        machine = prov.get("machine")
        if "machine" in prov:
            if not isinstance(machine, Mapping):
                problems.append("provenance.machine must be an object")
            else:
                missing = [k for k in MACHINE_FIELDS if k not in machine]
                if missing:
                    problems.append(f"provenance.machine lacks the field(s) {missing}")
        if "date" in prov:
            try:
                datetime.datetime.fromisoformat(prov["date"])
            except (TypeError, ValueError):
                problems.append(f"provenance.date is not an ISO date: {prov['date']!r}")
        for key in ("threads", "jobs"):
            if key in prov and (isinstance(prov[key], bool) or not isinstance(prov[key], int)
                                or prov[key] < 1):
                problems.append(f"provenance.{key} must be a positive integer, got {prov[key]!r}")
        if "wall_seconds" in prov and not _is_number(prov["wall_seconds"]):
            problems.append(f"provenance.wall_seconds must be a number, got "
                            f"{prov['wall_seconds']!r}")
        if "dirty" in prov and prov["dirty"] not in (True, False, None):
            problems.append(f"provenance.dirty must be true, false or null, got {prov['dirty']!r}")
        for key in ("command", "library_version", "torch_version", "python_version", "device"):
            if key in prov and not (isinstance(prov[key], str) and prov[key]):
                problems.append(f"provenance.{key} must be a non-empty string, got {prov[key]!r}")
    if not isinstance(runs, list):
        problems.append("runs must be a list")
    elif exp is not None:
        problems += _run_problems(exp, runs)
    if problems:
        raise ResultFileError(f"{source}: " + "; ".join(problems))
    return exp


def _run_problems(exp: Experiment, runs: list) -> list[str]:
    problems: list[str] = []
    seen: set[tuple[str, str, int]] = set()
    for i, run in enumerate(runs):
        if not isinstance(run, Mapping):
            problems.append(f"run {i} is not an object")
            continue
        missing = [k for k in RUN_FIELDS if k not in run]
        if missing:
            problems.append(f"run {i} lacks {missing}")
            continue
        key = (run["task"], run["arm"], run["seed"])
        if (run["task"], run["arm"]) not in exp.cells:
            problems.append(f"run {i} is for ({run['task']!r}, {run['arm']!r}), not a declared "
                            f"cell")
        if run["seed"] not in exp.seeds or isinstance(run["seed"], bool):
            problems.append(f"run {i} has seed {run['seed']!r}, not one of the declared seeds")
        if key in seen:
            problems.append(f"run {i} repeats {key!r}")
        seen.add(key)
        metrics = run["metrics"]
        if not isinstance(metrics, Mapping):
            problems.append(f"run {i} metrics must be an object")
            continue
        undeclared = sorted(set(metrics) - set(exp.metrics))
        absent = [m for m in exp.metrics if m not in metrics]
        if undeclared:
            problems.append(f"run {i} {key!r} has undeclared metric(s) {undeclared}")
        if absent:
            problems.append(f"run {i} {key!r} lacks metric(s) {absent}")
        for name, value in metrics.items():
            if not _is_number(value):
                problems.append(f"run {i} {key!r} metric {name!r} is not a finite number: "
                                f"{value!r}")
        if not _is_number(run["seconds"]) or run["seconds"] < 0:
            problems.append(f"run {i} seconds must be a non-negative number, got "
                            f"{run['seconds']!r}")
    expected = {(task, arm, seed) for task, arm in exp.cells for seed in exp.seeds}
    lacking = sorted(expected - seen, key=repr)
    if lacking:
        shown = ", ".join(map(repr, lacking[:5])) + (" ..." if len(lacking) > 5 else "")
        problems.append(f"{len(lacking)} declared run(s) missing: {shown}")
    return problems


# --- reading ------------------------------------------------------------------------------------


class Results:
    """A result file, read and validated: ``design`` (a dict), ``runs``, ``provenance``.

    ``experiment`` is the design as an :class:`Experiment`; :meth:`values` gives one cell's
    per-seed values in the design's seed order.
    """

    def __init__(self, record: Mapping[str, Any], *, path: Path | None = None,
                 source: str | None = None) -> None:
        self.experiment = validate(record, source=source or str(path or "result file"))
        self.record = record
        self.design: dict[str, Any] = record["design"]
        self.runs: list[dict[str, Any]] = record["runs"]
        self.provenance: dict[str, Any] = record["provenance"]
        self.path = path
        self._index = {(r["task"], r["arm"], r["seed"]): r for r in self.runs}

    @property
    def name(self) -> str:
        return self.design["name"]

    def run(self, task: str, arm: str, seed: int) -> dict[str, Any]:
        """The record of one run."""
        try:
            return self._index[task, arm, seed]
        except KeyError:
            raise KeyError(f"{self.name}: no run ({task!r}, {arm!r}, seed {seed!r}); cells are "
                           f"{list(self.experiment.cells)}, seeds {list(self.experiment.seeds)}"
                           ) from None

    def values(self, task: str, arm: str, metric: str | None = None) -> list[float]:
        """Per-seed values of ``metric`` (default: the primary metric) in the design's seed order.

        With a paired design, position ``i`` of every cell is the same seed, so two cells'
        lists can be subtracted element by element.
        """
        metric = self.design["primary_metric"] if metric is None else metric
        if metric not in self.experiment.metrics:
            raise ValueError(f"{self.name}: metric {metric!r} is not one of "
                             f"{list(self.experiment.metrics)}")
        if (task, arm) not in self.experiment.cells:
            raise ValueError(f"{self.name}: ({task!r}, {arm!r}) is not a cell; cells are "
                             f"{list(self.experiment.cells)}")
        return [self._index[task, arm, seed]["metrics"][metric] for seed in self.experiment.seeds]

    def frame(self) -> list[dict[str, Any]]:
        """One flat dict per run (task, arm, seed, every metric, seconds), e.g. for pandas."""
        return [{"task": r["task"], "arm": r["arm"], "seed": r["seed"], **r["metrics"],
                 "seconds": r["seconds"]} for r in self.runs]

    def __repr__(self) -> str:
        exp = self.experiment
        return (f"Results({self.name!r}: {len(exp.cells)} cells x {len(exp.seeds)} seeds, "
                f"metrics {list(exp.metrics)}, run {self.provenance['date']} on "
                f"{self.provenance['machine'].get('cpu_model')!r})")


def load_results(name: str | None = None, *, path: str | os.PathLike | None = None) -> Results:
    """Read and validate experiment ``name``'s result file.

    Without ``path``: ``attn_lessons/results/<name>.json`` from the installed package (found with
    ``importlib.resources``, so it works wherever the library is installed, Colab included).
    With ``path``: that file (a copy, a fresh run); ``name``, when given, must match its design.
    """
    if name is None and path is None:
        raise TypeError("load_results needs an experiment name or path=")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be an experiment's name, got {name!r}")
    if path is not None:
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"no result file at {str(source)!r}")
        text = source.read_text(encoding="utf-8")
    else:
        resource = importlib.resources.files("attn_lessons.results") / f"{name}.json"
        if not resource.is_file():
            raise FileNotFoundError(
                f"no result file for experiment {name!r} in attn_lessons/results; make it with "
                f"`python -m attn_lessons.experiments run {name}`")
        text = resource.read_text(encoding="utf-8")
        source = Path(str(resource))
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultFileError(f"{source}: not JSON ({error})") from None
    results = Results(record, path=source, source=str(source))
    if name is not None and results.name != name:
        raise ResultFileError(f"{source} holds experiment {results.name!r}, not {name!r}")
    return results


# --- re-running records -------------------------------------------------------------------------

#: Set to 1, :func:`check_reruns` checks its picks against the file but trains nothing. Only the
#: student edition's test sets it (tests/browser/test_student_edition.py): it executes every
#: notebook a second time, without its solutions, after the book's own execution has re-run
#: the same picks with the same code on the same machine.
SKIP_RERUNS_VARIABLE = "ATTN_LESSONS_SKIP_RERUNS"


@dataclass(frozen=True)
class RerunRow:
    task: str
    arm: str
    seed: int
    metric: str
    recorded: float
    rerun: float
    seconds: float  # the re-run's

    @property
    def difference(self) -> float:
        return self.rerun - self.recorded


class RerunReport:
    """What :func:`check_reruns` did: the rows (one per metric of each re-run), whether equality
    was asserted, and if not why not. Displays as a table, as text and as HTML (no markdown
    form: myst-nb would render it too, and the Chinese edition would have to translate it)."""

    def __init__(self, name: str, rows: Sequence[RerunRow], *, asserted: bool, reason: str,
                 skipped: Sequence[tuple[str, str, int]] = (), not_run: str = "") -> None:
        self.name, self.rows, self.asserted, self.reason = name, tuple(rows), asserted, reason
        self.skipped = tuple(skipped)
        #: Why no pick was re-run at all (:data:`SKIP_RERUNS_VARIABLE`), or "".
        self.not_run = not_run

    @property
    def equal(self) -> bool:
        """Every re-run value equals its record exactly."""
        return all(r.rerun == r.recorded for r in self.rows)

    @property
    def picks(self) -> list[tuple[str, str, int]]:
        return list(dict.fromkeys((r.task, r.arm, r.seed) for r in self.rows))

    def _summary(self, code=str, escape=str) -> str:
        """The report's first line; ``code`` writes its names and free text (the HTML puts them
        in ``<code>``, which the Chinese edition shows as they are: its translation of the
        outputs, book/_ext/translated_outputs.py, leaves code alone), ``escape`` the rest."""
        name = code(self.name)
        if self.not_run:
            return (f"{name}{escape(f': {len(self.skipped)} pick(s) checked, none re-run ')}"
                    f"{code(f'({self.not_run})')}")
        runs = len(self.picks)
        if self.asserted:
            head = f"{name}{escape(f': {runs} run(s) re-run, every metric equal to its record')}"
        else:
            head = (f"{name}{escape(f': {runs} run(s) re-run, compared but not asserted ')}"
                    f"{code(f'({self.reason})')}")
        if self.skipped:
            head += escape(f"; {len(self.skipped)} pick(s) left out to stay within the time budget")
        return head

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        header = ["task", "arm", "seed", "metric", "recorded", "re-run", "difference", "seconds"]
        body = [[r.task, r.arm, str(r.seed), r.metric, f"{r.recorded:.6g}", f"{r.rerun:.6g}",
                 f"{r.difference:+.3g}", f"{r.seconds:.2f}"] for r in self.rows]
        return header, body

    def __repr__(self) -> str:
        header, body = self._cells()
        widths = [max([len(h)] + [len(row[i]) for row in body]) for i, h in enumerate(header)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                 for line in [header, *body]]
        return self._summary() + "\n" + "\n".join(lines)

    def _repr_html_(self) -> str:
        header, body = self._cells()
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in body)
        summary = self._summary(code=lambda text: f"<code>{html.escape(text)}</code>",
                                escape=html.escape)
        return (f"<p>{summary}</p><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{rows}</tbody></table>")


def _comparable(provenance: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether a re-run here must reproduce the records exactly, and if not, why not."""
    import torch

    reasons = []
    if provenance.get("torch_version") != torch.__version__:
        reasons.append(f"torch {torch.__version__} here, {provenance.get('torch_version')} in "
                       f"the record")
    if provenance.get("threads") != 1:
        reasons.append(f"the record used {provenance.get('threads')} threads, the re-run 1")
    if provenance.get("device", "cpu") != "cpu":
        reasons.append(f"the record ran on {provenance.get('device')!r}, the re-run on the CPU")
    here, there = cpu_model(), provenance.get("machine", {}).get("cpu_model")
    if here is None or there is None or here != there:
        reasons.append(f"CPU {here!r} here, {there!r} in the record")
    return (not reasons), "; ".join(reasons)


def check_reruns(
    name: str | Results | None = None,
    picks: Iterable[tuple[str, str, int]] | None = None,
    *,
    path: str | os.PathLike | None = None,
    budget: float = 15.0,
    per_cell: int = 1,
    quiet: bool = False,
) -> RerunReport:
    """Re-run some recorded runs with the record's settings on one thread; compare with the file.

    ``name`` is an experiment's name (its file is read with :func:`load_results`, ``path=`` for a
    copy) or a :class:`Results`. ``picks`` lists ``(task, arm, seed)`` to re-run; by default the
    first ``per_cell`` seeds of every cell, in the design's order, kept while their recorded
    ``seconds`` fit in ``budget`` seconds (at least one run is always kept; a pick that does not
    fit is left out and the next ones are tried). When the torch version, thread count and CPU
    model match the provenance, every metric must equal its record exactly, else
    :class:`RerunMismatch` is raised naming task, arm, seed, metric, recorded and re-run value;
    otherwise both values and the difference are printed (unless ``quiet``) with the reason
    nothing is asserted. Returns a :class:`RerunReport`. With the environment variable
    :data:`SKIP_RERUNS_VARIABLE` set (not to 0), the picks are looked up and nothing is re-run.
    """
    results = name if isinstance(name, Results) else load_results(name, path=path)
    exp = results.experiment
    if isinstance(per_cell, bool) or not isinstance(per_cell, int) or per_cell < 1:
        raise ValueError(f"per_cell must be a positive integer, got {per_cell!r}")
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0:
        raise ValueError(f"budget must be a positive number of seconds, got {budget!r}")
    skipped: list[tuple[str, str, int]] = []
    if picks is None:
        wanted = [(task, arm, seed) for task, arm in exp.cells for seed in exp.seeds[:per_cell]]
        chosen, spent = [], 0.0
        for key in wanted:
            cost = results.run(*key)["seconds"]
            if not chosen or spent + cost <= budget:
                chosen.append(key)
                spent += cost
            else:
                skipped.append(key)
    else:
        chosen = []
        for pick in picks:
            if not (isinstance(pick, (tuple, list)) and len(pick) == 3):
                raise TypeError(f"each pick must be (task, arm, seed), got {pick!r}")
            results.run(*pick)  # a KeyError naming the cells when it is not recorded
            chosen.append(tuple(pick))
    if os.environ.get(SKIP_RERUNS_VARIABLE, "") not in ("", "0"):
        return RerunReport(results.name, [], asserted=False, reason="", skipped=chosen,
                           not_run=f"{SKIP_RERUNS_VARIABLE} is set")
    asserted, reason = _comparable(results.provenance)
    rows, mismatches = [], []
    for task, arm, seed in chosen:
        recorded = results.run(task, arm, seed)
        fresh = run_one_record(exp.runner, task, arm, seed, results.design["settings"],
                               exp.metrics)
        for metric in exp.metrics:
            old, new = recorded["metrics"][metric], fresh["metrics"][metric]
            rows.append(RerunRow(task, arm, seed, metric, old, new, fresh["seconds"]))
            if new != old:
                mismatches.append((task, arm, seed, metric, old, new))
    report = RerunReport(results.name, rows, asserted=asserted, reason=reason, skipped=skipped)
    if asserted and mismatches:
        first, *more = mismatches
        raise RerunMismatch(*first, more=more)
    if not asserted and not quiet:
        print(f"Cannot assert that the re-runs equal their records: {reason}. Both values:")
        print(report)
    return report
