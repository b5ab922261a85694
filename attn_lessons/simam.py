r"""SimAM, a parameter-free attention module (Yang, Zhang, Li, Xie; ICML 2021; PMLR 139:11863).

SimAM gives every activation of a feature map its own weight, computed in closed form from the
statistics of its channel, with no learned parameter at all.

**Where the formula comes from.** For one channel with activations :math:`x_1, \dots, x_M`
(:math:`M = HW`), take a target neuron :math:`t` and ask how well a linear map
:math:`\hat{u} = w_t u + b_t` separates it from the other :math:`M - 1` neurons, with labels
1 for the target and :math:`-1` for the rest and a weight decay :math:`\lambda`:

.. math::

    e_t(w_t, b_t) = \frac{1}{M-1} \sum_{i \ne t} \bigl(-1 - (w_t x_i + b_t)\bigr)^2
                    + \bigl(1 - (w_t t + b_t)\bigr)^2 + \lambda w_t^2
        \qquad \text{(Eq. 2, the energy)}

A quadratic in :math:`(w_t, b_t)`, so its minimum has a closed form (Eq. 3). Replacing the mean
and variance of the other neurons by those of the whole channel, :math:`\hat\mu` and
:math:`\hat\sigma^2`, the minimal energy is

.. math::

    e_t^{*} = \frac{4(\hat\sigma^2 + \lambda)}{(t - \hat\mu)^2 + 2\hat\sigma^2 + 2\lambda}
        \qquad \text{(Eq. 4)}

Low energy means a neuron that stands out from its channel, so the importance is
:math:`1 / e_t^{*}`, and the module is

.. math::

    \frac{1}{e_t^{*}} &= \frac{(t - \hat\mu)^2}{4(\hat\sigma^2 + \lambda)} + \frac{1}{2} \\
    \tilde{X} &= \sigma\!\left(\frac{1}{E}\right) \odot X
        \qquad \text{(Eq. 5, } E \text{ gathers } e_t^{*} \text{ over every channel and position)}

with :math:`\sigma` the logistic sigmoid. In the template of the book: it **pools** the mean and
variance of each channel over the H x W positions; it **transforms** nothing (no parameter); its
**gate** is the sigmoid of the inverse energy, one value per activation (a full C x H x W map,
always in :math:`[\sigma(1/2), 1) \approx [0.62, 1)`); it **applies** by multiplication. The gate
grows with the squared distance of an activation from its channel mean measured in units of the
channel's variance: it is invariant to shifting a channel by a constant and, for
:math:`\lambda \to 0`, to scaling it.

Authors' code
-------------
ZjjConan/SimAM at commit ae98f43a34a051cc82f6e618853c690e1f4c92e6,
``networks/attentions/simam_module.py``: constructor lines 6-10 (``e_lambda = 1e-4``, no
parameters), forward lines 21-30::

    n = w * h - 1
    d = (x - mean_hw(x))^2;  y = d / (4 * (sum_hw(d) / n + e_lambda)) + 0.5;  return x * sigmoid(y)

This module computes the same, with these documented differences:

* **The variance divides by** :math:`n = HW - 1` in the code (its README calls ``d.sum() / n``
  "channel variance"). Option ``ddof``: 1 (the code's, default) or 0, the population variance
  over :math:`M = HW`, the other reading of Eq. 4's statistics (the book has not checked which
  divisor the printed paper uses; the README and the code say :math:`HW - 1`). For a 7 x 7 map
  the two differ by 2 % in
  the variance term.
* **A 1 x 1 map.** With one position the code divides 0 by :math:`n = 0` and returns NaN for
  every activation. Here the divisor is :math:`\max(M - \text{ddof}, 1)`: the squared deviation
  is exactly 0, so the inverse energy is 1/2 and the gate :math:`\sigma(1/2)` for any
  :math:`\lambda > 0`. Every network of the book reaches 1 x 1 maps on small inputs.
* **λ.** The module's default is the code's ``e_lambda = 1e-4``; the README's ImageNet commands
  pass ``--attention_param 0.1``. It must be a positive number: with :math:`\lambda = 0` a
  constant channel gives 0 / 0.
* The argument ``channels`` is optional, as in the code; given, it is checked against the input.

Where the authors put it: in their ResNets, after the last convolution of each residual branch
and *before* its BatchNorm (``networks/imagenet/resnet.py``, ``BasicBlock``, lines 62-66); SE and
CBAM go after that BatchNorm there. The networks of this book put every module in the same slot.

Paper versus popular code
-------------------------
The External-Attention collection (xmu-xiaoma666/External-Attention-pytorch at commit
d75848e40233ed56fa503c888472bab8b17c568c, ``model/attention/SimAM.py``) is a verbatim copy of the
authors' module, NaN on 1 x 1 maps included. Blog versions that divide the variance by
:math:`HW` instead of :math:`HW - 1` compute ``ddof=0``, not the released code.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import (
    check_int,
    check_nonempty_feature_map,
    check_positive_float,
)

__all__ = ["SimAM", "simam_macs", "simam_num_params"]


def _check_ddof(ddof: object) -> int:
    ddof = check_int("ddof", ddof, minimum=0)
    if ddof > 1:
        raise ValueError(
            f"ddof must be 1 (the authors' code: variance over HW - 1) or 0 (the population "
            f"variance, over HW), got {ddof}"
        )
    return ddof


class SimAM(nn.Module):
    r"""SimAM: weight every activation by the sigmoid of its inverse minimal energy.

    Args:
        channels: optional channel count :math:`C`; when given, inputs must have it (the module
            itself works for any C, as the authors' does).
        e_lambda: the weight decay :math:`\lambda` of the energy, a positive number (authors'
            code: ``1e-4``).
        ddof: the variance's divisor is :math:`HW - \text{ddof}`: 1 as the authors' code
            (default), 0 for the population variance over :math:`HW`.

    Submodule ``gate`` (``nn.Sigmoid``): a forward hook on it sees the gate
    :math:`\sigma(1/E)` with the input's shape (B, C, H, W). :meth:`inverse_energy` returns
    :math:`1/E` itself. No parameters, no buffers.

    Shapes: input (B, C, H, W), output (B, C, H, W); any H, W >= 1 and any batch size >= 1.
    """

    def __init__(
        self, channels: int | None = None, e_lambda: float = 1e-4, ddof: int = 1
    ) -> None:
        super().__init__()
        self.channels = None if channels is None else check_int("channels", channels)
        self.e_lambda = check_positive_float("e_lambda", e_lambda)
        self.ddof = _check_ddof(ddof)
        self.gate = nn.Sigmoid()

    def inverse_energy(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`1/e_t^{*}` for every activation of ``x``: (B, C, H, W) -> (B, C, H, W)."""
        x = check_nonempty_feature_map(x, self.channels)
        h, w = x.shape[2], x.shape[3]
        divisor = max(h * w - self.ddof, 1)  # n = HW - 1 in the code; 1 x 1 maps: see docstring
        d = (x - x.mean(dim=(2, 3), keepdim=True)).square()  # (t - mu)^2: (B, C, H, W)
        variance = d.sum(dim=(2, 3), keepdim=True) / divisor  # (B, C, H, W) -> (B, C, 1, 1)
        return d / (4 * (variance + self.e_lambda)) + 0.5  # broadcast -> (B, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.inverse_energy(x))  # (B, C, H, W) * (B, C, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, e_lambda={self.e_lambda}, ddof={self.ddof}"


def simam_num_params(channels: int | None = None, e_lambda: float = 1e-4, ddof: int = 1) -> int:
    """Learnable parameters of :class:`SimAM`: 0, whatever the arguments (which are checked)."""
    if channels is not None:
        check_int("channels", channels)
    check_positive_float("e_lambda", e_lambda)
    _check_ddof(ddof)
    return 0


def simam_macs(channels: int, height: int, width: int) -> dict[str, int]:
    r"""Closed-form operation counts of one :class:`SimAM` forward pass, per image.

    * ``"macs"``: multiply-accumulates of convolutions and matrix products, the count
      :func:`attn_lessons.cost.count_flops` reports (``.macs``): **0**, SimAM has none;
    * ``"elementwise"``: the elementwise arithmetic, :math:`8CHW + 2C`: six operations per
      activation (subtract the mean, square, divide, add 1/2, sigmoid, multiply), the two channel
      sums (:math:`2C(HW - 1)` additions) and four per channel (divide for the mean, divide for
      the variance, add :math:`\lambda`, times 4). This is all of SimAM's work, and its time;
    * ``"scale_muls"``: the final product with the gate, :math:`CHW` (part of ``elementwise``).
    """
    channels = check_int("channels", channels)
    height = check_int("height", height)
    width = check_int("width", width)
    n = channels * height * width
    return {"macs": 0, "elementwise": 8 * n + 2 * channels, "scale_muls": n}
