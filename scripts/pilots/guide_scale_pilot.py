"""The pilot behind the field guide's ``scale`` task and the spread its cells assume.

    python scripts/pilots/guide_scale_pilot.py      # writes scripts/pilots/guide_scale_pilot.json
    python scripts/pilots/guide_scale_pilot.py --by-size   # prints accuracy per object size

The cells of ``guide_modules`` on ``scale`` (the plain network, SE and SK) with seeds 1000-1007,
outside the design's seeds (a pilot only estimates the baseline's accuracy and the spread; its
runs never enter a verdict), with the guide's own run function and settings, one torch thread,
two runs at a time. It prints each arm's mean accuracy and, for SK - none and SE - none, the SD of
the per-seed differences, which ``attn_lessons/experiments/guide.py`` quotes as
``PILOT_SD_OF_DIFFERENCES`` (tests/test_experiments_guide.py recomputes them from the JSON file).

``--by-size`` trains the same arms with the design's seeds 0-2 and prints each one's test
accuracy per object size (the size of a test image is read from the same draw without noise),
the breakdown ``attn_lessons.data.scale_task``'s docstring quotes; it writes nothing.
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


def by_size(seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, dict[int, float]]:
    """Mean test accuracy of each arm per object size (scale factor), over ``seeds``."""
    import torch

    from attn_lessons.data import scale_task
    from attn_lessons.experiments import ch7, guide

    settings = guide.SETTINGS
    torch.set_num_threads(1)
    clean, _ = scale_task(settings["test_images"], settings["size"], settings["test_seed"],
                          noise=1e-9).tensors  # the same draw, without the noise
    span = (clean[:, 0] > 0.5).any(dim=1).float().sum(dim=1)  # (N,): columns the shape spans
    size = (span // 5).long()  # 5, 10, 15 pixels -> 1, 2, 3
    out = {}
    for arm in ARMS:
        hits = {s: 0.0 for s in (1, 2, 3)}
        for seed in seeds:
            model, _, test = ch7.train_one(arm, TASK, seed, settings, build=guide.build_model)
            model.eval()
            x, y = test.tensors
            with torch.no_grad():
                right = model(x).argmax(dim=1) == y  # (N,)
            for s in hits:
                hits[s] += float(right[size == s].float().mean()) / len(seeds)
        out[arm] = hits
        print(f"{TASK}/{arm}: " + ", ".join(f"x{s} {100 * a:.1f} %" for s, a in hits.items()),
              flush=True)
    return out


def main() -> int:
    from attn_lessons.experiments import guide

    if "--by-size" in sys.argv[1:]:
        by_size()
        return 0

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
