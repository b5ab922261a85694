r"""Bottleneck Attention Module, BAM (Park, Woo, Lee, Kweon; BMVC 2018; arXiv:1807.06514).

BAM computes a channel gate and a spatial gate **in parallel** from the same input and merges
them into one 3-D attention map, applied as a residual: for
:math:`F \in \mathbb{R}^{C \times H \times W}`,

.. math::

    M_c(F) &= \mathrm{MLP}(\mathrm{AvgPool}(F)) \in \mathbb{R}^{C \times 1 \times 1}
        && \text{(channel branch: FC } C \to C/r \text{, BN, ReLU, FC } C/r \to C) \\
    M_s(F) &= f_3^{1 \times 1}\bigl(f_2^{3 \times 3}(f_1^{3 \times 3}(f_0^{1 \times 1}(F)))\bigr)
        \in \mathbb{R}^{1 \times H \times W}
        && \text{(spatial branch: } C \to C/r \text{, two 3x3 convolutions with dilation } d
           \text{, } C/r \to 1) \\
    M(F) &= \sigma\bigl(M_c(F) \otimes M_s(F)\bigr)
        && \text{(the authors' code; the paper: } \sigma(M_c(F) + M_s(F))) \\
    F' &= F + F \otimes M(F) = (1 + M(F)) \otimes F
        && \text{(residual application)}

with :math:`r = 16`, :math:`d = 4` and :math:`\otimes` an element-wise operation that expands
:math:`M_c` over H x W and :math:`M_s` over the channels (the BN and ReLU after each hidden
layer are left out above). The template of the book: it **pools** each channel over H x W (the
channel branch) and mixes the channels at each position with a 1x1 convolution (the spatial
branch); it **transforms** with an MLP and with dilated convolutions, whose receptive field grows
to :math:`1 + 2 \cdot 2d = 17` pixels for two 3x3 kernels with dilation 4; its **gate** is one
sigmoid of the merged map, a full C x H x W map in (0, 1); it **applies** as
:math:`(1 + M) F`, so a gate of 0 leaves the input unchanged rather than erasing it. The paper
places BAM at the bottlenecks of a network, where the spatial size halves, not in every block.

Paper versus the authors' code
------------------------------
Authors' code: Jongchan/attention-module at commit 459efad0e05ee7dde50c41ca10a3d0800bc3792a,
``MODELS/bam.py``: ``ChannelGate`` lines 9-25, ``SpatialGate`` lines 27-41, ``BAM`` lines
42-49. Where it and the paper differ, this module follows the code and offers the paper:

* **Merging the branches.** The code computes ``1 + sigmoid(channel * spatial)`` (line 48), a
  product; the paper's Eq. 2 sums the two branches before the sigmoid (and its Table 2 finds the
  sum best). ``combine="product"`` (default, the code) or ``"sum"`` (the paper).
* **Where BatchNorm goes.** The paper applies BN to each branch's *output*; the code puts BN
  (and ReLU) after every hidden layer and none after the last layer (the authors' issue #49).
  This module follows the code; the paper's text does not say where its nonlinearities go, so no
  option builds "the paper's" branch.
* **Layers.** Kept as the code builds them: every linear and convolution layer has a bias, one
  hidden layer in the channel MLP (``num_layers=1``), ``dilation_conv_num=2``,
  ``dilation_val=4`` with padding 4 (the size is kept), hidden width ``C // r``, and the layer
  names, so the authors' ``state_dict`` (e.g. of their ResNet-50 + BAM checkpoint) loads.

Deviations from the code, all documented:

* the code's line 12, ``self.gate_activation = gate_activation``, names an undefined variable, so
  ``BAM(C)`` raises ``NameError`` at that commit (the line is never used; delete it to run the
  code);
* the channel branch pools with ``F.avg_pool2d(x, x.size(2), stride=x.size(2))`` (line 24), a
  window of H x H: for a square map this is the global average; for H < W < 2H it silently
  averages only the left H x H square, and for other shapes it fails (the MLP receives the
  wrong number of features, or the window is larger than the map). Here the average is over
  H x W, equal to the code's for every square map;
* in training mode a batch of one image is refused with a ``ValueError`` naming the cause (the
  channel branch's ``BatchNorm1d`` needs more than one value per channel).

Paper versus popular code
-------------------------
The External-Attention collection (xmu-xiaoma666/External-Attention-pytorch at commit
d75848e40233ed56fa503c888472bab8b17c568c, ``model/attention/BAM.py``; the file is unchanged
since 2021-10-10): its ``BAMBlock`` applies **one** sigmoid, to the *sum* ``sa_out + ca_out``
(line 82, the paper's form, not the authors' product); we found no double sigmoid in the file
at any of its three commits (its issue #95 quotes a variant with a second line and asks for the
product). Its issue #102 is still there: ``num_layers=3`` dilated convolutions by default
(line 35) where the paper and the authors use 2, and three hidden layers in the channel MLP
(line 11) where they use 1. Two more differences: dilation 2 instead of 4, and ``padding=1``
with dilation 2 (line 42), which shrinks the map by 2 pixels per layer; the spatial map is then
broadcast back with ``expand_as`` (line 49), which fails for most sizes and, for the 7 x 7 map of
its own example, silently broadcasts a 1 x 1 map: a spatial gate that is the same everywhere
(its issue #38; pull request #111 proposes the fix, unmerged).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ._validation import (
    check_choice,
    check_int,
    check_nonempty_feature_map,
    reduced_width,
)

__all__ = ["BAM", "BAM_COMBINES", "bam_macs", "bam_num_params"]

#: Names accepted by ``combine``: the authors' code (product) and the paper's Eq. 2 (sum).
BAM_COMBINES: tuple[str, ...] = ("product", "sum")


class BAM(nn.Module):
    r"""Bottleneck Attention Module: ``(1 + sigmoid(M_c(F) * M_s(F))) * F``, shape kept.

    Args:
        channels: number of input (and output) channels :math:`C`.
        reduction: :math:`r` of both branches' hidden width :math:`C // r` (paper: 16).
        dilation: dilation :math:`d` of the 3x3 convolutions of the spatial branch (paper: 4).
        num_dilated: how many dilated 3x3 convolutions (paper and authors' code: 2).
        combine: ``"product"`` (the authors' code, default) or ``"sum"`` (the paper's Eq. 2):
            how :math:`M_c` and :math:`M_s` merge before the sigmoid.
        min_width: floor on the hidden width :math:`\max(\text{min\_width}, C // r)`; with the
            default 1 a ``reduction`` larger than ``channels`` raises ``ValueError``.

    Submodules, named as in the authors' code so that their ``state_dict`` loads unchanged:
    ``channel_att.gate_c`` (``gate_c_fc_0``, ``gate_c_bn_1``, ``gate_c_relu_1``,
    ``gate_c_fc_final``), ``spatial_att.gate_s`` (``gate_s_conv_reduce0`` with its BN and ReLU,
    ``gate_s_conv_di_<i>`` with theirs, ``gate_s_conv_final``), and ``gate`` (``nn.Sigmoid``): a
    forward hook on ``gate`` sees :math:`M(F)` as (B, C, H, W). :meth:`channel_map` and
    :meth:`spatial_map` return :math:`M_c` as (B, C, 1, 1) and :math:`M_s` as (B, 1, H, W),
    before the sigmoid.

    Shapes: input (B, C, H, W), output (B, C, H, W); any H, W >= 1; batch >= 2 in training mode.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        dilation: int = 4,
        num_dilated: int = 2,
        combine: str = "product",
        min_width: int = 1,
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.reduction = check_int("reduction", reduction)
        self.dilation = check_int("dilation", dilation)
        self.num_dilated = check_int("num_dilated", num_dilated, minimum=0)
        self.combine = check_choice("combine", combine, BAM_COMBINES)
        self.min_width = check_int("min_width", min_width)
        p = self.hidden = reduced_width(self.channels, self.reduction, self.min_width)
        # Layer names as in the authors' code, so their state dict loads unchanged.
        self.channel_att = nn.Module()
        self.channel_att.gate_c = nn.Sequential(OrderedDict([
            ("gate_c_fc_0", nn.Linear(self.channels, p)),  # W_0: (C/r, C)
            ("gate_c_bn_1", nn.BatchNorm1d(p)),
            ("gate_c_relu_1", nn.ReLU()),
            ("gate_c_fc_final", nn.Linear(p, self.channels)),  # W_1: (C, C/r)
        ]))
        layers: list[tuple[str, nn.Module]] = [
            ("gate_s_conv_reduce0", nn.Conv2d(self.channels, p, kernel_size=1)),
            ("gate_s_bn_reduce0", nn.BatchNorm2d(p)),
            ("gate_s_relu_reduce0", nn.ReLU()),
        ]
        for i in range(self.num_dilated):
            # padding = dilation keeps H x W: H + 2d - d (3 - 1) = H
            layers += [
                (f"gate_s_conv_di_{i}", nn.Conv2d(p, p, kernel_size=3, padding=self.dilation,
                                                  dilation=self.dilation)),
                (f"gate_s_bn_di_{i}", nn.BatchNorm2d(p)),
                (f"gate_s_relu_di_{i}", nn.ReLU()),
            ]
        layers.append(("gate_s_conv_final", nn.Conv2d(p, 1, kernel_size=1)))
        self.spatial_att = nn.Module()
        self.spatial_att.gate_s = nn.Sequential(OrderedDict(layers))
        self.gate = nn.Sigmoid()

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        x = check_nonempty_feature_map(x, self.channels)
        if self.training and x.shape[0] < 2:
            raise ValueError(
                f"BAM in training mode needs a batch of at least 2 images, got shape "
                f"{tuple(x.shape)}: the channel branch's BatchNorm1d normalises one value per "
                f"channel and image over the batch. Use a larger batch or call .eval()"
            )
        return x

    def _channel(self, x: torch.Tensor) -> torch.Tensor:
        z = x.mean(dim=(2, 3))  # (B, C, H, W) -> (B, C)
        return self.channel_att.gate_c(z)[:, :, None, None]  # (B, C) -> (B, C/r) -> (B, C, 1, 1)

    def channel_map(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`M_c(F)` before the sigmoid, (B, C, 1, 1)."""
        return self._channel(self._check(x))

    def spatial_map(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`M_s(F)` before the sigmoid, (B, 1, H, W)."""
        return self.spatial_att.gate_s(self._check(x))  # (B, C, H, W) -> (B, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check(x)
        m_c = self._channel(x)  # (B, C, 1, 1)
        m_s = self.spatial_att.gate_s(x)  # (B, C, H, W) -> (B, C/r, H, W) -> (B, 1, H, W)
        merged = m_c * m_s if self.combine == "product" else m_c + m_s  # -> (B, C, H, W)
        return x * (1 + self.gate(merged))  # residual: F + F * M(F)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, reduction={self.reduction}, hidden={self.hidden}, "
            f"dilation={self.dilation}, num_dilated={self.num_dilated}, "
            f"combine={self.combine!r}"
        )


def _hidden(channels: object, reduction: object, min_width: object) -> tuple[int, int]:
    channels = check_int("channels", channels)
    return channels, reduced_width(channels, check_int("reduction", reduction),
                                   check_int("min_width", min_width))


def bam_num_params(
    channels: int,
    reduction: int = 16,
    dilation: int = 4,
    num_dilated: int = 2,
    combine: str = "product",
    min_width: int = 1,
) -> int:
    r"""Learnable parameters of :class:`BAM`, in closed form (independent of ``combine``).

    With :math:`P = \max(\text{min\_width}, C // r)` and :math:`n` dilated convolutions:

    .. math:: \underbrace{2CP + 3P + C}_{\text{channel}}
              + \underbrace{CP + 4P + n(9P^2 + 3P) + 1}_{\text{spatial}}
              = 3CP + 7P + C + 1 + n(9P^2 + 3P)

    (each layer's weights and bias, and every BN's scale and shift). 17,361 for C = 256 with the
    defaults; 272,193 for C = 1024, the last of the three BAMs in the authors' ResNet-50.
    """
    channels, p = _hidden(channels, reduction, min_width)
    check_int("dilation", dilation)
    n = check_int("num_dilated", num_dilated, minimum=0)
    check_choice("combine", combine, BAM_COMBINES)
    return 3 * channels * p + 7 * p + channels + 1 + n * (9 * p * p + 3 * p)


def bam_macs(
    channels: int,
    height: int,
    width: int,
    reduction: int = 16,
    dilation: int = 4,
    num_dilated: int = 2,
    combine: str = "product",
    min_width: int = 1,
) -> dict[str, int]:
    r"""Closed-form operation counts of one :class:`BAM` forward pass, per image.

    * ``"macs"``: multiply-accumulates of the linear and convolution layers, what
      :func:`attn_lessons.cost.count_flops` reports (``.macs``): ``channel_macs`` plus
      ``spatial_macs``;
    * ``"channel_macs"``: the MLP, :math:`2CP`;
    * ``"spatial_macs"``: :math:`HW(CP + 9nP^2 + P)` (the 1x1 reduction, the dilated 3x3
      convolutions, the final 1x1), which grows with the map;
    * ``"merge_ops"``: merging the branches, adding 1 to the gate and applying it, :math:`3CHW`
      elementwise operations, not counted in ``macs``.
    """
    channels, p = _hidden(channels, reduction, min_width)
    height = check_int("height", height)
    width = check_int("width", width)
    check_int("dilation", dilation)
    n = check_int("num_dilated", num_dilated, minimum=0)
    check_choice("combine", combine, BAM_COMBINES)
    hw = height * width
    channel = 2 * channels * p
    spatial = hw * (channels * p + 9 * n * p * p + p)
    return {
        "macs": channel + spatial,
        "channel_macs": channel,
        "spatial_macs": spatial,
        "merge_ops": 3 * channels * hw,
    }
