"""Chapter 7 runs too long for CI, written to result files the page reads (JSON, schema-tested).

    python scripts/ch7_results.py relation      # results/relation_cpu.json
    python scripts/ch7_results.py other-seeds   # results/other_seeds.json

``relation``: the `relation` task, baseline against self-attention, seeds 0-4, with the settings
of ``measuring_effects.ipynb``'s ``SETTINGS["relation"]`` (the notebook checks they agree).
``other-seeds``: the notebook's three CPU comparisons once more with seeds 5-9, to see which
verdicts survive five other seeds. Each file records the settings, the machine, the date and the
library version beside every seed's test accuracy.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

import attn_lessons
from attn_lessons._files import atomic_write_text
from attn_lessons.data import make_task, task_info
from attn_lessons.device import seed_everything
from attn_lessons.small_cnn import SmallCNN
from attn_lessons.train import evaluate, train_model

RESULTS = Path(__file__).resolve().parents[1] / "book" / "ch7_networks" / "results"
#: Must equal the notebook's constants (measuring_effects.ipynb asserts it for the file it reads).
COMMON = {"size": 16, "train_seed": 100, "test_seed": 200, "test_images": 1000,
          "widths": [8, 16, 32], "options": {"se": {"reduction": 4}, "cbam": {"reduction": 4}},
          "batch_size": 64, "lr": 3e-3}
TASKS = {  # task: (training images, epochs, blocks with the module)
    "channel": (1024, 6, [0, 1, 2]),
    "clutter": (1024, 6, [0, 1, 2]),
    "axis": (1024, 6, [0, 1, 2]),
    "relation": (2048, 12, [1, 2]),
}


def accuracies(task: str, kind: str, seeds: list[int]) -> list[float]:
    n_train, epochs, blocks = TASKS[task]
    info = task_info(task)
    train = make_task(task, n=n_train, size=COMMON["size"], seed=COMMON["train_seed"])
    test = make_task(task, n=COMMON["test_images"], size=COMMON["size"], seed=COMMON["test_seed"])
    out = []
    for seed in seeds:
        seed_everything(seed)
        model = SmallCNN(info.in_channels, info.num_classes, widths=tuple(COMMON["widths"]),
                         attention=kind, attention_blocks=tuple(blocks),
                         **COMMON["options"].get(kind, {}))
        train_model(model, train, epochs=epochs, batch_size=COMMON["batch_size"],
                    lr=COMMON["lr"], seed=seed, device="cpu", progress=False)
        out.append(evaluate(model, test, device="cpu")["accuracy"])
        print(f"{task}/{kind} seed {seed}: {out[-1]:.4f}", flush=True)
    return out


def write(name: str, plan: dict[str, list[str]], seeds: list[int]) -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    runs = {task: {kind: accuracies(task, kind, seeds) for kind in kinds}
            for task, kinds in plan.items()}
    record = {
        "settings": {**COMMON, "seeds": seeds,
                     "tasks": {task: dict(zip(("train_images", "epochs", "attention_blocks"),
                                              TASKS[task], strict=True)) for task in plan}},
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "cpus": os.cpu_count(), "device": "cpu", "threads": 1,
                    "load_average_at_end": list(os.getloadavg())},
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "library_version": attn_lessons.__version__,
        "torch_version": torch.__version__,
        "seconds": round(time.perf_counter() - start, 1),
        "accuracies": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / name, json.dumps(record, indent=2) + "\n")
    print("wrote", RESULTS / name)


def main(argv: list[str]) -> int:
    if argv == ["relation"]:
        write("relation_cpu.json", {"relation": ["none", "self_attention"]}, [0, 1, 2, 3, 4])
    elif argv == ["other-seeds"]:
        write("other_seeds.json", {"channel": ["none", "se"], "clutter": ["none", "cbam"],
                                   "axis": ["none", "coordatt"]}, [5, 6, 7, 8, 9])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
