"""Control networks for the heat maps of chapter 8: the shipped networks trained on shuffled labels.

A heat map that scores high on the target is evidence about what a network *uses* only if a
network that cannot have learned the task scores lower. One control is an untrained network of
the same architecture (:func:`attn_lessons.checkpoints.build_network` with a seed); the other,
shipped here, is the same network trained with the same recipe as the shipped ones
(:data:`attn_lessons.checkpoints.SETTINGS`) on the same images whose labels were shuffled by a
seeded permutation: it sees every image and trains as long, but no label is tied to the image's
target, so it cannot learn where the target is from the labels.
``scripts/make_control_checkpoints.py`` trains them (seeded, single-threaded, deterministic) and
writes ``manifest.json`` beside them, with each file's SHA-256 and test accuracy;
:func:`load_shuffled` checks the hash and loads with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import torch

from ...small_cnn import SmallCNN
from .. import _load_verified, _read_manifest, train_set

__all__ = ["KINDS", "LABEL_SEED", "load_shuffled", "manifest", "shuffled_path",
           "shuffled_train_set"]

#: The kinds that have a shuffled-label control: the baseline and the two modules with a spatial
#: gate map (CBAM's spatial gate, Coordinate Attention's product of directional gates).
KINDS: tuple[str, ...] = ("none", "cbam", "coordatt")

#: Seed of the permutation that shuffles the training labels.
LABEL_SEED = 0


#: What to do when a control's file or the manifest is not the one recorded.
_REMEDY = "run scripts/make_control_checkpoints.py again"


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"no shuffled-label control for attention kind {kind!r}; expected one "
                         f"of {list(KINDS)}")
    return kind


def shuffled_train_set() -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped networks' training images ``(N, 3, S, S)`` with their labels ``(N,)`` permuted
    by a generator seeded with :data:`LABEL_SEED` (the class counts are unchanged)."""
    x, y = train_set().tensors[:2]
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(LABEL_SEED))
    return x, y[order]


def shuffled_path(kind: str):
    """The shipped file of the shuffled-label control of ``kind``."""
    return resources.files(__name__) / f"shuffled_{_check_kind(kind)}.pt"


def manifest() -> dict[str, Any]:
    """The controls' manifest: settings, and per kind SHA-256, size and test accuracy."""
    return _read_manifest(__name__, name="control manifest", remedy=_REMEDY)


def load_shuffled(kind: str, *, verify: bool = True) -> SmallCNN:
    """The shuffled-label control of ``kind``, in eval mode, on the CPU.

    With ``verify`` (the default) the file's SHA-256 is compared with the manifest first; a
    mismatch raises ``ValueError``.
    """
    return _load_verified(shuffled_path(kind).read_bytes(), kind,
                          manifest=manifest if verify else None, name="control manifest",
                          what="shuffled-label control", remedy=_REMEDY)
