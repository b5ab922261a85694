"""Checkers for chapter 5's code exercises (Coordinate Attention)."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ._core import Feedback, autograd_forbidden, check_function
from ._messages import tr

__all__ = [
    "check_coordinate_pool_3d",
    "check_crossover_width",
    "check_h_swish_grad",
]


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
            (_pool3_reversed, tr("the three parts are in the wrong order, or each averages over "
                                 "the wrong axes: z^d keeps the slice index (average over H and W, "
                                 "dims (3, 4)) and comes first, then z^h (dims (2, 4)), then z^w "
                                 "(dims (2, 3)).")),
            (_pool3_h_w_swapped, tr("z^h and z^w are swapped, or each averages over the wrong "
                                    "axes: z^h keeps the row index (average over dims (2, 4)), z^w "
                                    "the column index (dims (2, 3)).")),
            (_pool3_sum, tr("you summed: each profile is a mean over the other two axes.")),
            (_pool3_max, tr("you took maxima: Coordinate Attention uses average pooling.")),
            (_pool3_channel_axis, tr("concatenate along the last axis (dim=2), so that the result "
                                     "is (B, C, D + H + W); along dim=1 it only works when D = H = "
                                     "W.")),
            (_pool3_wrong_divisor, tr("each mean divides by the number of terms it sums: z^d sums "
                                      "H·W numbers per slice, z^h D·W, z^w D·H.")),
            (_pool3_no_depth, tr("the depth profile z^d is missing: a volume has three directions, "
                                 "D + H + W numbers per channel.")),
            (_pool3_depth_folded, tr("folding D into H (an image of D·H rows) gives D·H + W "
                                     "numbers; pool each of the three axes on its own.")),
        ],
        success=tr("z = [z^d, z^h, z^w], D + H + W profile means per channel."),
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
    """Check ``h_swish_grad(t)``: the derivative of t · ReLU6(t + 3) / 6, entry by entry, derived
    by hand (the prompt's "without autograd" is enforced)."""
    return check_function(
        h_swish_grad,
        reference_h_swish_grad,
        _hsg_cases(),
        what="h_swish_grad",
        forbidden=[autograd_forbidden(tr("derive h′ on each of the three pieces on paper and write "
                                         "it with torch.where or masks; the checker runs autograd "
                                         "itself to compare."))],
        wrong_functions=[
            (_hsg_h_sigmoid, tr("that is h-sigmoid, ReLU6(t + 3)/6, one of the two terms of the "
                                "product rule: add t times the slope of ReLU6(t + 3)/6.")),
            (_hsg_second_term_only, tr("that is only t · (ReLU6(t + 3)/6)′, one of the two terms "
                                       "of the product rule: add ReLU6(t + 3)/6 itself.")),
            (_hsg_middle_everywhere, tr("(2t + 3)/6 is the slope of the middle piece only: below "
                                        "-3 h-swish is 0 (slope 0), above 3 it is t (slope 1).")),
            (_hsg_swish, tr("that is the derivative of the smooth swish t·σ(t); h-swish is "
                            "piecewise: 0, then (2t + 3)/6, then 1.")),
            (_hsg_flat_above, tr("above 3, h-swish is t itself, so its slope is 1, not 0 (ReLU6 is "
                                 "flat there, the product is not).")),
            (_hsg_function_itself, tr("you returned h-swish itself: the exercise asks for its "
                                      "derivative.")),
            (_hsg_clamped, tr("clamping (2t + 3)/6 to [0, 1] removes the negative slopes: between "
                              "-3 and -1.5 h-swish decreases, so h′ < 0 there.")),
        ],
        success=tr("h′(t) = 0, then (2t + 3)/6, then 1: as autograd finds, with jumps at ±3."),
    )


# ---------------------------------------------------------------------------------------------
# Exercise: the width from which Coordinate Attention has fewer parameters than SE (a derivation).
#
# Model: hidden widths without rounding, C / r; both modules with biases. SE (ratio s):
#   P_SE(C) = 2C^2/s + C/s + C.
# Coordinate Attention (ratio q, floor m0), m = max(m0, C/q):
#   P_CA(C) = 3Cm + 3m + 2C.
# D(C) = P_SE - P_CA. While the floor holds (C <= m0 q), m = m0 and
#   D1(C) = (2/s) C^2 - (3 m0 + 1 - 1/s) C - 3 m0,
# a convex parabola with D1(0) < 0: one positive root C1. Beyond the floor (C > m0 q), m = C/q and
#   D2(C) = C [(2/s - 3/q) C - (1 + 3/q - 1/s)],
# positive for large C exactly when 2/s > 3/q (3s < 2q). D1 = D2 at C = m0 q (the counts are
# continuous there). When 3s < 2q, the width C* from which CA is cheaper at every larger width is
# C1 if C1 <= m0 q, else the root C2 = (1 + 3/q - 1/s) / (2/s - 3/q) of D2, which then lies beyond
# m0 q. When 3s >= 2q there is none: the reader raises ValueError.
def _cross_parts(r_se: float, r_ca: float, floor: float, bias: bool = True, bn: int = 2):
    s, q, m0 = float(r_se), float(r_ca), float(floor)
    se_lin = (1 / s + 1) if bias else 0.0            # SE: C/s + C biases
    ca_const = (1 + bn) * m0 if bias else bn * m0    # CA: m biases + bn*m BatchNorm, at m = m0
    ca_lin = 3 * m0 + (2 if bias else 0)             # 3 C m0 weights + 2C biases
    a1, b1, c1 = 2 / s, se_lin - ca_lin, -ca_const   # D1 = a1 C^2 + b1 C + c1
    c_1 = (-b1 + math.sqrt(b1 * b1 - 4 * a1 * c1)) / (2 * a1)
    a2 = 2 / s - 3 / q                               # D2 = C (a2 C + b2)
    b2 = se_lin - ((1 + bn) / q if bias else bn / q) - (2 if bias else 0)
    return c_1, a2, b2, m0 * q


def reference_crossover_width(r_se: float, r_ca: float, floor: float) -> float:
    """C* from which Coordinate Attention (ratio ``r_ca``, floor ``floor``) has fewer parameters
    than SE (ratio ``r_se``) at every larger width, both with biases and unrounded hidden widths.
    Raises ``ValueError`` when there is no such width (3 r_se >= 2 r_ca: beyond the floor CA's
    quadratic term is at least SE's, so SE is cheaper again at large widths)."""
    c_1, a2, b2, edge = _cross_parts(r_se, r_ca, floor)
    if a2 <= 0:
        raise ValueError(f"no crossover: 2/r_se = {2 / r_se} <= 3/r_ca = {3 / r_ca}")
    if c_1 <= edge:
        return c_1
    return -b2 / a2  # the root of D2, beyond the floor (D2 < 0 at the edge since D1 < 0 there)


def _cx_no_floor(s, q, m0):
    _, a2, b2, _ = _cross_parts(s, q, m0)
    if a2 <= 0:
        raise ValueError("no crossover")
    return -b2 / a2


def _cx_floor_only(s, q, m0):
    return _cross_parts(s, q, m0)[0]


def _cx_edge(s, q, m0):
    return float(m0 * q)


def _cx_no_bias(s, q, m0):
    c_1, a2, b2, edge = _cross_parts(s, q, m0, bias=False)
    if a2 <= 0:
        raise ValueError("no crossover")
    return c_1 if c_1 <= edge else -b2 / a2


def _cx_no_bn(s, q, m0):
    c_1, a2, b2, edge = _cross_parts(s, q, m0, bn=0)
    if a2 <= 0:
        raise ValueError("no crossover")
    return c_1 if c_1 <= edge else -b2 / a2


def _cx_other_root(s, q, m0):
    s_, m = float(s), float(m0)
    a1, b1, c1 = 2 / s_, (1 / s_ + 1) - (3 * m + 2), -3 * m
    return (-b1 - math.sqrt(b1 * b1 - 4 * a1 * c1)) / (2 * a1)


def _cx_leading_terms(s, q, m0):
    # CA's floor-regime count against SE's quadratic term only: 2C^2/s = (3 m0 + 2) C
    return s * (3 * m0 + 2) / 2


def check_crossover_width(crossover_width: Any) -> Feedback:
    """Check ``crossover_width(r_se, r_ca, floor)``: the width from which Coordinate Attention has
    fewer parameters than SE, in closed form, with ``ValueError`` when there is none."""
    return check_function(
        crossover_width,
        reference_crossover_width,
        # the book's settings; a small SE ratio; a floor of 16; a crossover beyond the floor;
        # no crossover (SE wins in the end: refuse it); the book's ratios with a floor of 4
        [(16, 32, 8), (4, 32, 8), (8, 32, 16), (16, 25, 8), (16, 8, 8), (16, 32, 4)],
        what="crossover_width",
        atol=1e-6,
        rtol=1e-9,
        wrong_functions=[
            (_cx_floor_only, tr("that root holds only while the floor is active, C ≤ floor · r_ca: "
                                "beyond it m = C / r_ca, the counts are two other quadratics, and "
                                "they may cross later, or never.")),
            (_cx_no_floor, tr("without the floor you get the crossing of the two quadratics, which "
                              "may fall where the floor still holds (m = floor there, not C / "
                              "r_ca).")),
            (_cx_edge, tr("floor · r_ca is where the floor stops mattering, not where the two "
                          "counts cross: solve P_SE(C) = P_CA(C).")),
            (_cx_no_bias, tr("both modules have biases: C/r_se + C in SE, m + 2C in Coordinate "
                             "Attention; they move the crossing.")),
            (_cx_no_bn, tr("Coordinate Attention's BatchNorm has 2m parameters (γ and β).")),
            (_cx_other_root,
             tr("that is the negative root of the quadratic: a width is positive.")),
            (_cx_leading_terms, tr("SE's linear terms (C/r_se + C) and Coordinate Attention's "
                                   "constant 3m are part of the counts: solve the whole "
                                   "quadratic.")),
        ],
        refusal_hint=tr("when 3·r_se ≥ 2·r_ca, Coordinate Attention's quadratic term beyond the "
                        "floor, 3C²/r_ca, is at least SE's, 2C²/r_se: SE is cheaper again at large "
                        "widths and there is no crossover. Raise ValueError there."),
        valid_refused_hint=tr("you refused a case that has a crossover: refuse only when 3·r_se ≥ "
                              "2·r_ca."),
        success=tr("the positive root of (2/r_se) C² − (3·floor + 1 − 1/r_se) C − 3·floor while "
                   "the floor holds, the root of the second quadratic beyond it, none when 3·r_se "
                   "≥ 2·r_ca."),
    )
