r"""Convolutional Block Attention Module, CBAM (Woo, Park, Lee, Kweon; ECCV 2018; arXiv:1807.06521).

For a feature map :math:`F \in \mathbb{R}^{C \times H \times W}`, in the book's notation (the
paper writes the gates :math:`M_c, M_s` and the MLP's weights :math:`W_0, W_1`; the book numbers
them in the order they are applied, as chapter 2 does):

.. math::

    g^c(F) &= \sigma\bigl(W_2 \delta(W_1 F^{c}_{avg}) + W_2 \delta(W_1 F^{c}_{max})\bigr)
        && \text{(channel gate, } g^c \in \mathbb{R}^{C \times 1 \times 1}) \\
    g^s(F) &= \sigma\bigl(f^{k \times k}([\,F^{s}_{avg};\, F^{s}_{max}\,])\bigr)
        && \text{(spatial gate, } g^s \in \mathbb{R}^{1 \times H \times W}) \\
    F' &= g^c(F) \otimes F, \qquad F'' = g^s(F') \otimes F'
        && \text{(channel first, the paper's order)}

:math:`F^{c}_{avg}, F^{c}_{max} \in \mathbb{R}^{C}` pool each channel over H and W;
:math:`F^{s}_{avg}, F^{s}_{max} \in \mathbb{R}^{1 \times H \times W}` pool each pixel over the
channels. :math:`W_1 \in \mathbb{R}^{\lfloor C/r \rfloor \times C}` and
:math:`W_2 \in \mathbb{R}^{C \times \lfloor C/r \rfloor}` form one MLP shared by both descriptors,
:math:`\delta` is the ReLU, :math:`\sigma` the sigmoid,
:math:`f^{k \times k}` a convolution from 2 channels to 1 with "same" padding :math:`(k-1)/2`
(so :math:`k` must be odd; the paper uses 7). :math:`\otimes` multiplies with broadcasting:
:math:`g^c` is copied over the H x W positions, :math:`g^s` over the C channels.

Parameters (paper's version, no biases): :math:`2C\lfloor C/r \rfloor + 2k^2`; 32,866 for C = 512,
r = 16, k = 7.

Paper versus popular code
-------------------------
The official code (Jongchan/attention-module, ``MODELS/cbam.py``) differs from the paper's
equations in three ways; each is an option here, with the paper's choice as the default:

* **Concatenation order.** The paper writes :math:`[F^{s}_{avg}; F^{s}_{max}]`; the official
  ``ChannelPool`` concatenates ``[max, mean]``. The two orders are the same family of modules
  with the two input planes of the 7x7 kernel swapped, but weights trained with one order are
  wrong for the other. Option ``concat_order="avg_max"`` (default) or ``"max_avg"``.
* **BatchNorm after the spatial convolution.** The official ``BasicConv`` is conv (no bias) ->
  ``BatchNorm2d(1, eps=1e-5, momentum=0.01)`` -> sigmoid. Option ``batch_norm=True`` (adds 2
  parameters and 2 buffers; in training mode it needs more than one value per channel), with
  ``bn_momentum`` (default 0.01 as the official code; timm's ``CbamModule`` uses 0.1).
* **Biases in the MLP.** The official MLP is two ``nn.Linear`` layers with their default biases
  (:math:`C/r + C` more parameters). Option ``bias=True``.

The official module also offers ``'lp'`` and ``'lse'`` pooling for the channel gate; the paper's
experiments use average and max, which is what ``pooling`` accepts here.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

from ._validation import (
    check_bool,
    check_choice,
    check_feature_map,
    check_int,
    check_odd_kernel,
    reduced_width,
)

__all__ = [
    "CBAM",
    "CBAM_ORDERS",
    "ChannelGate",
    "SpatialGate",
    "cbam_num_params",
    "channel_gate_num_params",
    "spatial_gate_num_params",
]

#: Ways to compose the two gates (see :class:`CBAM`).
CBAM_ORDERS: tuple[str, ...] = ("channel_first", "spatial_first", "parallel")
_POOLINGS: tuple[str, ...] = ("avg", "max")
_CONCAT_ORDERS: tuple[str, ...] = ("avg_max", "max_avg")



def _max_over(x: torch.Tensor, dim: int, keepdim: bool = False) -> torch.Tensor:
    """The maximum over ``dim``, by the faster of two equal computations.

    ``amax`` and ``max`` (with indices) give the same values; they differ in speed and in the
    backward. Measured on the CPU at (8, 256, 32, 32) (one thread, load ~4.6; see issue 11):
    CBAM forward 6.7 ms with ``amax`` against 14.9 ms with ``max``, forward+backward 46.9 ms
    against 40.4 ms, because ``amax``'s backward shares the gradient among tied maxima (a slow
    pass), while ``max`` sends it to the one arg-max, as the official ``max_pool2d`` does. So
    ``max`` with indices is used when a gradient will flow through the pooling, ``amax`` otherwise:
    the values are identical either way, and every gradient is the official one.
    """
    if torch.is_grad_enabled() and x.requires_grad:
        return x.max(dim=dim, keepdim=keepdim).values
    return x.amax(dim=dim, keepdim=keepdim)


def _check_momentum(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"bn_momentum must be a number in (0, 1], got {value!r}")
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"bn_momentum must be in (0, 1], got {value}")
    return value


def _check_pooling(pooling: object) -> tuple[str, ...]:
    if isinstance(pooling, str) or not isinstance(pooling, Sequence):
        raise TypeError(
            f"pooling must be a tuple of names from {list(_POOLINGS)}, got {pooling!r}"
        )
    pooling = tuple(pooling)
    if not pooling:
        raise ValueError("pooling must name at least one descriptor, got an empty sequence")
    for name in pooling:
        check_choice("pooling entry", name, _POOLINGS)
    if len(set(pooling)) != len(pooling):
        raise ValueError(f"pooling must not repeat a descriptor, got {pooling!r}")
    return pooling


class ChannelGate(nn.Module):
    r"""CBAM's channel attention :math:`g^c(F)`: one shared MLP over pooled descriptors, summed.

    Args:
        channels: number of channels :math:`C`.
        reduction: reduction ratio :math:`r` of the MLP's hidden layer (paper: 16).
        bias: biases in the two MLP layers (paper: no; official code: yes).
        pooling: the descriptors fed to the shared MLP, a tuple from ``("avg", "max")``
            (paper: both; ``("avg",)`` alone is SE's excitation).
        min_width: floor on the hidden width :math:`\max(\text{min\_width}, C // r)`; with the
            default 1 a reduction larger than ``channels`` raises ``ValueError``.

    Submodules ``fc1`` (:math:`W_1`), ``act`` (ReLU), ``fc2`` (:math:`W_2`), ``gate`` (sigmoid);
    a hook on ``gate`` sees :math:`g^c` as (B, C). ``forward`` returns :math:`g^c(F) \otimes F`.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        bias: bool = False,
        pooling: Sequence[str] = ("avg", "max"),
        min_width: int = 1,
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.reduction = check_int("reduction", reduction)
        self.bias = check_bool("bias", bias)
        self.pooling = _check_pooling(pooling)
        self.hidden = reduced_width(self.channels, self.reduction, min_width)
        self.fc1 = nn.Linear(self.channels, self.hidden, bias=bias)  # W_1: (C // r, C)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(self.hidden, self.channels, bias=bias)  # W_2: (C, C // r)
        self.gate = nn.Sigmoid()

    def mlp(self, z: torch.Tensor) -> torch.Tensor:
        """The shared MLP without the sigmoid: (B, C) -> (B, C)."""
        return self.fc2(self.act(self.fc1(z)))  # (B, C) -> (B, C/r) -> (B, C)

    def gate_values(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`g^c(F)` of shape (B, C) for a feature map of shape (B, C, H, W)."""
        x = check_feature_map(x, self.channels)
        logits = 0
        for name in self.pooling:
            if name == "avg":
                z = x.mean(dim=(2, 3))  # (B, C, H, W) -> (B, C)
            else:
                z = _max_over(x.flatten(2), dim=2)  # (B, C, H, W) -> (B, C, HW) -> (B, C)
            logits = logits + self.mlp(z)
        return self.gate(logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.gate_values(x)  # (B, C)
        return x * m[:, :, None, None]  # (B, C) -> (B, C, 1, 1), broadcast over H and W

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, reduction={self.reduction}, hidden={self.hidden}, "
            f"bias={self.bias}, pooling={self.pooling}"
        )


class SpatialGate(nn.Module):
    r"""CBAM's spatial attention :math:`g^s(F)`: channel-wise mean and max, a k x k conv, sigmoid.

    Args:
        kernel_size: odd size :math:`k` of the convolution (paper: 7). Padding :math:`(k-1)/2`
            keeps H x W: :math:`H + 2p - k + 1 = H`.
        concat_order: ``"avg_max"`` (paper, default) or ``"max_avg"`` (official code): which
            pooled map is input channel 0 of the convolution.
        bias: a bias in the convolution (paper: none; the official code has none either, its
            BatchNorm supplies the shift).
        batch_norm: ``BatchNorm2d(1)`` between the convolution and the sigmoid, as in the official
            code (``eps=1e-5, momentum=0.01``).
        bn_momentum: that BatchNorm's momentum (the weight of each batch in the running
            statistics): 0.01 in the official code (the default); timm's ``CbamModule`` uses
            PyTorch's default 0.1. Only read when ``batch_norm=True``.

    Submodules ``conv`` (``nn.Conv2d(2, 1, k, padding=k // 2)``), ``norm`` (BatchNorm or
    ``nn.Identity``) and ``gate`` (sigmoid); a hook on ``gate`` sees :math:`g^s` as (B, 1, H, W).
    ``forward`` returns :math:`g^s(F) \otimes F`. Works for any channel count.
    """

    def __init__(
        self,
        kernel_size: int = 7,
        concat_order: str = "avg_max",
        bias: bool = False,
        batch_norm: bool = False,
        bn_momentum: float = 0.01,
    ) -> None:
        super().__init__()
        self.kernel_size = check_odd_kernel("kernel_size", kernel_size)
        self.concat_order = check_choice("concat_order", concat_order, _CONCAT_ORDERS)
        self.bias = check_bool("bias", bias)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.conv = nn.Conv2d(2, 1, self.kernel_size, padding=self.kernel_size // 2, bias=bias)
        self.bn_momentum = _check_momentum(bn_momentum)
        self.norm = (nn.BatchNorm2d(1, eps=1e-5, momentum=self.bn_momentum) if batch_norm
                     else nn.Identity())
        self.gate = nn.Sigmoid()

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The two pooled maps, concatenated in ``concat_order``: (B, C, H, W) -> (B, 2, H, W)."""
        x = check_feature_map(x)
        avg = x.mean(dim=1, keepdim=True)  # (B, C, H, W) -> (B, 1, H, W)
        mx = _max_over(x, dim=1, keepdim=True)  # (B, C, H, W) -> (B, 1, H, W)
        pair = (avg, mx) if self.concat_order == "avg_max" else (mx, avg)
        return torch.cat(pair, dim=1)  # 2 x (B, 1, H, W) -> (B, 2, H, W)

    def gate_values(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`g^s(F)` of shape (B, 1, H, W)."""
        return self.gate(self.norm(self.conv(self.pooled(x))))  # (B, 2, H, W) -> (B, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate_values(x)  # (B, 1, H, W) broadcast over the C channels

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, concat_order={self.concat_order!r}, "
            f"bias={self.bias}, batch_norm={self.batch_norm}"
            + (f", bn_momentum={self.bn_momentum}" if self.batch_norm else "")
        )


class CBAM(nn.Module):
    r"""CBAM: a channel gate and a spatial gate applied to one feature map.

    Args:
        channels, reduction, bias, pooling, min_width: for the :class:`ChannelGate`.
        kernel_size, concat_order, spatial_bias, batch_norm, bn_momentum: for the
            :class:`SpatialGate` (``spatial_bias`` is its ``bias``).
        order: how the gates are composed:

            * ``"channel_first"`` (paper): :math:`F' = g^c(F) \otimes F`,
              :math:`F'' = g^s(F') \otimes F'`;
            * ``"spatial_first"``: :math:`F' = g^s(F) \otimes F`,
              :math:`F'' = g^c(F') \otimes F'`;
            * ``"parallel"``: both gates computed from the same input and both applied to it,
              :math:`F'' = g^c(F) \otimes g^s(F) \otimes F`, i.e. each element :math:`F_{c,i,j}`
              is multiplied by :math:`g^c(F)_c \, g^s(F)_{i,j}` (a product of the two sigmoids,
              not BAM's sigmoid of a sum).

    Submodules ``channel`` and ``spatial``; their gates are ``channel.gate`` and
    ``spatial.gate``. The paper's defaults give :math:`2C^2/r + 2k^2` parameters
    (:func:`cbam_num_params`).
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        kernel_size: int = 7,
        order: str = "channel_first",
        bias: bool = False,
        pooling: Sequence[str] = ("avg", "max"),
        min_width: int = 1,
        concat_order: str = "avg_max",
        spatial_bias: bool = False,
        batch_norm: bool = False,
        bn_momentum: float = 0.01,
    ) -> None:
        super().__init__()
        self.order = check_choice("order", order, CBAM_ORDERS)
        self.channel = ChannelGate(channels, reduction, bias, pooling, min_width)
        self.spatial = SpatialGate(kernel_size, concat_order, spatial_bias, batch_norm,
                                   bn_momentum)
        self.channels = self.channel.channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_feature_map(x, self.channels)
        if self.order == "channel_first":
            return self.spatial(self.channel(x))
        if self.order == "spatial_first":
            return self.channel(self.spatial(x))
        m_c = self.channel.gate_values(x)[:, :, None, None]  # (B, C) -> (B, C, 1, 1)
        m_s = self.spatial.gate_values(x)  # (B, 1, H, W)
        return x * m_c * m_s  # broadcast: (B, C, 1, 1) * (B, 1, H, W) -> (B, C, H, W)

    def extra_repr(self) -> str:
        return f"order={self.order!r}"


def channel_gate_num_params(
    channels: int, reduction: int = 16, bias: bool = False, min_width: int = 1
) -> int:
    r""":math:`2 C C' + [\text{bias}](C' + C)` with :math:`C' = \max(\text{min\_width}, C // r)`."""
    hidden = reduced_width(channels, reduction, min_width)
    return 2 * channels * hidden + ((hidden + channels) if check_bool("bias", bias) else 0)


def spatial_gate_num_params(
    kernel_size: int = 7, bias: bool = False, batch_norm: bool = False
) -> int:
    r""":math:`2k^2 + [\text{bias}] + 2\,[\text{batch\_norm}]` (BatchNorm's scale and shift;
    its running mean and variance are buffers, not parameters)."""
    k = check_odd_kernel("kernel_size", kernel_size)
    extra = int(check_bool("bias", bias)) + 2 * int(check_bool("batch_norm", batch_norm))
    return 2 * k * k + extra


def cbam_num_params(
    channels: int,
    reduction: int = 16,
    kernel_size: int = 7,
    bias: bool = False,
    min_width: int = 1,
    spatial_bias: bool = False,
    batch_norm: bool = False,
) -> int:
    r"""Learnable parameters of :class:`CBAM`, in closed form (independent of ``order``).

    Paper's version: :math:`2C\lfloor C/r \rfloor + 2k^2` (32,866 for C = 512, r = 16, k = 7).
    The official code's options (``bias=True, batch_norm=True``) add
    :math:`\lfloor C/r \rfloor + C + 2` (33,412 there).
    """
    return channel_gate_num_params(channels, reduction, bias, min_width) + spatial_gate_num_params(
        kernel_size, spatial_bias, batch_norm
    )
