"""The pilot behind the field guide's ``scale`` task and the spread its cells assume.

    python scripts/pilots/guide_scale_pilot.py      # writes scripts/pilots/guide_scale_pilot.json

The cells of ``guide_modules`` on ``scale`` (the plain network, SE and SK) with seeds 1000-1007,
outside the design's seeds (a pilot only estimates the baseline's accuracy and the spread; its
runs never enter a verdict), with the guide's own run function and settings, one torch thread,
two runs at a time. It prints each arm's mean accuracy and, for SK - none and SE - none, the SD of
the per-seed differences, which ``attn_lessons/experiments/guide.py`` quotes as
``PILOT_SD_OF_DIFFERENCES`` (tests/test_experiments_guide.py recomputes them from the JSON file).
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

SEEDS = tuple(range(1000, 1008))
ARMS = ("none", "se", "sk")
TASK = "scale"
OUT = Path(__file__).with_suffix(".json")


def _run(arm: str, seed: int) -> dict:
    import torch

    from attn_lessons.experiments import guide

    torch.set_num_threads(1)
    start = time.perf_counter()
    metrics = guide.run_one(arm, TASK, seed, guide.SETTINGS)
    return {"task": TASK, "arm": arm, "seed": seed, "metrics": metrics,
            "seconds": round(time.perf_counter() - start, 3)}


def sd_of_differences(record: dict, arm: str, baseline: str = "none") -> float:
    value = {(r["arm"], r["seed"]): r["metrics"]["accuracy"] for r in record["runs"]}
    return statistics.stdev(value[arm, s] - value[baseline, s] for s in record["seeds"])


def main() -> int:
    from attn_lessons.experiments import guide

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        runs = list(pool.map(_run, *zip(*[(a, s) for a in ARMS for s in SEEDS], strict=True)))
    record = {"task": TASK, "settings": guide.SETTINGS, "seeds": list(SEEDS), "runs": runs}
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    for arm in ARMS:
        acc = [r["metrics"]["accuracy"] for r in runs if r["arm"] == arm]
        print(f"{TASK}/{arm}: mean accuracy {statistics.mean(acc):.4f} "
              f"(SD {statistics.stdev(acc):.4f})")
    for arm in ARMS[1:]:
        print(f"{TASK}/{arm} - none: SD of differences {sd_of_differences(record, arm):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
