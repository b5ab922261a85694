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

where :math:`F \ast z` is, by default, a depthwise 1-D convolution along the strip (one kernel
of size :math:`k = 7` per channel, no bias, zero padding :math:`(k - 1)/2`), and GN is GroupNorm
with 16 groups: each image's channels are cut into 16 groups, each group normalised over its
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
:math:`Ck(H + W)` per image (:func:`ela_macs`). With a grouped convolution of :math:`g` groups
(``conv_groups``; :math:`g = C` is depthwise) each output channel reads :math:`C/g` input
channels: :math:`C \cdot (C/g) \cdot k + 2C` parameters and :math:`C \cdot (C/g) \cdot k (H + W)`
MACs.

Sources: no authors' code
-------------------------
The authors have not published a repository. The paper prints a PyTorch listing of the module,
in which **one** depthwise ``nn.Conv1d(C, C, k, padding=k // 2, groups=C, bias=False)`` and
**one** ``nn.GroupNorm(16, C)`` serve both strips, with ``k = 7``; that listing is the reference
here and sets the defaults (``shared=True, norm_groups=16, kernel_size=7``, depthwise
``conv_groups=C``).

The four sized versions: ELA-T, ELA-B, ELA-S, ELA-L
---------------------------------------------------
The paper defines four versions from three hyperparameters. We could not read the paper's table:
neither the paper's text nor a copy of the table is among the sources available to us (its
abstract, which names the four versions and says there are three hyperparameters, is). The
numbers below are therefore **the version-letter port's**, the one every copy we found repeats:
the module that takes a version letter ``phi``, here read at bobo504/KED-YOLO, commit
faaee5fe8e3d5887652997cec961e2c33417635e (2024-12-24), ``models/ELA.py``, lines 13-15 (the
three tables), 17-19 (the layers) and 21-29 (the forward pass, the paper's listing's). The
same code was posted on CSDN in March 2024 (blog.csdn.net/m0_58869724/article/details/137085436),
which names the three hyperparameters as the convolution's kernel size and ``groups`` and
GroupNorm's ``num_groups``, and attributes the four versions to the paper:

=========  ===========  ================================  ===========
version    kernel k     convolution groups                GroupNorm
=========  ===========  ================================  ===========
ELA-T      5            C (depthwise)                     32 groups
ELA-B      7            C (depthwise)                     16 groups
ELA-S      5            C / 8 (8 channels a group)        16 groups
ELA-L      7            C / 8 (8 channels a group)        16 groups
=========  ===========  ================================  ===========

:data:`ELA_VERSIONS` holds the table, :func:`ela_version_kwargs` turns a letter and a width into
constructor arguments, and :meth:`ELA.from_version` builds one. ELA-B has the numbers of the
paper's listing, the library's defaults. ELA-S and ELA-L are not depthwise: their convolution
mixes the 8 channels of each group, so a channel's strip filter sees its 7 neighbours' strips
too, and the convolution has :math:`8Ck` weights instead of :math:`Ck`. The version-letter port
writes ``groups = C // 8``, which for a width not divisible by 8 is not "8 channels a group" (C = 12
gives one group of 12 channels; C = 44 gives 5 groups, which PyTorch refuses), and its
``GroupNorm(32, C)`` for ELA-T raises inside GroupNorm unless 32 divides C. The library refuses,
when the module is built, every width a version cannot take (not a multiple of 16 for ELA-B,
ELA-S and ELA-L, of 32 for ELA-T) and names widths that fit.

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
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from ._validation import (
    check_bool,
    check_choice,
    check_int,
    check_nonempty_feature_map,
    check_odd_kernel,
)

__all__ = [
    "ELA",
    "ELA_ACTIVATIONS",
    "ELA_VERSIONS",
    "ela_macs",
    "ela_num_params",
    "ela_version_kwargs",
]

#: Activations allowed between GroupNorm and the sigmoid: none (the paper) or SiLU (timm).
ELA_ACTIVATIONS: tuple[str, ...] = ("none", "silu")

#: The four sized versions, by letter: the 1-D kernel size, the number of channels in each group
#: of the convolution (1: depthwise, ``conv_groups = C``; 8: ``conv_groups = C / 8``) and
#: GroupNorm's number of groups. Source: the version-letter port (bobo504/KED-YOLO
#: @faaee5fe8e3d5887652997cec961e2c33417635e, ``models/ELA.py``, lines 13-15), not the paper's
#: table, which we could not read (module docstring). Read-only.
ELA_VERSIONS: Mapping[str, Mapping[str, int]] = MappingProxyType({
    "T": MappingProxyType({"kernel_size": 5, "channels_per_conv_group": 1, "norm_groups": 32}),
    "B": MappingProxyType({"kernel_size": 7, "channels_per_conv_group": 1, "norm_groups": 16}),
    "S": MappingProxyType({"kernel_size": 5, "channels_per_conv_group": 8, "norm_groups": 16}),
    "L": MappingProxyType({"kernel_size": 7, "channels_per_conv_group": 8, "norm_groups": 16}),
})


def _check_norm_groups(channels: int, norm_groups: int) -> int:
    norm_groups = check_int("norm_groups", norm_groups)
    if channels % norm_groups != 0:
        raise ValueError(
            f"channels={channels} must be divisible by norm_groups={norm_groups}: GroupNorm cuts "
            f"the channels into equal groups; norm_groups={math.gcd(channels, norm_groups)} fits"
        )
    return norm_groups


def _check_conv_groups(channels: int, conv_groups: int | None) -> int:
    """``conv_groups``, or ``channels`` (depthwise) for ``None``, after checking it divides C."""
    if conv_groups is None:
        return channels
    conv_groups = check_int("conv_groups", conv_groups)
    if channels % conv_groups != 0:
        fits = [g for g in range(1, channels + 1) if channels % g == 0]
        shown = [str(g) for g in fits] if len(fits) <= 12 else (
            [str(g) for g in fits[:6]] + ["..."] + [str(g) for g in fits[-3:]])
        raise ValueError(
            f"conv_groups={conv_groups} must divide channels={channels}: the convolution cuts "
            f"the channels into equal groups; {', '.join(shown)} fit "
            f"(conv_groups={channels} is depthwise)"
        )
    return conv_groups


def ela_version_kwargs(version: str, channels: int) -> dict[str, int]:
    """The constructor arguments of version ``version`` (``"T"``, ``"B"``, ``"S"`` or ``"L"``) at
    width ``channels``: ``kernel_size``, ``conv_groups`` and ``norm_groups``.

    For a network with blocks of several widths, ``lambda c: ela_version_kwargs("S", c)`` is an
    ``attention_kwargs`` (:data:`attn_lessons.factory.AttentionKwargs`). Raises ``ValueError`` for
    an unknown letter and for a width the version cannot take (not a multiple of 8 for ELA-S and
    ELA-L, whose convolution groups hold 8 channels; not a multiple of the GroupNorm groups).
    """
    version = check_choice("version", version, ELA_VERSIONS)
    channels = check_int("channels", channels)
    spec = ELA_VERSIONS[version]
    per_group, norm_groups = spec["channels_per_conv_group"], spec["norm_groups"]
    step = math.lcm(per_group, norm_groups)
    if channels % step != 0:
        why = f"its GroupNorm has {norm_groups} groups"
        if per_group > 1:
            why = f"its convolution has groups of {per_group} channels and {why}"
        raise ValueError(
            f"ELA-{version} cannot take channels={channels}: {why}, so the width must be a "
            f"multiple of {step} (e.g. {step}, {2 * step}, {4 * step})"
        )
    return {"kernel_size": spec["kernel_size"], "conv_groups": channels // per_group,
            "norm_groups": norm_groups}


class ELA(nn.Module):
    r"""Efficient Local Attention: ``y = x * g_h * g_w``, shape ``(B, C, H, W)`` kept.

    Args:
        channels: number of channels C (divisible by ``norm_groups``).
        kernel_size: odd size k of the 1-D convolutions (paper's listing: 7).
        norm_groups: GroupNorm's number of groups (paper's listing: 16; timm: 1).
        shared: one convolution and one GroupNorm for both strips (paper's listing), or one of
            each per direction (timm).
        activation: ``"none"`` (paper) or ``"silu"`` (timm) between GroupNorm and the sigmoid.
        bias: biases on the convolutions (neither source has them).
        conv_groups: the convolutions' number of groups, a divisor of C; ``None`` (the default,
            the paper's listing) is C, depthwise. ELA-S and ELA-L use C / 8.

    :meth:`from_version` builds one of the four sized versions (:data:`ELA_VERSIONS`).

    Submodules: ``conv`` and ``norm`` when ``shared``, else ``conv_h``, ``conv_w``, ``norm_h``
    and ``norm_w`` (``nn.Conv1d`` and ``nn.GroupNorm``); ``act``; and the gates
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
        conv_groups: int | None = None,
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.kernel_size = check_odd_kernel("kernel_size", kernel_size)
        self.norm_groups = _check_norm_groups(self.channels, norm_groups)
        self.conv_groups = _check_conv_groups(self.channels, conv_groups)
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
        return nn.Conv1d(self.channels, self.channels, k, padding=k // 2, groups=self.conv_groups,
                         bias=self.bias)

    @classmethod
    def from_version(cls, version: str, channels: int, **kwargs: Any) -> ELA:
        """ELA-T, -B, -S or -L (``version`` ``"T"``, ``"B"``, ``"S"``, ``"L"``) at width
        ``channels`` (:func:`ela_version_kwargs`); ``kwargs`` (``shared``, ``activation``,
        ``bias``) go to the constructor."""
        return cls(channels, **ela_version_kwargs(version, channels), **kwargs)

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
            f"conv_groups={self.conv_groups}, norm_groups={self.norm_groups}, "
            f"shared={self.shared}, "
            f"activation={self.activation!r}, bias={self.bias}"
        )


def ela_num_params(
    channels: int,
    kernel_size: int = 7,
    norm_groups: int = 16,
    shared: bool = True,
    bias: bool = False,
    conv_groups: int | None = None,
) -> int:
    r"""Learnable parameters of :class:`ELA`: :math:`n\,(C \cdot (C/g) \cdot k + 2C +
    [\text{bias}]\,C)`.

    :math:`g` is ``conv_groups`` (C, depthwise, when ``None``: :math:`Ck + 2C`, :math:`9C` for
    k = 7, the paper's listing); :math:`n = 1` with ``shared=True``, 2 without (timm: :math:`18C`).
    ``norm_groups`` changes no count; it is checked (it must divide C).
    """
    c = check_int("channels", channels)
    k = check_odd_kernel("kernel_size", kernel_size)
    _check_norm_groups(c, norm_groups)
    g = _check_conv_groups(c, conv_groups)
    copies = 1 if check_bool("shared", shared) else 2
    return copies * (c * (c // g) * k + 2 * c + (c if check_bool("bias", bias) else 0))


def ela_macs(channels: int, height: int, width: int, kernel_size: int = 7,
             conv_groups: int | None = None) -> int:
    r"""MACs of one image's forward pass as PyTorch's counter counts them:
    :math:`C \cdot (C/g) \cdot k\,(H + W)`, i.e. :math:`Ck(H + W)` when depthwise (g = C).

    The convolutions compute :math:`(C/g)\,k` products per output channel and strip position
    (``conv_groups`` g; C, depthwise, when ``None``), the same whether the two strips share a
    convolution or not. Not counted: the poolings, GroupNorm, the activations and the products
    with the gates.
    """
    c = check_int("channels", channels)
    h = check_int("height", height)
    w = check_int("width", width)
    k = check_odd_kernel("kernel_size", kernel_size)
    g = _check_conv_groups(c, conv_groups)
    return c * (c // g) * k * (h + w)
