"""Training and writing shipped networks: what ``scripts/make_checkpoints.py`` (the chapter 7
networks) and ``scripts/make_control_checkpoints.py`` (chapter 8's shuffled-label controls) share.

Both train :func:`attn_lessons.checkpoints.build_network`'s network per kind with the recipe of
:data:`attn_lessons.checkpoints.SETTINGS`, seeded, on the CPU with one thread and deterministic
algorithms, so a re-run on the same library and PyTorch versions gives the same bytes; and both
write the state dicts and a ``manifest.json`` (the settings, the versions, each file's SHA-256 and
size) that :func:`attn_lessons.checkpoints._load_verified` checks when it loads them. Imported by
the two scripts only: importing :mod:`attn_lessons.checkpoints` does not load the training loop.
"""

from __future__ import annotations

import io
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import attn_lessons

from .._files import atomic_write_bytes, atomic_write_text
from ..device import seed_everything
from ..train import evaluate, train_model
from . import SETTINGS, build_network, sha256

__all__ = ["Trained", "deterministic_cpu", "train_network", "write_checkpoints"]


def deterministic_cpu() -> None:
    """One CPU thread and deterministic algorithms: the same bytes on every re-run."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


@dataclass(frozen=True)
class Trained:
    """One trained network: its state dict as ``torch.save`` writes it, and how it did."""

    #: The state dict's bytes, as the shipped file holds them.
    data: bytes
    #: The last epoch's training accuracy (on the labels it was trained with).
    train_accuracy: float
    #: The accuracy on the test set it was given.
    test_accuracy: float
    #: The wall time of seeding, training, testing and saving.
    seconds: float

    def entry(self, file: str) -> dict[str, Any]:
        """The manifest's record of this network saved as ``file``: name, SHA-256, size."""
        return {"file": file, "sha256": sha256(self.data), "bytes": len(self.data)}


def train_network(kind: str, train, test) -> Trained:
    """Train ``kind``'s network on ``train`` with the shipped recipe; test it on ``test``.

    The random state is seeded with ``SETTINGS["seed"]`` before the network is built, so every
    kind starts from the same state; ``train`` and ``test`` are what
    :func:`attn_lessons.train.train_model` and :func:`attn_lessons.train.evaluate` take.
    """
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
    return Trained(data=buffer.getvalue(), train_accuracy=result.train_accuracy[-1],
                   test_accuracy=accuracy, seconds=time.perf_counter() - start)


def write_checkpoints(out: Path, data: dict[str, bytes], files: dict[str, dict[str, Any]],
                      **extra: Any) -> None:
    """Write each ``data[name]`` to ``out / name``, then ``out / "manifest.json"``.

    The manifest holds, in this order, ``SETTINGS``, the ``extra`` entries, the library, torch
    and Python versions, the machine, and ``files`` (a record per kind). Each file is written
    atomically and the manifest last, so an interrupted run leaves the previous files and
    manifest, which still agree. Call it once every network is trained.
    """
    manifest = {
        "settings": SETTINGS,
        **extra,
        "library_version": attn_lessons.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "machine": platform.machine(),
        "files": files,
    }
    for name, blob in data.items():
        atomic_write_bytes(out / name, blob)
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
