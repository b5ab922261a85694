"""Tests for attn_lessons.se: the SE block equals its equations, counts, and refuses bad input."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from attn_lessons.se import SqueezeExcite, se_macs, se_num_params


def _randn(*shape, dtype=torch.float32, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _randomize(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter (biases included) random non-zero values, so nothing is trivial."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def written_out(x, w1, b1, w2, b2):
    """The three equations with plain tensor operations (no nn layers)."""
    z = x.sum(dim=(2, 3)) / (x.shape[2] * x.shape[3])  # (B, C, H, W) -> (B, C)
    h = z @ w1.T
    if b1 is not None:
        h = h + b1
    h = torch.clamp(h, min=0)  # delta = ReLU
    a = h @ w2.T
    if b2 is not None:
        a = a + b2
    s = 1 / (1 + torch.exp(-a))  # sigma
    return x * s[:, :, None, None], s  # (B, C) -> (B, C, 1, 1)


SIZES = [  # (B, C, H, W, reduction, min_width)
    (2, 32, 8, 8, 16, 1),
    (1, 64, 5, 7, 16, 1),  # batch 1, H != W
    (3, 16, 1, 1, 4, 1),  # H = W = 1
    (2, 8, 6, 3, 16, 4),  # C < reduction, floored by min_width
    (2, 24, 4, 9, 5, 1),  # C not a multiple of r: hidden = 24 // 5 = 4
    (4, 3, 2, 2, 1, 1),  # r = 1: no bottleneck
]


@pytest.mark.parametrize(("b", "c", "h", "w", "r", "mw"), SIZES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_equations_written_out(b, c, h, w, r, mw, bias, dtype):
    se = _randomize(SqueezeExcite(c, r, bias=bias, min_width=mw), seed=c).to(dtype)
    x = _randn(b, c, h, w, dtype=dtype, seed=1)
    y = se(x)
    assert y.shape == x.shape and y.dtype == dtype
    want, s = written_out(
        x, se.fc1.weight, se.fc1.bias, se.fc2.weight, se.fc2.bias
    )
    torch.testing.assert_close(y, want)
    torch.testing.assert_close(se.gate_values(x), s)
    assert se.hidden == max(mw, c // r)


def test_forward_hook_on_gate_reads_the_gate():
    se = SqueezeExcite(32, 8)
    seen = []
    se.gate.register_forward_hook(lambda mod, inp, out: seen.append(out.detach()))
    x = _randn(2, 32, 4, 4)
    y = se(x)
    assert isinstance(se.gate, torch.nn.Sigmoid)
    assert len(seen) == 1 and seen[0].shape == (2, 32)
    torch.testing.assert_close(y, x * seen[0][:, :, None, None])
    assert ((seen[0] > 0) & (seen[0] < 1)).all()


def test_gate_does_not_sum_to_one():
    # A sigmoid, not a softmax: channels are gated independently.
    se = _randomize(SqueezeExcite(32, 4), seed=3)
    s = se.gate_values(_randn(4, 32, 3, 3, seed=2))
    assert not torch.allclose(s.sum(dim=1), torch.ones(4))


@settings(max_examples=25, deadline=None)
@given(
    c=st.sampled_from([4, 8, 16]),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_gate_depends_only_on_channel_means(c, h, w, seed):
    """Rearranging pixels within each channel, or adding zero-mean noise, leaves s unchanged."""
    se = _randomize(SqueezeExcite(c, 2), seed=seed).double()
    x = _randn(2, c, h, w, dtype=torch.float64, seed=seed)
    noise = _randn(2, c, h, w, dtype=torch.float64, seed=seed + 1)
    noise = noise - noise.mean(dim=(2, 3), keepdim=True)  # zero mean per channel
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(h * w, generator=g)
    shuffled = x.flatten(2)[:, :, perm].reshape(x.shape)  # (B, C, HW) permuted -> (B, C, H, W)
    s = se.gate_values(x)
    torch.testing.assert_close(se.gate_values(x + noise), s)
    torch.testing.assert_close(se.gate_values(shuffled), s)
    # ... while changing one channel's mean does change the gate (so the test can fail).
    # A large first-layer bias keeps every ReLU active, so the change cannot be masked, and a
    # small second layer keeps the sigmoid away from saturation.
    with torch.no_grad():
        se.fc1.bias.fill_(100.0)
        se.fc2.weight.mul_(0.01)
        se.fc2.bias.fill_(0.0)
    bumped = x.clone()
    bumped[:, 0] += 0.5
    assert not torch.allclose(se.gate_values(bumped), se.gate_values(x))


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_float64(bias):
    se = _randomize(SqueezeExcite(8, 2, bias=bias), seed=5).double()
    x = _randn(2, 8, 3, 2, dtype=torch.float64, seed=6).requires_grad_()
    assert torch.autograd.gradcheck(se, (x,))


def test_every_parameter_gets_a_finite_gradient():
    se = SqueezeExcite(32, 4)
    x = _randn(3, 32, 5, 4, seed=7)
    se(x).square().sum().backward()
    for name, p in se.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("channels", [1, 3, 16, 17, 64, 100, 256, 2048])
@pytest.mark.parametrize("reduction", [1, 2, 4, 16, 32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("min_width", [1, 8])
def test_num_params_formula(channels, reduction, bias, min_width):
    if channels // reduction == 0 and min_width == 1:
        with pytest.raises(ValueError, match="reduction"):
            se_num_params(channels, reduction, bias, min_width)
        return
    se = SqueezeExcite(channels, reduction, bias=bias, min_width=min_width)
    assert se_num_params(channels, reduction, bias, min_width) == sum(
        p.numel() for p in se.parameters()
    )


def test_num_params_paper_example():
    # 2 C^2 / r weights: C = 256, r = 16 gives 8192, plus 16 + 256 biases.
    assert se_num_params(256, 16, bias=False) == 8192
    assert se_num_params(256, 16, bias=True) == 8192 + 272


@pytest.mark.parametrize(("b", "c", "h", "w", "r"), [(1, 64, 7, 5, 16), (3, 32, 4, 4, 8)])
def test_fc_flops_match_torch_flop_counter(b, c, h, w, r):
    se = SqueezeExcite(c, r)
    with FlopCounterMode(display=False) as counter:
        se(_randn(b, c, h, w))
    counts = se_macs(c, h, w, r)
    assert counter.get_total_flops() == b * counts["fc_flops"]
    assert counts["fc_flops"] == 2 * counts["fc_macs"] == 4 * c * (c // r)
    assert counts["scale_muls"] == c * h * w
    assert counts["pool_adds"] == c * (h * w - 1)
    assert counts["bias_adds"] == c // r + c
    assert se_macs(c, h, w, r, bias=False)["bias_adds"] == 0


def test_reduction_larger_than_channels_is_refused_or_floored():
    with pytest.raises(ValueError, match="reduction=16 is larger than channels=8"):
        SqueezeExcite(8, 16)
    se = SqueezeExcite(8, 16, min_width=2)
    assert se.hidden == 2
    # with the floor the gate is input-dependent, not the constant 0.5
    _randomize(se, seed=1)
    s = se.gate_values(_randn(4, 8, 3, 3, seed=2))
    assert s.std() > 1e-3


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 0}, ValueError, "channels must be a positive integer, got 0"),
        ({"channels": -4}, ValueError, "channels must be a positive integer, got -4"),
        ({"channels": 16.0}, TypeError, "channels must be an integer, got 16.0"),
        ({"channels": True}, TypeError, "channels must be an integer"),
        ({"channels": 16, "reduction": 0}, ValueError, "reduction must be a positive integer"),
        ({"channels": 16, "reduction": 2.5}, TypeError, "reduction must be an integer"),
        ({"channels": 16, "min_width": 0}, ValueError, "min_width must be a positive integer"),
        ({"channels": 16, "bias": 1}, TypeError, "bias must be True or False"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SqueezeExcite(**kwargs)


def test_bad_inputs_at_forward():
    se = SqueezeExcite(16, 4)
    with pytest.raises(ValueError, match="4-D feature map"):
        se(torch.ones(2, 16, 5))
    with pytest.raises(ValueError, match="8 channels but the module was built for 16"):
        se(torch.ones(2, 8, 5, 5))
    with pytest.raises(TypeError, match="floating-point"):
        se(torch.ones(2, 16, 5, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match="height must be a positive integer"):
        se_macs(16, 0, 4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_matches_cpu(dtype):
    se = _randomize(SqueezeExcite(32, 4), seed=9).to(dtype)
    x = _randn(2, 32, 5, 3, dtype=dtype, seed=10)
    want = se(x)
    got = se.to("cuda")(x.to("cuda"))
    assert got.device.type == "cuda"
    torch.testing.assert_close(got.cpu(), want)
