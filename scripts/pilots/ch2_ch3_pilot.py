"""Pilot for issue 23, chapters 2 and 3: seeds 0-9 of the key cells, to size the experiments.

``python scripts/pilots/ch2_ch3_pilot.py modules`` runs ch2_gates (every cell) and ch3_modules;
``... kernels`` runs ch3_kernels and adds its records to the same file. Both use the final
settings (attn_lessons.experiments.ch2/ch3 SETTINGS) and one thread, and write every record to
scripts/pilots/ch2_ch3_pilot.json. The pilot's seeds are seeds of the final designs, which re-run
them: the pilot only supplies the standard deviations the designs assume.
"""

import json
import platform
import sys
import time
from pathlib import Path

import torch

from attn_lessons.experiments import ch2, ch3

torch.set_num_threads(1)
path = Path(__file__).with_suffix(".json")
part = sys.argv[1]
out = json.loads(path.read_text()) if path.exists() else {}
start = time.process_time()
if part == "modules":
    records = []
    for seed in range(10):
        for arm in ch2.ARMS:
            for block in ch2.BLOCKS:
                t = time.process_time()
                records.append({"experiment": "ch2_gates", "task": block, "arm": arm, "seed": seed,
                                "metrics": ch2.run_one(arm, block, seed, ch2.SETTINGS),
                                "cpu_seconds": time.process_time() - t})
        for arm in ch3.MODULE_ARMS:
            t = time.process_time()
            records.append({"experiment": "ch3_modules", "task": "clutter", "arm": arm,
                            "seed": seed,
                            "metrics": ch3.run_module(arm, "clutter", seed, ch3.SETTINGS),
                            "cpu_seconds": time.process_time() - t})
        print(seed, round(time.process_time() - start, 1), flush=True)
    out.update(records=records, cpu_seconds=time.process_time() - start)
elif part == "kernels":
    kernels = []
    for seed in range(10):
        for arm in ch3.KERNEL_ARMS:
            for block in ch3.BLOCKS:
                kernels.append({"experiment": "ch3_kernels", "task": block, "arm": arm,
                                "seed": seed,
                                "metrics": ch3.run_kernel(arm, block, seed, ch3.SETTINGS)})
    out.update(kernel_records=kernels, kernel_cpu_seconds=time.process_time() - start)
else:
    raise SystemExit(f"unknown part {part!r}: expected 'modules' or 'kernels'")
out.update(torch=torch.__version__, machine=platform.processor() or platform.machine())
path.write_text(json.dumps(out, indent=1))
