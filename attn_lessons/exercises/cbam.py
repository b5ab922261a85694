"""Checkers for chapter 4 (spatial attention and CBAM). Each returns a Feedback, never raises."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..cbam import cbam_num_params
from ._core import Feedback, check_function

__all__ = ["check_cbam_num_params", "check_channel_gate", "check_spatial_gate_1d"]


# --- channel gate, channels-last ---------------------------------------------------------------
#
# A transfer of the notebook's from-scratch gate: the map arrives channels-last, (B, H, W, C), as
# TensorFlow/Keras and many image loaders store it, so the reader must find the spatial axes
# (1, 2) instead of copying dim=(2, 3), and must not "fix" the layout with a reshape.


def _mlp(z: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    return torch.relu(z @ w1.T) @ w2.T  # (B, C) -> (B, C/r) -> (B, C)


def _channel_gate(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    avg, mx = x.mean(dim=(1, 2)), x.amax(dim=(1, 2))  # (B, H, W, C) -> (B, C)
    return torch.sigmoid(_mlp(avg, w1, w2) + _mlp(mx, w1, w2))


def _channels_first_axes(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    avg, mx = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))  # pools W and C: (B, H)
    return torch.sigmoid(_mlp(avg, w1, w2) + _mlp(mx, w1, w2))


def _w2_first(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    avg, mx = x.mean(dim=(1, 2)), x.amax(dim=(1, 2))
    return torch.sigmoid(torch.relu(avg @ w2) @ w1 + torch.relu(mx @ w2) @ w1)


def _avg_only(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(_mlp(x.mean(dim=(1, 2)), w1, w2))


def _sum_then_mlp(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(_mlp(x.mean(dim=(1, 2)) + x.amax(dim=(1, 2)), w1, w2))


def _two_sigmoids(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    avg, mx = x.mean(dim=(1, 2)), x.amax(dim=(1, 2))
    return torch.sigmoid(_mlp(avg, w1, w2)) + torch.sigmoid(_mlp(mx, w1, w2))


def _max_only(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(_mlp(x.amax(dim=(1, 2)), w1, w2))


def _no_relu(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    avg, mx = x.mean(dim=(1, 2)), x.amax(dim=(1, 2))
    return torch.sigmoid(avg @ w1.T @ w2.T + mx @ w1.T @ w2.T)


def _channel_softmax(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    avg, mx = x.mean(dim=(1, 2)), x.amax(dim=(1, 2))
    return torch.softmax(_mlp(avg, w1, w2) + _mlp(mx, w1, w2), dim=-1)


def _channel_cases() -> list[tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(41)
    # In the first case H = C (and W differs), so that pooling the wrong axes still runs and can
    # be named; on the later ones (H, W, C all different) it would raise a shape error. There,
    # reshape(B, C, H, W) followed by pooling dim=(2, 3) averages the same contiguous blocks of
    # H*W = W*C entries as the wrong axes do, so one hint names both.
    return [
        (torch.randn(2, 8, 3, 8, generator=g), torch.randn(4, 8, generator=g),
         torch.randn(8, 4, generator=g)),
        (torch.randn(2, 3, 5, 8, generator=g), torch.randn(2, 8, generator=g),
         torch.randn(8, 2, generator=g)),
        (torch.randn(1, 5, 6, 16, generator=g), torch.randn(4, 16, generator=g),
         torch.randn(16, 4, generator=g)),
    ]


def check_channel_gate(fn: Any) -> Feedback:
    """Check ``fn(x, w1, w2) -> g^c`` (B, C) for a channels-last x (B, H, W, C).

    ``w1`` (C/r, C) is applied first, ``w2`` (C, C/r) second, without biases: equation (2) of
    Woo et al., CBAM (ECCV 2018), with the book's names g^c, W_1, W_2.
    """
    return check_function(
        fn,
        _channel_gate,
        _channel_cases(),
        what="channel_gate",
        wrong_functions=[
            (_channels_first_axes, "your pools mix channels with positions: in a channels-last "
                                   "map (B, H, W, C) dim=(2, 3) are W and C, and "
                                   "reshape(B, C, H, W) reinterprets the memory in the same way. "
                                   "The spatial axes are 1 and 2: pool dim=(1, 2), or first "
                                   "x.permute(0, 3, 1, 2)."),
            (_w2_first, "w1 (C/r, C) is applied first and w2 second, each transposed: "
                        "relu(z @ w1.T) @ w2.T."),
            (_avg_only, "that is SE's gate: CBAM also feeds the max-pooled descriptor through "
                        "the same MLP and adds the two outputs."),
            (_sum_then_mlp, "apply the MLP to each descriptor separately and add the outputs; "
                            "the ReLU makes MLP(a) + MLP(b) differ from MLP(a + b)."),
            (_two_sigmoids, "add the two MLP outputs first, then apply one sigmoid, so each "
                            "gate stays in (0, 1)."),
            (_max_only, "that uses the max-pooled descriptor alone: CBAM feeds the average too, "
                        "through the same MLP, and adds the two outputs."),
            (_no_relu, "the ReLU between the MLP's two layers is missing."),
            (_channel_softmax, "a softmax makes the channels compete; CBAM's channel gate is a "
                               "sigmoid, one gate per channel in (0, 1)."),
        ],
        success="channels-last pooled over (H, W), one shared MLP, one sigmoid.",
    )


# --- the spatial gate of a 1-D signal (a transfer: CBAM's spatial gate on (B, C, L)) ----------
#
# x is (B, C, L) (an audio frame sequence, a time series with C channels); conv_weight (1, 2, k)
# with k odd, no bias. The gate is sigmoid(conv1d([avg_c x; max_c x], w, padding = k // 2)), one
# value per position: (B, 1, L).


def _gate_1d(x: torch.Tensor, w: torch.Tensor, pooled: torch.Tensor | None = None,
             padding: int | None = None, gate: Any = torch.sigmoid) -> torch.Tensor:
    if pooled is None:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
    pad = w.shape[-1] // 2 if padding is None else padding
    return gate(F.conv1d(pooled, w, padding=pad))                 # (B, 2, L) -> (B, 1, L)


def _spatial_gate_1d(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return _gate_1d(x, w)


def _g1_max_first(x, w):
    return _gate_1d(x, w, torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)],
                                    dim=1))


def _g1_sum_not_mean(x, w):
    return _gate_1d(x, w, torch.cat([x.sum(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)],
                                    dim=1))


def _g1_padding_three(x, w):
    return _gate_1d(x, w, padding=3)


def _g1_no_padding(x, w):
    return _gate_1d(x, w, padding=0)


def _g1_flipped(x, w):
    return _gate_1d(x, w.flip(-1))


def _g1_no_sigmoid(x, w):
    return _gate_1d(x, w, gate=lambda t: t)


def _g1_scaled_signal(x, w):
    return x * _gate_1d(x, w)


def _g1_min(x, w):
    return _gate_1d(x, w, torch.cat([x.mean(dim=1, keepdim=True), x.amin(dim=1, keepdim=True)],
                                    dim=1))


def _gate_1d_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(43)

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    return [(r(2, 6, 10), r(1, 2, 7)), (r(1, 3, 6), r(1, 2, 3)), (r(2, 4, 4), r(1, 2, 5))]


def check_spatial_gate_1d(fn: Any) -> Feedback:
    """Check ``fn(x, conv_weight)``: CBAM's spatial gate for a signal ``x`` (B, C, L), (B, 1, L).

    ``conv_weight`` is (1, 2, k) with k odd; no bias.
    """
    return check_function(
        fn,
        _spatial_gate_1d,
        _gate_1d_cases(),
        what="spatial_gate_1d",
        wrong_functions=[
            (_g1_max_first, "the paper's order is [avg; max] (average in channel 0); [max; avg] "
                            "is the official code's order."),
            (_g1_sum_not_mean, "the first map is the mean over channels, not the sum."),
            (_g1_padding_three, "padding = 3 fits k = 7 only: use k // 2, so that every kernel "
                                "size keeps the length L."),
            (_g1_no_padding, "without padding the convolution shortens the signal to L - k + 1; "
                             "pad by k // 2 on each side to keep one gate per position."),
            (_g1_flipped, "the kernel is reversed: F.conv1d (like CBAM's conv) is a "
                          "cross-correlation, Σ_t w[t] p[i + t - k // 2]; np.convolve flips w."),
            (_g1_no_sigmoid, "the sigmoid is missing: the gate must lie in (0, 1)."),
            (_g1_scaled_signal, "return the gate (B, 1, L) itself, not the signal scaled by it."),
            (_g1_min, "the second map is the maximum over channels (amax), not the minimum."),
        ],
        success="[avg; max] over channels, conv1d with padding k // 2, sigmoid: (B, 1, L).",
    )


# --- parameter count --------------------------------------------------------------------------


def _num_params(channels: int, reduction: int, kernel_size: int) -> int:
    return cbam_num_params(channels, reduction, kernel_size)


def _hidden(channels: int, reduction: int) -> int:
    return max(1, channels // reduction)


def _one_plane(channels: int, reduction: int, kernel_size: int) -> int:
    return 2 * channels * _hidden(channels, reduction) + kernel_size**2


def _two_mlps(channels: int, reduction: int, kernel_size: int) -> int:
    return 4 * channels * _hidden(channels, reduction) + 2 * kernel_size**2


def _with_biases(channels: int, reduction: int, kernel_size: int) -> int:
    hidden = _hidden(channels, reduction)
    return 2 * channels * hidden + 2 * kernel_size**2 + hidden + channels


def _true_division(channels: int, reduction: int, kernel_size: int) -> float:
    return 2 * channels * (channels / reduction) + 2 * kernel_size**2


def _round_width(channels: int, reduction: int, kernel_size: int) -> int:
    return 2 * channels * max(1, round(channels / reduction)) + 2 * kernel_size**2


def _ceil_width(channels: int, reduction: int, kernel_size: int) -> int:
    return 2 * channels * -(-channels // reduction) + 2 * kernel_size**2


def _linear_kernel(channels: int, reduction: int, kernel_size: int) -> int:
    return 2 * channels * _hidden(channels, reduction) + 2 * kernel_size


def check_cbam_num_params(fn: Any) -> Feedback:
    """Check ``fn(channels, reduction, kernel_size)`` = CBAM's parameters without biases, with
    ``ValueError`` when ``channels // reduction`` is 0."""
    return check_function(
        fn,
        _num_params,
        # (16, 16, 7): C = r leaves one hidden unit, a working MLP that must not be refused
        [(512, 16, 7), (64, 8, 3), (256, 16, 5), (100, 16, 7), (120, 16, 7), (90, 16, 3),
         (16, 16, 7), (8, 16, 7)],
        what="cbam_num_params",
        atol=0,
        rtol=0,
        integer=True,
        wrong_functions=[
            (_one_plane, "the spatial convolution reads two maps (average and max): its kernel "
                         "has 2 k^2 weights."),
            (_two_mlps, "the MLP is shared by the two descriptors: count its weights once."),
            (_with_biases, "count the paper's version, without biases: 2C·(C // r) + 2k^2."),
            (_true_division, "C / r is a fraction when r does not divide C; the MLP's hidden "
                             "width is a whole number of units, C // r."),
            (_ceil_width, "the hidden width rounds down, C // r (for C = 100, r = 16 it is 6, "
                          "not 7)."),
            (_round_width, "the hidden width rounds down, C // r (for C = 120, r = 16 it is 7, "
                           "not 8)."),
            (_linear_kernel, "a k × k kernel has k^2 weights per input map, not k."),
        ],
        refusal_hint="for C < r, C // r = 0: the channel MLP would have no hidden unit. Refuse "
        "it: raise ValueError (as the library does).",
        valid_refused_hint="you refused an MLP that has a hidden unit: for C = r, C // r = 1, a "
        "working module. Refuse only when C // r is 0, that is C < r.",
        success="2C·(C // r) + 2k², and no MLP without a hidden unit.",
    )
