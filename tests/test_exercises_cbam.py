"""Chapter 4 checkers accept the right answers, name each modelled mistake, and never raise."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.cbam import ChannelGate, SpatialGate, cbam_num_params
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


def test_spatial_gate_1d_checker():
    """The library's 2-D SpatialGate on a one-row image, kernel middle row = the 1-D kernel."""

    def with_library(x, w):
        k = w.shape[-1]
        gate = SpatialGate(kernel_size=k).double()
        with torch.no_grad():
            gate.conv.weight.normal_()         # rows other than the middle one see only padding
            gate.conv.weight[:, :, k // 2] = w
            return gate.gate_values(x[:, :, None, :])[:, :, 0]   # (B, C, 1, L) -> (B, 1, L)

    assert ex.check_spatial_gate_1d(with_library)
    for wrong, hint in [
        (ex._g1_max_first, "official code's order"),
        (ex._g1_sum_not_mean, "not the sum"),
        (ex._g1_padding_three, "k // 2"),
        (ex._g1_flipped, "cross-correlation"),
    ]:
        verdict = ex.check_spatial_gate_1d(wrong)
        assert not verdict and hint in str(verdict), (wrong.__name__, str(verdict))


def test_num_params_checker():
    assert ex.check_cbam_num_params(lambda c, r, k: cbam_num_params(c, r, k))
    for wrong, hint in [
        (ex._one_plane, "two maps"),
        (ex._two_mlps, "shared"),
        (ex._with_biases, "without biases"),
    ]:
        verdict = ex.check_cbam_num_params(wrong)
        assert not verdict and hint in str(verdict), (wrong.__name__, str(verdict))


@pytest.mark.parametrize(
    "checker", [ex.check_channel_gate, ex.check_spatial_gate_1d, ex.check_cbam_num_params]
)
@pytest.mark.parametrize(
    "answer", [None, "cbam", ..., _wrong_shape, _raises, lambda *a: None, 3]
)
def test_checkers_say_not_yet_without_raising(checker, answer):
    verdict = checker(answer)
    assert not verdict
    assert str(verdict).startswith("Not yet: ")
