r"""Shuffle Attention, SA (Zhang and Yang; ICASSP 2021; arXiv:2102.00240).

CBAM computes a channel gate and a spatial gate for the whole map, each with its own small network.
Shuffle Attention makes both almost free: it cuts the channels into :math:`G` groups, halves each
group, gives one half a channel gate and the other a spatial gate, each with only a per-channel
scale and shift, and finally shuffles the channels so that the halves meet again in the next layer.

For :math:`x \in \mathbb{R}^{B \times C \times H \times W}` with :math:`C` divisible by
:math:`2G`, group :math:`k` holds channels :math:`kC/G, \dots, (k+1)C/G - 1`, split into halves
:math:`x_{k1}, x_{k2} \in \mathbb{R}^{c \times H \times W}` with :math:`c = C / 2G`. With
per-channel vectors :math:`w_1, b_1, w_2, b_2 \in \mathbb{R}^{c}` shared by all groups:

.. math::

    s_k = \frac{1}{HW} \sum_{i,j} x_{k1}(i, j) \in \mathbb{R}^{c}          (pool)

    x'_{k1} = \sigma(w_1 \odot s_k + b_1) \odot x_{k1}                        (channel gate)

    x'_{k2} = \sigma\bigl(w_2 \odot \mathrm{GN}(x_{k2}) + b_2\bigr) \odot x_{k2}  (spatial gate)

    y = \mathrm{shuffle}_2\bigl([x'_{11}, x'_{12}, \dots, x'_{G1}, x'_{G2}]\bigr)   (output)

where GN normalises each channel of each group over its H x W positions (GroupNorm with one
channel per group: :math:`(u - \mu) / \sqrt{\sigma^2 + \epsilon}`, :math:`\epsilon = 10^{-5}`) and
:math:`\mathrm{shuffle}_2` reads the C channels as a 2 x C/2 array and transposes it: output
channel :math:`2m + s` is input channel :math:`s C/2 + m`.

Pool → transform → gate → apply: the channel half is **pooled** by its spatial mean, the spatial
half is not pooled at all (GroupNorm's per-channel statistics play that role); the **transform**
is a per-channel scale and shift, no mixing across channels; the **gate** is a sigmoid, per
channel on one half and per position on the other; it **applies** by multiplication, then the
shuffle reorders the channels (a permutation: it changes no value).

Parameters: :math:`w_1, b_1, w_2, b_2` (:math:`4c`) and GroupNorm's affine :math:`\gamma, \beta`
(:math:`2c`), :math:`6c = 3C/G` in all: 12 for C = 256 and G = 64, 708 for the 16 blocks of
ResNet-50. There is no convolution or matrix product, so PyTorch's counter (and the book's cost
tables) count 0 MACs (:func:`shuffle_macs`); its real cost is elementwise, a few reads and writes
of the whole map.

Authors' code
-------------
wofmanaf/SA-Net at commit 00a676085e2ad12f3e2053109ece4840de6a5ce1, ``models/sa_resnet.py``:
``sa_layer.__init__`` (lines 21-31: ``groups=64``; ``cweight`` and ``sweight`` of shape
``(1, C/2G, 1, 1)`` initialised to 0, ``cbias`` and ``sbias`` to 1;
``nn.GroupNorm(C/2G, C/2G)``), ``channel_shuffle`` (lines 33-43) and ``forward`` (lines 45-66:
``x.reshape(b * groups, -1, h, w)``, ``chunk(2, dim=1)``, channel half first, ``torch.cat``,
reshape back, shuffle with 2 groups). The module sits after the last BatchNorm of each ResNet
bottleneck (line 115). This module computes the same function with the same parameters, with the
authors' initialisation; the names differ (``channel_weight``, ``channel_bias``,
``spatial_weight``, ``spatial_bias`` and ``norm`` for ``cweight``, ``cbias``, ``sweight``,
``sbias`` and ``gn``; same shapes, so a state dict maps key for key).

With the authors' initialisation the module starts as the constant gate :math:`\sigma(1) \approx
0.73` on every element, and GroupNorm's :math:`\gamma, \beta` receive no gradient until
:math:`w_2` has moved away from 0 (after the first optimiser step).

Paper versus popular code
-------------------------
* **GroupNorm's affine parameters.** The paper's spatial gate is :math:`\sigma(W_2 \cdot
  \mathrm{GN}(x) + b_2)`; the authors' ``nn.GroupNorm`` is affine, so the code computes
  :math:`\sigma(w_2(\gamma \hat{x} + \beta) + b_2)`. Both describe the same set of gates
  (:math:`w_2 \gamma` and :math:`w_2 \beta + b_2` are again a scale and a shift), but the code has
  :math:`2c` more parameters. Default: the code's (``norm_affine=True``); ``norm_affine=False``
  gives the paper's equation and :math:`2C/G` parameters.
* **A channel count the groups do not divide.** The authors' layer floors ``channel // (2 *
  groups)`` and only fails in the forward pass (or builds parameters of width 0, e.g. C = 96 with
  G = 64); here the constructor refuses it and names a ``groups`` that fits.
* **External-Attention issue #22** (xmu-xiaoma666/External-Attention-pytorch, opened 2021-07-25,
  still open): at commit 4f21eba1ae338dd0be6bd2a57656da55e2504580 the channel branch of
  ``attention/ShuffleAttention.py`` (line 59) computed ``cweight * s + cweight``: the shift was
  tied to the scale, and ``cbias`` was never used and never learnt. Commit
  1f94778fbd3aaef4685ca7d1c2269a0bd3cee699 (2021-09-04, titled "readme") fixed it; at commit
  d75848e40233ed56fa503c888472bab8b17c568c (``model/attention/ShuffleAttention.py``) the line
  reads ``cweight * s + cbias``. That copy still differs from the authors' in its default
  ``G=8`` (authors: 64), an unused ``reduction`` argument and an ``init_weights`` method that is
  never called.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_bool, check_int, check_nonempty_feature_map

__all__ = ["ShuffleAttention", "channel_shuffle", "shuffle_macs", "shuffle_num_params"]


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    r"""ShuffleNet's channel shuffle: read the C channels as a ``groups x C/groups`` array and
    transpose it. Output channel :math:`j \cdot \text{groups} + s` is input channel
    :math:`s C/\text{groups} + j`. Shape ``(B, C, H, W)`` kept."""
    b, c, h, w = x.shape
    x = x.reshape(b, groups, c // groups, h, w)             # (B, C, H, W) -> (B, g, C/g, H, W)
    x = x.transpose(1, 2)                                   # -> (B, C/g, g, H, W)
    return x.reshape(b, c, h, w)                            # -> (B, C, H, W)


def _sub_width(channels: int, groups: int) -> int:
    """C / 2G, the width of each half-group, after checking that 2G divides C."""
    if channels % (2 * groups) != 0:
        half = channels // 2
        hint = (
            f"; groups={math.gcd(half, groups)} fits (it divides channels / 2 = {half})"
            if channels % 2 == 0 else "; channels must be even"
        )
        raise ValueError(
            f"channels={channels} must be divisible by 2 * groups = {2 * groups}: each of the "
            f"{groups} groups is split into a channel half and a spatial half{hint}"
        )
    return channels // (2 * groups)


class ShuffleAttention(nn.Module):
    r"""Shuffle Attention (SA-Net's ``sa_layer``), shape ``(B, C, H, W)`` kept.

    Args:
        channels: number of channels C; must be divisible by ``2 * groups``.
        groups: number of groups G (authors: 64, which needs C to be a multiple of 128; use e.g.
            ``groups=4`` for a 16-channel map).
        norm_affine: GroupNorm with its own :math:`\gamma, \beta`, as in the authors' code;
            ``False`` gives the paper's equation (see the module docstring).

    Parameters ``channel_weight``, ``channel_bias``, ``spatial_weight``, ``spatial_bias``, each of
    shape ``(1, C/2G, 1, 1)``, and submodules ``norm`` (``GroupNorm(C/2G, C/2G)``),
    ``channel_gate`` and ``spatial_gate`` (``nn.Sigmoid``); hooks on the gates see them in the
    grouped layout, ``(B*G, C/2G, 1, 1)`` and ``(B*G, C/2G, H, W)``.
    """

    def __init__(self, channels: int, groups: int = 64, norm_affine: bool = True) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.groups = check_int("groups", groups)
        self.norm_affine = check_bool("norm_affine", norm_affine)
        self.sub_width = _sub_width(self.channels, self.groups)
        c = self.sub_width
        self.channel_weight = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.channel_bias = nn.Parameter(torch.ones(1, c, 1, 1))
        self.spatial_weight = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.spatial_bias = nn.Parameter(torch.ones(1, c, 1, 1))
        self.norm = nn.GroupNorm(c, c, eps=1e-5, affine=self.norm_affine)
        self.channel_gate = nn.Sigmoid()
        self.spatial_gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_nonempty_feature_map(x, self.channels)
        b, _, h, w = x.shape
        c = self.sub_width
        u = x.reshape(b * self.groups, 2 * c, h, w)         # (B, C, H, W) -> (B*G, C/G, H, W)
        u1, u2 = u[:, :c], u[:, c:]                         # -> 2 x (B*G, C/2G, H, W)
        s = u1.mean(dim=(2, 3), keepdim=True)               # (B*G, C/2G, H, W) -> (B*G, C/2G, 1, 1)
        y1 = u1 * self.channel_gate(self.channel_weight * s + self.channel_bias)
        n = self.norm(u2)                                   # (B*G, C/2G, H, W), kept
        y2 = u2 * self.spatial_gate(self.spatial_weight * n + self.spatial_bias)
        y = torch.cat([y1, y2], dim=1)                      # -> (B*G, C/G, H, W)
        y = y.reshape(b, self.channels, h, w)               # (B*G, C/G, H, W) -> (B, C, H, W)
        return channel_shuffle(y, 2)                        # (B, C, H, W), channels reordered

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, groups={self.groups}, sub_width={self.sub_width}, "
            f"norm_affine={self.norm_affine}"
        )


def shuffle_num_params(channels: int, groups: int = 64, norm_affine: bool = True) -> int:
    r"""Learnable parameters of :class:`ShuffleAttention`: :math:`3C/G`, or :math:`2C/G` with
    ``norm_affine=False``.

    Four per-channel vectors of width :math:`c = C/2G` plus GroupNorm's :math:`\gamma, \beta`
    (:math:`2c`) when affine. Raises ``ValueError`` if ``2 * groups`` does not divide ``channels``.
    """
    c = _sub_width(check_int("channels", channels), check_int("groups", groups))
    return 4 * c + (2 * c if check_bool("norm_affine", norm_affine) else 0)


def shuffle_macs(channels: int, height: int, width: int, groups: int = 64) -> int:
    r"""MACs of one image's forward pass as PyTorch's counter counts them: 0.

    The module has no convolution and no matrix product, the only operations the book's cost
    tables count (see :mod:`attn_lessons.cost`). Its work is elementwise: a mean over half of the
    map, GroupNorm over the other half, one scale-and-shift per element of that half, the sigmoid
    gates and the product, all proportional to :math:`CHW` and none seen by the counter.
    Arguments are checked as for :func:`shuffle_num_params`.
    """
    _sub_width(check_int("channels", channels), check_int("groups", groups))
    check_int("height", height)
    check_int("width", width)
    return 0
