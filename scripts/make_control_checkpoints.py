"""Train the shuffled-label controls of chapter 8's heat maps and write them with their manifest.

For each kind in ``attn_lessons.checkpoints.controls.KINDS``: the shipped network's architecture,
trained with the shipped networks' recipe (``attn_lessons.checkpoints.SETTINGS``) on the same
training images with labels permuted by a seeded generator. Seeded, on the CPU with one thread,
so a re-run on the same library and PyTorch versions gives the same weights. Fails if a control
is not at chance on the test set (its accuracy over 35 %, with four classes).
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
from attn_lessons.checkpoints import SETTINGS, build_network, sha256, test_set
from attn_lessons.checkpoints.controls import KINDS, LABEL_SEED, shuffled_train_set
from attn_lessons.device import seed_everything
from attn_lessons.train import evaluate, train_model

OUT = Path(attn_lessons.__file__).parent / "checkpoints" / "controls"
MAXIMUM_ACCURACY = 0.35


def main() -> int:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    train, test = shuffled_train_set(), test_set()
    files, checkpoints = {}, {}
    for kind in KINDS:
        start = time.perf_counter()
        seed_everything(SETTINGS["seed"])
        model = build_network(kind)
        result = train_model(model, train, epochs=SETTINGS["epochs"],
                             batch_size=SETTINGS["batch_size"], lr=SETTINGS["lr"],
                             weight_decay=SETTINGS["weight_decay"], seed=SETTINGS["seed"],
                             device="cpu", progress=False)
        accuracy = evaluate(model, test, device="cpu")["accuracy"]
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        data = buffer.getvalue()
        checkpoints[kind] = data
        files[kind] = {"file": f"shuffled_{kind}.pt", "sha256": sha256(data), "bytes": len(data),
                       "train_accuracy": result.train_accuracy[-1], "test_accuracy": accuracy}
        print(f"{kind:>10}: train accuracy (shuffled labels) {result.train_accuracy[-1]:.4f}, "
              f"test accuracy {accuracy:.4f}, {len(data):,} bytes, "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    manifest = {
        "settings": SETTINGS,
        "label_seed": LABEL_SEED,
        "kinds": list(KINDS),
        "library_version": attn_lessons.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "machine": platform.machine(),
        "files": files,
    }
    for kind, data in checkpoints.items():
        atomic_write_bytes(OUT / f"shuffled_{kind}.pt", data)
    atomic_write_text(OUT / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    high = [kind for kind, entry in files.items() if entry["test_accuracy"] > MAXIMUM_ACCURACY]
    if high:
        print(f"over {MAXIMUM_ACCURACY:.0%} on the test set: {high}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
