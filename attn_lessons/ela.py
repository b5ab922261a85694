r"""Efficient Local Attention, ELA (Xu and Wan, 2024, arXiv:2403.01123).

ELA is Coordinate Attention (chapter 5) with its bottleneck removed. It pools rows and columns as
Coordinate Attention does, but instead of mixing the channels through a reduced width with
BatchNorm it filters each channel's two strips separately with a depthwise 1-D convolution and
normalises with GroupNorm. For :math:`x \in \mathbb{R}^{B \times C \times H \times W}`:

.. math::

    z^h_c(i) = \frac{1}{W} \sum_{j=1}^{W} x_c(i, j), \qquad
    z^w_c(j) = \frac{1}{H} \sum_{i=1}^{H} x_c(i, j)                       (1-D poolings)

    g^h = \sigma\bigl(\mathrm{GN}(F_h \ast z^h)\bigr) \in \mathbb{R}^{C \times H}, \qquad
    g^w = \sigma\bigl(\mathrm{GN}(F_w \ast z^w)\bigr) \in \mathbb{R}^{C \times W}    (gates)

    y_c(i, j) = x_c(i, j) \, g^h_c(i) \, g^w_c(j)                                  (output)

where :math:`F \ast z` is a depthwise 1-D convolution along the strip (one kernel of size
:math:`k = 7` per channel, no bias, zero padding :math:`(k - 1)/2`), and GN is GroupNorm with 16
groups: each image's channels are cut into 16 groups, each group normalised over its
:math:`C/16` channels and all positions of the strip, then scaled and shifted per channel.

Pool → transform → gate → apply: it **pools** rows and columns (two strips per channel); it
**transforms** each strip by a 1-D convolution *along the strip*, local in position and with no
mixing across channels (only GroupNorm's statistics are shared within a group); the **gates** are
two sigmoids; it **applies** their product, a rank-one H x W map per channel, as Coordinate
Attention does. What it gives up against Coordinate Attention is the mixing of channels; what it
gains is a gate at full channel width, with no reduction, and a receptive field of :math:`k`
positions along each strip instead of one.

Parameters (the paper's form, one convolution and one GroupNorm for both strips):
:math:`Ck + 2C`, i.e. :math:`9C` for :math:`k = 7`, linear in C where Coordinate Attention's
:math:`3Cm + \dots` grows with its hidden width m. MACs counted by PyTorch's counter:
:math:`Ck(H + W)` per image (:func:`ela_macs`).

Sources: no authors' code
-------------------------
The authors have not published a repository. The paper prints a PyTorch listing of the module,
in which **one** depthwise ``nn.Conv1d(C, C, k, padding=k // 2, groups=C, bias=False)`` and
**one** ``nn.GroupNorm(16, C)`` serve both strips, with ``k = 7``; that listing is the reference
here and sets the defaults (``shared=True, norm_groups=16, kernel_size=7``). The paper also
defines four sized versions (ELA-T, ELA-B, ELA-S, ELA-L) from three hyperparameters, among them
the kernel size and the number of GroupNorm groups, both arguments here.

The most-used port is timm's ``EfficientLocalAttn`` (huggingface/pytorch-image-models, added in
commit af3732eebe8c1964e5ba5f2769f955e6e0deb980 of 2025-11-26, ``timm/layers/coord_attn.py``,
lines 176-260, unchanged since). It differs from the paper's listing in three ways:

* **separate layers per direction**: ``conv_h`` (a ``(k, 1)`` depthwise ``Conv2d``) and
  ``conv_w`` (``(1, k)``), and two norms ``norm_h``, ``norm_w``: twice the parameters,
  :math:`2Ck + 4C`;
* **GroupNorm with one group** (timm's ``GroupNorm1``): each strip normalised over all C channels
  at once, not in 16 groups;
* **a SiLU between the norm and the sigmoid**: the gate is :math:`\sigma(\mathrm{SiLU}(\cdot))`.
  SiLU is bounded below by :math:`\min_t t\sigma(t) \approx -0.278`, so each of timm's gates stays
  above :math:`\sigma(-0.278) \approx 0.431` and their product above about 0.186: timm's ELA can
  damp an element to no less than about a fifth, where the paper's can shut it off.

``ELA(C, shared=False, norm_groups=1, activation="silu")`` is timm's module with its defaults,
with the same parameters (the convolution weights reshaped from ``(C, 1, k, 1)`` and
``(C, 1, 1, k)`` to ``(C, 1, k)``); the tests check both forms against re-statements of the two
sources.

Paper versus popular code
-------------------------
The External-Attention collection has no copy (commit d75848e40233ed56fa503c888472bab8b17c568c).
Besides timm's three changes above: the YOLO-tutorial copies of the paper's listing keep the
shared convolution and ``GroupNorm(16, C)``, which raises inside GroupNorm for a channel count not
divisible by 16; here the constructor names a ``norm_groups`` that fits. Blog copies have also
circulated under the same name with a channel bottleneck, BatchNorm or a 2-D spatial convolution
(a different module).

GroupNorm and tiny maps: PyTorch's GroupNorm refuses a group that holds a single value
("Expected more than 1 value per channel"), which happens here for one image whose strip has one
position (H = 1 or W = 1) when each group holds one channel (C = ``norm_groups``, e.g. C = 16 with
the default). A batch of two, or fewer groups, avoids it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import (
    check_bool,
    check_choice,
    check_int,
    check_nonempty_feature_map,
    check_odd_kernel,
)

__all__ = ["ELA", "ELA_ACTIVATIONS", "ela_macs", "ela_num_params"]

#: Activations allowed between GroupNorm and the sigmoid: none (the paper) or SiLU (timm).
ELA_ACTIVATIONS: tuple[str, ...] = ("none", "silu")


def _check_norm_groups(channels: int, norm_groups: int) -> int:
    norm_groups = check_int("norm_groups", norm_groups)
    if channels % norm_groups != 0:
        raise ValueError(
            f"channels={channels} must be divisible by norm_groups={norm_groups}: GroupNorm cuts "
            f"the channels into equal groups; norm_groups={math.gcd(channels, norm_groups)} fits"
        )
    return norm_groups


class ELA(nn.Module):
    r"""Efficient Local Attention: ``y = x * g_h * g_w``, shape ``(B, C, H, W)`` kept.

    Args:
        channels: number of channels C (divisible by ``norm_groups``).
        kernel_size: odd size k of the depthwise 1-D convolutions (paper's listing: 7).
        norm_groups: GroupNorm's number of groups (paper's listing: 16; timm: 1).
        shared: one convolution and one GroupNorm for both strips (paper's listing), or one of
            each per direction (timm).
        activation: ``"none"`` (paper) or ``"silu"`` (timm) between GroupNorm and the sigmoid.
        bias: biases on the convolutions (neither source has them).

    Submodules: ``conv`` and ``norm`` when ``shared``, else ``conv_h``, ``conv_w``, ``norm_h``
    and ``norm_w`` (depthwise ``nn.Conv1d`` and ``nn.GroupNorm``); ``act``; and the gates
    ``gate_h`` and ``gate_w`` (``nn.Sigmoid``), whose outputs, of shapes ``(B, C, H)`` and
    ``(B, C, W)``, a forward hook can read.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 7,
        norm_groups: int = 16,
        shared: bool = True,
        activation: str = "none",
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.kernel_size = check_odd_kernel("kernel_size", kernel_size)
        self.norm_groups = _check_norm_groups(self.channels, norm_groups)
        self.shared = check_bool("shared", shared)
        self.activation = check_choice("activation", activation, ELA_ACTIVATIONS)
        self.bias = check_bool("bias", bias)
        if self.shared:
            self.conv = self._conv()
            self.norm = nn.GroupNorm(self.norm_groups, self.channels, eps=1e-5)
        else:
            self.conv_h, self.conv_w = self._conv(), self._conv()
            self.norm_h = nn.GroupNorm(self.norm_groups, self.channels, eps=1e-5)
            self.norm_w = nn.GroupNorm(self.norm_groups, self.channels, eps=1e-5)
        self.act = nn.SiLU() if self.activation == "silu" else nn.Identity()
        self.gate_h = nn.Sigmoid()
        self.gate_w = nn.Sigmoid()

    def _conv(self) -> nn.Conv1d:
        k = self.kernel_size
        return nn.Conv1d(self.channels, self.channels, k, padding=k // 2, groups=self.channels,
                         bias=self.bias)

    def gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(g_h, g_w)`` of shapes ``(B, C, H)`` and ``(B, C, W)``."""
        x = check_nonempty_feature_map(x, self.channels)
        z_h = x.mean(dim=3)                                 # (B, C, H, W) -> (B, C, H)
        z_w = x.mean(dim=2)                                 # (B, C, H, W) -> (B, C, W)
        conv_h, conv_w = (self.conv, self.conv) if self.shared else (self.conv_h, self.conv_w)
        norm_h, norm_w = (self.norm, self.norm) if self.shared else (self.norm_h, self.norm_w)
        g_h = self.gate_h(self.act(norm_h(conv_h(z_h))))    # (B, C, H), kept
        g_w = self.gate_w(self.act(norm_w(conv_w(z_w))))    # (B, C, W), kept
        return g_h, g_w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g_h, g_w = self.gates(x)
        return x * g_h[:, :, :, None] * g_w[:, :, None, :]  # (B, C, H, 1) * (B, C, 1, W)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, kernel_size={self.kernel_size}, "
            f"norm_groups={self.norm_groups}, shared={self.shared}, "
            f"activation={self.activation!r}, bias={self.bias}"
        )


def ela_num_params(
    channels: int,
    kernel_size: int = 7,
    norm_groups: int = 16,
    shared: bool = True,
    bias: bool = False,
) -> int:
    r"""Learnable parameters of :class:`ELA`: :math:`n\,(Ck + 2C + [\text{bias}]\,C)`.

    :math:`n = 1` with ``shared=True`` (the paper's listing: :math:`9C` for k = 7), 2 without
    (timm: :math:`18C`). ``norm_groups`` changes no count; it is checked (it must divide C).
    """
    c = check_int("channels", channels)
    k = check_odd_kernel("kernel_size", kernel_size)
    _check_norm_groups(c, norm_groups)
    copies = 1 if check_bool("shared", shared) else 2
    return copies * (c * k + 2 * c + (c if check_bool("bias", bias) else 0))


def ela_macs(channels: int, height: int, width: int, kernel_size: int = 7) -> int:
    r"""MACs of one image's forward pass as PyTorch's counter counts them: :math:`Ck(H + W)`.

    The depthwise convolutions compute :math:`k` products per channel and strip position, the
    same whether the two strips share a convolution or not. Not counted: the poolings,
    GroupNorm, the activations and the products with the gates.
    """
    c = check_int("channels", channels)
    h = check_int("height", height)
    w = check_int("width", width)
    return c * check_odd_kernel("kernel_size", kernel_size) * (h + w)
