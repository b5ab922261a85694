"""Small trained networks shipped with the library: one SmallCNN per attention kind on ``clutter``.

Chapter 7 draws gates and maps only from networks that have learned their task. Training six of
them takes most of a minute on a CPU, so they are trained once by ``scripts/make_checkpoints.py``
(``make checkpoints``: seeded, single-threaded, deterministic) and shipped here as state dicts of a
few kilobytes each, beside ``manifest.json``, which records the settings they were trained with,
each file's SHA-256 and its test accuracy on the generated test set. :func:`load_checkpoint`
rebuilds the network from the settings and loads the weights with ``torch.load(...,
weights_only=True)``, which refuses to unpickle anything but tensors and plain containers.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import torch

from ..data import make_task
from ..factory import ATTENTION_KINDS
from ..small_cnn import SmallCNN

__all__ = [
    "SETTINGS",
    "build_network",
    "checkpoint_path",
    "load_checkpoint",
    "manifest",
    "sha256",
    "test_set",
    "train_set",
]

#: How the shipped networks are built and trained. Changing anything here means running
#: ``make checkpoints`` again (the manifest records these settings and a test compares them).
SETTINGS: dict[str, Any] = {
    "task": "clutter",
    "size": 16,
    "train_images": 3072,
    "train_seed": 0,
    "test_images": 1000,
    "test_seed": 1,
    "widths": [8, 16, 32],
    "attention_blocks": [1, 2],
    "options": {"se": {"reduction": 4}, "cbam": {"reduction": 4}},
    "epochs": 15,
    "batch_size": 64,
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "seed": 0,
    "kinds": list(ATTENTION_KINDS),
}


#: What to do when a shipped file or the manifest is not the one recorded.
_REMEDY = "run `make checkpoints` again"


def _check_kind(kind: str) -> str:
    if kind not in SETTINGS["kinds"]:
        raise ValueError(f"no checkpoint for attention kind {kind!r}; expected one of "
                         f"{SETTINGS['kinds']}")
    return kind


def build_network(kind: str) -> SmallCNN:
    """A fresh (untrained) SmallCNN with the shipped networks' architecture for ``kind``."""
    _check_kind(kind)
    return SmallCNN(3, 4, widths=tuple(SETTINGS["widths"]), attention=kind,
                    attention_blocks=tuple(SETTINGS["attention_blocks"]),
                    **SETTINGS["options"].get(kind, {}))


def train_set():
    """The generated training images of the shipped networks (``clutter``, 16 x 16)."""
    return make_task(SETTINGS["task"], n=SETTINGS["train_images"], size=SETTINGS["size"],
                     seed=SETTINGS["train_seed"])


def test_set():
    """The generated test images on which the manifest's accuracies were measured."""
    return make_task(SETTINGS["task"], n=SETTINGS["test_images"], size=SETTINGS["size"],
                     seed=SETTINGS["test_seed"])


def checkpoint_path(kind: str):
    """The shipped file of ``kind`` (a ``Traversable`` inside the installed package)."""
    return resources.files(__name__) / f"clutter_{_check_kind(kind)}.pt"


def _read_manifest(package: str, *, name: str, remedy: str) -> dict[str, Any]:
    """The ``manifest.json`` of ``package``: the JSON object with a ``files`` table that
    ``make checkpoints`` writes beside the shipped files.

    Shared by the shipped networks (:func:`manifest`) and chapter 8's controls
    (:func:`attn_lessons.checkpoints.controls.manifest`). Raises ``ValueError`` naming the file
    (``name``, such as ``"checkpoint manifest"``) and saying what to do (``remedy``, such as
    ``"run `make checkpoints` again"``) when it is not valid JSON or has no ``files`` table.
    """
    path = resources.files(package) / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the {name} {path} is not valid JSON ({exc}): {remedy}, or restore "
                         f"the file from the repository") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ValueError(f"the {name} {path} has no 'files' table: {remedy}, or restore the "
                         f"file from the repository")
    return data


def manifest() -> dict[str, Any]:
    """The manifest written by ``make checkpoints``: settings, and per kind sha256 and accuracy.

    Raises ``ValueError`` naming the file when it is not the JSON object ``make checkpoints``
    writes (with its ``files`` table).
    """
    return _read_manifest(__name__, name="checkpoint manifest", remedy=_REMEDY)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load_verified(data: bytes, kind: str, *, manifest: Callable[[], dict[str, Any]] | None,
                   name: str, what: str, remedy: str) -> SmallCNN:
    """The network of ``kind`` with the state dict ``data`` (a file's bytes), in eval mode, on
    the CPU.

    With a ``manifest`` (a function returning it), the SHA-256 of ``data`` is first compared with
    the manifest's entry for ``kind``; a missing entry or a mismatch raises ``ValueError`` naming
    the manifest (``name``) or the file (``what``, such as ``"checkpoint"``) and saying what to do
    (``remedy``). ``None`` loads without the check. The weights are read with
    ``torch.load(..., weights_only=True)`` into :func:`build_network`'s network, so they must be
    a state dict of the shipped networks' architecture.
    """
    if manifest is not None:
        entry = manifest()["files"].get(kind)
        if not isinstance(entry, dict) or "sha256" not in entry:
            raise ValueError(f"the {name} has no SHA-256 for attention kind {kind!r}: {remedy}")
        expected = entry["sha256"]
        if sha256(data) != expected:
            raise ValueError(f"{what} for {kind!r} has SHA-256 {sha256(data)}, the manifest says "
                             f"{expected}: {remedy}")
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    model = build_network(kind)
    model.load_state_dict(state)
    return model.eval()


def load_checkpoint(kind: str, *, verify: bool = True) -> SmallCNN:
    """The trained network of ``kind``, in eval mode, on the CPU.

    With ``verify`` (the default) the file's SHA-256 is compared with the manifest first, and a
    mismatch raises ``ValueError``: the weights are not the ones whose accuracy was recorded.
    """
    return _load_verified(checkpoint_path(kind).read_bytes(), kind,
                          manifest=manifest if verify else None, name="checkpoint manifest",
                          what="checkpoint", remedy=_REMEDY)
