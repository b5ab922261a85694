"""A small three-block CNN whose attention kind is one argument, and hooks to look inside.

Each block is ``conv 3x3 -> BatchNorm -> ReLU -> attention -> pool``. The attention module sits
after the activation and before the pooling, where chapter 2 places SE in a plain CNN block: it sees
the block's full-resolution features and can reweight them before pooling throws positions away. The
first two blocks pool with a 2x2 max pool; the third hands its map to a global average pool and a
linear head::

    x (B, in, S, S) -> block 1 (B, w1, S/2, S/2) -> block 2 (B, w2, S/4, S/4)
                    -> block 3 (B, w3, S/4, S/4) -> mean over H, W (B, w3) -> linear (B, classes)

With ``attention="none"`` the attention slots hold ``nn.Identity`` and the network is the baseline
every comparison in chapter 7 is made against.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from ._validation import check_feature_map, check_int
from .factory import ALL_ATTENTION_KINDS, make_attention


class ConvBlock(nn.Module):
    """``conv 3x3 (no bias) -> BatchNorm -> ReLU -> attention -> pool``, shape ``(B, in, H, W)
    -> (B, out, H', W')`` with ``H' = H // 2`` when ``pool`` is a 2x2 max pool."""

    def __init__(
        self, in_channels: int, out_channels: int, attention: nn.Module, pool: nn.Module
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=False)
        self.attention = attention
        self.pool = pool
        #: Where :func:`attn_lessons.insert.insert_attention` puts attention, and its width.
        self.attention_slots = {"attention": out_channels}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.act(self.bn(self.conv(x)))  # (B, in, H, W) -> (B, out, H, W)
        return self.pool(self.attention(u))  # (B, out, H, W) -> (B, out, H', W')


class SmallCNN(nn.Module):
    """Three conv blocks with a chosen attention module in each, global average pool, linear head.

    Parameters
    ----------
    in_channels, num_classes:
        Input channels and number of classes.
    widths:
        Output channels of the three blocks.
    attention:
        One of :data:`attn_lessons.factory.ALL_ATTENTION_KINDS` (the chapters' kinds and the
        field guide's); ``"none"`` gives the baseline.
    attention_blocks:
        Indices of the blocks that get the module (default: all three). The others hold
        ``nn.Identity`` in their ``attention`` slot, so ``.blocks[i].attention`` always exists.
    **attention_kwargs:
        Passed to every attention module (``reduction=``, ``kernel_size=``, ...).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        widths: Sequence[int] = (16, 32, 64),
        attention: str = "none",
        *,
        attention_blocks: Iterable[int] | None = None,
        **attention_kwargs: Any,
    ) -> None:
        super().__init__()
        in_channels = check_int("in_channels", in_channels)
        num_classes = check_int("num_classes", num_classes, minimum=2)
        widths = tuple(widths)
        if len(widths) != 3:
            raise ValueError(f"widths must hold 3 block widths, got {widths!r}")
        widths = tuple(check_int("widths", w) for w in widths)
        if attention not in ALL_ATTENTION_KINDS:
            raise ValueError(
                f"unknown attention kind {attention!r}; expected one of "
                f"{list(ALL_ATTENTION_KINDS)}"
            )
        chosen = (0, 1, 2) if attention_blocks is None else tuple(attention_blocks)
        for i in chosen:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i <= 2:
                raise ValueError(
                    f"attention_blocks must hold block indices 0, 1, 2, got {chosen!r}"
                )
        self.attention_kind = attention
        self.attention_blocks = tuple(sorted(set(chosen)))
        blocks = []
        previous = in_channels
        for i, width in enumerate(widths):
            module = (
                make_attention(attention, width, **attention_kwargs)
                if i in self.attention_blocks
                else nn.Identity()
            )
            pool = nn.MaxPool2d(2) if i < 2 else nn.Identity()
            blocks.append(ConvBlock(previous, width, module, pool))
            previous = width
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(widths[-1], num_classes)
        self.in_channels = in_channels

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's feature map ``(B, w3, S/4, S/4)``."""
        check_feature_map(x, self.in_channels)
        if min(x.shape[2:]) < 4:
            raise ValueError(f"SmallCNN needs images of at least 4 x 4 pixels (two 2x2 max-pools "
                             f"halve them twice), got {tuple(x.shape[2:])} in x of shape "
                             f"{tuple(x.shape)}")
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x).mean(dim=(2, 3))  # (B, w3, H, W) -> (B, w3)
        return self.head(pooled)  # (B, w3) -> (B, num_classes)


def gate_modules(attention: nn.Module) -> dict[str, nn.Module]:
    """The gate submodules of an attention module, by their name inside it.

    By the library's convention a module's gate is a submodule named ``gate`` (or ``gate_h`` and
    ``gate_w``, or ``channel.gate`` and ``spatial.gate``). Returns ``{}`` for ``nn.Identity`` and
    for self-attention, whose weights :func:`capture` asks for with ``return_weights=True``.
    """
    found = {}
    for name, sub in attention.named_modules():
        if name.rsplit(".", 1)[-1] in ("gate", "gate_h", "gate_w"):
            found[name] = sub
    return found


@torch.no_grad()
def capture(model: SmallCNN, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run ``model`` on ``x`` (in eval mode) and return what each block and each gate produced.

    Keys: ``"block{i}"`` for block ``i``'s output after activation and attention, before pooling,
    ``(B, w_i, H_i, W_i)``; ``"block{i}.pre"`` for the same map before attention (the ReLU output);
    ``"block{i}.<gate name>"`` for every gate module's output (see :func:`gate_modules`), e.g.
    ``(B, C)`` for SE; and ``"block{i}.weights"`` ``(B, heads, HW, HW)`` for an attention module
    whose forward takes ``return_weights`` (self-attention): row ``p`` holds how much position
    ``p`` draws from every position. Forward hooks are removed before returning, even on error,
    and the model's train/eval mode is restored.
    """
    if not isinstance(model, SmallCNN):
        raise TypeError(f"model must be a SmallCNN, got {type(model).__name__}")
    store: dict[str, torch.Tensor] = {}
    handles = []

    def keep(key: str):
        def hook(_module, _inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            store[key] = out.detach()

        return hook

    for i, block in enumerate(model.blocks):
        handles.append(block.act.register_forward_hook(keep(f"block{i}.pre")))
        handles.append(block.attention.register_forward_hook(keep(f"block{i}")))
        for name, gate in gate_modules(block.attention).items():
            handles.append(gate.register_forward_hook(keep(f"block{i}.{name}")))
    was_training = model.training
    try:
        model.eval()
        model(x)
        for i, block in enumerate(model.blocks):
            if "return_weights" in inspect.signature(block.attention.forward).parameters:
                _, weights = block.attention(store[f"block{i}.pre"], return_weights=True)
                store[f"block{i}.weights"] = weights.detach()
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return store
