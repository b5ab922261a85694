r"""Coordinate Attention (Hou, Zhou and Feng, CVPR 2021, arXiv:2103.02907).

Squeeze-and-Excitation pools a channel over the whole map and so forgets *where* a feature was.
Coordinate Attention pools along one axis at a time, keeping position along the other. For an
input :math:`x \in \mathbb{R}^{B \times C \times H \times W}`:

.. math::

    z^h_c(i) = \frac{1}{W} \sum_{j=1}^{W} x_c(i, j), \qquad
    z^w_c(j) = \frac{1}{H} \sum_{i=1}^{H} x_c(i, j)                          (1-D poolings)

    f = \delta\big(\mathrm{BN}(F_1([z^h, z^w]))\big) \in \mathbb{R}^{m \times (H + W)}
                                                                    (shared transform)

    g^h = \sigma(F_h(f^h)), \qquad g^w = \sigma(F_w(f^w))               (split, two gates)

    y_c(i, j) = x_c(i, j) \, g^h_c(i) \, g^w_c(j)                            (output)

where :math:`[\cdot, \cdot]` concatenates along the spatial axis (H + W positions), :math:`F_1`,
:math:`F_h`, :math:`F_w` are 1x1 convolutions (:math:`C \to m`, :math:`m \to C`, :math:`m \to C`),
:math:`m = \max(8, \lfloor C / r \rfloor)` with :math:`r = 32`, :math:`\delta` is h-swish,
:math:`\delta(t) = t \, \mathrm{ReLU6}(t + 3) / 6`, and :math:`f = [f^h, f^w]` is split back into
its first H and last W positions.

Agreement with the authors' code (github.com/houqb/CoordAttention, ``coordatt.py``): the same
poolings, the same concatenation order (the H-pooled positions first), ``mip = max(8, inp //
reduction)``, all three 1x1 convolutions *with* biases (PyTorch's default), BatchNorm, h-swish
defined as ``x * ReLU6(x + 3) / 6`` (identical to ``torch.nn.Hardswish``), sigmoids, ``identity *
a_w * a_h``. Differences, all deliberate:

* the authors' class takes ``(inp, oup)``; the output channel count must equal ``inp`` for the
  product with the input to make sense, so this class takes ``channels`` only;
* ``bias=False`` is offered: the first convolution's bias is redundant before BatchNorm (which
  subtracts the mean); the default keeps the authors' biases so weights can be copied across;
* ``min_width`` (8 in the authors' code) is an argument, and the width never rounds to zero.

Many blog and detector-repository copies replace h-swish by ReLU, or use ``max(16, ...)``; this
changes the module (see chapter 5 of the book).

BatchNorm and a batch of one: the tensor BatchNorm normalises has H + W >= 2 positions per
channel, so training mode never raises PyTorch's "expected more than 1 value per channel" error,
even for B = 1 and H = W = 1. But its statistics then come from a single image: with B = 1 and a
1x1 map the two positions (row mean and column mean of a single pixel) are equal, the normalised
value is exactly 0, and in training mode the gate no longer depends on the input at all. In
evaluation mode the running statistics are used and none of this happens.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_bool, check_feature_map, check_int, reduced_width

__all__ = ["CoordAtt", "HSwish", "coordatt_num_params", "h_swish"]


def h_swish(x: torch.Tensor) -> torch.Tensor:
    r"""Hard swish, :math:`x \cdot \mathrm{ReLU6}(x + 3) / 6` (Howard et al., 2019).

    A piecewise-quadratic stand-in for swish :math:`x \sigma(x)`: 0 for ``x <= -3``, ``x`` for
    ``x >= 3``, ``x (x + 3) / 6`` in between. Equal to ``torch.nn.functional.hardswish``.
    """
    return x * torch.clamp(x + 3.0, min=0.0, max=6.0) / 6.0


class HSwish(nn.Module):
    """Module form of :func:`h_swish`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return h_swish(x)


class CoordAtt(nn.Module):
    r"""Coordinate Attention block: ``y = x * g_h * g_w``, shape ``(B, C, H, W)`` kept.

    Args:
        channels: number of channels C of the input (and output).
        reduction: r in :math:`m = \max(\text{min\_width}, C // r)`; the paper uses 32.
        min_width: floor on the hidden width m; the authors' code uses 8.
        bias: biases on the three 1x1 convolutions (the authors' code has them).

    Submodules: ``conv1`` (C -> m), ``bn1``, ``act`` (h-swish), ``conv_h`` and ``conv_w``
    (m -> C), and the gates ``gate_h`` and ``gate_w`` (``nn.Sigmoid``), whose outputs, of shapes
    ``(B, C, H, 1)`` and ``(B, C, 1, W)``, a forward hook can read.
    """

    def __init__(
        self, channels: int, reduction: int = 32, min_width: int = 8, bias: bool = True
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.reduction = check_int("reduction", reduction)
        self.min_width = check_int("min_width", min_width)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.hidden = reduced_width(self.channels, self.reduction, self.min_width)
        self.conv1 = nn.Conv2d(self.channels, self.hidden, kernel_size=1, bias=bias)
        self.bn1 = nn.BatchNorm2d(self.hidden)
        self.act = HSwish()
        self.conv_h = nn.Conv2d(self.hidden, self.channels, kernel_size=1, bias=bias)
        self.conv_w = nn.Conv2d(self.hidden, self.channels, kernel_size=1, bias=bias)
        self.gate_h = nn.Sigmoid()
        self.gate_w = nn.Sigmoid()

    def gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(g_h, g_w)`` of shapes ``(B, C, H, 1)`` and ``(B, C, 1, W)``."""
        x = check_feature_map(x, self.channels)
        h, w = x.shape[2], x.shape[3]
        z_h = x.mean(dim=3, keepdim=True)                   # (B, C, H, W) -> (B, C, H, 1)
        z_w = x.mean(dim=2, keepdim=True)                   # (B, C, H, W) -> (B, C, 1, W)
        z_w = z_w.transpose(2, 3)                           # (B, C, 1, W) -> (B, C, W, 1)
        z = torch.cat([z_h, z_w], dim=2)                    # -> (B, C, H + W, 1)
        f = self.act(self.bn1(self.conv1(z)))               # (B, C, H + W, 1) -> (B, m, H + W, 1)
        f_h, f_w = torch.split(f, [h, w], dim=2)            # -> (B, m, H, 1), (B, m, W, 1)
        f_w = f_w.transpose(2, 3)                           # (B, m, W, 1) -> (B, m, 1, W)
        g_h = self.gate_h(self.conv_h(f_h))                 # (B, m, H, 1) -> (B, C, H, 1)
        g_w = self.gate_w(self.conv_w(f_w))                 # (B, m, 1, W) -> (B, C, 1, W)
        return g_h, g_w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g_h, g_w = self.gates(x)
        return x * g_h * g_w                                # broadcast -> (B, C, H, W)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, reduction={self.reduction}, "
            f"min_width={self.min_width}, hidden={self.hidden}"
        )


def coordatt_num_params(
    channels: int, reduction: int = 32, min_width: int = 8, bias: bool = True
) -> int:
    r"""Number of learnable parameters of :class:`CoordAtt`, in closed form.

    With :math:`m = \max(\text{min\_width}, C // r)`: three 1x1 convolutions hold
    :math:`Cm + 2mC = 3Cm` weights and, with biases, :math:`m + 2C` biases; BatchNorm holds its
    affine :math:`\gamma, \beta` (:math:`2m`). Its running mean and variance are buffers, not
    parameters, so they are not counted.
    """
    channels = check_int("channels", channels)
    bias = check_bool("bias", bias)
    hidden = reduced_width(channels, reduction, min_width)
    return 3 * channels * hidden + 2 * hidden + ((hidden + 2 * channels) if bias else 0)
