r"""Selective Kernel convolution, SK (Li, Wang, Hu, Yang; CVPR 2019; arXiv:1903.06586).

SK is *branch* attention: the same input goes through :math:`M` convolutions with different
receptive fields, and a softmax across the branches decides, per channel, how much each branch
contributes. For an input :math:`X \in \mathbb{R}^{C \times H \times W}` and :math:`M = 2`:

.. math::

    \tilde{U} &= \mathcal{F}_{3 \times 3}(X), \quad \hat{U} = \mathcal{F}_{5 \times 5}(X)
        && \text{(split: grouped conv, BN, ReLU per branch)} \\
    U &= \tilde{U} + \hat{U}, \qquad
    s_c = \frac{1}{HW} \sum_{i=1}^{H} \sum_{j=1}^{W} U_c(i, j)
        && \text{(fuse: sum, global average pooling, } s \in \mathbb{R}^{C}) \\
    z &= \delta\bigl(\mathcal{B}(W s)\bigr)
        && \text{(compact feature, } W \in \mathbb{R}^{d \times C},
                  d = \max(C / r, L)) \\
    a_c &= \frac{e^{A_c z}}{e^{A_c z} + e^{B_c z}}, \quad
    b_c = \frac{e^{B_c z}}{e^{A_c z} + e^{B_c z}}
        && \text{(select: softmax across branches, } A, B \in \mathbb{R}^{C \times d}) \\
    V_c &= a_c \tilde{U}_c + b_c \hat{U}_c, \qquad a_c + b_c = 1
        && \text{(output)}

(Eqs. 1-6 of the paper; :math:`\mathcal{B}` is BatchNorm, :math:`\delta` the ReLU.) The paper's
SKNet-50 uses :math:`M = 2`, cardinality :math:`G = 32` (grouped convolutions), :math:`r = 16`,
:math:`L = 32`, and builds the 5x5 branch as a 3x3 convolution with dilation 2. The template of
the book: it **pools** the sum of the branches over H x W (SE's squeeze); it **transforms** with
an FC, BN, ReLU bottleneck to :math:`d` and one FC per branch back to C; its **gate** is a
softmax across the :math:`M` branches, per channel (not a sigmoid: the weights of one channel
sum to 1); it **applies** as a weighted sum of the branches. Unlike the gates of chapters 2 to 5,
SK is a convolution layer with attention inside: in an attention slot of this library it adds
its own :math:`M` convolutions, so its parameter count is that of a convolution layer.

Authors' code, and the port followed
------------------------------------
The authors released **Caffe** models only, no PyTorch code: implus/SKNet at commit
17dd7086d4959be0c8c6ccce52e4fd8187836770, ``models/sknet50.prototxt``, the SK unit ``conv2_1``
at lines 150-466 (branches ``3x3g32`` and ``3x3g32d2`` with BN and ReLU lines 150-272, sum
273-282, global pool 283-293, ``B_fc1`` + BN + ReLU 294-353, ``B_fc2`` 354-373, reshape to
(B, 2, C, 1) and softmax over axis 1 374-396, slices, ``Scale`` and ``Axpy`` forming the
weighted sum 397-466). There: every convolution has no bias
(``bias_term: false``), each branch is conv -> BN -> ReLU, the second branch is a 3x3
convolution with ``dilation: 2, pad: 2``, :math:`d = 32` for C = 128, and the first C outputs of
``B_fc2`` belong to the first branch.

The PyTorch port followed is timm's, the most used (huggingface/pytorch-image-models at commit
aa4b5850c1543fa488abf260f18390eda46cf85d, ``timm/layers/selective_kernel.py``:
``SelectiveKernelAttn`` lines 24-58, ``SelectiveKernel`` lines 61-149), as configured for
``skresnext50_32x4d`` (``timm/models/sknet.py``, line 264: ``split_input=False``, groups 32). It
computes the Caffe unit's function. This module equals both, with these documented choices:

* the hidden width is the paper's :math:`d = \max(C // r, L)` (``min_width`` is :math:`L`);
  timm rounds :math:`C/r` to a multiple of ``rd_divisor`` instead, which gives the same
  :math:`d` at SKNet-50's widths (128, 256, 512, 1024 -> 32, 32, 32, 64) for ``rd_divisor=32``;
* the submodule names are timm's (``paths.<m>.conv``, ``paths.<m>.bn``, ``attn.fc_reduce``,
  ``attn.bn``, ``attn.fc_select``), so timm's ``state_dict`` loads unchanged;
* ``split_input=True`` offers timm's default for its ``skresnet`` models (each branch sees
  :math:`C/M` of the input channels; not in the paper);
* ``groups`` must divide the channels (a ``ValueError`` names both); timm silently uses
  ``min(channels, groups)``, and its kernel check (``_kernel_valid``, lines 17-21) returns after
  the first size, so only that one is checked;
* with ``dilate=False`` a branch may be 1x1 (timm asserts every size is at least 3);
* fewer than two branches are refused (a softmax over one branch is the constant 1);
* the BatchNorm layers keep PyTorch's momentum 0.1; the Caffe model's running averages decay with
  0.95 (cuDNN factor 0.05). This changes training statistics only, not the function;
* in training mode a batch of one image is refused with a ``ValueError``: the BatchNorm of the
  compact feature then sees one value per channel (PyTorch's own error would not say why).

Paper versus popular code
-------------------------
The External-Attention collection (xmu-xiaoma666/External-Attention-pytorch at commit
d75848e40233ed56fa503c888472bab8b17c568c, ``model/attention/SKAttention.py``): the softmax over
the wrong axis reported in its issue #18 (``nn.Softmax(dim=1)``, over the batch) was **fixed**
on 2021-07-16 (commit b74a16d91c2248a48c600d92113af0269d8eb8f6, in what was then
``attention/SKAttention.py``: ``dim=0``, the branch axis of its stacked (M, B, C, 1, 1)
weights). Still different from the paper at d75848e: four branches with real 1x1, 3x3, 5x5, 7x7
kernels by default instead of 3x3 and dilated 3x3, ``groups=1``, biases in every convolution
and FC layer, and no BatchNorm or ReLU after the first FC layer (:math:`z = W s + b` instead of
:math:`\delta(\mathcal{B}(W s))`).
"""

from __future__ import annotations

import numbers
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from ._validation import (
    check_bool,
    check_int,
    check_nonempty_feature_map,
    check_odd_kernel,
    reduced_width,
)

__all__ = ["SelectiveKernel", "SelectiveKernelAttn", "sk_macs", "sk_num_params"]


def _check_kernel_sizes(kernel_sizes: object, dilate: bool) -> tuple[int, ...]:
    if isinstance(kernel_sizes, numbers.Integral) or not isinstance(kernel_sizes, Sequence):
        raise TypeError(
            f"kernel_sizes must be a sequence of odd kernel sizes, one per branch, got "
            f"{kernel_sizes!r}"
        )
    sizes = tuple(check_odd_kernel("kernel_sizes entry", k) for k in kernel_sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"kernel_sizes must name at least 2 branches (a softmax over one branch is always "
            f"1), got {sizes!r}"
        )
    if dilate and min(sizes) < 3:
        raise ValueError(
            f"with dilate=True every kernel size must be >= 3 (size k becomes a 3x3 kernel with "
            f"dilation (k - 1) / 2), got {sizes!r}"
        )
    return sizes


def _branch_shapes(kernel_sizes: tuple[int, ...], dilate: bool) -> list[tuple[int, int]]:
    """(kernel size, dilation) of each branch: k -> (3, (k - 1) / 2) when dilated."""
    if dilate:
        return [(3, (k - 1) // 2) for k in kernel_sizes]
    return [(k, 1) for k in kernel_sizes]


def _check_groups(channels: int, groups: int, in_channels: int) -> None:
    for what, n in (("channels", channels), ("input channels per branch", in_channels)):
        if n % groups:
            raise ValueError(
                f"groups={groups} must divide the {what} ({n}) of each branch's convolution; "
                f"pick groups among the divisors of {n}"
                + (" (split_input=True gives each branch channels / M inputs)"
                   if what != "channels" else "")
            )


class SelectiveKernelAttn(nn.Module):
    r"""SK's fuse and select steps: from the stacked branches to their softmax weights.

    ``forward`` takes the branches stacked as (B, M, C, H, W) and returns the weights
    (B, M, C, 1, 1): the sum of the branches is pooled over H x W (:math:`s`), reduced to
    :math:`d` by ``fc_reduce`` (1x1 conv without bias), ``bn`` and ``act`` (ReLU) (:math:`z`),
    expanded to :math:`M C` logits by ``fc_select`` (1x1 conv without bias) and turned into weights
    by ``gate``, a softmax across the M branches. The submodule names are timm's, so a state dict
    of timm's ``SelectiveKernel`` loads into :class:`SelectiveKernel` unchanged.
    """

    def __init__(self, channels: int, num_paths: int, hidden: int) -> None:
        super().__init__()
        self.channels, self.num_paths = channels, num_paths
        self.fc_reduce = nn.Conv2d(channels, hidden, 1, bias=False)  # W: (d, C, 1, 1)
        self.bn = nn.BatchNorm2d(hidden)
        self.act = nn.ReLU()
        self.fc_select = nn.Conv2d(hidden, num_paths * channels, 1, bias=False)  # [A; B]: (MC, d)
        self.gate = nn.Softmax(dim=1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        b = feats.shape[0]
        s = feats.sum(dim=1).mean(dim=(2, 3), keepdim=True)  # (B, M, C, H, W) -> (B, C, 1, 1)
        z = self.act(self.bn(self.fc_reduce(s)))  # (B, C, 1, 1) -> (B, d, 1, 1)
        logits = self.fc_select(z)  # (B, d, 1, 1) -> (B, M C, 1, 1), branch m at m C ... m C + C
        logits = logits.view(b, self.num_paths, self.channels, 1, 1)  # -> (B, M, C, 1, 1)
        return self.gate(logits)  # softmax across the M branches: (B, M, C, 1, 1)


class SelectiveKernel(nn.Module):
    r"""Selective Kernel convolution: M branches, mixed per channel by a softmax across branches.

    Args:
        channels: number of input and output channels :math:`C`.
        kernel_sizes: the receptive field of each branch, odd sizes (paper: ``(3, 5)``).
        groups: groups of each branch's convolution, the cardinality :math:`G` (paper: 32).
        reduction: :math:`r` in :math:`d = \max(C // r, L)` (paper: 16).
        min_width: :math:`L`, the floor on :math:`d` (paper: 32).
        dilate: build a branch of size :math:`k` as a 3x3 kernel with dilation
            :math:`(k-1)/2` (paper, Caffe, timm; default) instead of a dense :math:`k \times k`.
        split_input: each branch convolves its own :math:`C/M` input channels (timm's
            ``skresnet`` default) instead of all C (paper; default).

    Submodules: ``paths`` (per branch an ``nn.Sequential`` of ``conv`` without bias, ``bn``,
    ``act``) and ``attn`` (:class:`SelectiveKernelAttn`: ``fc_reduce``, ``bn``, ``act``,
    ``fc_select``, ``gate``), named as in timm. A forward hook on ``attn.gate`` sees the branch
    weights as (B, M, C, 1, 1), summing to 1 over dimension 1; :meth:`branch_weights` returns them
    as (B, M, C).

    Shapes: input (B, C, H, W), output (B, C, H, W); any H, W >= 1; batch >= 2 in training mode.
    """

    def __init__(
        self,
        channels: int,
        kernel_sizes: Sequence[int] = (3, 5),
        groups: int = 32,
        reduction: int = 16,
        min_width: int = 32,
        dilate: bool = True,
        split_input: bool = False,
    ) -> None:
        super().__init__()
        self.channels, in_per_path, self.groups, self.hidden, shapes = _resolve(
            channels, kernel_sizes, groups, reduction, min_width, dilate, split_input
        )
        self.dilate, self.split_input = dilate, split_input
        self.kernel_sizes = tuple(kernel_sizes)
        self.reduction, self.min_width = reduction, min_width
        self.num_paths = len(shapes)
        self.paths = nn.ModuleList(
            nn.Sequential(OrderedDict([
                # padding dil (k - 1) / 2 keeps H x W: H + 2p - dil (k - 1) = H
                ("conv", nn.Conv2d(in_per_path, self.channels, k, padding=dil * (k - 1) // 2,
                                   dilation=dil, groups=self.groups, bias=False)),
                ("bn", nn.BatchNorm2d(self.channels)),
                ("act", nn.ReLU()),
            ]))
            for k, dil in shapes
        )
        self.attn = SelectiveKernelAttn(self.channels, self.num_paths, self.hidden)

    def branches(self, x: torch.Tensor) -> torch.Tensor:
        """The M branch outputs stacked: (B, C, H, W) -> (B, M, C, H, W)."""
        x = check_nonempty_feature_map(x, self.channels)
        if self.training and x.shape[0] < 2:
            raise ValueError(
                f"SelectiveKernel in training mode needs a batch of at least 2 images, got "
                f"shape {tuple(x.shape)}: the BatchNorm after fc_reduce normalises one value "
                f"per channel and image over the batch. Use a larger batch or call .eval()"
            )
        if self.split_input:
            parts = torch.split(x, self.channels // self.num_paths, dim=1)  # M x (B, C/M, H, W)
        else:
            parts = [x] * self.num_paths
        outs = [path(part) for path, part in zip(self.paths, parts, strict=True)]
        return torch.stack(outs, dim=1)  # M x (B, C, H, W) -> (B, M, C, H, W)

    def branch_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The softmax weights of the branches, (B, M, C): they sum to 1 over the M branches."""
        return self.attn(self.branches(x)).flatten(2)  # (B, M, C, 1, 1) -> (B, M, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.branches(x)  # (B, M, C, H, W)
        weights = self.attn(feats)  # (B, M, C, 1, 1)
        return (feats * weights).sum(dim=1)  # (B, M, C, H, W) -> (B, C, H, W)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, kernel_sizes={self.kernel_sizes}, groups={self.groups}, "
            f"hidden={self.hidden}, dilate={self.dilate}, split_input={self.split_input}"
        )


def _resolve(
    channels: object,
    kernel_sizes: object,
    groups: object,
    reduction: object,
    min_width: object,
    dilate: object,
    split_input: object,
) -> tuple[int, int, int, int, list[tuple[int, int]]]:
    """Check the arguments as the constructor does; return C, C_in per branch, G, d, shapes."""
    channels = check_int("channels", channels)
    dilate = check_bool("dilate", dilate)
    sizes = _check_kernel_sizes(kernel_sizes, dilate)
    groups = check_int("groups", groups)
    split_input = check_bool("split_input", split_input)
    if split_input and channels % len(sizes):
        raise ValueError(
            f"split_input=True needs channels divisible by the number of branches, got "
            f"channels={channels} and {len(sizes)} branches"
        )
    in_per_path = channels // len(sizes) if split_input else channels
    _check_groups(channels, groups, in_per_path)
    hidden = reduced_width(channels, check_int("reduction", reduction),
                           check_int("min_width", min_width))
    return channels, in_per_path, groups, hidden, _branch_shapes(sizes, dilate)


def sk_num_params(
    channels: int,
    kernel_sizes: Sequence[int] = (3, 5),
    groups: int = 32,
    reduction: int = 16,
    min_width: int = 32,
    dilate: bool = True,
    split_input: bool = False,
) -> int:
    r"""Learnable parameters of :class:`SelectiveKernel`, in closed form.

    With :math:`C_{in}` the input channels of a branch (C, or C/M with ``split_input``),
    :math:`k'_m` the kernel actually built (3 when dilated) and :math:`d = \max(C // r, L)`:

    .. math:: \sum_{m=1}^{M} \frac{C \, C_{in}}{G} k'^2_m + 2MC + Cd + 2d + MCd

    (grouped convolutions, their BN scale and shift, ``fc_reduce``, its BN, ``fc_select``).
    22,080 for the paper's first SK unit of SKNet-50 (C = 128, G = 32, d = 32).
    """
    c, c_in, g, d, shapes = _resolve(channels, kernel_sizes, groups, reduction, min_width,
                                     dilate, split_input)
    m = len(shapes)
    convs = sum(c * (c_in // g) * k * k for k, _ in shapes)
    return convs + 2 * m * c + c * d + 2 * d + m * c * d


def sk_macs(
    channels: int,
    height: int,
    width: int,
    kernel_sizes: Sequence[int] = (3, 5),
    groups: int = 32,
    reduction: int = 16,
    min_width: int = 32,
    dilate: bool = True,
    split_input: bool = False,
) -> dict[str, int]:
    r"""Closed-form operation counts of one :class:`SelectiveKernel` forward pass, per image.

    * ``"macs"``: multiply-accumulates of the convolutions, what
      :func:`attn_lessons.cost.count_flops` reports (``.macs``):
      :math:`HW \sum_m C (C_{in}/G) k'^2_m + Cd + MCd`;
    * ``"branch_macs"``: the branch convolutions, :math:`HW \sum_m C (C_{in}/G) k'^2_m`, nearly
      all of it;
    * ``"attention_macs"``: ``fc_reduce`` and ``fc_select``, :math:`Cd + MCd`;
    * ``"select_ops"``: the weighted sum, :math:`MCHW` multiplications and
      :math:`(M-1)CHW` additions, not counted in ``macs``.
    """
    height = check_int("height", height)
    width = check_int("width", width)
    c, c_in, g, d, shapes = _resolve(channels, kernel_sizes, groups, reduction, min_width,
                                     dilate, split_input)
    m = len(shapes)
    branch = height * width * sum(c * (c_in // g) * k * k for k, _ in shapes)
    attention = c * d + m * c * d
    return {
        "macs": branch + attention,
        "branch_macs": branch,
        "attention_macs": attention,
        "select_ops": (2 * m - 1) * c * height * width,
    }
