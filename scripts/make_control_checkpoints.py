"""Train the shuffled-label controls of chapter 8's heat maps and write them with their manifest.

For each kind in ``attn_lessons.checkpoints.controls.KINDS``: the shipped network's architecture,
trained with the shipped networks' recipe (``attn_lessons.checkpoints.SETTINGS``) on the same
training images with labels permuted by a seeded generator. Seeded, on the CPU with one thread,
so a re-run on the same library and PyTorch versions, on a CPU of the same kind, gives the same
weights (the manifest records the CPU and the commit, as ``scripts/make_checkpoints.py`` says).
Fails if a control is not at chance on the test set (its accuracy over 35 %, with four classes).
``--check [KIND ...]`` writes nothing and says whether re-training gives the shipped files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import attn_lessons
from attn_lessons.checkpoints import test_set
from attn_lessons.checkpoints._making import (
    check_against,
    deterministic_cpu,
    parse_arguments,
    train_network,
    write_checkpoints,
)
from attn_lessons.checkpoints.controls import KINDS, LABEL_SEED, manifest, shuffled_train_set

OUT = Path(attn_lessons.__file__).parent / "checkpoints" / "controls"
MAXIMUM_ACCURACY = 0.35


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    return parse_arguments(__doc__.split("\n\n")[0], KINDS, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    deterministic_cpu()
    train, test = shuffled_train_set(), test_set()
    if args.check:
        shipped, same = manifest(), True
        for kind in args.kinds or KINDS:
            ok, line = check_against(shipped, kind, train_network(kind, train, test))
            same &= ok
            print(line, flush=True)
        return 0 if same else 1
    files, checkpoints = {}, {}
    for kind in KINDS:
        trained = train_network(kind, train, test)
        name = f"shuffled_{kind}.pt"
        checkpoints[name] = trained.data
        files[kind] = {**trained.entry(name), "train_accuracy": trained.train_accuracy,
                       "test_accuracy": trained.test_accuracy}
        print(f"{kind:>10}: train accuracy (shuffled labels) {trained.train_accuracy:.4f}, "
              f"test accuracy {trained.test_accuracy:.4f}, {len(trained.data):,} bytes, "
              f"{trained.seconds:.1f} s", flush=True)
    write_checkpoints(OUT, checkpoints, files, label_seed=LABEL_SEED, kinds=list(KINDS))
    high = [kind for kind, entry in files.items() if entry["test_accuracy"] > MAXIMUM_ACCURACY]
    if high:
        print(f"over {MAXIMUM_ACCURACY:.0%} on the test set: {high}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
