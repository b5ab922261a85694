"""Checkers for chapter 4 (spatial attention and CBAM). Each returns a Feedback, never raises."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ._core import Feedback, autograd_forbidden, check_function
from ._messages import tr

__all__ = ["check_channel_gate", "check_spatial_gate_grad"]


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
            (_channels_first_axes, tr("your pools mix channels with positions: in a channels-last "
                                      "map (B, H, W, C) dim=(2, 3) are W and C, and reshape(B, C, "
                                      "H, W) reinterprets the memory in the same way. The spatial "
                                      "axes are 1 and 2: pool dim=(1, 2), or first x.permute(0, 3, "
                                      "1, 2).")),
            (_w2_first, tr("w1 (C/r, C) is applied first and w2 second, each transposed: relu(z @ "
                           "w1.T) @ w2.T.")),
            (_avg_only, tr("that is SE's gate: CBAM also feeds the max-pooled descriptor through "
                           "the same MLP and adds the two outputs.")),
            (_sum_then_mlp, tr("apply the MLP to each descriptor separately and add the outputs; "
                               "the ReLU makes MLP(a) + MLP(b) differ from MLP(a + b).")),
            (_two_sigmoids, tr("add the two MLP outputs first, then apply one sigmoid, so each "
                               "gate stays in (0, 1).")),
            (_max_only, tr("that uses the max-pooled descriptor alone: CBAM feeds the average too, "
                           "through the same MLP, and adds the two outputs.")),
            (_no_relu, tr("the ReLU between the MLP's two layers is missing.")),
            (_channel_softmax, tr("a softmax makes the channels compete; CBAM's channel gate is a "
                                  "sigmoid, one gate per channel in (0, 1).")),
        ],
        success=tr("channels-last pooled over (H, W), one shared MLP, one sigmoid."),
    )


# --- the gradient of the spatial gate, by hand (a derivation: the chapter never differentiates) --
#
# L = sum of g^s(F) over the batch and the positions, g^s = sigmoid(s), s = conv2d(P, w, padding
# k // 2), P = [mean over channels; max over channels]. Backwards:
#   dL/ds = g (1 - g)                                   (the sigmoid's slope)
#   dL/dP = conv_transpose2d(dL/ds, w, padding=k // 2)  (the adjoint of a cross-correlation: a
#                                                        correlation with the kernel flipped)
#   dL/dF[c] = dL/dP_avg / C + dL/dP_max * [c is the channel that attains the maximum]
# The cases draw continuous random maps, so the maximum over channels has no ties.


def _grad_parts(f: torch.Tensor, w: torch.Tensor):
    pooled = torch.cat([f.mean(dim=1, keepdim=True), f.amax(dim=1, keepdim=True)], dim=1)
    g = torch.sigmoid(F.conv2d(pooled, w, padding=w.shape[-1] // 2))  # (B, 1, H, W)
    winner = f == f.amax(dim=1, keepdim=True)  # (B, C, H, W): the channel of the maximum
    return g, winner.to(f.dtype)


def reference_spatial_gate_grad(f: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """d(sum of g^s(F))/dF by autograd, in float64 (the checker never trusts the formula it
    tests)."""
    x = f.detach().to(torch.float64).requires_grad_(True)
    pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
    gate = torch.sigmoid(F.conv2d(pooled, w.to(torch.float64), padding=w.shape[-1] // 2))
    (grad,) = torch.autograd.grad(gate.sum(), x)
    return grad.to(f.dtype)


def _sgg(f, w, slope=None, back=None, avg_scale=None, max_route="winner", planes=(0, 1)):
    g, winner = _grad_parts(f, w)
    c = f.shape[1]
    d_s = g * (1 - g) if slope is None else slope(g)
    pad = w.shape[-1] // 2
    d_p = (F.conv_transpose2d(d_s, w, padding=pad) if back is None else back(d_s, w, pad))
    d_avg, d_max = d_p[:, planes[0] : planes[0] + 1], d_p[:, planes[1] : planes[1] + 1]
    route = {"winner": winner, "all": torch.ones_like(f), "share": torch.ones_like(f) / c,
             "none": torch.zeros_like(f)}[max_route]
    return d_avg * (1 / c if avg_scale is None else avg_scale) + d_max * route


def _sgg_reference_by_hand(f, w):
    return _sgg(f, w)


def _sgg_not_flipped(f, w):
    return _sgg(f, w, back=lambda d, k, pad: F.conv2d(d, k.transpose(0, 1), padding=pad))


def _sgg_gate_as_slope(f, w):
    return _sgg(f, w, slope=lambda g: g)


def _sgg_no_mean_scale(f, w):
    return _sgg(f, w, avg_scale=1.0)


def _sgg_max_to_all(f, w):
    return _sgg(f, w, max_route="all")


def _sgg_max_shared(f, w):
    return _sgg(f, w, max_route="share")


def _sgg_no_max(f, w):
    return _sgg(f, w, max_route="none")


def _sgg_no_avg(f, w):
    return _sgg(f, w, avg_scale=0.0)


def _sgg_planes_swapped(f, w):
    return _sgg(f, w, planes=(1, 0))


def _sgg_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(47)

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    # non-square maps and asymmetric kernels, so that a kernel not flipped or two planes swapped
    # show; k = 1 last (there a flip changes nothing, the other mistakes still show)
    return [(r(2, 4, 5, 6), r(1, 2, 3, 3)), (r(1, 3, 7, 4), r(1, 2, 5, 5)),
            (r(2, 5, 4, 4), r(1, 2, 3, 3)), (r(1, 2, 3, 5), r(1, 2, 1, 1))]


def check_spatial_gate_grad(fn: Any) -> Feedback:
    """Check ``fn(f, w)``: the gradient of the sum of CBAM's spatial gate g^s(F) over every
    position with respect to the feature map ``f`` (B, C, H, W), for a kernel ``w`` (1, 2, k, k),
    k odd, padding k // 2, no bias, derived by hand (the prompt's "without autograd" is
    enforced)."""
    return check_function(
        fn,
        reference_spatial_gate_grad,
        _sgg_cases(),
        what="spatial_gate_grad",
        forbidden=[autograd_forbidden(tr("derive the three steps back on paper (the sigmoid, the "
                                         "convolution, the two poolings) and write them with "
                                         "tensor operations; the checker runs autograd itself to "
                                         "compare."))],
        wrong_functions=[
            (_sgg_not_flipped, tr("the way back through a cross-correlation is a correlation with "
                                  "the kernel flipped in both directions (F.conv_transpose2d with "
                                  "the same weight and padding does exactly that): a tap at offset "
                                  "+t sends the gradient back to offset -t.")),
            (_sgg_gate_as_slope, tr("the slope of the sigmoid is g(1 − g), not g itself.")),
            (_sgg_no_mean_scale, tr("the mean over C channels passes 1/C of its gradient to each "
                                    "channel, not all of it.")),
            (_sgg_max_to_all, tr("the maximum over channels passes its gradient to the one channel "
                                 "that attains it, not to every channel.")),
            (_sgg_max_shared, tr("the maximum is not a mean: its whole gradient goes to the "
                                 "channel that attains it, not 1/C to each.")),
            (_sgg_no_max, tr("the max map is missing: the gate reads [mean; max], and the channel "
                             "that attains the maximum gets that map's gradient too.")),
            (_sgg_no_avg, tr("the mean map is missing: every channel gets 1/C of the gradient of "
                             "the mean map.")),
            (_sgg_planes_swapped, tr("kernel plane 0 reads the mean map and plane 1 the max map: "
                                     "their gradients are swapped.")),
        ],
        success=tr("σ′ = g(1 − g), back through the flipped kernel, 1/C to every channel from the "
                   "mean, everything from the max to its channel."),
    )
