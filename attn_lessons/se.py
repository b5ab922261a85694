r"""Squeeze-and-Excitation (Hu, Shen, Albanie, Sun, Wu; CVPR 2018, TPAMI 2020; arXiv:1709.01507).

For a feature map :math:`U \in \mathbb{R}^{C \times H \times W}` with channels :math:`u_c`:

.. math::

    z_c &= \frac{1}{HW} \sum_{i=1}^{H} \sum_{j=1}^{W} u_c(i, j)
        && \text{(squeeze, } z \in \mathbb{R}^{C}) \\
    s &= \sigma\bigl(W_2\, \delta(W_1 z + b_1) + b_2\bigr)
        && \text{(excitation, } W_1 \in \mathbb{R}^{C' \times C},
                                 W_2 \in \mathbb{R}^{C \times C'}) \\
    \tilde{x}_c &= s_c \, u_c
        && \text{(scale)}

with :math:`\delta` the ReLU, :math:`\sigma` the logistic sigmoid and the hidden width
:math:`C' = \max(\text{min\_width}, \lfloor C / r \rfloor)` for the reduction ratio :math:`r`
(16 in the paper). The paper writes the excitation without biases; ``bias=False`` drops
:math:`b_1, b_2`.

Paper versus popular code
-------------------------
* **Biases.** The released Caffe models (hujie-frank/SENet, e.g. ``SE-ResNet-50.prototxt``) build
  both FC layers as 1x1 ``Convolution`` layers without ``bias_term: false``, so they *have*
  biases (Caffe's default). timm's ``SEModule`` (``bias=True``) and torchvision's
  ``SqueezeExcitation`` (``nn.Conv2d`` defaults) keep them too. moskomule/senet.pytorch, the most
  copied PyTorch version, uses ``nn.Linear(..., bias=False)``, and the journal version of the
  paper reports that on ResNets removing the biases helped its ablation runs. We follow the
  released models: ``bias=True`` by default, ``bias=False`` available.
* **Hidden width.** The paper and the released models use :math:`C / r` exactly (C is a multiple
  of 16 there). Blog code uses ``channels // reduction``, which is **0** when
  ``channels < reduction``: the FC layers then have no weights to speak of and every gate is
  :math:`\sigma(b_2)` (or exactly 0.5 without biases), whatever the input. We refuse that case
  with a ``ValueError`` unless ``min_width`` floors the width. timm rounds
  :math:`C/r` to the nearest multiple of 8 with a minimum of 8
  (``make_divisible(C / r, 8, round_limit=0.0)``), so its hidden width equals ours exactly when
  ``C // r`` is a positive multiple of 8 (for r = 16: 128m <= C <= 128m + 15, m >= 1) and differs
  for every other C (chapter 2's lab checks this rule for C = 16...1024).
* **Layers.** FC layers as ``nn.Linear`` (here) or 1x1 convolutions (Caffe, timm) compute the
  same thing; the weights differ only by two trailing singleton dimensions.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_bool, check_feature_map, check_int, reduced_width

__all__ = ["SqueezeExcite", "se_macs", "se_num_params"]


class SqueezeExcite(nn.Module):
    r"""Squeeze-and-Excitation block: gate each channel by a function of all channel means.

    Args:
        channels: number of input (and output) channels :math:`C`.
        reduction: reduction ratio :math:`r` of the bottleneck (paper: 16).
        bias: whether the two FC layers have biases (released models: yes; see the module
            docstring for where popular code differs).
        min_width: floor on the hidden width :math:`C' = \max(\text{min\_width}, C // r)`. With
            the default 1 a ``reduction`` larger than ``channels`` raises ``ValueError``.

    Submodules ``fc1`` (:math:`W_1`), ``act`` (ReLU), ``fc2`` (:math:`W_2`) and ``gate``
    (``nn.Sigmoid``) are applied in that order; a forward hook on ``gate`` sees the gate
    :math:`s` with shape (B, C). :meth:`gate_values` returns it without scaling the input.

    Shapes: input (B, C, H, W), output (B, C, H, W); any H, W >= 1 and any batch size.
    """

    def __init__(
        self, channels: int, reduction: int = 16, bias: bool = True, min_width: int = 1
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.reduction = check_int("reduction", reduction)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.min_width = check_int("min_width", min_width)
        self.hidden = reduced_width(self.channels, self.reduction, self.min_width)
        self.bias = bias
        self.fc1 = nn.Linear(self.channels, self.hidden, bias=bias)  # W_1: (C', C)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(self.hidden, self.channels, bias=bias)  # W_2: (C, C')
        self.gate = nn.Sigmoid()

    def gate_values(self, x: torch.Tensor) -> torch.Tensor:
        """The gate ``s`` of shape (B, C) for a feature map ``x`` of shape (B, C, H, W)."""
        x = check_feature_map(x, self.channels)
        z = x.mean(dim=(2, 3))  # squeeze: (B, C, H, W) -> (B, C)
        return self.gate(self.fc2(self.act(self.fc1(z))))  # (B, C) -> (B, C') -> (B, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.gate_values(x)  # (B, C)
        return x * s[:, :, None, None]  # (B, C) -> (B, C, 1, 1), broadcast over H and W

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, reduction={self.reduction}, hidden={self.hidden}, "
            f"bias={self.bias}"
        )


def se_num_params(
    channels: int, reduction: int = 16, bias: bool = True, min_width: int = 1
) -> int:
    r"""Number of learnable parameters of :class:`SqueezeExcite`, in closed form.

    .. math:: 2 C C' + [\text{bias}]\,(C' + C), \qquad C' = \max(\text{min\_width}, C // r)

    For :math:`C' = C/r` the weights alone are :math:`2C^2/r`, against :math:`C^2` for a single
    C-by-C layer.
    """
    bias = check_bool("bias", bias)
    hidden = reduced_width(channels, reduction, min_width)
    return 2 * channels * hidden + ((hidden + channels) if bias else 0)


def se_macs(
    channels: int,
    height: int,
    width: int,
    reduction: int = 16,
    bias: bool = True,
    min_width: int = 1,
) -> dict[str, int]:
    r"""Closed-form operation counts of one :class:`SqueezeExcite` forward pass, per image.

    A **MAC** is one multiply-accumulate (``acc += a * b``); **FLOPs** here count each multiply
    and each add separately, so one MAC is 2 FLOPs (the convention of
    :mod:`torch.utils.flop_counter` for matrix products). Returned keys:

    * ``"fc_macs"``: the two FC layers, :math:`2 C C'` MACs (biases add :math:`C' + C`
      additions, counted in ``"bias_adds"``);
    * ``"fc_flops"``: :math:`2 \times` ``fc_macs``, which is what ``torch.utils.flop_counter``
      reports for the two ``nn.Linear`` layers (it ignores biases and elementwise work);
    * ``"pool_adds"``: the squeeze, :math:`C(HW - 1)` additions (plus :math:`C` divisions);
    * ``"scale_muls"``: the scale, :math:`CHW` multiplications;
    * ``"bias_adds"``: :math:`C' + C` when ``bias`` else 0.

    The FC work does not grow with :math:`H W`; the pooling and the scale do, which is why SE
    costs little arithmetic but a full extra read and write of the feature map.
    """
    channels = check_int("channels", channels)
    height = check_int("height", height)
    width = check_int("width", width)
    bias = check_bool("bias", bias)
    hidden = reduced_width(channels, reduction, min_width)
    fc_macs = 2 * channels * hidden
    return {
        "fc_macs": fc_macs,
        "fc_flops": 2 * fc_macs,
        "pool_adds": channels * (height * width - 1),
        "scale_muls": channels * height * width,
        "bias_adds": (hidden + channels) if bias else 0,
    }
