"""The field guide's experiment: what each of its eight modules does on the book's tasks.

Each module of :data:`attn_lessons.factory.FIELD_GUIDE_KINDS` is trained in the small CNN of
chapter 7 (:class:`attn_lessons.small_cnn.SmallCNN`, widths 8, 16, 32) on the generated tasks
that test what it claims to see, with chapter 7's settings and seeds exactly
(:data:`SETTINGS` is :data:`attn_lessons.experiments.ch7.SETTINGS` plus one entry of
``options`` per new module and one entry of ``tasks`` per task of the guide's own,
:data:`GUIDE_TASKS`, which no chapter 7 arm or task reads), so that a seed gives every arm the
same data, initial random state and batch order: the arms are paired by seed with chapter 7's.
The guide's own task is ``scale`` (:func:`attn_lessons.data.scale_task`: one shape at one of
three sizes), for Selective Kernel's claim, which none of chapter 7's tasks can test.

The baseline ``"none"`` and the closest module the book already has (the partners, in
:data:`PLAN`) are cells of this design too. Where chapter 7 trained them (every task but
``scale``) they are not trained again: :func:`run_guide` copies their records from
``ch7_tasks.json`` (:func:`copied_cells`; the same settings and seeds give the same numbers on
the same CPU and torch, which ``check_reruns`` of this file re-checks) and trains the other cells.
Given an earlier result file (``reuse``), it also copies the records whose cell, seed and run
settings are unchanged, after re-running a sample of them bit for bit.
``python -m attn_lessons.experiments run guide_modules`` (and ``run --all``, so ``make results``)
goes through :func:`run_guide`; only the larger GPU configuration (``--config gpu``) and
:func:`~attn_lessons.experiments.runner.run_experiment` called directly train every cell,
partners included, and write the same records.

``run_one(arm, task, seed, settings)`` is chapter 7's run for any kind the factory knows: it
returns the final test ``accuracy`` and ``loss`` and the last epoch's ``train_accuracy``.

Options at the small CNN's widths (8, 16, 32 channels; the papers' defaults assume 64 or more):
the reductions are 4, as chapter 7 gives SE and CBAM; SK's grouped convolutions have 4 groups and
its hidden width at least 4; Shuffle Attention and EMA cut the channels into 2 groups; ELA's
GroupNorm has 8 groups (the paper's 16 do not divide 8 channels). SimAM and Triplet Attention
take their defaults.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

from torch import nn

from attn_lessons.experiments import ch7
from attn_lessons.experiments.design import Comparison, Experiment
from attn_lessons.experiments.results import load_results
from attn_lessons.experiments.runner import (
    SCHEMA_VERSION,
    default_path,
    provenance,
    run_one_record,
    write_json_atomic,
)
from attn_lessons.factory import ATTENTION_KINDS, FIELD_GUIDE_KINDS

#: Every arm this module can train: chapter 7's kinds (the partners) and the guide's.
ARMS = ATTENTION_KINDS + FIELD_GUIDE_KINDS

#: Options of the new modules at widths 8, 16 and 32 (see the module docstring).
GUIDE_OPTIONS: dict[str, dict[str, Any]] = {
    "gc": {"reduction": 4},
    "sk": {"groups": 4, "reduction": 4, "min_width": 4},
    "bam": {"reduction": 4},
    "shuffle": {"groups": 2},
    "ema": {"groups": 2},
    "ela": {"norm_groups": 8},
}

#: The guide's own tasks, with chapter 7's training budget: ``scale``, for SK's claim.
GUIDE_TASKS: dict[str, dict[str, Any]] = {
    "scale": {"train_images": 1024, "epochs": 6, "attention_blocks": [0, 1, 2]},
}

#: Chapter 7's settings, plus the new modules' options and the guide's tasks (chapter 7's arms and
#: tasks read none of them).
SETTINGS: dict[str, Any] = {
    **json.loads(json.dumps(ch7.SETTINGS)),
    "options": {**json.loads(json.dumps(ch7.SETTINGS["options"])), **GUIDE_OPTIONS},
    "tasks": {**json.loads(json.dumps(ch7.SETTINGS["tasks"])), **GUIDE_TASKS},
}

#: The result file the partners' records are copied from.
PARTNER_SOURCE = "ch7_tasks"


def build_model(arm: str, task: str, settings: dict[str, Any]) -> nn.Module:
    """The small CNN with attention ``arm`` in the task's blocks, from the current random state."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; expected one of {list(ARMS)}")
    return ch7.small_cnn(arm, task, settings)


def run_one(arm: str, task: str, seed: int, settings: dict[str, Any]) -> dict[str, float]:
    """Chapter 7's run (:func:`attn_lessons.experiments.ch7.run_one`) for any factory kind."""
    return ch7.run_one(arm, task, seed, settings, build=build_model)


# --- the design -----------------------------------------------------------------------------------

#: For each module: the task that tests what it claims to see, the module of chapters 1-7 closest
#: to it there (its partner), for two of them a second task (``also``: the task, the partner there
#: and the comparison's role), and for four of them a negative control task where their mechanism
#: has nothing to offer, each with the reason. The budget (about 40 minutes at two runs at a time on
#: a quiet two-core CPU) allows one claim task per module, Triplet's spatial branch on clutter,
#: SK's first measurement on channel, kept as a question, and four cheap controls.
PLAN: dict[str, dict[str, Any]] = {
    "simam": {
        "claim": "clutter", "partner": "cbam", "control": "channel",
        "why": "3-D weights for the activations that stand out from their channel: the spatial "
               "selection the clutter task rewards. CBAM is the book's module with channel and "
               "spatial weights, the foil of SimAM's paper. A parameter-free gate cannot learn "
               "which input channel to keep: no effect predicted on channel.",
    },
    "gc": {
        "claim": "clutter", "partner": "se", "control": "axis",
        "why": "SE with a learned attention pooling instead of the mean: on clutter the pooling "
               "can pick the target where SE's mean mixes it with the distractors (SE: no "
               "effect there). Its output is one vector added at every position, so it cannot "
               "carry a row index: no effect predicted on axis.",
    },
    "sk": {
        "claim": "scale", "partner": "se",
        "also": {"task": "channel", "partner": "se", "role": "question"},
        "why": "Branch attention that picks, per channel, between a 3 x 3 and a dilated 3 x 3 "
               "receptive field: the scale task, whose shapes come at three sizes, so no single "
               "receptive field fits every image. Its selection is SE's squeeze and excitation "
               "with a softmax over branches: SE is the partner. Its first measurement, on "
               "channel (before the scale task existed), stays as a question: what do two "
               "convolution branches add where SE did not help?",
    },
    "bam": {
        "claim": "clutter", "partner": "cbam", "control": "channel",
        "why": "CBAM's two gates side by side, with a dilated spatial branch: the clutter task "
               "is CBAM's. Its channel branch is SE's squeeze and excitation (SE: no effect on "
               "channel), and its spatial branch weights positions where, on channel, every "
               "position carries the same evidence: no effect predicted on channel.",
    },
    "triplet": {
        "claim": "axis", "partner": "coordatt",
        "also": {"task": "clutter", "partner": "cbam", "role": "prediction"},
        "why": "Its C-W and C-H branches weight each channel per column and per row, as "
               "Coordinate Attention does: the axis task. Its H-W branch is CBAM's spatial gate "
               "(max and mean over the channels, a 7 x 7 convolution, BatchNorm, a sigmoid): "
               "clutter, against CBAM.",
    },
    "shuffle": {
        "claim": "clutter", "partner": "cbam", "control": "channel",
        "why": "A channel gate and a spatial gate on two halves of each group, CBAM's two "
               "gates without a transform: clutter. Its channel half is a per-channel affine "
               "map of the mean, SE's squeeze without the excitation: no effect predicted on "
               "channel.",
    },
    "ema": {
        "claim": "axis", "partner": "coordatt",
        "why": "Coordinate Attention's pooling along each axis in groups, plus a 3 x 3 branch "
               "and cross-spatial weights: axis, against CoordAtt.",
    },
    "ela": {
        "claim": "axis", "partner": "coordatt",
        "why": "Coordinate Attention's two strips, each through a depthwise 1-D convolution "
               "and GroupNorm: axis, against CoordAtt.",
    },
}

#: The tasks the design uses: three of chapter 7's and the guide's own ``scale``. Chapter 7's
#: ``relation`` is left out: a run there costs 3 to 5 times one on the other tasks, and no new
#: module claims its long-range comparison of two glyphs.
TASKS = ("channel", "clutter", "axis", "scale")


def _cells_and_comparisons() -> tuple[tuple[tuple[str, str], ...], tuple[Comparison, ...],
                                      tuple[tuple[str, str], ...]]:
    cells: list[tuple[str, str]] = []
    partners: list[tuple[str, str]] = []
    comparisons: list[Comparison] = []

    def partner(cell: tuple[str, str]) -> None:
        if cell not in partners:
            partners.append(cell)

    for module, plan in PLAN.items():
        measured = [(plan["claim"], plan["partner"], plan.get("role", "prediction"))]
        if "also" in plan:
            also = plan["also"]
            measured.append((also["task"], also["partner"], also["role"]))
        for task, closest, role in measured:
            cells.append((task, module))
            partner((task, "none"))
            partner((task, closest))
            comparisons.append(Comparison(task, module, "none", role))
            comparisons.append(Comparison(task, module, closest, "question"))
        if "control" in plan:
            task = plan["control"]
            cells.append((task, module))
            partner((task, "none"))
            comparisons.append(Comparison(task, module, "none", "control"))
    order = {task: i for i, task in enumerate(TASKS)}
    partners.sort(key=lambda cell: (order[cell[0]], ATTENTION_KINDS.index(cell[1])))
    cells.sort(key=lambda cell: (order[cell[0]], ARMS.index(cell[1])))
    return tuple(partners + cells), tuple(comparisons), tuple(partners)


CELLS, COMPARISONS, PARTNER_CELLS = _cells_and_comparisons()

#: The SD of the per-seed differences (module - none) of chapter 7's comparisons on the tasks used,
#: from ch7_tasks.json (accuracy units); tests/test_experiments_guide.py recomputes them.
CH7_SD_OF_DIFFERENCES = {
    ("channel", "se"): 0.0385, ("channel", "eca"): 0.0353,
    ("clutter", "cbam"): 0.0753, ("clutter", "se"): 0.0626, ("clutter", "eca"): 0.0500,
    ("axis", "coordatt"): 0.1000, ("axis", "se"): 0.1320, ("axis", "eca"): 0.1064,
}

#: The same for the guide's own task, from its pilot (seeds 1000-1007, outside the design):
#: ``scripts/pilots/guide_scale_pilot.py`` made the runs (kept in ``guide_scale_pilot.json``),
#: and tests/test_experiments_guide.py recomputes these numbers from them.
PILOT_SD_OF_DIFFERENCES = {("scale", "se"): 0.0179, ("scale", "sk"): 0.0331}

EXPERIMENTS = (
    Experiment(
        name="guide_modules",
        chapter="guide",
        question=(
            "On the generated task that tests what each field-guide module claims to see, does "
            "it raise the small CNN's test accuracy over the plain network and how does it "
            "compare with the closest module of chapters 1-7, and does it leave a task it has "
            "nothing to offer unchanged?"),
        runner="attn_lessons.experiments.guide:run_one",
        cells=CELLS,
        settings=SETTINGS,
        metrics=("accuracy", "loss", "train_accuracy"),
        primary_metric="accuracy",
        seeds=tuple(range(40)),
        paired=True,
        comparisons=COMPARISONS,
        effect_of_interest=0.05,
        effect_source=(
            "Chapter 7's threshold (ch7_tasks): 5 points of test accuracy. Each task is built so "
            "that one inductive bias matters and the plain network sits 23 to 41 points below "
            "100 % on it; a module that moves accuracy by less than 5 points on the task that "
            "tests its claim has not shown that its bias matters there."),
        sd_assumed=0.132,
        sd_source=(
            "ch7_tasks.json, the same network, settings and seeds, and for the guide's own scale "
            "task its pilot (seeds 1000-1007, scripts/pilots/guide_scale_pilot.json): the largest "
            "SD of the per-seed differences among chapter 7's comparisons on the three of its "
            "tasks used and the pilot's, SE - none on axis (13.2 points; CoordAtt - none on axis "
            "10.0, CBAM - none on clutter 7.5, SE - none on channel 3.9, SK - none on scale 3.3, "
            "SE - none on scale 1.8; CH7_SD_OF_DIFFERENCES and PILOT_SD_OF_DIFFERENCES in this "
            "module)."),
        note=(
            "Budget cap. 80 % power at 5 points with an SD of 13.2 points over this family needs "
            "112 seeds per arm, and the partners' records in ch7_tasks.json have 40. The design "
            "asks for those 40 (16 trained cells: the 14 of the guide's modules and the plain "
            "network and SE on scale, which chapter 7 lacks; a pilot put the first 11 at 15 to "
            "30 minutes at two runs at a time on a quiet two-core CPU, the 5 added later at "
            "about 10 more; the provenance gives the wall time of the runs this file trained and "
            "names the earlier file whose unchanged records it reused). "
            "The comparisons on scale (SD 1.8 and 3.3 points in the pilot: 6 and 12 seeds would "
            "do), "
            "channel (about 4 points) and clutter (about 6 to 8) can detect smaller effects than "
            "those on axis; each comparison's minimum detectable effect is reported, and one "
            "whose interval spans 0 has not shown that the module is within 5 points of its "
            "baseline."),
    ),
)


# --- the run: train the new cells, copy the partners ----------------------------------------------


def _chapter7_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without the guide's own options and tasks: what chapter 7's file must have."""
    return {**settings,
            "options": {k: v for k, v in settings["options"].items() if k not in GUIDE_OPTIONS},
            "tasks": {k: v for k, v in settings["tasks"].items() if k not in GUIDE_TASKS}}


def copied_cells(exp: Experiment | None = None, source: str = PARTNER_SOURCE
                 ) -> tuple[tuple[str, str], ...]:
    """The partner cells of ``exp`` that ``source``'s result file has (so they are copied).

    The others (the partners on the guide's own tasks, ``scale``) are trained by :func:`run_guide`.
    """
    exp = EXPERIMENTS[0] if exp is None else exp
    theirs = set(load_results(source).experiment.cells)
    return tuple(cell for cell in exp.cells if cell in PARTNER_CELLS and cell in theirs)


def partner_records(exp: Experiment | None = None, source: str = PARTNER_SOURCE
                    ) -> list[dict[str, Any]]:
    """The records of the partner cells that ``source``'s result file has, copied from it.

    Refused (``ValueError``) unless that file ran with this design's settings (the guide's own
    options and tasks aside) and every seed of this design. Partner cells it lacks (those on the
    guide's own tasks) are not returned: :func:`run_guide` trains them.
    """
    exp = EXPERIMENTS[0] if exp is None else exp
    ch7_results = load_results(source)
    theirs = ch7_results.design["settings"]
    ours = _chapter7_settings(exp.settings)
    if theirs != ours:
        raise ValueError(f"{source}.json ran with other settings than {exp.name!r}'s: "
                         f"{theirs!r} != {ours!r}")
    missing = sorted(set(exp.seeds) - set(ch7_results.experiment.seeds))
    if missing:
        raise ValueError(f"{source}.json lacks the seeds {missing} of {exp.name!r}")
    return [dict(ch7_results.run(task, arm, seed)) for task, arm in copied_cells(exp, source)
            for seed in exp.seeds]


def _cell_settings(settings: dict[str, Any], task: str, arm: str) -> dict[str, Any]:
    """The part of ``settings`` that one run of ``arm`` on ``task`` reads."""
    rest = {k: v for k, v in settings.items() if k not in ("tasks", "options")}
    return {**rest, "task": settings["tasks"].get(task), "options": settings["options"].get(arm)}


def reusable_records(exp: Experiment, old: str | Path) -> dict[tuple[str, str, int], dict]:
    """The records of an earlier ``guide_modules`` file that ``exp`` would train identically.

    A record is reusable when its cell is a cell of ``exp``, its seed one of ``exp``'s seeds, and
    the earlier design had the same runner and metrics and the same settings for that run (the
    shared settings, the task's entry and the arm's options: :func:`_cell_settings`). The earlier
    file must be a clean run (``dirty`` false). Keyed by ``(task, arm, seed)``.
    """
    before = load_results(exp.name, path=Path(old))
    if before.provenance.get("dirty", True):
        raise ValueError(f"{old}: a run on a dirty tree cannot be reused")
    if before.design["runner"] != exp.runner or tuple(before.design["metrics"]) != exp.metrics:
        raise ValueError(f"{old}: another runner or other metrics than {exp.name!r}'s")
    theirs = before.design["settings"]
    reused = {}
    for task, arm in exp.cells:
        if (task, arm) not in before.experiment.cells or task not in theirs["tasks"]:
            continue
        if _cell_settings(theirs, task, arm) != _cell_settings(exp.settings, task, arm):
            continue
        for seed in set(exp.seeds) & set(before.experiment.seeds):
            reused[task, arm, seed] = dict(before.run(task, arm, seed))
    return reused


def verify_reused(exp: Experiment, reused: dict[tuple[str, str, int], dict], picks: int
                  ) -> list[tuple[str, str, int]]:
    """Train ``picks`` of the ``reused`` records again and require the same metrics, bit for bit.

    The picks are spread over the reused cells (one per cell, cycling, at seeds spread over the
    design), the same on every call. A ``ValueError`` names the first record that differs: the
    earlier file then does not stand for this code on this machine, and nothing may be reused.
    """
    if isinstance(picks, bool) or not isinstance(picks, int) or picks < 0:
        raise ValueError(f"picks must be an integer >= 0, got {picks!r}")
    cells = sorted({(task, arm) for task, arm, _ in reused}, key=exp.cells.index)
    chosen: list[tuple[str, str, int]] = []
    for i in range(min(picks, len(reused))):
        task, arm = cells[i % len(cells)]
        seeds = sorted(seed for t, a, seed in reused if (t, a) == (task, arm))
        chosen.append((task, arm, seeds[(7 * i + 3) % len(seeds)]))
    for task, arm, seed in chosen:
        fresh = run_one_record(exp.runner, task, arm, seed, exp.settings, exp.metrics)
        if fresh["metrics"] != reused[task, arm, seed]["metrics"]:
            raise ValueError(f"the reused record {task}/{arm}/seed {seed} does not re-run: "
                             f"{reused[task, arm, seed]['metrics']!r} before, "
                             f"{fresh['metrics']!r} now; train every cell (no reuse)")
    return chosen


def _read_partial(path: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    done = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                done[record["task"], record["arm"], record["seed"]] = record
    return done


def run_guide(*, jobs: int = 2, out: str | Path | None = None, partial: str | Path | None = None,
              command: str | None = None, experiment: Experiment | None = None,
              started: str | None = None, progress: bool = False,
              reuse: str | Path | None = None, verify: int = 4) -> Path:
    """Train the new cells of ``guide_modules``, copy the partners, write the result file.

    The partner cells that ``ch7_tasks.json`` has are copied from it (:func:`partner_records`);
    every other cell (the guide's modules, and the partners on the guide's own tasks) is trained.
    The runs go seed by seed (every cell to train of seed 0, then of seed 1, ...), ``jobs`` at a
    time, each appended to ``partial`` (a JSON-lines file) as it ends; a second call with the same
    ``partial`` skips the runs already there. The file's records are those the ordinary runner
    writes (the same records whatever the order or ``jobs``); its provenance adds ``partners``,
    naming the file, commit and date the copied records come from. ``experiment`` replaces the
    declared design (a test runs a smaller one). ``started`` (an ISO date) is the start of the
    first call when this one resumes from ``partial``: the provenance's date and wall time then
    count from it. ``progress`` shows a progress bar instead of a line per run on stderr.

    ``reuse`` names an earlier ``guide_modules`` file: its records that this design would train
    identically (:func:`reusable_records`) are copied instead of trained, after ``verify`` of
    them, spread over their cells, are trained again and found equal bit for bit
    (:func:`verify_reused`; a ``ValueError`` otherwise, before any other run). The provenance's
    ``reused`` names the file's commit, date, wall time and jobs, how many records were copied and
    which were re-checked.
    """
    from attn_lessons.progress import progress_bar

    exp = EXPERIMENTS[0] if experiment is None else experiment
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    out = default_path(exp.name) if out is None else Path(out)
    partial = out.with_suffix(".partial.jsonl") if partial is None else Path(partial)
    copied = partner_records(exp)  # fail now, not after the runs
    copied_from = copied_cells(exp)
    source = load_results(PARTNER_SOURCE)
    reused: dict[tuple[str, str, int], dict[str, Any]] = {}
    reuse_block = None
    if reuse is not None:
        reused = {key: record for key, record in reusable_records(exp, reuse).items()
                  if key[:2] not in copied_from}
        checked = verify_reused(exp, reused, verify) if reused else []
        before = load_results(exp.name, path=Path(reuse))
        reuse_block = {"file": Path(reuse).name, "commit": before.provenance["commit"],
                       "date": before.provenance["date"],
                       "wall_seconds": before.provenance["wall_seconds"],
                       "jobs": before.provenance["jobs"], "records": len(reused),
                       "rerun_equal": [list(key) for key in checked]}
        if "reused" in before.provenance:  # that file reused an earlier one: keep the chain
            reuse_block["reused"] = before.provenance["reused"]
    to_train = [cell for cell in exp.cells if cell not in copied_from]
    order = [(task, arm, seed) for seed in exp.seeds for task, arm in to_train
             if (task, arm, seed) not in reused]
    done = _read_partial(partial)
    todo = [key for key in order if key not in done]
    prov = provenance(command=command or f"run_guide(jobs={jobs})", jobs=jobs, threads=1,
                      device=str(exp.settings.get("device", "cpu")))
    start = time.perf_counter()
    if started is not None:
        first = datetime.datetime.fromisoformat(started)
        if first.tzinfo is None:
            raise ValueError(f"started must name its time zone, got {started!r}")
        now = datetime.datetime.now(datetime.UTC)
        if first > now:
            raise ValueError(f"started {started!r} is in the future")
        start -= (now - first).total_seconds()
        prov["date"] = first.isoformat(timespec="seconds")
    partial.parent.mkdir(parents=True, exist_ok=True)
    bar = progress_bar(total=len(todo), desc=exp.name, unit="run",
                       **({} if progress else {"disable": True}))
    with bar, partial.open("a", encoding="utf-8") as log:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(run_one_record, exp.runner, task, arm, seed, exp.settings,
                                   exp.metrics): (task, arm, seed) for task, arm, seed in todo}
            for i, future in enumerate(concurrent.futures.as_completed(futures), 1):
                record = future.result()
                done[futures[future]] = record
                log.write(json.dumps(record) + "\n")
                log.flush()
                bar.update(1)
                if not progress:
                    print(f"{i}/{len(todo)} {futures[future]} {record['seconds']:.1f} s",
                          file=sys.stderr, flush=True)
    wall = time.perf_counter() - start
    by_key = {(r["task"], r["arm"], r["seed"]): r for r in copied} | reused | done
    record = {
        "schema": SCHEMA_VERSION,
        "design": exp.to_dict(),
        "runs": [by_key[task, arm, seed] for task, arm in exp.cells for seed in exp.seeds],
        "provenance": {
            **prov, "wall_seconds": round(wall, 1),
            "partners": {
                "cells": [list(cell) for cell in copied_from], "copied_from": PARTNER_SOURCE,
                "commit": source.provenance["commit"], "date": source.provenance["date"],
                "cpu_model": source.provenance["machine"].get("cpu_model"),
                "torch_version": source.provenance["torch_version"],
            },
            **({} if reuse_block is None else {"reused": reuse_block}),
        },
    }
    write_json_atomic(out, record)
    load_results(exp.name, path=out)  # validates
    return out


def recopy_partners(path: str | Path | None = None) -> Path:
    """Point ``guide_modules``' partner records at the current ``ch7_tasks.json``, training nothing.

    For when chapter 7's file was written again with the same results (a re-run on a clean tree,
    say): every metric of every partner record of the guide's file must equal its record's in
    ``ch7_tasks.json``, else a ``ValueError`` names the first record that differs (run
    :func:`run_guide` instead). The partner records are then copied again (their ``seconds`` are
    the new run's), the guide's own runs and the rest of the provenance stay as they are, and
    ``provenance["partners"]`` takes the commit, date, CPU and torch version of the chapter 7 file
    they now come from.
    """
    path = default_path(EXPERIMENTS[0].name) if path is None else Path(path)
    ours = load_results(EXPERIMENTS[0].name, path=path)
    copied = {(r["task"], r["arm"], r["seed"]): r for r in partner_records(ours.experiment)}
    for (task, arm, seed), fresh in copied.items():
        if ours.run(task, arm, seed)["metrics"] != fresh["metrics"]:
            raise ValueError(f"{path.name}: the partner record {task}/{arm}/seed {seed} differs "
                             f"from {PARTNER_SOURCE}.json's; train the guide again (run_guide)")
    source = load_results(PARTNER_SOURCE)
    record = json.loads(path.read_text(encoding="utf-8"))
    record["runs"] = [copied.get((r["task"], r["arm"], r["seed"]), r) for r in record["runs"]]
    record["provenance"]["partners"].update(
        commit=source.provenance["commit"], date=source.provenance["date"],
        cpu_model=source.provenance["machine"].get("cpu_model"),
        torch_version=source.provenance["torch_version"])
    write_json_atomic(path, record)
    load_results(EXPERIMENTS[0].name, path=path)  # validates
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m attn_lessons.experiments.guide [--jobs 2] [--out PATH] [--partial PATH]``
    (``--recopy-partners``: :func:`recopy_partners`)."""
    parser = argparse.ArgumentParser(prog="python -m attn_lessons.experiments.guide",
                                     description=run_guide.__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out")
    parser.add_argument("--partial")
    parser.add_argument("--started", help="ISO date of the first call, when resuming")
    parser.add_argument("--reuse", help="an earlier guide_modules.json whose records this design "
                                        "would train identically: copied, after --verify re-runs")
    parser.add_argument("--verify", type=int, default=4,
                        help="how many reused records to train again (default 4)")
    parser.add_argument("--recopy-partners", action="store_true",
                        help="train nothing: point the partner records at the current "
                             "ch7_tasks.json (refused unless they equal its records)")
    args = parser.parse_args(argv)
    if args.recopy_partners:
        print(f"wrote {recopy_partners(args.out)}")
        return 0
    command = " ".join(["python -m attn_lessons.experiments.guide", *(argv or sys.argv[1:])])
    path = run_guide(jobs=args.jobs, out=args.out, partial=args.partial, command=command,
                     started=args.started, reuse=args.reuse, verify=args.verify)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
