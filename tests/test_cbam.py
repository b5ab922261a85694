"""CBAM: channel and spatial gates against their equations, orders, costs, locality, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attn_lessons.cbam import (
    CBAM,
    CBAM_ORDERS,
    ChannelGate,
    SpatialGate,
    cbam_num_params,
    channel_gate_num_params,
    spatial_gate_num_params,
)


def _num_params(module):
    return sum(p.numel() for p in module.parameters())


def _channel_by_hand(x, gate):
    """M_c = sigma(W1 relu(W0 avg + b0) + b1 + W1 relu(W0 max + b0) + b1), with plain ops."""
    w0, w1 = gate.fc1.weight, gate.fc2.weight
    b0 = gate.fc1.bias if gate.fc1.bias is not None else torch.zeros(w0.shape[0], dtype=x.dtype)
    b1 = gate.fc2.bias if gate.fc2.bias is not None else torch.zeros(w1.shape[0], dtype=x.dtype)
    total = 0
    for name in gate.pooling:
        z = x.flatten(2).mean(-1) if name == "avg" else x.flatten(2).max(-1).values
        total = total + torch.relu(z @ w0.T + b0) @ w1.T + b1
    return torch.sigmoid(total)


def _spatial_by_hand(x, gate, max_first=False):
    """M_s with an explicit k x k sum over a zero-padded [avg; max] map."""
    avg = x.sum(1) / x.shape[1]
    mx = x.max(1).values
    planes = torch.stack([mx, avg] if max_first else [avg, mx], dim=1)  # (B, 2, H, W)
    k = gate.kernel_size
    p = k // 2
    padded = F.pad(planes, (p, p, p, p))
    B, _, H, W = planes.shape
    w = gate.conv.weight[0]  # (2, k, k)
    out = torch.zeros(B, H, W, dtype=x.dtype)
    for i in range(H):
        for j in range(W):
            out[:, i, j] = (padded[:, :, i : i + k, j : j + k] * w).sum(dim=(1, 2, 3))
    if gate.conv.bias is not None:
        out = out + gate.conv.bias
    return torch.sigmoid(out)[:, None]


SHAPES = [(2, 32, 5, 7), (1, 16, 1, 1), (3, 8, 4, 4), (2, 64, 3, 6)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("bias", [False, True])
def test_channel_gate_equals_equation(shape, bias, dtype):
    torch.manual_seed(0)
    gate = ChannelGate(shape[1], reduction=4 if shape[1] >= 4 else 1, bias=bias).to(dtype)
    x = torch.randn(shape, dtype=dtype)
    m = _channel_by_hand(x, gate)
    torch.testing.assert_close(gate.gate_values(x), m)
    torch.testing.assert_close(gate(x), x * m[:, :, None, None])


def test_channel_gate_with_average_only_is_an_se_excitation():
    torch.manual_seed(1)
    gate = ChannelGate(16, reduction=4, pooling=("avg",))
    x = torch.randn(2, 16, 3, 3)
    expected = torch.sigmoid(gate.fc2(torch.relu(gate.fc1(x.mean(dim=(2, 3))))))
    torch.testing.assert_close(gate.gate_values(x), expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kernel_size", [1, 3, 5, 7, 9])
@pytest.mark.parametrize("concat_order", ["avg_max", "max_avg"])
def test_spatial_gate_equals_equation(kernel_size, concat_order, dtype):
    torch.manual_seed(2)
    gate = SpatialGate(kernel_size, concat_order=concat_order, bias=True).to(dtype)
    x = torch.randn(2, 6, 5, 8, dtype=dtype)
    m = _spatial_by_hand(x, gate, max_first=concat_order == "max_avg")
    torch.testing.assert_close(gate.gate_values(x), m)
    torch.testing.assert_close(gate(x), x * m)


def test_concat_orders_are_the_same_module_with_planes_swapped():
    torch.manual_seed(3)
    paper, official = SpatialGate(7), SpatialGate(7, concat_order="max_avg")
    with torch.no_grad():
        official.conv.weight.copy_(paper.conv.weight.flip(1))  # swap the two input planes
    x = torch.randn(2, 10, 6, 6)
    torch.testing.assert_close(paper(x), official(x))
    with torch.no_grad():
        official.conv.weight.copy_(paper.conv.weight)
    assert not torch.allclose(paper(x), official(x))


def test_batch_norm_option_matches_official_layout():
    torch.manual_seed(4)
    gate = SpatialGate(7, batch_norm=True).eval()
    assert isinstance(gate.norm, torch.nn.BatchNorm2d)
    assert gate.norm.momentum == 0.01 and gate.norm.eps == 1e-5
    with torch.no_grad():
        gate.norm.running_mean.fill_(0.3)
        gate.norm.running_var.fill_(2.0)
        gate.norm.weight.fill_(1.5)
        gate.norm.bias.fill_(-0.2)
    x = torch.randn(1, 4, 5, 5)
    conv = gate.conv(gate.pooled(x))
    expected = torch.sigmoid((conv - 0.3) / torch.sqrt(torch.tensor(2.0 + 1e-5)) * 1.5 - 0.2)
    torch.testing.assert_close(gate.gate_values(x), expected)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("order", CBAM_ORDERS)
def test_cbam_orders_equal_their_definitions(shape, order):
    torch.manual_seed(5)
    module = CBAM(shape[1], reduction=4, kernel_size=3, order=order)
    x = torch.randn(shape)
    ch, sp = module.channel, module.spatial
    if order == "channel_first":
        f1 = x * _channel_by_hand(x, ch)[:, :, None, None]
        expected = f1 * _spatial_by_hand(f1, sp)
    elif order == "spatial_first":
        f1 = x * _spatial_by_hand(x, sp)
        expected = f1 * _channel_by_hand(f1, ch)[:, :, None, None]
    else:
        expected = x * _channel_by_hand(x, ch)[:, :, None, None] * _spatial_by_hand(x, sp)
    out = module(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected)


def test_orders_differ():
    torch.manual_seed(6)
    modules = {o: CBAM(16, reduction=4, order=o) for o in CBAM_ORDERS}
    state = modules["channel_first"].state_dict()
    for m in modules.values():
        m.load_state_dict(state)
    x = torch.randn(2, 16, 6, 6)
    outs = [m(x) for m in modules.values()]
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[0], outs[2])


def test_gate_hooks():
    module = CBAM(32)
    seen = {}

    def record(name):
        def hook(module, inputs, output):
            seen[name] = output.shape  # returns None: the output is left unchanged

        return hook

    module.channel.gate.register_forward_hook(record("c"))
    module.spatial.gate.register_forward_hook(record("s"))
    module(torch.randn(2, 32, 5, 6))
    assert seen == {"c": (2, 32), "s": (2, 1, 5, 6)}


def test_paper_parameter_count():
    assert cbam_num_params(512, 16, 7) == 2 * 512**2 // 16 + 2 * 7**2 == 32866
    assert _num_params(CBAM(512)) == 32866
    assert cbam_num_params(512, bias=True, batch_norm=True) == 32866 + 32 + 512 + 2 == 33412


@pytest.mark.parametrize("channels, reduction", [(16, 16), (32, 4), (64, 8), (100, 16), (3, 1)])
@pytest.mark.parametrize("kernel_size", [1, 3, 7])
@pytest.mark.parametrize("bias, spatial_bias, batch_norm", [
    (False, False, False), (True, False, False), (False, True, False), (True, False, True),
    (True, True, True),
])
def test_parameter_formula_over_grid(
    channels, reduction, kernel_size, bias, spatial_bias, batch_norm
):
    module = CBAM(
        channels, reduction, kernel_size, bias=bias, spatial_bias=spatial_bias,
        batch_norm=batch_norm,
    )
    formula = cbam_num_params(
        channels, reduction, kernel_size, bias=bias, spatial_bias=spatial_bias,
        batch_norm=batch_norm,
    )
    assert formula == _num_params(module)
    assert channel_gate_num_params(channels, reduction, bias) == _num_params(module.channel)
    assert spatial_gate_num_params(kernel_size, spatial_bias, batch_norm) == _num_params(
        module.spatial
    )


def test_min_width_floor():
    module = CBAM(8, reduction=16, min_width=2)
    assert module.channel.hidden == 2
    assert cbam_num_params(8, 16, 7, min_width=2) == _num_params(module) == 2 * 8 * 2 + 98


def test_gradcheck_and_gradients():
    torch.manual_seed(7)
    for order in CBAM_ORDERS:
        module = CBAM(4, reduction=2, kernel_size=3, order=order, bias=True, spatial_bias=True)
        module = module.double()
        x = torch.randn(1, 4, 3, 2, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(module, (x,))
        module.zero_grad()
        module(x).square().sum().backward()
        for name, p in module.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
            assert p.grad.abs().sum() > 0, name


def test_batch_size_one_and_one_pixel():
    module = CBAM(16, batch_norm=True).eval()
    x = torch.randn(1, 16, 1, 1)
    assert module(x).shape == x.shape
    module.train()
    assert module(torch.randn(1, 16, 2, 3)).shape == (1, 16, 2, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    torch.manual_seed(8)
    module = CBAM(64)
    x = torch.randn(2, 64, 7, 5)
    torch.testing.assert_close(module.cuda()(x.cuda()).cpu(), module.cpu()(x))


@settings(max_examples=25, deadline=None)
@given(
    kernel_size=st.sampled_from([1, 3, 5, 7]),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    data=st.data(),
)
def test_spatial_gate_sees_only_the_k_by_k_neighbourhood(kernel_size, height, width, data):
    """Changing pixel (i, j) in every channel moves M_s only within (k-1)/2 of (i, j)."""
    torch.manual_seed(data.draw(st.integers(0, 1000)))
    i = data.draw(st.integers(0, height - 1))
    j = data.draw(st.integers(0, width - 1))
    gate = SpatialGate(kernel_size).double()
    with torch.no_grad():
        gate.conv.weight.copy_(torch.rand_like(gate.conv.weight) + 0.5)  # no zero taps
    x = torch.randn(1, 5, height, width, dtype=torch.float64)
    x2 = x.clone()
    x2[:, :, i, j] += 3.0  # moves both the channel mean and the channel max at (i, j)
    def logits(t):  # before the sigmoid, which can round to exactly 1.0 for large inputs
        return gate.conv(gate.pooled(t))[0, 0]

    moved = (logits(x2) - logits(x)).abs() > 1e-12
    half = kernel_size // 2
    rows = (torch.arange(height) - i).abs() <= half
    cols = (torch.arange(width) - j).abs() <= half
    assert torch.equal(moved, rows[:, None] & cols[None, :])


def test_hard_coded_padding_pitfall():
    """padding=3 is right only for k = 7: with k = 3 the map grows and the product breaks."""
    planes = torch.randn(1, 2, 8, 8)
    weight = torch.randn(1, 2, 3, 3)
    assert F.conv2d(planes, weight, padding=3).shape[-2:] == (12, 12)
    assert F.conv2d(planes, weight, padding=3 // 2).shape[-2:] == (8, 8)


ODD = "kernel_size must be a positive odd integer"


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: CBAM(0), ValueError, "channels must be a positive integer, got 0"),
        (lambda: CBAM(16.5), TypeError, "channels must be an integer, got 16.5"),
        (lambda: CBAM(16, reduction=0), ValueError, "reduction must be a positive integer, got 0"),
        (lambda: CBAM(8, reduction=16), ValueError, "reduction=16 is larger than channels=8"),
        (lambda: CBAM(16, kernel_size=6), ValueError, f"{ODD}, got 6"),
        (lambda: CBAM(16, kernel_size=-1), ValueError, f"{ODD}, got -1"),
        (lambda: SpatialGate(0), ValueError, f"{ODD}, got 0"),
        (lambda: SpatialGate(7, concat_order="avgmax"), ValueError, "concat_order must be one of"),
        (lambda: SpatialGate(7, batch_norm=1), TypeError, "batch_norm must be True or False"),
        (lambda: CBAM(16, order="serial"), ValueError, r"order must be one of \['channel_first'"),
        (lambda: CBAM(16, bias="yes"), TypeError, "bias must be True or False, got 'yes'"),
        (lambda: ChannelGate(16, pooling="avg"), TypeError, "pooling must be a tuple of names"),
        (lambda: ChannelGate(16, pooling=()), ValueError, "pooling must name at least one"),
        (lambda: ChannelGate(16, pooling=("avg", "lse")), ValueError, "got 'lse'"),
        (lambda: ChannelGate(16, pooling=("max", "max")), ValueError, "must not repeat"),
        (lambda: cbam_num_params(16, kernel_size=4), ValueError, f"{ODD}, got 4"),
    ],
)
def test_bad_arguments(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_bad_forward_input():
    module = CBAM(16)
    with pytest.raises(ValueError, match=r"4-D feature map .* got 2-D"):
        module(torch.randn(2, 16))
    with pytest.raises(ValueError, match="x has 12 channels but the module was built for 16"):
        module(torch.randn(2, 12, 4, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        SpatialGate()([[1.0]])


def test_the_ultralytics_layout_count_on_the_page():
    """The page's count for Ultralytics' CBAM (C = 512, k = 7), built from plain layers: average
    pooling only, one C x C 1x1 convolution with bias, a bias-free 7x7 convolution from 2 maps."""
    c, k = 512, 7
    layers = [nn.Conv2d(c, c, 1, bias=True), nn.Conv2d(2, 1, k, padding=k // 2, bias=False)]
    assert sum(p.numel() for m in layers for p in m.parameters()) == 262_754
    assert sum(p.numel() for p in layers[0].parameters()) == 262_656
