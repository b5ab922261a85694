"""Training and writing shipped networks: what ``scripts/make_checkpoints.py`` (the chapter 7
networks) and ``scripts/make_control_checkpoints.py`` (chapter 8's shuffled-label controls) share.

Both train :func:`attn_lessons.checkpoints.build_network`'s network per kind with the recipe of
:data:`attn_lessons.checkpoints.SETTINGS`, seeded, on the CPU with one thread and deterministic
algorithms, so a re-run on the same library and PyTorch versions gives the same bytes; and both
write the state dicts and a ``manifest.json`` (the settings, the versions, each file's SHA-256 and
size) that :func:`attn_lessons.checkpoints._load_verified` checks when it loads them. Imported by
the two scripts only: importing :mod:`attn_lessons.checkpoints` does not load the training loop.

"The same bytes" needs the same machine as well: the CPU's vectorised kernels (ATen's CPU
capability, AVX2 or AVX-512 or none, and the CPU model behind the BLAS and oneDNN code paths)
round the generated images and the initial weights differently in the last bit, and 720 steps of
training turn that into a different network (a few tenths of a point of test accuracy apart). So
the manifest also records the CPU model and capability and the git commit the files were made
from (:func:`provenance`), and :func:`check_against` compares a re-training with the manifest
(``make_checkpoints.py --check``).
"""

from __future__ import annotations

import argparse
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

__all__ = ["Trained", "check_against", "deterministic_cpu", "provenance", "train_network",
           "write_checkpoints"]


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


def provenance() -> dict[str, Any]:
    """Where the networks are trained: the CPU model (``/proc/cpuinfo``), ATen's CPU capability
    (``"AVX2"``, ``"AVX512"``, ``"DEFAULT"``...), and the git commit of the library with whether
    the tree differed from it (``None`` for both outside a git checkout), as result files record
    them (:func:`attn_lessons.experiments.runner.git_state`). Commit first, then train."""
    from ..experiments.runner import cpu_model, git_state

    commit, dirty = git_state()
    return {"cpu_model": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "commit": commit, "dirty": dirty}


def parse_arguments(description: str, kinds: list[str] | tuple[str, ...],
                    argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``scripts/make_checkpoints.py`` and ``make_control_checkpoints.py``:
    ``--check`` (write nothing, compare a re-training with the manifest) and, with it only, the
    kinds to train (default: all of ``kinds``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; say whether re-training gives the shipped bytes")
    parser.add_argument("kinds", nargs="*", metavar="KIND",
                        help=f"with --check, the kinds to train (default: all of "
                             f"{', '.join(kinds)})")
    args = parser.parse_args(argv)
    if args.kinds and not args.check:
        parser.error("naming kinds needs --check (the manifest is written for every kind)")
    unknown = [kind for kind in args.kinds if kind not in kinds]
    if unknown:
        parser.error(f"unknown kind(s) {unknown}; expected some of {list(kinds)}")
    return args


def check_against(manifest: dict[str, Any], kind: str, trained: Trained) -> tuple[bool, str]:
    """Whether ``trained`` (a re-training of ``kind``) is the file ``manifest`` records, byte for
    byte, and a line saying so: on a mismatch, with the recorded and the new test accuracy and,
    where they differ, the torch version and CPU (capability and model) of each side."""
    entry = manifest["files"].get(kind)
    if not isinstance(entry, dict) or "sha256" not in entry:
        return False, f"{kind}: the manifest has no SHA-256 for it"
    if sha256(trained.data) == entry["sha256"]:
        return True, (f"{kind}: the same bytes as {entry.get('file', kind)} (test accuracy "
                      f"{trained.test_accuracy:.4f})")
    here = {"torch_version": torch.__version__, **provenance()}
    differ = [f"{key} {manifest.get(key)!r} there, {here[key]!r} here"
              for key in ("torch_version", "cpu_capability", "cpu_model")
              if manifest.get(key) != here[key]]
    why = ("; " + ", ".join(differ)) if differ else "; same torch and CPU: a library change?"
    return False, (f"{kind}: different bytes (test accuracy {entry.get('test_accuracy')} "
                   f"recorded, {trained.test_accuracy:.4f} now){why}")


def write_checkpoints(out: Path, data: dict[str, bytes], files: dict[str, dict[str, Any]],
                      **extra: Any) -> None:
    """Write each ``data[name]`` to ``out / name``, then ``out / "manifest.json"``.

    The manifest holds, in this order, ``SETTINGS``, the ``extra`` entries, the library, torch
    and Python versions, the machine, :func:`provenance` (CPU model and capability, commit and
    dirty flag, read before any file is written), and ``files`` (a record per kind). Each file is
    written atomically and the manifest last, so an interrupted run leaves the previous files and
    manifest, which still agree. Call it once every network is trained.
    """
    manifest = {
        "settings": SETTINGS,
        **extra,
        "library_version": attn_lessons.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "machine": platform.machine(),
        **provenance(),
        "files": files,
    }
    for name, blob in data.items():
        atomic_write_bytes(out / name, blob)
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
