"""The pilots that sized chapters 4 and 5's experiments (issue 23), kept with their runs.

    python scripts/pilot_ch4_5.py ch4 12   # attn_lessons/results/pilots/ch4_pilot.json
    python scripts/pilot_ch4_5.py ch5 12   # attn_lessons/results/pilots/ch5_pilot.json
    python scripts/pilot_ch4_5.py ch4      # (no count) print the summary of the stored file

Every arm of the chapter's run function on seeds 1000, 1001, ... (disjoint from the designs'
seeds 0, 1, ..., so the spread used for sizing is not estimated from the data it sizes), with the
experiment's settings and one thread. The summary gives each arm's mean and SD and, for each
comparison of the declared family, the SD of the per-seed differences (the designs are paired).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from attn_lessons.experiments import ch4, ch5

FOLDER = Path(__file__).resolve().parents[1] / "attn_lessons" / "results" / "pilots"
MODULES = {"ch4": ch4, "ch5": ch5}


def run(name: str, n: int) -> None:
    torch.set_num_threads(1)
    module = MODULES[name]
    runs, start = [], time.process_time()
    for seed in range(1000, 1000 + n):
        for arm in module.ARMS:
            t = time.process_time()
            metrics = module.run_one(arm, module.TASK, seed, module.SETTINGS)
            runs.append({"task": module.TASK, "arm": arm, "seed": seed, "metrics": metrics,
                         "seconds": time.process_time() - t})
    record = {"settings": module.SETTINGS, "runs": runs,
              "cpu_seconds": time.process_time() - start, "torch": torch.__version__}
    FOLDER.mkdir(parents=True, exist_ok=True)
    (FOLDER / f"{name}_pilot.json").write_text(json.dumps(record, indent=1) + "\n")


def summary(name: str) -> None:
    record = json.loads((FOLDER / f"{name}_pilot.json").read_text())
    values: dict[str, dict[int, float]] = {}
    for r in record["runs"]:
        values.setdefault(r["arm"], {})[r["seed"]] = 100 * r["metrics"]["accuracy"]
    seeds = sorted(next(iter(values.values())))
    acc = {arm: np.array([v[s] for s in seeds]) for arm, v in values.items()}
    print(f"{name}: {len(seeds)} seeds, {record['cpu_seconds']:.0f} CPU seconds")
    for arm, a in acc.items():
        print(f"  {arm:16s} {a.mean():6.2f} ± {a.std(ddof=1):5.2f} %")
    experiments = getattr(MODULES[name], "EXPERIMENTS", ())
    for exp in experiments:
        for c in exp.comparisons:
            d = acc[c.arm] - acc[c.baseline]
            print(f"  {c.arm:>16} - {c.baseline:<14} {d.mean():+6.2f}  SD of differences "
                  f"{d.std(ddof=1):5.2f} points")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        run(sys.argv[1], int(sys.argv[2]))
    summary(sys.argv[1])
