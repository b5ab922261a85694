r"""Global Context block, GC (Cao, Xu, Lin, Wei, Hu; ICCVW 2019, TPAMI 2020; arXiv:1904.11492).

The GCNet paper starts from the non-local block (chapter 6's self-attention on a feature map) and
observes that, after training, its attention maps are nearly the same for every query position.
So it computes **one** attention map per image, pools the whole map with it into one context
vector, transforms that vector with an SE-like bottleneck and adds it to every position. For a
feature map :math:`x \in \mathbb{R}^{C \times H \times W}` with positions :math:`j = 1 \dots N_p`
(:math:`N_p = HW`):

.. math::

    \alpha_j &= \frac{\exp(W_k x_j)}{\sum_{m=1}^{N_p} \exp(W_k x_m)}
        && \text{(one softmax over positions, } W_k \in \mathbb{R}^{1 \times C}) \\
    c &= \sum_{j=1}^{N_p} \alpha_j \, x_j
        && \text{(attention pooling, } c \in \mathbb{R}^{C}) \\
    \delta(c) &= W_{v2} \, \mathrm{ReLU}\bigl(\mathrm{LN}(W_{v1} c)\bigr)
        && \text{(transform, } W_{v1} \in \mathbb{R}^{C/r \times C},
                               W_{v2} \in \mathbb{R}^{C \times C/r}) \\
    z_i &= x_i + \delta(c)
        && \text{(fusion by addition, at every position } i)

(Eq. 4 of the paper, with the biases of the 1x1 convolutions left out above.) LN is a layer
normalisation over the :math:`C/r` values of the bottleneck, which the paper adds because the
two-layer bottleneck is hard to optimise. The template of the book: it **pools** with a learned
softmax over positions (average pooling if ``pooling="avg"``: then it is SE's squeeze); it
**transforms** with the LN bottleneck; the default fusion adds rather than gates (the "gate" is
an additive bias per channel, the same at every position); ``fusion=("channel_mul",)`` gates
:math:`x_i \cdot \sigma(\delta(c))` as SE does, and both together apply the product first, then
the sum. SE is the special case ``pooling="avg", fusion=("channel_mul",)`` up to the LN.

Authors' code
-------------
xvjiarui/GCNet at commit 029db5407dc27147eb1d41f62b09dfed8ec88837,
``mmdet/ops/gcb/context_block.py``: constructor lines 15-52, initialisation lines 54-62,
``spatial_pool`` lines 64-88, ``forward`` lines 90-104. Defaults ``pooling_type='att'``,
``fusion_types=('channel_add',)``; the ratio is given by the configurations, ``1/16`` or ``1/4``
(``configs/gcnet/r50/mask_rcnn_r16_gcb_c3-c5_r50_fpn_1x.py``, line 13). Kept here:

* the mask :math:`W_k` is ``nn.Conv2d(C, 1, 1)`` **with** a bias (the code's default);
* each transform is ``Conv2d(C, C/r, 1)`` -> ``LayerNorm([C/r, 1, 1])`` -> ``ReLU`` ->
  ``Conv2d(C/r, C, 1)``, with biases and LN's affine weights;
* the initialisation: the mask convolution Kaiming-normal in ``fan_in`` mode with a zero bias,
  the *last* convolution of each transform all zeros, so a new block is the identity
  (``channel_add``) or multiplies by 1/2 (``channel_mul``);
* the submodule names ``conv_mask``, ``channel_add_conv``, ``channel_mul_conv`` (and the layer
  order inside them), so the authors' ``state_dict`` loads unchanged.

Deviations, each documented:

* the hidden width is :math:`\max(\text{min\_width}, C // r)` with an integer reduction ``r``;
  the code computes ``int(C * ratio)``, the same number for ``ratio = 1/r`` with ``r`` a power
  of two (the released models use 16 and 4);
* a hidden width of 1 is refused: LN over a single value returns its shift :math:`\beta`
  whatever the input, so the transform would add a constant and see nothing (with
  :math:`C < 2r` at the default, e.g. C = 16, r = 16). Pass a smaller ``reduction`` or
  ``min_width >= 2``;
* the code's ``assert`` checks become ``ValueError``/``TypeError`` naming the bad value.

The mask's bias is a parameter that never learns: adding a constant to every logit leaves the
softmax unchanged, so its gradient is zero (exactly, up to rounding). It is kept so the parameter
count and the ``state_dict`` match the authors'.

Paper versus popular code
-------------------------
timm's ``GlobalContext`` (huggingface/pytorch-image-models at commit
aa4b5850c1543fa488abf260f18390eda46cf85d, ``timm/layers/global_context.py``) defaults to the
*multiplicative* fusion (``fuse_scale=True, fuse_add=False``) with ``rd_ratio=1/8`` and does not
zero-initialise the scale branch: the same family of modules, not the paper's default block.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._validation import (
    check_choice,
    check_int,
    check_nonempty_feature_map,
    reduced_width,
)

__all__ = ["GC_FUSIONS", "GC_POOLINGS", "GlobalContext", "gc_macs", "gc_num_params"]

#: Names accepted by ``pooling``: the learned softmax over positions, or plain averaging.
GC_POOLINGS: tuple[str, ...] = ("att", "avg")
#: Names accepted in ``fusion``: add the transformed context, or gate with its sigmoid.
GC_FUSIONS: tuple[str, ...] = ("channel_add", "channel_mul")


def _check_fusion(fusion: object) -> tuple[str, ...]:
    if isinstance(fusion, str) or not isinstance(fusion, Sequence):
        raise TypeError(
            f"fusion must be a tuple of names from {list(GC_FUSIONS)}, got {fusion!r}"
        )
    fusion = tuple(fusion)
    if not fusion:
        raise ValueError("fusion must name at least one of 'channel_add', 'channel_mul', got ()")
    for name in fusion:
        check_choice("fusion entry", name, GC_FUSIONS)
    if len(set(fusion)) != len(fusion):
        raise ValueError(f"fusion must not repeat a name, got {fusion!r}")
    return fusion


def _hidden_width(channels: int, reduction: int, min_width: int) -> int:
    hidden = reduced_width(channels, reduction, min_width)
    if hidden < 2:
        raise ValueError(
            f"the hidden width channels // reduction = {channels} // {reduction} = {hidden} is "
            f"too small: LayerNorm over 1 value outputs its bias whatever the input, so the "
            f"transform would be a constant. Use reduction <= {channels // 2} or min_width >= 2"
        )
    return hidden


def _transform(channels: int, hidden: int) -> nn.Sequential:
    """1x1 conv (C -> C/r), LayerNorm over the C/r values, ReLU, 1x1 conv (C/r -> C)."""
    return nn.Sequential(
        nn.Conv2d(channels, hidden, kernel_size=1),
        nn.LayerNorm([hidden, 1, 1]),
        nn.ReLU(),
        nn.Conv2d(hidden, channels, kernel_size=1),
    )


class GlobalContext(nn.Module):
    r"""Global Context block: one attention-pooled context per image, transformed, fused.

    Args:
        channels: number of input (and output) channels :math:`C`.
        reduction: :math:`r` in the hidden width :math:`C // r` (authors' configurations: 16, or
            4 for their best detector).
        pooling: ``"att"`` (default; softmax over positions of a 1x1 convolution) or ``"avg"``
            (global average pooling, no mask convolution).
        fusion: a tuple from ``("channel_add", "channel_mul")``; default ``("channel_add",)``.
            With both, the product is applied first, then the sum (as the authors' code).
        min_width: floor on the hidden width :math:`\max(\text{min\_width}, C // r)`; the width
            must come out at least 2 (see the module docstring).

    Submodules: ``conv_mask`` and ``softmax`` (``pooling="att"`` only; a forward hook on
    ``softmax`` sees the weights :math:`\alpha` as (B, 1, HW)), ``channel_add_conv`` and
    ``channel_mul_conv`` (a transform each, or ``None``), and ``gate`` (``nn.Sigmoid``, for
    ``channel_mul``, else ``None``). :meth:`context` returns :math:`c` as (B, C, 1, 1) and
    :meth:`attention_map` the weights :math:`\alpha` as (B, 1, H, W).

    Shapes: input (B, C, H, W), output (B, C, H, W); any H, W >= 1 and any batch size >= 1.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        pooling: str = "att",
        fusion: Sequence[str] = ("channel_add",),
        min_width: int = 1,
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.reduction = check_int("reduction", reduction)
        self.pooling = check_choice("pooling", pooling, GC_POOLINGS)
        self.fusion = _check_fusion(fusion)
        self.min_width = check_int("min_width", min_width)
        self.hidden = _hidden_width(self.channels, self.reduction, self.min_width)
        if self.pooling == "att":
            self.conv_mask = nn.Conv2d(self.channels, 1, kernel_size=1)  # W_k: (1, C, 1, 1)
            self.softmax = nn.Softmax(dim=2)
        else:
            self.conv_mask = None
            self.softmax = None
        add, mul = "channel_add" in self.fusion, "channel_mul" in self.fusion
        self.channel_add_conv = _transform(self.channels, self.hidden) if add else None
        self.channel_mul_conv = _transform(self.channels, self.hidden) if mul else None
        self.gate = nn.Sigmoid() if mul else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The authors' initialisation (module docstring); other layers keep PyTorch's."""
        if self.conv_mask is not None:
            nn.init.kaiming_normal_(self.conv_mask.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(self.conv_mask.bias)
        for transform in (self.channel_add_conv, self.channel_mul_conv):
            if transform is not None:
                nn.init.zeros_(transform[-1].weight)
                nn.init.zeros_(transform[-1].bias)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        r"""The pooling weights :math:`\alpha` as (B, 1, H, W), summing to 1 over H x W.

        For ``pooling="avg"``, the uniform :math:`1/(HW)`.
        """
        x = check_nonempty_feature_map(x, self.channels)
        b, _, h, w = x.shape
        if self.conv_mask is None:
            return x.new_full((b, 1, h, w), 1.0 / (h * w))
        logits = self.conv_mask(x).flatten(2)  # (B, 1, H, W) -> (B, 1, HW)
        return self.softmax(logits).view(b, 1, h, w)  # softmax over HW, -> (B, 1, H, W)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled context :math:`c` as (B, C, 1, 1)."""
        x = check_nonempty_feature_map(x, self.channels)
        if self.conv_mask is None:
            return x.mean(dim=(2, 3), keepdim=True)  # (B, C, H, W) -> (B, C, 1, 1)
        b, c = x.shape[0], x.shape[1]
        alpha = self.softmax(self.conv_mask(x).flatten(2))  # (B, 1, H, W) -> (B, 1, HW)
        pooled = torch.bmm(x.flatten(2), alpha.transpose(1, 2))  # (B, C, HW) @ (B, HW, 1)
        return pooled.view(b, c, 1, 1)  # (B, C, 1) -> (B, C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.context(x)  # (B, C, 1, 1)
        out = x
        if self.channel_mul_conv is not None:
            out = out * self.gate(self.channel_mul_conv(c))  # (B, C, 1, 1) broadcast over H, W
        if self.channel_add_conv is not None:
            out = out + self.channel_add_conv(c)  # (B, C, 1, 1) broadcast over H, W
        return out

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, reduction={self.reduction}, hidden={self.hidden}, "
            f"pooling={self.pooling!r}, fusion={self.fusion}"
        )


def gc_num_params(
    channels: int,
    reduction: int = 16,
    pooling: str = "att",
    fusion: Sequence[str] = ("channel_add",),
    min_width: int = 1,
) -> int:
    r"""Learnable parameters of :class:`GlobalContext`, in closed form.

    With :math:`P = \max(\text{min\_width}, C // r)` and :math:`F` the number of fusions:

    .. math:: [\text{pooling = att}]\,(C + 1) + F\,(2CP + 3P + C)

    (mask weights and bias; per transform :math:`CP + P` and :math:`PC + C` for the two
    convolutions and :math:`2P` for LN's scale and shift). 8,753 for C = 256, r = 16, the default
    block; 33,473 for C = 256, r = 4.
    """
    channels = check_int("channels", channels)
    pooling = check_choice("pooling", pooling, GC_POOLINGS)
    n_fusion = len(_check_fusion(fusion))
    hidden = _hidden_width(channels, check_int("reduction", reduction),
                           check_int("min_width", min_width))
    mask = channels + 1 if pooling == "att" else 0
    return mask + n_fusion * (2 * channels * hidden + 3 * hidden + channels)


def gc_macs(
    channels: int,
    height: int,
    width: int,
    reduction: int = 16,
    pooling: str = "att",
    fusion: Sequence[str] = ("channel_add",),
    min_width: int = 1,
) -> dict[str, int]:
    r"""Closed-form operation counts of one :class:`GlobalContext` forward pass, per image.

    * ``"macs"``: multiply-accumulates of convolutions and matrix products, what
      :func:`attn_lessons.cost.count_flops` reports (``.macs``):
      :math:`[\text{att}]\, 2CHW + F \cdot 2CP` (the mask convolution and the attention pooling,
      :math:`CHW` each; two 1x1 convolutions per transform);
    * ``"mask_macs"``, ``"pool_macs"``, ``"transform_macs"``: those three parts;
    * ``"fuse_ops"``: :math:`F \cdot CHW`, one addition or multiplication per activation for each
      fusion, not counted in ``macs``.

    Unlike the non-local block, whose pairwise attention costs :math:`O((HW)^2 C)`, the cost grows
    only linearly with :math:`HW`.
    """
    channels = check_int("channels", channels)
    height = check_int("height", height)
    width = check_int("width", width)
    pooling = check_choice("pooling", pooling, GC_POOLINGS)
    n_fusion = len(_check_fusion(fusion))
    hidden = _hidden_width(channels, check_int("reduction", reduction),
                           check_int("min_width", min_width))
    positions = height * width
    mask = channels * positions if pooling == "att" else 0
    pool = channels * positions if pooling == "att" else 0
    transform = n_fusion * 2 * channels * hidden
    return {
        "macs": mask + pool + transform,
        "mask_macs": mask,
        "pool_macs": pool,
        "transform_macs": transform,
        "fuse_ops": n_fusion * channels * positions,
    }

