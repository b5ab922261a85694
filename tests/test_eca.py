"""ECA: the kernel-size rules, the module against its equations, and its locality property."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_lessons.eca import ECA, ECA_RULES, eca_kernel_size, eca_num_params

ODD = "kernel_size must be a positive odd integer"

# --- kernel sizes ---------------------------------------------------------------------------


def _paper_by_bits(channels: int) -> int:
    """The paper's k for gamma=2, b=1 written with integers only.

    floor((log2 C + 1) / 2) = floor((L + 1) / 2) with L = floor(log2 C) = C.bit_length() - 1,
    so t = C.bit_length() // 2, and 'odd, or the next odd' is t | 1.
    """
    return (channels.bit_length() // 2) | 1


def _authors_listing(channels: int, gamma: float = 2, b: float = 1) -> int:
    """The two lines of the paper's code listing (with math.log(C, 2), as the authors wrote)."""
    t = int(abs((math.log(channels, 2) + b) / gamma))
    return t if t % 2 else t + 1


def test_paper_rule_matches_the_formula_for_every_channel_count():
    for channels in range(1, 4097):
        k = eca_kernel_size(channels)
        assert k == _paper_by_bits(channels) == _authors_listing(channels), channels
        assert k % 2 == 1


def test_other_rules_over_all_channel_counts():
    for channels in range(1, 4097):
        t = (math.log2(channels) + 1) / 2
        paper = eca_kernel_size(channels)
        assert eca_kernel_size(channels, rule="at_least_3") == max(3, paper)
        nearest = eca_kernel_size(channels, rule="nearest_odd")
        # nearest odd: no odd number is closer to t; ties go down
        assert abs(nearest - t) <= min(abs(o - t) for o in range(1, 20, 2)) + 1e-12
        if t == int(t) and int(t) % 2 == 0 and t > 0:
            assert (nearest, paper) == (t - 1, t + 1)
        else:
            assert nearest == paper
        r = math.floor(t + 0.5)
        assert eca_kernel_size(channels, rule="round_odd") == (r if r % 2 else r + 1)


# The chapter's table: C = 16 ... 2048 under each rule.
TABLE = {
    "paper": [3, 3, 3, 5, 5, 5, 5, 7],
    "nearest_odd": [3, 3, 3, 3, 5, 5, 5, 5],
    "round_odd": [3, 3, 5, 5, 5, 5, 7, 7],
    "at_least_3": [3, 3, 3, 5, 5, 5, 5, 7],
}


@pytest.mark.parametrize("rule", ECA_RULES)
def test_chapter_table(rule):
    channels = [16, 32, 64, 128, 256, 512, 1024, 2048]
    assert [eca_kernel_size(c, rule=rule) for c in channels] == TABLE[rule]


def test_exact_case_128():
    assert (math.log2(128) + 1) / 2 == 4.0
    assert eca_kernel_size(128) == 5
    assert eca_kernel_size(128, rule="nearest_odd") == 3


def test_small_channel_counts_and_released_stage_sizes():
    assert [eca_kernel_size(c) for c in range(1, 8)] == [1] * 7
    assert [eca_kernel_size(c, rule="at_least_3") for c in range(1, 8)] == [3] * 7
    # ResNet-50 stages have 256, 512, 1024, 2048 channels: the formula gives 5, 5, 5, 7, while the
    # released checkpoint used 3, 5, 5, 7 (80 parameters over 3 + 4 + 6 + 3 blocks).
    assert [eca_kernel_size(c) for c in (256, 512, 1024, 2048)] == [5, 5, 5, 7]
    blocks = (3, 4, 6, 3)
    assert sum(n * k for n, k in zip(blocks, (3, 5, 5, 7), strict=True)) == 80
    formula = [eca_kernel_size(c) for c in (256, 512, 1024, 2048)]
    assert sum(n * k for n, k in zip(blocks, formula, strict=True)) == 86


@pytest.mark.parametrize("gamma, b", [(1, 0), (3, 2), (2.5, -1), (1, -20)])
def test_other_constants_follow_the_listing(gamma, b):
    for channels in (1, 3, 16, 100, 777, 4096):
        assert eca_kernel_size(channels, gamma, b) == _authors_listing(channels, gamma, b)


# --- the module -----------------------------------------------------------------------------


def _eca_by_hand(x, kernel, pooling="avg"):
    """The equations with plain tensor ops: pool, explicit sum over the band, sigmoid, scale."""
    y = x.mean(dim=(2, 3))
    if pooling == "avgmax":
        y = y + x.amax(dim=(2, 3))
    channels, k = y.shape[1], kernel.numel()
    half = (k - 1) // 2
    logits = torch.zeros_like(y)
    for c in range(channels):
        for j in range(k):
            src = c + j - half
            if 0 <= src < channels:
                logits[:, c] += kernel[j] * y[:, src]
    return x * torch.sigmoid(logits)[:, :, None, None]


def _toeplitz(kernel, channels):
    k = kernel.numel()
    half = (k - 1) // 2
    w = torch.zeros(channels, channels, dtype=kernel.dtype)
    for c in range(channels):
        for cp in range(max(0, c - half), min(channels, c + half + 1)):
            w[c, cp] = kernel[cp - c + half]
    return w


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "shape, kernel_size",
    [((2, 16, 5, 7), None), ((1, 3, 1, 1), 5), ((3, 64, 4, 4), 7), ((2, 128, 2, 3), None)],
)
@pytest.mark.parametrize("pooling", ["avg", "avgmax"])
def test_module_equals_equations(shape, kernel_size, pooling, dtype):
    torch.manual_seed(0)
    module = ECA(shape[1], kernel_size=kernel_size, pooling=pooling).to(dtype)
    x = torch.randn(shape, dtype=dtype)
    kernel = module.conv.weight.detach().reshape(-1)
    torch.testing.assert_close(module(x), _eca_by_hand(x, kernel, pooling))
    assert module(x).shape == x.shape


def test_avgmax_is_two_convolutions_summed():
    torch.manual_seed(1)
    module = ECA(32, kernel_size=5, pooling="avgmax")
    x = torch.randn(2, 32, 6, 3)
    conv = module.conv
    logits = conv(x.mean(dim=(2, 3))[:, None]) + conv(x.amax(dim=(2, 3))[:, None])
    torch.testing.assert_close(module.gate_values(x), torch.sigmoid(logits)[:, 0])


@pytest.mark.parametrize("channels, kernel_size", [(8, 3), (20, 5), (64, 9), (4, 7)])
def test_banded_toeplitz_equivalence(channels, kernel_size):
    torch.manual_seed(2)
    module = ECA(channels, kernel_size=kernel_size).double()
    x = torch.randn(3, channels, 4, 5, dtype=torch.float64)
    w = _toeplitz(module.conv.weight.detach().reshape(-1), channels)
    assert torch.count_nonzero(torch.triu(w, diagonal=(kernel_size + 1) // 2)) == 0
    expected = torch.sigmoid(x.mean(dim=(2, 3)) @ w.T)
    torch.testing.assert_close(module.gate_values(x), expected)


def test_gate_hook_and_params():
    module = ECA(256)
    assert module.kernel_size == 5 and module.conv.padding == (2,)
    assert module.conv.bias is None
    assert isinstance(module.gate, torch.nn.Sigmoid)
    seen = []
    module.gate.register_forward_hook(lambda m, i, o: seen.append(o))
    module(torch.randn(2, 256, 3, 3))
    assert seen[0].shape == (2, 1, 256)


@pytest.mark.parametrize("channels", [1, 2, 7, 8, 100, 128, 512, 3000])
@pytest.mark.parametrize("rule", ECA_RULES)
def test_num_params_formula(channels, rule):
    module = ECA(channels, rule=rule)
    assert eca_num_params(channels, rule=rule) == sum(p.numel() for p in module.parameters())
    assert eca_num_params(channels, kernel_size=9) == 9 == ECA(channels, 9).conv.weight.numel()


def test_gradcheck_and_gradients():
    torch.manual_seed(3)
    for pooling in ("avg", "avgmax"):
        module = ECA(6, kernel_size=3, pooling=pooling).double()
        x = torch.randn(2, 6, 3, 2, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(module, (x,))
        module.zero_grad()
        module(x).square().sum().backward()
        for p in module.parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    torch.manual_seed(4)
    module = ECA(64)
    x = torch.randn(2, 64, 5, 6)
    torch.testing.assert_close(module.cuda()(x.cuda()).cpu(), module.cpu()(x))


# --- the locality property ------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    channels=st.integers(min_value=3, max_value=40),
    kernel_size=st.sampled_from([1, 3, 5, 7]),
    data=st.data(),
)
def test_gate_sees_only_its_channel_neighbourhood(channels, kernel_size, data):
    """Changing channel c' moves the gate of channel c only if |c - c'| <= (k - 1) / 2."""
    torch.manual_seed(data.draw(st.integers(0, 1000)))
    changed = data.draw(st.integers(0, channels - 1))
    module = ECA(channels, kernel_size=kernel_size).double()
    with torch.no_grad():
        module.conv.weight.copy_(torch.rand_like(module.conv.weight) + 0.5)  # no zero taps
    x = torch.randn(2, channels, 3, 4, dtype=torch.float64)
    x2 = x.clone()
    x2[:, changed] += 1.0  # moves that channel's mean by 1
    moved = (module.gate_values(x2) - module.gate_values(x)).abs().amax(dim=0) > 1e-12
    half = (kernel_size - 1) // 2
    expected = torch.tensor([abs(c - changed) <= half for c in range(channels)])
    assert torch.equal(moved, expected)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"channels": 0}, ValueError, "channels must be a positive integer, got 0"),
        ({"channels": -4}, ValueError, "channels must be a positive integer, got -4"),
        ({"channels": 16.0}, TypeError, "channels must be an integer, got 16.0"),
        ({"channels": True}, TypeError, "channels must be an integer, got True"),
        ({"channels": 16, "kernel_size": 4}, ValueError, f"{ODD}, got 4"),
        ({"channels": 16, "kernel_size": 0}, ValueError, f"{ODD}, got 0"),
        ({"channels": 16, "kernel_size": -3}, ValueError, f"{ODD}, got -3"),
        ({"channels": 16, "kernel_size": 3.0}, TypeError, f"{ODD}, got 3.0"),
        ({"channels": 16, "gamma": 0}, ValueError, "gamma must be a positive finite number, got 0"),
        ({"channels": 16, "gamma": "2"}, TypeError, "gamma must be a positive number"),
        ({"channels": 16, "b": float("nan")}, ValueError, "b must be finite, got nan"),
        ({"channels": 16, "rule": "odd"}, ValueError, r"rule must be one of \['paper'"),
        ({"channels": 16, "kernel_size": 3, "rule": "odd"}, ValueError, "rule must be one of"),
        ({"channels": 16, "pooling": "max"}, ValueError, r"pooling must be one of \['avg', 'avgm"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ECA(**kwargs)


def test_bad_kernel_size_function_arguments():
    with pytest.raises(ValueError, match="channels must be a positive integer, got 0"):
        eca_kernel_size(0)
    with pytest.raises(ValueError, match="rule must be one of"):
        eca_kernel_size(64, rule="nearest")
    with pytest.raises(ValueError, match="kernel_size must be a positive odd integer, got 2"):
        eca_num_params(64, kernel_size=2)


def test_bad_forward_input():
    module = ECA(16)
    with pytest.raises(ValueError, match=r"4-D feature map .* got 3-D"):
        module(torch.randn(16, 4, 4))
    with pytest.raises(ValueError, match="x has 8 channels but the module was built for 16"):
        module(torch.randn(2, 8, 4, 4))
    with pytest.raises(TypeError, match="floating-point tensor"):
        module(torch.ones(2, 16, 4, 4, dtype=torch.long))


def test_convolution_with_hard_coded_padding_loses_channels():
    """The blog pitfall: padding=1 with k=5 gives C - 2 outputs, and the scale cannot broadcast."""
    y = torch.randn(2, 1, 16)
    weight = torch.randn(1, 1, 5)
    assert F.conv1d(y, weight, padding=1).shape[-1] == 14
    assert F.conv1d(y, weight, padding=(5 - 1) // 2).shape[-1] == 16
