"""The pilot that sized chapter 8's experiments, kept with its runs (``ch8_pilot.json``).

    PYTHONPATH=. python scripts/pilots/ch8_pilot.py run [JOBS]   # write ch8_pilot.json
    PYTHONPATH=. python scripts/pilots/ch8_pilot.py              # print the summary

Every cell of each experiment of :mod:`attn_lessons.experiments.ch8` on seeds 1000-1003 (disjoint
from the designs' seeds 0, 1, ..., so the spread used for sizing is not estimated from the data it
sizes), with the experiment's settings and one thread, through the experiments' own runner. The
summary gives, for each comparison of the declared family, the SD of the per-seed differences of
the primary metric (the designs are paired): ``PILOT_SD_OF_DIFFERENCES`` copies them.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import tempfile
from pathlib import Path

from attn_lessons.experiments import ch8, run_experiment

PILOT = Path(__file__).with_name("ch8_pilot.json")
SEEDS = tuple(range(1000, 1004))


def run(jobs: int) -> None:
    out = {}
    for exp in ch8.EXPERIMENTS:
        if exp.name in ch8.PILOT_OF:  # its arms run in the pilot of the experiment it names
            continue
        extra = [cell for other in ch8.EXPERIMENTS if ch8.PILOT_OF.get(other.name) == exp.name
                 for cell in other.cells if cell not in exp.cells]
        pilot = dataclasses.replace(exp, cells=(*exp.cells, *extra), seeds=SEEDS,
                                    note="pilot: seeds outside the design")
        with tempfile.TemporaryDirectory() as folder:
            res = run_experiment(pilot, jobs=jobs, out=Path(folder) / f"{exp.name}.json")
        out[exp.name] = {"settings": exp.settings, "seeds": list(SEEDS), "runs": res.runs,
                         "wall_seconds": res.provenance["wall_seconds"]}
    PILOT.write_text(json.dumps(out, indent=1) + "\n")


def sd_of_differences(name: str) -> dict[tuple[str, str], float]:
    """Per comparison of ``name``'s family: the SD of the pilot's per-seed differences."""
    exp = next(e for e in ch8.EXPERIMENTS if e.name == name)
    pilot = json.loads(PILOT.read_text())[ch8.PILOT_OF.get(name, name)]
    value = {(r["arm"], r["seed"]): r["metrics"][exp.primary_metric] for r in pilot["runs"]}
    return {(c.arm, c.baseline): statistics.stdev(value[c.arm, s] - value[c.baseline, s]
                                                  for s in pilot["seeds"])
            for c in exp.comparisons}


def summary() -> None:
    pilot = json.loads(PILOT.read_text())
    for exp in ch8.EXPERIMENTS:
        if exp.name in ch8.PILOT_OF:
            for key, sd in sd_of_differences(exp.name).items():
                print(f"{exp.name}: SD of differences {key}: {sd:.4f}")
            continue
        runs = pilot[exp.name]["runs"]
        print(f"{exp.name}: wall {pilot[exp.name]['wall_seconds']:.0f} s")
        for arm in dict.fromkeys(r["arm"] for r in runs):
            mine = [r for r in runs if r["arm"] == arm]
            print(f"  {arm:18s} seconds {statistics.mean(r['seconds'] for r in mine):6.2f}  "
                  + "  ".join(f"{m} {statistics.mean(r['metrics'][m] for r in mine):.4f}"
                              for m in exp.metrics))
        for key, sd in sd_of_differences(exp.name).items():
            print(f"  SD of differences {key}: {sd:.4f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        run(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    summary()
