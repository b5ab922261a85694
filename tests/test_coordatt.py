"""Coordinate Attention against its equations, its parameter formula and its properties."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attn_lessons.coordatt import CoordAtt, HSwish, coordatt_num_params, h_swish

SIZES = [(2, 4, 5, 7), (3, 64, 6, 3), (1, 8, 1, 1), (2, 16, 1, 9), (4, 33, 8, 8)]


def randomise(m: CoordAtt, seed: int = 0) -> CoordAtt:
    """Give BatchNorm non-trivial running statistics and affine parameters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        m.bn1.weight.copy_(torch.rand(m.hidden, generator=g) + 0.5)
        m.bn1.bias.copy_(torch.randn(m.hidden, generator=g) * 0.5)
        m.bn1.running_mean.copy_(torch.randn(m.hidden, generator=g) * 0.1)
        m.bn1.running_var.copy_(torch.rand(m.hidden, generator=g) + 0.5)
    return m


def written_out(m: CoordAtt, x: torch.Tensor, train: bool) -> torch.Tensor:
    """The chapter's equations with plain tensor ops, on m's weights."""
    h, w = x.shape[2], x.shape[3]
    w1 = m.conv1.weight[:, :, 0, 0]                         # (m, C)
    wh = m.conv_h.weight[:, :, 0, 0]                        # (C, m)
    ww = m.conv_w.weight[:, :, 0, 0]
    zh = x.sum(dim=3) / w                                   # (B, C, H)
    zw = x.sum(dim=2) / h                                   # (B, C, W)
    z = torch.cat([zh, zw], dim=2)                          # (B, C, H + W)
    u = torch.einsum("mc,bcp->bmp", w1, z) + m.conv1.bias[None, :, None]
    if train:
        mean = u.mean(dim=(0, 2), keepdim=True)
        var = u.var(dim=(0, 2), unbiased=False, keepdim=True)
    else:
        mean = m.bn1.running_mean[None, :, None]
        var = m.bn1.running_var[None, :, None]
    u = (u - mean) / torch.sqrt(var + m.bn1.eps) * m.bn1.weight[None, :, None] \
        + m.bn1.bias[None, :, None]
    f = u * torch.clamp(u + 3, 0, 6) / 6
    fh, fw = f[:, :, :h], f[:, :, h:]
    gh = torch.sigmoid(torch.einsum("cm,bmp->bcp", wh, fh) + m.conv_h.bias[None, :, None])
    gw = torch.sigmoid(torch.einsum("cm,bmp->bcp", ww, fw) + m.conv_w.bias[None, :, None])
    return x * gh[:, :, :, None] * gw[:, :, None, :]


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_written_out_equations(shape, train, dtype):
    torch.manual_seed(1)
    m = randomise(CoordAtt(shape[1])).to(dtype).train(train)
    x = torch.randn(*shape, dtype=dtype)
    torch.testing.assert_close(m(x), written_out(m, x, train))


def test_h_not_w_gate_shapes_and_outer_product():
    m = randomise(CoordAtt(16)).double().eval()
    x = torch.randn(2, 16, 5, 11, dtype=torch.float64)
    g_h, g_w = m.gates(x)
    assert g_h.shape == (2, 16, 5, 1) and g_w.shape == (2, 16, 1, 11)
    seen = {}
    m.gate_h.register_forward_hook(lambda mod, i, o: seen.__setitem__("h", o))
    m.gate_w.register_forward_hook(lambda mod, i, o: seen.__setitem__("w", o))
    y = m(x)
    torch.testing.assert_close(seen["h"], g_h)
    gate = y / x
    # Each channel's gate is a rank-one (outer-product) map.
    for b in range(2):
        for c in range(16):
            assert torch.linalg.matrix_rank(gate[b, c]) == 1


def test_h_swish_definition():
    t = torch.linspace(-5, 5, 101)
    torch.testing.assert_close(h_swish(t), F.hardswish(t))
    torch.testing.assert_close(HSwish()(t), t * F.relu6(t + 3) / 6)
    assert h_swish(torch.tensor(-3.0)) == 0 and h_swish(torch.tensor(3.0)) == 3


def test_batch_of_one_single_pixel_train_mode():
    """B = 1, H = W = 1 in train mode: no error, but BatchNorm's output is exactly beta,
    so the gate is the same for every input."""
    torch.manual_seed(0)
    m = randomise(CoordAtt(8)).train()
    x1, x2 = torch.randn(1, 8, 1, 1), torch.randn(1, 8, 1, 1) * 5
    g1 = m(x1) / x1
    g2 = m(x2) / x2
    torch.testing.assert_close(g1, g2)
    beta = m.bn1.bias
    f = h_swish(beta)
    expected = torch.sigmoid(m.conv_h.weight[:, :, 0, 0] @ f + m.conv_h.bias) * torch.sigmoid(
        m.conv_w.weight[:, :, 0, 0] @ f + m.conv_w.bias)
    torch.testing.assert_close(g1.flatten(), expected)
    # In eval mode the running statistics are used and the gate does depend on the input.
    m.eval()
    assert not torch.allclose(m(x1) / x1, m(x2) / x2)


@pytest.mark.parametrize("shape", [(1, 8, 1, 1), (1, 4, 2, 3), (2, 3, 3, 2)])
def test_gradcheck_eval(shape):
    torch.manual_seed(0)
    m = randomise(CoordAtt(shape[1], min_width=2)).double().eval()
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,))


def test_every_parameter_gets_a_gradient():
    m = CoordAtt(32, reduction=4).train()
    y = m(torch.randn(3, 32, 6, 5))
    y.square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("channels", [1, 3, 8, 31, 64, 256, 1000])
@pytest.mark.parametrize("reduction", [1, 4, 32])
@pytest.mark.parametrize("min_width", [1, 8])
@pytest.mark.parametrize("bias", [True, False])
def test_parameter_formula(channels, reduction, min_width, bias):
    if min_width == 1 and reduction > channels:
        with pytest.raises(ValueError, match="reduction"):
            CoordAtt(channels, reduction, min_width, bias)
        return
    m = CoordAtt(channels, reduction=reduction, min_width=min_width, bias=bias)
    assert coordatt_num_params(channels, reduction, min_width, bias) == sum(
        p.numel() for p in m.parameters())


def test_paper_width():
    assert CoordAtt(256).hidden == 8 and CoordAtt(512).hidden == 16 and CoordAtt(16).hidden == 8
    assert coordatt_num_params(64) == 3 * 64 * 8 + 2 * 8 + 8 + 2 * 64


@settings(max_examples=25, deadline=None)
@given(
    c=st.integers(1, 6), h=st.integers(1, 6), w=st.integers(1, 6), seed=st.integers(0, 10_000),
)
def test_eval_gate_depends_only_on_row_and_column_means(c, h, w, seed):
    g = torch.Generator().manual_seed(seed)
    m = randomise(CoordAtt(c, min_width=4), seed).double().eval()
    x = torch.randn(2, c, h, w, generator=g, dtype=torch.float64)
    r = torch.randn(2, c, h, w, generator=g, dtype=torch.float64)
    # Double centring: every row mean and every column mean of d is 0.
    d = r - r.mean(3, keepdim=True) - r.mean(2, keepdim=True) + r.mean((2, 3), keepdim=True)
    gh1, gw1 = m.gates(x)
    gh2, gw2 = m.gates(x + 3 * d)
    torch.testing.assert_close(gh1, gh2)
    torch.testing.assert_close(gw1, gw2)


def test_gate_moves_when_a_row_mean_moves():
    m = randomise(CoordAtt(4, min_width=4)).eval()
    x = torch.randn(1, 4, 5, 5)
    x2 = x.clone()
    x2[:, :, 2, :] += 1.0
    assert not torch.allclose(m.gates(x)[0], m.gates(x2)[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 0}, ValueError, "channels must be a positive integer, got 0"),
        ({"channels": 2.5}, TypeError, "channels must be an integer"),
        ({"channels": 8, "reduction": 0}, ValueError, "reduction must be a positive"),
        ({"channels": 8, "min_width": -1}, ValueError, "min_width"),
        ({"channels": 8, "bias": "yes"}, TypeError, "bias must be True or False"),
        ({"channels": 8, "reduction": 16, "min_width": 1}, ValueError, "larger than channels"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        CoordAtt(**kwargs)


def test_bad_input():
    m = CoordAtt(8)
    with pytest.raises(ValueError, match="4-D feature map"):
        m(torch.randn(8, 5, 5))
    with pytest.raises(ValueError, match="has 4 channels but the module was built for 8"):
        m(torch.randn(2, 4, 5, 5))
    with pytest.raises(TypeError, match="floating-point"):
        m(torch.ones(2, 8, 5, 5, dtype=torch.long))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    m = randomise(CoordAtt(16)).eval()
    x = torch.randn(2, 16, 7, 3)
    torch.testing.assert_close(m.cuda()(x.cuda()).cpu(), m.cpu()(x), atol=1e-5, rtol=1e-4)


def test_training_mode_batchnorm_shares_the_mean_and_pools_the_variances():
    """The answer of the page's exercise ex-ca-train-mode: in training mode the row positions and
    the column positions of a batch have the same mean in every hidden channel, so the module's
    BatchNorm subtracts the row-only mean and divides by the pooled variance
    (H v_h + W v_w)/(H + W)."""
    torch.manual_seed(3)
    module = CoordAtt(16, reduction=4, min_width=4).double().train()
    x = torch.randn(5, 16, 6, 9, dtype=torch.float64)
    h, w = x.shape[2], x.shape[3]
    z_h = x.mean(dim=3, keepdim=True)                       # (B, C, H, 1)
    z_w = x.mean(dim=2, keepdim=True).transpose(2, 3)       # (B, C, W, 1)
    u_h, u_w = module.conv1(z_h), module.conv1(z_w)         # (B, m, H, 1), (B, m, W, 1)
    mean_h, mean_w = u_h.mean(dim=(0, 2, 3)), u_w.mean(dim=(0, 2, 3))
    torch.testing.assert_close(mean_h, mean_w)
    v_h = u_h.var(dim=(0, 2, 3), unbiased=False)
    v_w = u_w.var(dim=(0, 2, 3), unbiased=False)
    pooled = torch.cat([u_h, u_w], dim=2).var(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(pooled, (h * v_h + w * v_w) / (h + w))
    # and the module's f^h is the row values normalised with that mean and the pooled variance
    bn = module.bn1
    expected = h_swish(bn.weight[:, None, None] * (u_h - mean_h[:, None, None])
                       / torch.sqrt(pooled[:, None, None] + bn.eps) + bn.bias[:, None, None])
    joint = h_swish(bn(torch.cat([u_h, u_w], dim=2)))[:, :, :h]
    torch.testing.assert_close(joint, expected)


def test_the_pages_other_implementations_counts():
    """The counts the page quotes for timm's CoordAttn (no biases, 24 hidden channels at C = 512)
    and the authors' layout, built from plain layers."""
    c = 512
    hidden = max(8, int(c / 16 * 2 / 3 + 4) // 8 * 8)  # timm's make_divisible(C/24, 8)
    assert hidden == 24
    timm_like = [nn.Conv2d(c, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                 nn.Conv2d(hidden, c, 1, bias=False), nn.Conv2d(hidden, c, 1, bias=False)]
    assert sum(p.numel() for m in timm_like for p in m.parameters()) == 36_912
    assert sum(p.numel() for p in CoordAtt(c).parameters()) == 25_648
