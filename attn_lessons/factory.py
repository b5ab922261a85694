"""Build an attention module from its name, so a network can take the kind as an argument.

A network that accepts ``attention="se"`` (or ``"eca"``, ``"cbam"``, ...) lets an experiment compare
the modules of chapters 2 to 6 by changing a single string. The factory maps that string to the
module, passing the block's channel count and any keyword arguments on unchanged::

    make_attention("se", 64, reduction=8)    # SqueezeExcite(64, reduction=8)
    make_attention("none", 64)               # nn.Identity(): the baseline without attention

Every kind keeps the feature map's shape, ``(B, C, H, W) -> (B, C, H, W)``, so it can be dropped in
after any activation whose output has ``channels`` channels.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from ._validation import check_int

#: Attention keyword arguments for a network with blocks of several widths: one mapping for every
#: block, or a function of the channel count (e.g. ECA's released kernel sizes per stage) returning
#: the mapping for a block of that width.
AttentionKwargs = Mapping[str, Any] | Callable[[int], Mapping[str, Any]] | None

#: The kinds of chapters 1 to 7, in the order the book introduces them: what the shipped
#: checkpoints, the chapter 7 figure grids and the chapter 7 experiments iterate over.
ATTENTION_KINDS: tuple[str, ...] = ("none", "se", "eca", "cbam", "coordatt", "self_attention")

#: The field guide's modules (the part after chapter 7), one file each, in the guide's order.
#: :func:`make_attention` accepts them like the others; they are kept apart so that adding one
#: changes nothing the chapters iterate over.
FIELD_GUIDE_KINDS: tuple[str, ...] = (
    # one name per line, in the guide's order
    "simam",
    "gc",
    "sk",
    "bam",
    "triplet",
    "shuffle",
    "ema",
    "ela",
)

#: Every name :func:`make_attention` accepts.
ALL_ATTENTION_KINDS: tuple[str, ...] = ATTENTION_KINDS + FIELD_GUIDE_KINDS

# name -> (submodule of attn_lessons, class name). Imported on first use, so that importing the
# factory costs nothing and a network built without attention needs none of the modules.
_REGISTRY: dict[str, tuple[str, str]] = {
    "se": ("se", "SqueezeExcite"),
    "eca": ("eca", "ECA"),
    "cbam": ("cbam", "CBAM"),
    "coordatt": ("coordatt", "CoordAtt"),
    "self_attention": ("self_attention", "SelfAttention2d"),
    # The field guide (FIELD_GUIDE_KINDS), one line per module:
    "simam": ("simam", "SimAM"),
    "gc": ("global_context", "GlobalContext"),
    "sk": ("sk", "SelectiveKernel"),
    "bam": ("bam", "BAM"),
    "triplet": ("triplet", "TripletAttention"),
    "shuffle": ("shuffle", "ShuffleAttention"),
    "ema": ("ema", "EMA"),
    "ela": ("ela", "ELA"),
}


def attention_class(name: str) -> type[nn.Module]:
    """The class :func:`make_attention` builds for ``name`` (``nn.Identity`` for ``"none"``)."""
    name = _check_name(name)
    if name == "none":
        return nn.Identity
    module_name, class_name = _REGISTRY[name]
    module = importlib.import_module(f"{__package__}.{module_name}")
    return getattr(module, class_name)


def make_attention(name: str, channels: int, **kwargs: Any) -> nn.Module:
    """Return a fresh attention module of kind ``name`` for feature maps with ``channels`` channels.

    ``kwargs`` go to the module's constructor unchanged (``reduction=``, ``kernel_size=``, ...), so
    each module's own defaults, the paper's, apply when none are given. ``"none"`` returns
    ``nn.Identity()`` and accepts no keyword arguments, so a misplaced option is not silently lost.

    Raises ``ValueError`` for an unknown name (the message lists the known ones) and
    ``TypeError``/``ValueError`` for a channel count that is not a positive integer.
    """
    name = _check_name(name)
    channels = check_int("channels", channels)
    if name == "none":
        if kwargs:
            raise TypeError(
                f"attention 'none' takes no options, got {sorted(kwargs)}; drop them or pick a "
                f"kind from {list(ALL_ATTENTION_KINDS[1:])}"
            )
        return nn.Identity()
    return attention_class(name)(channels, **kwargs)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or name not in ALL_ATTENTION_KINDS:
        raise ValueError(
            f"unknown attention kind {name!r}; expected one of {list(ALL_ATTENTION_KINDS)}"
        )
    return name


def resolve_attention_kwargs(kwargs: AttentionKwargs, channels: int) -> dict[str, Any]:
    """The keyword arguments for one block of width ``channels`` (see :data:`AttentionKwargs`)."""
    if kwargs is None:
        return {}
    if callable(kwargs):
        kwargs = kwargs(channels)
    if not isinstance(kwargs, Mapping):
        raise TypeError(
            "attention_kwargs must be a mapping or a function of the channel count returning one, "
            f"got {type(kwargs).__name__}"
        )
    return dict(kwargs)
