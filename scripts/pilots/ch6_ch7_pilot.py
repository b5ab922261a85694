"""The pilots behind the spreads chapters 6 and 7 assumed when sizing their experiments.

    python scripts/pilots/ch6_ch7_pilot.py            # writes scripts/pilots/ch6_ch7_pilot.json

Every cell of ``ch6_lookup`` and ``ch7_tasks`` with seeds 1000-1007, outside the designs' seeds
(a pilot only estimates the spread; its runs never enter a verdict), with the experiments' own run
functions and settings, one torch thread. It prints, for every comparison, the SD of the per-seed
differences (module - baseline), which ``attn_lessons/experiments/ch6.py`` and ``ch7.py`` quote
as ``sd_assumed`` (the largest of a family) and ``PILOT_SD_OF_DIFFERENCES``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

from attn_lessons.experiments import get_experiment
from attn_lessons.experiments.runner import resolve_runner

SEEDS = tuple(range(1000, 1008))
OUT = Path(__file__).with_suffix(".json")


def pilot(name: str) -> dict:
    exp = get_experiment(name)
    run_one = resolve_runner(exp.runner)
    runs = []
    for task, arm in exp.cells:
        for seed in SEEDS:
            start = time.perf_counter()
            metrics = run_one(arm, task, seed, exp.settings)
            runs.append({"task": task, "arm": arm, "seed": seed, "metrics": metrics,
                         "seconds": round(time.perf_counter() - start, 3)})
            print(name, task, arm, seed, metrics[exp.primary_metric], flush=True)
    return {"settings": exp.settings, "seeds": list(SEEDS), "runs": runs}


def sd_of_differences(record: dict, metric: str, task: str, arm: str, baseline: str) -> float:
    value = {(r["task"], r["arm"], r["seed"]): r["metrics"][metric] for r in record["runs"]}
    return statistics.stdev(value[task, arm, s] - value[task, baseline, s] for s in record["seeds"])


def main() -> int:
    torch.set_num_threads(1)
    record = {name: pilot(name) for name in ("ch6_lookup", "ch7_tasks")}
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    for name, pilot_record in record.items():
        exp = get_experiment(name)
        for c in exp.comparisons:
            sd = sd_of_differences(pilot_record, exp.primary_metric, c.task, c.arm, c.baseline)
            print(f"{name} {c.task}/{c.arm} - {c.baseline}: SD of differences {sd:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
