r"""Efficient Multi-scale Attention, EMA (Ouyang, He, Zhang, Luo, Guo, Zhan and Huang; ICASSP 2023;
arXiv:2305.13563).

.. warning::

   EMA here is an attention module, **not an exponential moving average** (the running average
   of a network's weights that timm keeps with ``--model-ema``, or of BatchNorm's statistics).
   The acronym invites the mix-up, and it has been published: a CSDN post on improving YOLOv8
   with "EMA (指数移动平均, exponential moving average) attention"
   (blog.csdn.net/qq_42591591/article/details/142449692) offers, under this module's name, a loop
   that averages each pixel recursively with its upper-left neighbour (``gamma=0.9``) followed by a
   1 x 1 convolution: a different module, with none of the equations below. The authors' own
   README trains their MobileNetV2 with ``--model-ema --model-ema-decay 0.9999``, so both meanings
   appear in one command line there. Nothing in this module averages over time.

EMA gives every group of channels a spatial gate built from two branches at two scales, a 1 x 1
branch that pools rows and columns as Coordinate Attention does and a 3 x 3 convolution, and lets
each branch's channel descriptor weight the other branch's positions ("cross-spatial learning").
For :math:`x \in \mathbb{R}^{B \times C \times H \times W}` with :math:`C` divisible by :math:`G`,
each image's channels are cut into :math:`G` groups :math:`u \in \mathbb{R}^{c \times H \times W}`,
:math:`c = C/G`, and every group is treated alike with the same weights:

.. math::

    z^h(i) = \frac{1}{W} \sum_{j} u(:, i, j), \qquad z^w(j) = \frac{1}{H} \sum_{i} u(:, i, j)
                                                                       (1-D poolings)

    [f^h, f^w] = W_1 [z^h, z^w] + b_1                     (shared 1 x 1 conv, c -> c)

    x_1 = \mathrm{GN}\bigl(u \odot \sigma(f^h) \odot \sigma(f^w)\bigr)      (1 x 1 branch)

    x_2 = W_3 \ast u + b_3                                (3 x 3 conv, c -> c, padding 1)

    a_1 = \mathrm{softmax}\Bigl(\frac{1}{HW} \sum_{i,j} x_1(:, i, j)\Bigr), \quad
    a_2 = \mathrm{softmax}\Bigl(\frac{1}{HW} \sum_{i,j} x_2(:, i, j)\Bigr) \in \mathbb{R}^{c}

    m(i, j) = a_1^\top x_2(:, i, j) + a_2^\top x_1(:, i, j)     (cross-spatial map)

    y(:, i, j) = \sigma(m(i, j))\, u(:, i, j)                                (output)

where :math:`\sigma(f^h)` is broadcast along W and :math:`\sigma(f^w)` along H, GN is GroupNorm
with one channel per group (each channel normalised over its H x W positions, then its own
:math:`\gamma, \beta`), and the softmax runs over the :math:`c` channels.

Pool → transform → gate → apply: it **pools** rows and columns (1 x 1 branch) and then both
branches over the whole map (the descriptors :math:`a_1, a_2`); it **transforms** by a shared
1 x 1 convolution, a 3 x 3 convolution, GroupNorm and the two softmax-weighted channel sums; the
**gate** is a sigmoid of one H x W map per group; it **applies** that map to every channel of its
group. There is no channel gate in the output: channel information enters only through the
weights :math:`a_1, a_2` of the cross-spatial sums.

Parameters: the 1 x 1 convolution :math:`c^2 + c`, the 3 x 3 convolution :math:`9c^2 + c`,
GroupNorm :math:`2c`: :math:`10c^2 + 4c` (672 for C = 256 and G = 32). MACs counted by PyTorch's
counter, per image: :math:`Cc(H + W) + 9CcHW` for the convolutions and :math:`2CHW` for the two
cross-spatial products (:func:`ema_macs`).

Authors' code
-------------
YOLOonMe/EMA-attention-module at commit afc37ecf52454c03421a86105fc5c16eb4ea1ad3, file
``EMA_attention_module`` (no extension): ``EMA.__init__`` (lines 5-15: ``factor=32`` groups,
``nn.GroupNorm(c, c)``, ``conv1x1`` and ``conv3x3`` from c to c channels with PyTorch's default
biases) and ``EMA.forward`` (lines 17-31). This module computes the same function with the same
parameters and the same default. Differences:

* the group count is called ``groups`` (the authors' ``factor``), the house name;
* the authors' second argument ``c2`` (a YOLO-style output width) is unused there and absent
  here;
* the authors check ``channels // factor > 0`` with an ``assert`` (which ``python -O`` removes);
  a channel count that the groups do not divide, e.g. 48 with 32 groups, passes it and fails in
  the forward pass's reshape. Here the constructor raises ``ValueError`` and names a ``groups``
  that fits;
* GroupNorm is ``norm`` here (the authors' ``gn``); the poolings and the softmax are tensor
  operations rather than modules, and the three sigmoids are modules (``gate_h``, ``gate_w``,
  ``gate``) so that hooks can read them.

Paper versus popular code
-------------------------
We found no bug report against the authors' module (its issue tracker holds questions about
where to insert it). The External-Attention collection has no copy of it (commit
d75848e40233ed56fa503c888472bab8b17c568c). The copies in YOLO tutorials usually keep its forward
pass and change its defaults or its signature; the common failures are the two above: a channel
count not divisible by ``factor``, and the ``EMA`` name taken for a moving average.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_int, check_nonempty_feature_map

__all__ = ["EMA", "ema_macs", "ema_num_params"]


def _group_width(channels: int, groups: int) -> int:
    """C / G, after checking that G divides C."""
    if channels % groups != 0:
        raise ValueError(
            f"channels={channels} must be divisible by groups={groups}: EMA cuts the channels "
            f"into {groups} equal groups; groups={math.gcd(channels, groups)} fits"
        )
    return channels // groups


class EMA(nn.Module):
    r"""Efficient Multi-scale Attention (not an exponential moving average), ``(B, C, H, W)`` kept.

    Args:
        channels: number of channels C; must be divisible by ``groups``.
        groups: number of groups G (the authors' ``factor``, default 32, which needs C to be a
            multiple of 32; use e.g. ``groups=4`` for an 8-channel map).

    Submodules ``conv1x1`` and ``conv3x3`` (c -> c with biases, c = C/G), ``norm``
    (``GroupNorm(c, c)``), and the sigmoids ``gate_h`` ``(B*G, c, H, 1)``, ``gate_w``
    ``(B*G, c, 1, W)`` and ``gate`` ``(B*G, 1, H, W)``, whose outputs a forward hook can read in
    that grouped layout.
    """

    def __init__(self, channels: int, groups: int = 32) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.groups = check_int("groups", groups)
        self.group_width = _group_width(self.channels, self.groups)
        c = self.group_width
        self.conv1x1 = nn.Conv2d(c, c, kernel_size=1)
        self.conv3x3 = nn.Conv2d(c, c, kernel_size=3, padding=1)
        self.norm = nn.GroupNorm(c, c, eps=1e-5)
        self.gate_h = nn.Sigmoid()
        self.gate_w = nn.Sigmoid()
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_nonempty_feature_map(x, self.channels)
        b, _, h, w = x.shape
        n, c = b * self.groups, self.group_width
        u = x.reshape(n, c, h, w)                           # (B, C, H, W) -> (B*G, c, H, W)
        z_h = u.mean(dim=3, keepdim=True)                   # -> (B*G, c, H, 1)
        z_w = u.mean(dim=2, keepdim=True).transpose(2, 3)   # (B*G, c, 1, W) -> (B*G, c, W, 1)
        f = self.conv1x1(torch.cat([z_h, z_w], dim=2))      # -> (B*G, c, H + W, 1)
        f_h, f_w = torch.split(f, [h, w], dim=2)            # -> (B*G, c, H, 1), (B*G, c, W, 1)
        g_w = self.gate_w(f_w.transpose(2, 3))              # (B*G, c, W, 1) -> (B*G, c, 1, W)
        x1 = self.norm(u * self.gate_h(f_h) * g_w)          # 1 x 1 branch, (B*G, c, H, W)
        x2 = self.conv3x3(u)                                # 3 x 3 branch, (B*G, c, H, W)
        a1 = torch.softmax(x1.mean(dim=(2, 3)), dim=1)      # (B*G, c, H, W) -> (B*G, c)
        a2 = torch.softmax(x2.mean(dim=(2, 3)), dim=1)      # (B*G, c, H, W) -> (B*G, c)
        m = (a1[:, None, :] @ x2.reshape(n, c, h * w)       # (B*G, 1, c) @ (B*G, c, HW)
             + a2[:, None, :] @ x1.reshape(n, c, h * w))    # -> (B*G, 1, HW)
        m = m.reshape(n, 1, h, w)                           # (B*G, 1, HW) -> (B*G, 1, H, W)
        y = u * self.gate(m)                                # broadcast over c -> (B*G, c, H, W)
        return y.reshape(b, self.channels, h, w)            # (B*G, c, H, W) -> (B, C, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, groups={self.groups}, group_width={self.group_width}"


def ema_num_params(channels: int, groups: int = 32) -> int:
    r"""Learnable parameters of :class:`EMA`: :math:`10c^2 + 4c` with :math:`c = C/G`.

    1 x 1 convolution :math:`c^2 + c`, 3 x 3 convolution :math:`9c^2 + c`, GroupNorm's
    :math:`\gamma, \beta` :math:`2c`. Raises ``ValueError`` if ``groups`` does not divide
    ``channels``.
    """
    c = _group_width(check_int("channels", channels), check_int("groups", groups))
    return 10 * c * c + 4 * c


def ema_macs(channels: int, height: int, width: int, groups: int = 32) -> int:
    r"""MACs of one image's forward pass as PyTorch's counter counts them.

    With :math:`c = C/G`: the 1 x 1 convolution on the :math:`H + W` pooled positions,
    :math:`G (H + W) c^2 = Cc(H + W)`; the 3 x 3 convolution, :math:`9 G H W c^2 = 9CcHW`; the two
    cross-spatial products :math:`(1 \times c)(c \times HW)` per group, :math:`2 G c HW = 2CHW`.
    Not counted: poolings, GroupNorm, softmax, sigmoids and products with the gates.
    """
    c = _group_width(check_int("channels", channels), check_int("groups", groups))
    h = check_int("height", height)
    w = check_int("width", width)
    return channels * c * (h + w) + 9 * channels * c * h * w + 2 * channels * h * w
