"""Train the shipped chapter 7 networks and write them with their manifest (`make checkpoints`).

One SmallCNN per attention kind on the generated ``clutter`` task, with the settings in
``attn_lessons.checkpoints.SETTINGS``: seeded, on the CPU with one thread, so a re-run on the same
library and PyTorch versions gives the same weights. Each state dict is saved in
``attn_lessons/checkpoints/clutter_<kind>.pt``; ``manifest.json`` records the settings, the
versions, each file's SHA-256, size and test accuracy. Fails if a network stays under 95 %.
"""

from __future__ import annotations

import sys
from pathlib import Path

import attn_lessons
from attn_lessons.checkpoints import SETTINGS, test_set, train_set
from attn_lessons.checkpoints._making import deterministic_cpu, train_network, write_checkpoints

OUT = Path(attn_lessons.__file__).parent / "checkpoints"
MINIMUM_ACCURACY = 0.95


def main() -> int:
    deterministic_cpu()
    train, test = train_set(), test_set()
    files, checkpoints = {}, {}
    for kind in SETTINGS["kinds"]:
        trained = train_network(kind, train, test)
        name = f"clutter_{kind}.pt"
        checkpoints[name] = trained.data
        files[kind] = {**trained.entry(name), "test_accuracy": trained.test_accuracy}
        print(f"{kind:>15}: test accuracy {trained.test_accuracy:.4f}, {len(trained.data):,} "
              f"bytes, {trained.seconds:.1f} s", flush=True)
    write_checkpoints(OUT, checkpoints, files)
    low = [kind for kind, entry in files.items() if entry["test_accuracy"] < MINIMUM_ACCURACY]
    if low:
        print(f"under {MINIMUM_ACCURACY:.0%}: {low}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
