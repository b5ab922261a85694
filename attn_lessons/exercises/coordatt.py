"""Checkers for chapter 5's code exercises (Coordinate Attention)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..coordatt import coordatt_num_params
from ._core import Feedback, autograd_forbidden, check_function

__all__ = ["check_coordinate_pool_3d", "check_h_swish_grad", "check_num_params"]


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
# Exercise: the derivative of h-swish by hand (a transfer: the chapter only evaluates it).
#
# h(x) = x · ReLU6(x + 3) / 6, so h'(x) = 0 for x < -3, (2x + 3) / 6 for -3 < x < 3, 1 for x > 3.
# It jumps at both kinks (-1/2 just right of -3, 3/2 just left of 3); the checker's points avoid
# them, where the derivative is not defined and autograd's choice is a convention.
def reference_h_swish_grad(x: torch.Tensor) -> torch.Tensor:
    """d h_swish / dx at every entry of x, by autograd (the checker never trusts the formula it
    tests)."""
    t = x.detach().to(torch.float64).requires_grad_(True)
    (grad,) = torch.autograd.grad(F.hardswish(t).sum(), t)
    return grad.to(x.dtype)


def _hsg_h_sigmoid(x):
    return torch.clamp(x + 3, 0, 6) / 6


def _hsg_second_term_only(x):
    return x * ((x > -3) & (x < 3)).to(x.dtype) / 6


def _hsg_middle_everywhere(x):
    return (2 * x + 3) / 6


def _hsg_swish(x):
    s = torch.sigmoid(x)
    return s + x * s * (1 - s)


def _hsg_flat_above(x):
    return torch.where((x > -3) & (x < 3), (2 * x + 3) / 6, torch.zeros_like(x))


def _hsg_function_itself(x):
    return x * torch.clamp(x + 3, 0, 6) / 6


def _hsg_clamped(x):
    return torch.clamp((2 * x + 3) / 6, 0, 1)


def _hsg_cases() -> list[tuple[torch.Tensor]]:
    t = torch.linspace(-6, 6, 48, dtype=torch.float64)  # step 12/47: never exactly ±3
    return [(t,), (t[:42].reshape(6, 7),), (torch.tensor([-2.9, -1.5, -0.1, 2.9, 3.1],
                                                         dtype=torch.float64),)]


def check_h_swish_grad(h_swish_grad: Any) -> Feedback:
    """Check ``h_swish_grad(x)``: the derivative of x · ReLU6(x + 3) / 6, entry by entry, derived
    by hand (the prompt's "without autograd" is enforced)."""
    return check_function(
        h_swish_grad,
        reference_h_swish_grad,
        _hsg_cases(),
        what="h_swish_grad",
        forbidden=[autograd_forbidden("derive h′ on each of the three pieces on paper and write it "
                                      "with torch.where or masks; the checker runs autograd "
                                      "itself to compare.")],
        wrong_functions=[
            (_hsg_h_sigmoid, "that is h-sigmoid, ReLU6(x + 3)/6, one of the two terms of the "
                             "product rule: add x times the slope of ReLU6(x + 3)/6."),
            (_hsg_second_term_only, "that is only x · (ReLU6(x + 3)/6)′, one of the two terms "
                                    "of the product rule: add ReLU6(x + 3)/6 itself."),
            (_hsg_middle_everywhere, "(2x + 3)/6 is the slope of the middle piece only: below "
                                     "-3 h-swish is 0 (slope 0), above 3 it is x (slope 1)."),
            (_hsg_swish, "that is the derivative of the smooth swish x·σ(x); h-swish is "
                         "piecewise: 0, then (2x + 3)/6, then 1."),
            (_hsg_flat_above, "above 3, h-swish is x itself, so its slope is 1, not 0 (ReLU6 "
                              "is flat there, the product is not)."),
            (_hsg_function_itself, "you returned h-swish itself: the exercise asks for its "
                                   "derivative."),
            (_hsg_clamped, "clamping (2x + 3)/6 to [0, 1] removes the negative slopes: between "
                           "-3 and -1.5 h-swish decreases, so h′ < 0 there."),
        ],
        success="h′ = 0, then (2x + 3)/6, then 1: as autograd finds, with jumps at ±3.",
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
