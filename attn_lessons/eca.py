r"""Efficient Channel Attention, ECA (Wang, Wu, Zhu, Li, Zuo, Hu; CVPR 2020; arXiv:1910.03151).

For a feature map :math:`X \in \mathbb{R}^{C \times H \times W}` with channels :math:`x_c`:

.. math::

    y_c &= \frac{1}{HW} \sum_{i=1}^{H} \sum_{j=1}^{W} x_c(i, j)
        && \text{(global average pooling, } y \in \mathbb{R}^{C}) \\
    \omega_c &= \sigma\Bigl(\sum_{j=1}^{k} w_j \, y_{c + j - 1 - (k-1)/2}\Bigr)
        && \text{(1-D convolution over channels, zero outside } 1..C) \\
    \tilde{x}_c &= \omega_c \, x_c
        && \text{(scale)}

with one kernel :math:`w \in \mathbb{R}^{k}` shared by all channels, no bias, and :math:`\sigma`
the logistic sigmoid. In matrix form :math:`\omega = \sigma(W y)` with :math:`W` the C-by-C banded
Toeplitz matrix :math:`W_{c, c'} = w_{c' - c + (k+1)/2}` for :math:`|c' - c| \le (k-1)/2` and 0
elsewhere: SE's dense excitation replaced by a band of shared weights. Zero padding of
:math:`(k-1)/2` on each side keeps :math:`C` outputs.

The kernel size follows from the channel count. The paper assumes :math:`C = \phi(k) =
2^{\gamma k - b}` and inverts it:

.. math:: k = \psi(C) = \Bigl| \frac{\log_2 C}{\gamma} + \frac{b}{\gamma} \Bigr|_{\text{odd}},
          \qquad \gamma = 2,\ b = 1,

where :math:`|t|_{\text{odd}}` is "the nearest odd number to t". The code listing in the paper
computes ``t = int(abs((log(C, 2) + b) / gamma))`` and then ``k = t if t % 2 else t + 1``.
For :math:`t \ge 0` that is :math:`2 \lfloor t/2 \rfloor + 1`: the nearest odd number with a tie
(t an even integer) resolved *upwards*. With :math:`\gamma = 2, b = 1` a tie needs
:math:`t = (\log_2 C + 1)/2` to be an even integer, that is :math:`\log_2 C \equiv 3 \pmod 4`
(C = 8, 128, 2048, ...): at :math:`C = 128`, :math:`t = (7 + 1)/2 = 4` exactly and the code gives
5 (3 is just as near). An odd :math:`\log_2 C` alone is not enough: C = 32 or 512 give an odd
:math:`t` and no tie.

Kernel-size rules (argument ``rule`` of :func:`eca_kernel_size`)
----------------------------------------------------------------
``"paper"``
    The authors' code, as above: :math:`k = 2\lfloor t/2 \rfloor + 1` (ties go up).
``"nearest_odd"``
    The nearest odd number with ties resolved *downwards*, :math:`k = \max(1, 2\lceil t/2
    \rceil - 1)`: the other reading of :math:`|t|_{\text{odd}}`. It differs from ``"paper"``
    exactly at the ties (C = 8, 128, 2048 for the default constants: 1, 3, 5 instead of 3, 5, 7).
``"round_odd"``
    Round :math:`t` to the nearest integer (halves up), then add 1 if even. A common
    re-implementation; it differs from ``"paper"`` for every :math:`t` in :math:`[2m + 1.5,
    2m + 2)`, e.g. C = 64 ... 127 (5 instead of 3) and C = 1024 ... 2047 (7 instead of 5).
``"at_least_3"``
    ``"paper"`` followed by ``max(k, 3)``, as timm's ``EcaModule`` does: below C = 8 the paper's
    rule gives k = 1, a gate with no cross-channel interaction at all.

Paper versus popular code
-------------------------
* **The formula is not in the released module.** ``eca_layer`` in BangguWu/ECANet takes a fixed
  ``k_size`` (default 3); the ImageNet ResNet checkpoints were trained with one size per stage,
  named in their file names: ``k3557`` for ECA-Net50 and ``k3357`` for ECA-Net101/152. The formula
  gives 5, 5, 5, 7 for those stages' 256, 512, 1024, 2048 channels. (ECA-Net50 with 3, 5, 5, 7 has
  3*3 + 4*5 + 6*5 + 3*7 = 80 attention parameters, the number the paper reports.)
* **A floor of 3.** timm applies ``max(k, 3)`` (our ``"at_least_3"``).
* **Padding.** ``(k - 1) // 2``, derived from the kernel here; blog code often hard-codes
  ``padding=1``, which only keeps C outputs for k = 3.
* **Logarithm.** The authors write ``math.log(C, 2)``, which is off by one ulp for some powers of
  two (e.g. :math:`2^{29}`); we use ``math.log2``, exact for powers of two. Both give the same
  kernel size for every C below :math:`2^{16}`.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from ._validation import (
    check_choice,
    check_feature_map,
    check_int,
    check_odd_kernel,
    check_positive_float,
)

__all__ = ["ECA", "ECA_POOLINGS", "ECA_RULES", "eca_kernel_size", "eca_num_params"]

#: Names accepted by ``rule`` (see the module docstring for each).
ECA_RULES: tuple[str, ...] = ("paper", "nearest_odd", "round_odd", "at_least_3")
#: Names accepted by ``pooling``.
ECA_POOLINGS: tuple[str, ...] = ("avg", "avgmax")


def _check_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def eca_kernel_size(
    channels: int, gamma: float = 2, b: float = 1, rule: str = "paper"
) -> int:
    r"""The 1-D kernel size :math:`k = \psi(C)` for ``channels`` channels.

    :math:`t = |(\log_2 C + b) / \gamma|`, then ``rule`` turns :math:`t` into a positive odd
    integer (module docstring). With the defaults: C = 16, 32, 64 give 3; 128, 256, 512, 1024 give
    5; 2048 gives 7. C = 128 is the exact case :math:`t = 4`: ``"paper"`` gives 5,
    ``"nearest_odd"`` gives 3.
    """
    channels = check_int("channels", channels)
    gamma = check_positive_float("gamma", gamma)
    b = _check_real("b", b)
    rule = check_choice("rule", rule, ECA_RULES)
    t = abs((math.log2(channels) + b) / gamma)
    if not t < 2**31:  # inf (gamma near 0, b huge) or a kernel no feature map could use
        raise ValueError(
            f"|(log2(channels) + b) / gamma| = {t:g} for channels={channels}, gamma={gamma:g}, "
            f"b={b:g}: no usable kernel size; gamma is too small or b too large"
        )
    if rule == "nearest_odd":
        return max(1, 2 * math.ceil(t / 2) - 1)
    if rule == "round_odd":
        return math.floor(t + 0.5) | 1  # round halves up, then an even number goes up by one
    k = 2 * math.floor(t / 2) + 1  # == int(t) if int(t) is odd else int(t) + 1, for t >= 0
    return max(k, 3) if rule == "at_least_3" else k


def _resolve_kernel(
    channels: int, kernel_size: int | None, gamma: float, b: float, rule: str
) -> int:
    if kernel_size is None:
        return eca_kernel_size(channels, gamma, b, rule)
    check_choice("rule", rule, ECA_RULES)
    return check_odd_kernel("kernel_size", kernel_size)


class ECA(nn.Module):
    r"""Efficient Channel Attention: gate each channel by a 1-D convolution of channel descriptors.

    Args:
        channels: number of input (and output) channels :math:`C`.
        kernel_size: odd size :math:`k` of the 1-D kernel; ``None`` (default) computes it with
            :func:`eca_kernel_size` from ``channels``, ``gamma``, ``b`` and ``rule``.
        gamma, b: constants of the kernel-size formula (paper: 2 and 1).
        rule: how :math:`t` becomes an odd integer: ``"paper"`` (the authors' code, default),
            ``"nearest_odd"``, ``"round_odd"`` or ``"at_least_3"`` (timm).
        pooling: ``"avg"`` (the paper: global average pooling) or ``"avgmax"``: the same
            kernel applied to the average- and to the max-pooled descriptor and the two results
            summed before the sigmoid, as CBAM's channel gate does with its MLP. The convolution
            is linear and has no bias, so this equals one convolution of the summed descriptor
            :math:`y^{avg} + y^{max}`, which is how it is computed.

    Submodules: ``conv`` (``nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)``) and ``gate``
    (``nn.Sigmoid``); a forward hook on ``gate`` sees :math:`\omega` with shape (B, 1, C).
    :meth:`gate_values` returns it as (B, C). The module has exactly :math:`k` parameters.

    Shapes: input (B, C, H, W), output (B, C, H, W); any H, W >= 1 and any batch size.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int | None = None,
        gamma: float = 2,
        b: float = 1,
        rule: str = "paper",
        pooling: str = "avg",
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.kernel_size = _resolve_kernel(self.channels, kernel_size, gamma, b, rule)
        self.pooling = check_choice("pooling", pooling, ECA_POOLINGS)
        # Zero padding p on each side keeps the length: C + 2p - k + 1 = C  <=>  p = (k - 1) / 2.
        self.conv = nn.Conv1d(
            1, 1, self.kernel_size, padding=(self.kernel_size - 1) // 2, bias=False
        )
        self.gate = nn.Sigmoid()

    def descriptor(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled channel descriptor of shape (B, C) (average, or average + max)."""
        x = check_feature_map(x, self.channels)
        y = x.mean(dim=(2, 3))  # (B, C, H, W) -> (B, C)
        if self.pooling == "avgmax":
            y = y + x.amax(dim=(2, 3))  # (B, C, H, W) -> (B, C)
        return y

    def gate_values(self, x: torch.Tensor) -> torch.Tensor:
        """The gate :math:`\\omega` of shape (B, C) for a feature map of shape (B, C, H, W)."""
        y = self.descriptor(x)[:, None, :]  # (B, C) -> (B, 1, C): channels become the length
        return self.gate(self.conv(y))[:, 0, :]  # (B, 1, C) -> (B, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.gate_values(x)  # (B, C)
        return x * w[:, :, None, None]  # (B, C) -> (B, C, 1, 1), broadcast over H and W

    def extra_repr(self) -> str:
        return f"channels={self.channels}, kernel_size={self.kernel_size}, pooling={self.pooling!r}"


def eca_num_params(
    channels: int,
    kernel_size: int | None = None,
    gamma: float = 2,
    b: float = 1,
    rule: str = "paper",
) -> int:
    r"""Number of learnable parameters of :class:`ECA`: the kernel size :math:`k`.

    Against :math:`2C^2/r` for SE (without biases): for C = 512, r = 16, 5 against 32,768.
    """
    channels = check_int("channels", channels)
    return _resolve_kernel(channels, kernel_size, gamma, b, rule)
