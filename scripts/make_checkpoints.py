"""Train the shipped chapter 7 networks and write them with their manifest (`make checkpoints`).

One SmallCNN per attention kind on the generated ``clutter`` task, with the settings in
``attn_lessons.checkpoints.SETTINGS``: seeded, on the CPU with one thread, so a re-run on the same
library and PyTorch versions gives the same weights. Each state dict is saved in
``attn_lessons/checkpoints/clutter_<kind>.pt``; ``manifest.json`` records the settings, the
versions, each file's SHA-256, size and test accuracy. Fails if a network stays under 95 %.
"""

from __future__ import annotations

import io
import json
import platform
import sys
import time
from pathlib import Path

import torch

import attn_lessons
from attn_lessons._files import atomic_write_bytes, atomic_write_text
from attn_lessons.checkpoints import SETTINGS, build_network, sha256, test_set, train_set
from attn_lessons.device import seed_everything
from attn_lessons.train import evaluate, train_model

OUT = Path(attn_lessons.__file__).parent / "checkpoints"
MINIMUM_ACCURACY = 0.95


def main() -> int:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    train, test = train_set(), test_set()
    files, checkpoints = {}, {}
    for kind in SETTINGS["kinds"]:
        start = time.perf_counter()
        seed_everything(SETTINGS["seed"])
        model = build_network(kind)
        train_model(model, train, epochs=SETTINGS["epochs"], batch_size=SETTINGS["batch_size"],
                    lr=SETTINGS["lr"], weight_decay=SETTINGS["weight_decay"],
                    seed=SETTINGS["seed"], device="cpu", progress=False)
        accuracy = evaluate(model, test, device="cpu")["accuracy"]
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        data = buffer.getvalue()
        checkpoints[kind] = data
        files[kind] = {"file": f"clutter_{kind}.pt", "sha256": sha256(data), "bytes": len(data),
                       "test_accuracy": accuracy}
        print(f"{kind:>15}: test accuracy {accuracy:.4f}, {len(data):,} bytes, "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    manifest = {
        "settings": SETTINGS,
        "library_version": attn_lessons.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "machine": platform.machine(),
        "files": files,
    }
    # Written only once every network is trained, each file atomically, the manifest last: an
    # interrupted run leaves the previous files and manifest, which still agree.
    for kind, data in checkpoints.items():
        atomic_write_bytes(OUT / f"clutter_{kind}.pt", data)
    atomic_write_text(OUT / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    low = [kind for kind, entry in files.items() if entry["test_accuracy"] < MINIMUM_ACCURACY]
    if low:
        print(f"under {MINIMUM_ACCURACY:.0%}: {low}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
