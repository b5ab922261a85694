r"""Triplet Attention (Misra, Nalamada, Arasanipalai and Hou; WACV 2021; arXiv:2010.03045).

CBAM's spatial gate pools over the channels and weights the H x W plane. Triplet Attention does
the same thing three times, each time with a different axis of the map pooled away, so that every
pair of axes (C, W), (H, C) and (H, W) gets a gate of its own: the "cross-dimension interaction" of
the title. For :math:`x \in \mathbb{R}^{B \times C \times H \times W}` and a tensor :math:`u` whose
first (non-batch) axis is to be pooled away, the Z-pool stacks its maximum and its mean along that
axis:

.. math::

    Z(u) = \bigl[\max_{a} u_{a},\ \tfrac{1}{A} \textstyle\sum_{a} u_{a}\bigr]
        \in \mathbb{R}^{2 \times P \times Q}                                   (Z-pool)

    g(u) = \sigma\bigl(\mathrm{BN}(f^{k \times k}(Z(u)))\bigr) \in \mathbb{R}^{1 \times P \times Q}
                                                                    (one branch's gate)

with :math:`f^{k \times k}` a convolution from 2 channels to 1 (no bias, "same" padding
:math:`(k - 1)/2`, :math:`k = 7`), BN a one-channel BatchNorm and :math:`\sigma` the sigmoid. The
three branches see :math:`x` with its axes permuted so that the axis to pool comes first:

.. math::

    g^{cw} = g(x \text{ as } (H, C, W)) \in \mathbb{R}^{1 \times C \times W}, \quad
    g^{hc} = g(x \text{ as } (W, H, C)) \in \mathbb{R}^{1 \times H \times C}, \quad
    g^{hw} = g(x) \in \mathbb{R}^{1 \times H \times W}

    y_c(i, j) = \tfrac{1}{3}\bigl(g^{cw}(c, j) + g^{hc}(i, c) + g^{hw}(i, j)\bigr)\, x_c(i, j)
                                                                              (output)

Pool → transform → gate → apply: it **pools** by max and mean along one axis at a time (H, W or
C); **transforms** each pooled pair with a 7 x 7 convolution and BatchNorm; **gates** with a
sigmoid; and **applies** the *average* of the three gates to every element. The authors write the
output as the average of three gated copies, :math:`\frac13(x g^{cw} + x g^{hc} + x g^{hw})`; that
is :math:`x` times the average gate, which is how it is computed here. Unlike CBAM, whose two gates
multiply, these three add: no single branch can shut an element off.

Parameters: each branch holds :math:`2k^2` weights and BatchNorm's :math:`\gamma, \beta`, so
:math:`3(2k^2 + 2) = 300` for :math:`k = 7`, whatever the channel count (4,800 for the 16 blocks of
ResNet-50). MACs counted by PyTorch's counter (the three convolutions):
:math:`2k^2 (CW + HC + HW)` per image (:func:`triplet_macs`).

Authors' code
-------------
landskape-ai/triplet-attention at commit 2cf02fb91196408ac6352f7984a0336aa4f7677a,
``triplet_attention.py``: ``BasicConv`` (lines 5-44: conv without bias, then
``BatchNorm2d(eps=1e-5, momentum=0.01, affine=True)``, no ReLU in the gate), ``ZPool`` (lines
47-51: ``[max, mean]`` over dim 1), ``AttentionGate`` (lines 54-67: kernel 7, padding 3, sigmoid),
``TripletAttention`` (lines 70-91: branches ``cw``, ``hc``, ``hw``; ``x.permute(0, 2, 1, 3)`` for
``cw``, ``x.permute(0, 3, 2, 1)`` for ``hc``; ``no_spatial=True`` drops ``hw`` and averages two).
``MODELS/triplet_attention.py`` in the same repository is an older copy with other names
(``ChannelGateH``, ``ChannelGateW``, ``SpatialGate``) and the same forward pass; its
``reduction_ratio`` and ``pool_types`` arguments are unused.

This module computes the same function with the same parameters: the submodules are named
``cw``, ``hc`` and ``hw`` as the authors' are, and each branch's ``conv`` and ``norm`` take the
authors' ``conv.conv`` and ``conv.bn`` weights unchanged. Differences:

* the class takes ``channels`` (the authors' takes none: the module works for any channel count)
  so that the factory can build it like the others and a map of the wrong width is refused;
* ``spatial=False`` is the authors' ``no_spatial=True``;
* ``kernel_size`` (7 in the code), ``batch_norm`` (True) and ``bn_momentum`` (0.01) are arguments;
* the authors' ``torch.sigmoid_`` works in place; here the sigmoid is a module, ``gate``, so a
  forward hook can read each branch's gate.

Paper versus popular code
-------------------------
* **Rotation or permutation.** The paper describes rotating :math:`x` by 90 degrees about the H
  or the W axis; the code *permutes* (transposes) the axes. A rotation is a transposition followed
  by a flip of one axis, so the two define the same family of modules (the learnt kernel is
  flipped), but trained weights fit only the code's permutation, which is what is used here.
* **Z-pool order.** ``[max, mean]``, in the paper and in the code alike: the reverse of the
  ``[avg, max]`` order of the CBAM paper's spatial gate. Trained weights fit one order only.
* The External-Attention collection's copy (xmu-xiaoma666/External-Attention-pytorch at commit
  d75848e40233ed56fa503c888472bab8b17c568c, ``model/attention/TripletAttention.py``) has the
  authors' forward pass unchanged; we found no bug in it.

BatchNorm in training mode needs more than one value per channel: the ``hw`` branch normalises
:math:`B \cdot H \cdot W` values, so a batch of one 1 x 1 map raises PyTorch's ``ValueError``
("Expected more than 1 value per channel when training") in training mode. Evaluation mode, or
``batch_norm=False``, has no such limit.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_bool, check_int, check_nonempty_feature_map, check_odd_kernel
from .cbam import _check_momentum

__all__ = ["TripletAttention", "ZPoolGate", "triplet_macs", "triplet_num_params"]


class ZPoolGate(nn.Module):
    r"""One branch of Triplet Attention: Z-pool, k x k convolution, BatchNorm, sigmoid.

    ``forward(u)`` maps ``(B, A, P, Q) -> (B, 1, P, Q)``: axis 1 (of length A) is pooled away.
    Submodules ``conv`` (``nn.Conv2d(2, 1, k, padding=k // 2, bias=False)``; input channel 0 is
    the maximum, channel 1 the mean), ``norm`` (``BatchNorm2d(1)`` or ``nn.Identity``) and
    ``gate`` (``nn.Sigmoid``).
    """

    def __init__(
        self, kernel_size: int = 7, batch_norm: bool = True, bn_momentum: float = 0.01
    ) -> None:
        super().__init__()
        self.kernel_size = check_odd_kernel("kernel_size", kernel_size)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.bn_momentum = _check_momentum(bn_momentum)
        k = self.kernel_size
        self.conv = nn.Conv2d(2, 1, k, padding=k // 2, bias=False)
        self.norm = (nn.BatchNorm2d(1, eps=1e-5, momentum=self.bn_momentum) if batch_norm
                     else nn.Identity())
        self.gate = nn.Sigmoid()

    @staticmethod
    def pooled(u: torch.Tensor) -> torch.Tensor:
        """The Z-pool ``[max, mean]`` over axis 1: ``(B, A, P, Q) -> (B, 2, P, Q)``."""
        mx = u.max(dim=1, keepdim=True).values              # (B, A, P, Q) -> (B, 1, P, Q)
        mean = u.mean(dim=1, keepdim=True)                  # (B, A, P, Q) -> (B, 1, P, Q)
        return torch.cat([mx, mean], dim=1)                 # -> (B, 2, P, Q)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.gate(self.norm(self.conv(self.pooled(u))))  # (B, 2, P, Q) -> (B, 1, P, Q)


class TripletAttention(nn.Module):
    r"""Triplet Attention: ``y = x * mean(g_cw, g_hc, g_hw)``, shape ``(B, C, H, W)`` kept.

    Args:
        channels: number of channels C of the input (the parameters do not depend on it).
        kernel_size: odd size k of each branch's convolution (authors: 7).
        spatial: keep the (H, W) branch (authors' ``no_spatial=False``); with ``False`` the two
            cross-dimension gates are averaged.
        batch_norm: BatchNorm after each convolution, as in the authors' code.
        bn_momentum: that BatchNorm's momentum (authors: 0.01).

    Submodules ``cw``, ``hc`` and ``hw`` (absent when ``spatial=False``), each a
    :class:`ZPoolGate`; hooks on ``cw.gate``, ``hc.gate`` and ``hw.gate`` see the three gates in
    the branches' own layouts, ``(B, 1, C, W)``, ``(B, 1, H, C)`` and ``(B, 1, H, W)``.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 7,
        spatial: bool = True,
        batch_norm: bool = True,
        bn_momentum: float = 0.01,
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.spatial = check_bool("spatial", spatial)
        self.cw = ZPoolGate(kernel_size, batch_norm, bn_momentum)
        self.hc = ZPoolGate(kernel_size, batch_norm, bn_momentum)
        if self.spatial:
            self.hw = ZPoolGate(kernel_size, batch_norm, bn_momentum)
        self.kernel_size = self.cw.kernel_size
        self.batch_norm = self.cw.batch_norm

    def gates(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The branches' gates, each shaped to broadcast against ``x`` (B, C, H, W).

        ``[g_cw (B, C, 1, W), g_hc (B, C, H, 1)]``, then ``g_hw (B, 1, H, W)`` when ``spatial``.
        """
        x = check_nonempty_feature_map(x, self.channels)
        u_cw = x.permute(0, 2, 1, 3)                        # (B, C, H, W) -> (B, H, C, W)
        g_cw = self.cw(u_cw).permute(0, 2, 1, 3)            # (B, 1, C, W) -> (B, C, 1, W)
        u_hc = x.permute(0, 3, 2, 1)                        # (B, C, H, W) -> (B, W, H, C)
        g_hc = self.hc(u_hc).permute(0, 3, 2, 1)            # (B, 1, H, C) -> (B, C, H, 1)
        found = [g_cw, g_hc]
        if self.spatial:
            found.append(self.hw(x))                        # (B, C, H, W) -> (B, 1, H, W)
        return found

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        found = self.gates(x)
        return x * (sum(found) / len(found))                # broadcast -> (B, C, H, W)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, kernel_size={self.kernel_size}, spatial={self.spatial}, "
            f"batch_norm={self.batch_norm}"
        )


def triplet_num_params(
    kernel_size: int = 7, spatial: bool = True, batch_norm: bool = True
) -> int:
    r"""Learnable parameters of :class:`TripletAttention`: :math:`n (2k^2 + 2[\text{BN}])`.

    :math:`n = 3` branches (2 without the spatial one); 300 for the authors' module. BatchNorm's
    running mean and variance are buffers, not parameters. The count does not depend on the
    channel count, so it takes none.
    """
    k = check_odd_kernel("kernel_size", kernel_size)
    branches = 3 if check_bool("spatial", spatial) else 2
    return branches * (2 * k * k + 2 * int(check_bool("batch_norm", batch_norm)))


def triplet_macs(
    channels: int, height: int, width: int, kernel_size: int = 7, spatial: bool = True
) -> int:
    r"""MACs of one image's forward pass as PyTorch's counter counts them (the convolutions).

    Each branch's convolution computes :math:`2k^2` products per position of its plane:
    :math:`2k^2 (CW + HC + HW)` in all (without the HW term when ``spatial=False``). Not
    counted, as for every module in the book: the poolings (each branch takes a maximum and a mean
    over the whole map), BatchNorm, the sigmoids and the final weighting.
    """
    c = check_int("channels", channels)
    h = check_int("height", height)
    w = check_int("width", width)
    k = check_odd_kernel("kernel_size", kernel_size)
    planes = c * w + h * c + (h * w if check_bool("spatial", spatial) else 0)
    return 2 * k * k * planes
