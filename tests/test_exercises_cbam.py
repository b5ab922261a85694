"""Chapter 4 checkers accept the right answers, name each modelled mistake, and never raise."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.cbam import ChannelGate, SpatialGate
from attn_lessons.exercises import cbam as ex


def _raises(*args):
    raise RuntimeError("boom")


def _wrong_shape(*args):
    return torch.zeros(2, 3, 4)


def test_channel_gate_checker():
    def with_library(x, w1, w2):  # the library's channels-first gate on the permuted map
        gate = ChannelGate(x.shape[-1], reduction=x.shape[-1] // w1.shape[0])
        with torch.no_grad():
            gate.fc1.weight.copy_(w1)
            gate.fc2.weight.copy_(w2)
            return gate.gate_values(x.permute(0, 3, 1, 2))

    assert ex.check_channel_gate(ex._channel_gate)
    assert ex.check_channel_gate(with_library)
    for wrong, hint in [
        (ex._channels_first_axes, "spatial axes are 1 and 2"),
        (ex._w2_first, "w1 (C/r, C) is applied first"),
        (ex._avg_only, "SE's gate"),
        (ex._sum_then_mlp, "separately"),
        (ex._two_sigmoids, "one sigmoid"),
    ]:
        verdict = ex.check_channel_gate(wrong)
        assert not verdict and hint in str(verdict), (wrong.__name__, str(verdict))


def test_spatial_gate_grad_checker():
    """The library's SpatialGate, differentiated by autograd, passes; each modelled mistake gets
    its hint."""

    def with_library(f, w):
        gate = SpatialGate(kernel_size=w.shape[-1]).double()
        with torch.no_grad():
            gate.conv.weight.copy_(w)
        x = f.detach().clone().requires_grad_(True)
        gate.gate_values(x).sum().backward()
        return x.grad

    assert ex.check_spatial_gate_grad(ex._sgg_reference_by_hand)
    # autograd gives the right values, but the prompt rules it out
    verdict = ex.check_spatial_gate_grad(with_library)
    assert not verdict and "backward()" in str(verdict), str(verdict)
    for wrong, hint in [
        (ex._sgg_not_flipped, "kernel flipped"),
        (ex._sgg_gate_as_slope, "g(1 − g)"),
        (ex._sgg_no_mean_scale, "1/C of its gradient"),
        (ex._sgg_max_to_all, "not to every channel"),
        (ex._sgg_max_shared, "not a mean"),
        (ex._sgg_no_max, "max map is missing"),
        (ex._sgg_no_avg, "mean map is missing"),
        (ex._sgg_planes_swapped, "swapped"),
    ]:
        verdict = ex.check_spatial_gate_grad(wrong)
        assert not verdict and hint in str(verdict), (wrong.__name__, str(verdict))


def test_the_gradient_cases_have_no_ties_in_the_maximum():
    # a tie would make the max's gradient a convention: the cases must not contain one
    for f, _ in ex._sgg_cases():
        top2 = f.topk(2, dim=1).values
        assert (top2[:, 0] - top2[:, 1]).min() > 1e-6


@pytest.mark.parametrize("checker", [ex.check_channel_gate, ex.check_spatial_gate_grad])
@pytest.mark.parametrize(
    "answer", [None, "cbam", ..., _wrong_shape, _raises, lambda *a: None, 3]
)
def test_checkers_say_not_yet_without_raising(checker, answer):
    verdict = checker(answer)
    assert not verdict
    assert str(verdict).startswith("Not yet: ")
