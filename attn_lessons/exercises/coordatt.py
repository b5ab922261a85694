"""Checkers for chapter 5's code exercises (Coordinate Attention)."""

from __future__ import annotations

from typing import Any

import torch

from ..coordatt import coordatt_num_params
from ._core import Feedback, check_function

__all__ = ["check_coordinate_pool_3d", "check_h_swish", "check_num_params"]


# ---------------------------------------------------------------------------------------------
# Exercise: the coordinate pooling carried to a volume (a transfer: three directions).
def reference_coordinate_pool_3d(x: torch.Tensor) -> torch.Tensor:
    """[z^d, z^h, z^w] for a volume x (B, C, D, H, W): (B, C, D + H + W), each direction's
    profile averaged over the other two axes."""
    z_d = x.mean(dim=(3, 4))  # (B, C, D, H, W) -> (B, C, D): one mean per slice k
    z_h = x.mean(dim=(2, 4))  # -> (B, C, H): one mean per row i
    z_w = x.mean(dim=(2, 3))  # -> (B, C, W): one mean per column j
    return torch.cat([z_d, z_h, z_w], dim=2)  # -> (B, C, D + H + W)


def _pool3_cases() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(55)
    return [(torch.randn(b, c, d, h, w, generator=g, dtype=torch.float64),)
            for b, c, d, h, w in [(1, 2, 3, 3, 3), (2, 3, 2, 4, 5), (1, 2, 5, 3, 2),
                                  (2, 1, 1, 4, 3)]]


def _pool3_reversed(x):
    return torch.cat([x.mean(dim=(2, 3)), x.mean(dim=(2, 4)), x.mean(dim=(3, 4))], dim=2)


def _pool3_h_w_swapped(x):
    return torch.cat([x.mean(dim=(3, 4)), x.mean(dim=(2, 3)), x.mean(dim=(2, 4))], dim=2)


def _pool3_sum(x):
    return torch.cat([x.sum(dim=(3, 4)), x.sum(dim=(2, 4)), x.sum(dim=(2, 3))], dim=2)


def _pool3_max(x):
    return torch.cat([x.amax(dim=(3, 4)), x.amax(dim=(2, 4)), x.amax(dim=(2, 3))], dim=2)


def _pool3_channel_axis(x):
    return torch.cat([x.mean(dim=(3, 4)), x.mean(dim=(2, 4)), x.mean(dim=(2, 3))], dim=1)


def _pool3_wrong_divisor(x):
    d, h, w = x.shape[2:]
    return torch.cat([x.sum(dim=(3, 4)) / d, x.sum(dim=(2, 4)) / h, x.sum(dim=(2, 3)) / w],
                     dim=2)


def _pool3_no_depth(x):
    return torch.cat([x.mean(dim=(2, 4)), x.mean(dim=(2, 3))], dim=2)


def _pool3_depth_folded(x):
    # the volume reshaped to an image of D*H rows, then the 2-D coordinate pool
    flat = x.flatten(2, 3)  # (B, C, D, H, W) -> (B, C, D H, W)
    return torch.cat([flat.mean(dim=3), flat.mean(dim=2)], dim=2)


def check_coordinate_pool_3d(coordinate_pool_3d: Any) -> Feedback:
    """Check ``coordinate_pool_3d(x)``: the D, H and W profiles of a volume, (B, C, D + H + W)."""
    return check_function(
        coordinate_pool_3d,
        reference_coordinate_pool_3d,
        _pool3_cases(),
        what="coordinate_pool_3d",
        wrong_functions=[
            (_pool3_reversed, "the three parts are in the wrong order, or each averages over the "
                              "wrong axes: z^d keeps the slice index (average over H and W, "
                              "dims (3, 4)) and comes first, then z^h (dims (2, 4)), then z^w "
                              "(dims (2, 3))."),
            (_pool3_h_w_swapped, "z^h and z^w are swapped, or each averages over the wrong "
                                 "axes: z^h keeps the row index (average over dims (2, 4)), "
                                 "z^w the column index (dims (2, 3))."),
            (_pool3_sum, "you summed: each profile is a mean over the other two axes."),
            (_pool3_max, "you took maxima: Coordinate Attention uses average pooling."),
            (_pool3_channel_axis, "concatenate along the last axis (dim=2), so that the result "
                                  "is (B, C, D + H + W); along dim=1 it only works when "
                                  "D = H = W."),
            (_pool3_wrong_divisor, "each mean divides by the number of terms it sums: z^d sums "
                                   "H·W numbers per slice, z^h D·W, z^w D·H."),
            (_pool3_no_depth, "the depth profile z^d is missing: a volume has three directions, "
                              "D + H + W numbers per channel."),
            (_pool3_depth_folded, "folding D into H (an image of D·H rows) gives D·H + W "
                                  "numbers; pool each of the three axes on its own."),
        ],
        success="z = [z^d, z^h, z^w], D + H + W profile means per channel.",
    )


# ---------------------------------------------------------------------------------------------
# Exercise: h-swish.
def reference_h_swish(x: torch.Tensor) -> torch.Tensor:
    """x * ReLU6(x + 3) / 6."""
    return x * torch.clamp(x + 3, 0, 6) / 6


def _h_sigmoid(x):
    return torch.clamp(x + 3, 0, 6) / 6


def _swish(x):
    return x * torch.sigmoid(x)


def _no_sixth(x):
    return x * torch.clamp(x + 3, 0, 6)


def _relu_not_relu6(x):
    return x * torch.clamp(x + 3, min=0) / 6


def _no_shift(x):
    return x * torch.clamp(x, 0, 6) / 6


def _no_clamp(x):
    return x * (x + 3) / 6


def check_h_swish(h_swish: Any) -> Feedback:
    """Check ``h_swish(x)`` = x · ReLU6(x + 3) / 6 on points covering all three pieces."""
    t = torch.linspace(-6, 6, 49, dtype=torch.float64)
    return check_function(
        h_swish,
        reference_h_swish,
        [(t,), (t.reshape(7, 7),)],
        what="h_swish",
        wrong_functions=[
            (_h_sigmoid, "that is h-sigmoid, ReLU6(x + 3)/6: multiply it by x to get h-swish."),
            (_swish, "that is the smooth swish x·σ(x): replace σ by its hard, piecewise-linear "
                     "stand-in ReLU6(x + 3)/6."),
            (_no_sixth, "divide by 6: ReLU6(x + 3) runs from 0 to 6, the gate must run 0 to 1."),
            (_relu_not_relu6, "for large x the output should be x itself: cap x + 3 at 6 "
                              "(ReLU6, not ReLU)."),
            (_no_shift, "the ReLU6 acts on x + 3, not on x: h-swish is already non-zero for "
                        "-3 < x < 0."),
            (_no_clamp, "x (x + 3) / 6 is the middle piece only: clamp x + 3 to [0, 6] so that "
                        "the output is 0 below -3 and x above 3."),
        ],
        success="h_swish(x) = x · ReLU6(x + 3) / 6.",
    )


# ---------------------------------------------------------------------------------------------
# Exercise: the parameter count in closed form.
def reference_num_params(channels: int, reduction: int) -> int:
    """CoordAtt with the paper's min_width = 8 and the authors' biases."""
    return coordatt_num_params(channels, reduction, min_width=8, bias=True)


def _no_bn(c, r):
    m = max(8, c // r)
    return 3 * c * m + m + 2 * c


def _no_bias(c, r):
    m = max(8, c // r)
    return 3 * c * m + 2 * m


def _no_floor(c, r):
    m = c // r
    return 3 * c * m + 3 * m + 2 * c


def _one_output_conv(c, r):
    m = max(8, c // r)
    return 2 * c * m + 3 * m + c


def _floor_as_cap(c, r):
    m = min(8, c // r)
    return 3 * c * m + 3 * m + 2 * c


def _bn_buffers_counted(c, r):
    m = max(8, c // r)
    return 3 * c * m + 5 * m + 2 * c


def _true_division(c, r):
    m = max(8, c / r)
    return 3 * c * m + 3 * m + 2 * c


def check_num_params(num_params: Any) -> Feedback:
    """Check ``num_params(channels, reduction)`` against CoordAtt's real parameter count."""
    return check_function(
        num_params,
        reference_num_params,
        [(512, 32), (64, 32), (16, 32), (96, 4), (1024, 16), (600, 32)],
        what="num_params",
        atol=0.0,
        rtol=0.0,
        integer=True,
        wrong_functions=[
            (_no_bn, "BatchNorm has learnable parameters too: a scale γ and a shift β per "
                     "hidden channel (its running mean and variance are buffers, not "
                     "parameters)."),
            (_no_bias, "the authors' 1x1 convolutions have biases: m for the first, C for each "
                       "of the two output convolutions."),
            (_no_floor, "the hidden width is max(8, C // r), not C // r: check C = 16."),
            (_one_output_conv, "there are two output convolutions, F_h and F_w, each m -> C."),
            (_floor_as_cap, "8 is a floor, not a cap: m = max(8, C // r), so m is never below 8 "
                            "but may be far above it."),
            (_bn_buffers_counted, "BatchNorm's running mean and variance are buffers, not "
                                  "parameters: count only its γ and β (2m)."),
            (_true_division, "C / r is a fraction when r does not divide C: the hidden width is "
                             "a whole number, max(8, C // r)."),
        ],
        success="3Cm + 3m + 2C with m = max(8, C // r).",
    )
