"""Checkers for chapter 3 (ECA). Each takes the reader's function and returns a Feedback."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ._core import Feedback, check_function

__all__ = ["check_eca_gate", "check_eca_gate_circular", "check_eca_kernel_size",
           "check_eca_toeplitz"]


# --- the kernel-size formula ------------------------------------------------------------------


def _t(channels: int) -> float:
    return (math.log2(channels) + 1) / 2


def _paper_k(channels: int) -> int:
    t = int(_t(channels))
    return t if t % 2 else t + 1


def _ties_down(channels: int) -> int:
    return max(1, 2 * math.ceil(_t(channels) / 2) - 1)


def _round_then_odd(channels: int) -> int:
    return math.floor(_t(channels) + 0.5) | 1


def _not_odd(channels: int) -> int:
    return int(_t(channels))


def _floor_3(channels: int) -> int:
    return max(3, _paper_k(channels))


def _natural_log(channels: int) -> int:
    t = int((math.log(channels) + 1) / 2)
    return t if t % 2 else t + 1


def _ceil_then_odd(channels: int) -> int:
    t = math.ceil(_t(channels))
    return t if t % 2 else t + 1


def _even_down(channels: int) -> int:
    t = int(_t(channels))
    return t if t % 2 else max(1, t - 1)


# Ordered so that each modelled mistake first fails on a case no earlier mistake explains.
_KERNEL_CASES = [(1000,), (3,), (256,), (128,), (16,), (64,), (2048,), (4,)]


def check_eca_kernel_size(fn: Any) -> Feedback:
    """Check ``fn(channels) -> k`` against the paper's rule with gamma = 2, b = 1."""
    return check_function(
        fn,
        _paper_k,
        _KERNEL_CASES,
        what="eca_kernel_size",
        atol=0,
        rtol=0,
        integer=True,
        wrong_functions=[
            (_not_odd, "the result must be odd: when int(t) is even, add 1."),
            (_ties_down, "for C = 128, t is exactly 4; the authors' code turns an even int(t) "
                         "into int(t) + 1, so the answer is 5, not 3."),
            (_floor_3, "the paper's rule has no floor of 3 (that is timm's choice): for C = 3 or "
                       "C = 4 it gives 1."),
            (_round_then_odd, "take the integer part of t (int), do not round it: for C = 64, "
                              "t = 3.5 and the paper's code gives 3."),
            (_natural_log, "the rule uses log2 C, not the natural logarithm: for C = 1000, "
                           "log2 C = 9.97, t = 5.48 and k = 5."),
            (_ceil_then_odd, "take the integer part of t (int, rounding down), not the ceiling: "
                             "for C = 1000, t = 5.48 gives 5."),
            (_even_down, "an even int(t) goes up by one, not down: for C = 256, int(t) = 4 "
                         "gives 5."),
        ],
        success="the paper's kernel sizes, ties included.",
    )


# --- the gate from a descriptor and a kernel --------------------------------------------------


def _gate(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    out = F.conv1d(y[:, None, :], kernel.reshape(1, 1, k), padding=(k - 1) // 2)
    return torch.sigmoid(out)[:, 0, :]


def _gate_no_sigmoid(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    return F.conv1d(y[:, None, :], kernel.reshape(1, 1, k), padding=(k - 1) // 2)[:, 0, :]


def _gate_flipped(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return _gate(y, kernel.flip(0))


def _gate_circular(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    p = (k - 1) // 2
    padded = F.pad(y[:, None, :], (p, p), mode="circular")
    return torch.sigmoid(F.conv1d(padded, kernel.reshape(1, 1, k)))[:, 0, :]


def _gate_no_padding(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    return torch.sigmoid(F.conv1d(y[:, None, :], kernel.reshape(1, 1, k)))[:, 0, :]


def _gate_padding_one(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    return torch.sigmoid(F.conv1d(y[:, None, :], kernel.reshape(1, 1, k), padding=1))[:, 0, :]


def _gate_softmax(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    out = F.conv1d(y[:, None, :], kernel.reshape(1, 1, k), padding=(k - 1) // 2)
    return torch.softmax(out, dim=-1)[:, 0, :]


def _gate_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(31)
    return [
        (torch.randn(2, 10, generator=g), torch.tensor([0.5, -1.0, 2.0])),
        (torch.randn(1, 16, generator=g), torch.randn(5, generator=g)),
        (torch.randn(3, 7, generator=g), torch.tensor([0.3, 0.1, -0.7, 1.2, 0.4])),
    ]


def check_eca_gate(fn: Any) -> Feedback:
    """Check ``fn(y, kernel) -> omega``: y (B, C) descriptors, kernel (k,), omega (B, C)."""
    return check_function(
        fn,
        _gate,
        _gate_cases(),
        what="eca_gate",
        wrong_functions=[
            (_gate_no_sigmoid, "the gate is the sigmoid of the convolution's output."),
            (_gate_flipped, "your kernel is reversed: PyTorch's conv1d (and the paper's "
                            "w_j y_{c+j-...}) does not flip the kernel."),
            (_gate_circular, "pad with zeros, not circularly: channel 1 and channel C are not "
                             "neighbours in ECA (timm's CecaModule is the circular variant)."),
            (_gate_no_padding, "without padding the output has C - k + 1 entries: pad "
                               "(k - 1) // 2 zeros on each side."),
            (_gate_padding_one, "padding=1 fits k = 3 only: for k = 5 the output loses two "
                                "channels. Pad (k - 1) // 2 on each side."),
            (_gate_softmax, "a softmax over the channels makes them compete; ECA gates each "
                            "channel on its own with a sigmoid."),
        ],
        success="the ECA gate, padding and all.",
    )


# --- the banded Toeplitz matrix ---------------------------------------------------------------


def _toeplitz(kernel: torch.Tensor, channels: int) -> torch.Tensor:
    k = kernel.numel()
    half = (k - 1) // 2
    w = torch.zeros(channels, channels, dtype=kernel.dtype)
    for c in range(channels):
        for cp in range(max(0, c - half), min(channels, c + half + 1)):
            w[c, cp] = kernel[cp - c + half]
    return w


def _toeplitz_transposed(kernel: torch.Tensor, channels: int) -> torch.Tensor:
    return _toeplitz(kernel, channels).T


def _toeplitz_circulant(kernel: torch.Tensor, channels: int) -> torch.Tensor:
    k = kernel.numel()
    half = (k - 1) // 2
    w = torch.zeros(channels, channels, dtype=kernel.dtype)
    for c in range(channels):
        for j in range(k):
            w[c, (c + j - half) % channels] += kernel[j]
    return w


def _toeplitz_unshifted(kernel: torch.Tensor, channels: int) -> torch.Tensor:
    k = kernel.numel()
    w = torch.zeros(channels, channels, dtype=kernel.dtype)
    for c in range(channels):
        for j in range(k):
            if c + j < channels:
                w[c, c + j] = kernel[j]
    return w


def _toeplitz_centre_only(kernel: torch.Tensor, channels: int) -> torch.Tensor:
    return kernel[(kernel.numel() - 1) // 2] * torch.eye(channels, dtype=kernel.dtype)


def _toeplitz_padded(kernel: torch.Tensor, channels: int) -> torch.Tensor:
    k = kernel.numel()
    w = torch.zeros(channels, channels + k - 1, dtype=kernel.dtype)
    for c in range(channels):
        w[c, c:c + k] = kernel
    return w


def check_eca_toeplitz(fn: Any) -> Feedback:
    """Check ``fn(kernel, channels) -> W`` with ``sigmoid(y @ W.T)`` equal to the ECA gate."""
    return check_function(
        fn,
        _toeplitz,
        [
            (torch.tensor([1.0, 2.0, 3.0]), 6),
            (torch.tensor([0.5, -1.0, 2.0, 4.0, -3.0]), 8),
            (torch.tensor([7.0]), 3),
        ],
        what="toeplitz",
        wrong_functions=[
            (_toeplitz_transposed, "row c must hold the weights that produce output c: "
                                   "W[c, c'] = w[c' - c + (k - 1) / 2]; yours is transposed."),
            (_toeplitz_circulant, "the band must stop at the edges (zero padding): no weights "
                                  "in the corners wrap around."),
            (_toeplitz_unshifted, "the band is centred on the diagonal: output c reads "
                                  "channels c - (k-1)/2 ... c + (k-1)/2, so "
                                  "W[c, c'] = w[c' - c + (k-1)/2]."),
            (_toeplitz_centre_only, "every tap of the kernel appears in the matrix, not only the "
                                    "centre one: the band is k wide."),
            (_toeplitz_padded, "that is the matrix acting on the zero-padded descriptor "
                               "(C × (C + k - 1)); drop the padding columns to get C × C."),
        ],
        success="ECA is SE with this banded, shared-weight matrix.",
    )


# --- circular padding (timm's CecaModule) -------------------------------------------------------


def _gate_circular_zero_pad_both(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return _gate(y, kernel)


def _gate_circular_one_side(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    padded = F.pad(y[:, None, :], (k - 1, 0), mode="circular")
    return torch.sigmoid(F.conv1d(padded, kernel.reshape(1, 1, k)))[:, 0, :]


def _gate_circular_reflect(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    p = (k - 1) // 2
    padded = F.pad(y[:, None, :], (p, p), mode="reflect")
    return torch.sigmoid(F.conv1d(padded, kernel.reshape(1, 1, k)))[:, 0, :]


def _gate_circular_flipped(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return _gate_circular(y, kernel.flip(0))


def _gate_circular_no_sigmoid(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    p = (k - 1) // 2
    padded = F.pad(y[:, None, :], (p, p), mode="circular")
    return F.conv1d(padded, kernel.reshape(1, 1, k))[:, 0, :]


def check_eca_gate_circular(fn: Any) -> Feedback:
    """Check ``fn(y, kernel) -> omega`` for ECA with circular padding: channel C - 1 and channel 0
    are neighbours (timm's ``CecaModule``)."""
    return check_function(
        fn,
        _gate_circular,
        _gate_cases(),
        what="eca_gate_circular",
        wrong_functions=[
            (_gate_circular_zero_pad_both, "that is the zero-padded gate of the chapter: here the "
             "channel axis wraps around, so the first channel's left neighbour is the last one."),
            (_gate_circular_one_side, "the padding must be split, (k - 1) // 2 on each side; all "
             "of it on one side shifts every gate by (k - 1) / 2 channels."),
            (_gate_circular_reflect, "reflect padding mirrors the channels next to the edge; "
             "circular padding wraps around to the other end."),
            (_gate_circular_flipped, "your kernel is reversed: conv1d does not flip the kernel."),
            (_gate_circular_no_sigmoid, "the gate is the sigmoid of the convolution's output."),
        ],
        success="with circular padding, the gates of the first and the last channels see each "
        "other.",
    )
