"""EMA (Efficient Multi-scale Attention) against the authors' forward pass, their parameter count
and its properties."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attn_lessons.cost import count_flops
from attn_lessons.ema import EMA, ema_macs, ema_num_params
from attn_lessons.factory import make_attention
from attn_lessons.small_cnn import SmallCNN, capture

from ._module_checks import (
    added_by,
    book_networks_add,
    cuda_matches_cpu,
    refused_everywhere,
    refuses_bad_maps,
    trains_in_small_cnn,
)

# The authors' module: YOLOonMe/EMA-attention-module at commit
# afc37ecf52454c03421a86105fc5c16eb4ea1ad3, file EMA_attention_module, class EMA (lines 4-31).
# Their parameters (c = channels // factor): gn.weight, gn.bias (c,); conv1x1.weight
# (c, c, 1, 1), conv1x1.bias (c,); conv3x3.weight (c, c, 3, 3), conv3x3.bias (c,).


def authors_shapes(channels: int, factor: int) -> dict[str, tuple[int, ...]]:
    """The shapes EMA.__init__ creates (lines 13-15)."""
    c = channels // factor
    return {"gn.weight": (c,), "gn.bias": (c,), "conv1x1.weight": (c, c, 1, 1),
            "conv1x1.bias": (c,), "conv3x3.weight": (c, c, 3, 3), "conv3x3.bias": (c,)}


def authors_state(channels: int, factor: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=g, dtype=torch.float64) / math.sqrt(s[-1] if len(s) == 1
                                                                          else s[1] * s[2] * s[3])
            for k, s in authors_shapes(channels, factor).items()}


def authors_forward(x: torch.Tensor, state: dict, factor: int) -> torch.Tensor:
    """EMA.forward (lines 17-31), re-stated. AdaptiveAvgPool2d((None, 1)), ((1, None)) and
    ((1, 1)) are means; GroupNorm(c, c) is written out (one channel per group, over H*W,
    eps 1e-5, then the affine weight and bias); Softmax(-1) is the softmax over the last axis."""
    b, c, h, w = x.size()
    group_x = x.reshape(b * factor, -1, h, w)  # b*g,c//g,h,w
    x_h = group_x.mean(dim=3, keepdim=True)
    x_w = group_x.mean(dim=2, keepdim=True).permute(0, 1, 3, 2)
    hw = F.conv2d(torch.cat([x_h, x_w], dim=2), state["conv1x1.weight"], state["conv1x1.bias"])
    x_h, x_w = torch.split(hw, [h, w], dim=2)
    t = group_x * x_h.sigmoid() * x_w.permute(0, 1, 3, 2).sigmoid()
    mu = t.mean(dim=(2, 3), keepdim=True)
    var = ((t - mu) ** 2).mean(dim=(2, 3), keepdim=True)
    x1 = (t - mu) / torch.sqrt(var + 1e-5) * state["gn.weight"][None, :, None, None] \
        + state["gn.bias"][None, :, None, None]
    x2 = F.conv2d(group_x, state["conv3x3.weight"], state["conv3x3.bias"], padding=1)
    x11 = torch.softmax(x1.mean(dim=(2, 3), keepdim=True).reshape(b * factor, -1, 1)
                        .permute(0, 2, 1), dim=-1)
    x12 = x2.reshape(b * factor, c // factor, -1)  # b*g, c//g, hw
    x21 = torch.softmax(x2.mean(dim=(2, 3), keepdim=True).reshape(b * factor, -1, 1)
                        .permute(0, 2, 1), dim=-1)
    x22 = x1.reshape(b * factor, c // factor, -1)  # b*g, c//g, hw
    weights = (torch.matmul(x11, x12) + torch.matmul(x21, x22)).reshape(b * factor, 1, h, w)
    return (group_x * weights.sigmoid()).reshape(b, c, h, w)


def built(channels: int, groups: int, seed: int = 0):
    state = authors_state(channels, groups, seed)
    m = EMA(channels, groups=groups).double()
    m.load_state_dict({k.replace("gn.", "norm."): v for k, v in state.items()}, strict=True)
    return m, state


@pytest.mark.parametrize(
    ("shape", "groups"),
    [((2, 64, 7, 5), 32), ((3, 16, 4, 6), 4), ((2, 24, 5, 5), 3), ((1, 12, 1, 9), 12),
     ((2, 8, 3, 1), 1), ((2, 256, 6, 6), 32), ((4, 6, 2, 2), 2)],
)
def test_equals_the_authors_forward_pass(shape, groups):
    m, state = built(shape[1], groups, seed=sum(shape))
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(m(x), authors_forward(x, state, groups), atol=1e-10, rtol=0)


@pytest.mark.parametrize(("channels", "groups"), [(256, 32), (64, 32), (16, 4), (24, 3), (8, 8)])
def test_parameter_count_equals_the_authors_and_the_closed_form(channels, groups):
    real = sum(p.numel() for p in EMA(channels, groups=groups).parameters())
    assert real == sum(math.prod(s) for s in authors_shapes(channels, groups).values())
    assert ema_num_params(channels, groups) == real
    assert ema_num_params(256) == 672


@pytest.mark.parametrize(("c", "h", "w", "groups"),
                         [(64, 7, 5, 32), (16, 4, 4, 4), (12, 1, 6, 3), (256, 3, 2, 32)])
def test_mac_formula_equals_pytorchs_count(c, h, w, groups):
    m = EMA(c, groups=groups).eval()
    assert count_flops(m, torch.randn(1, c, h, w)).macs == ema_macs(c, h, w, groups)
    assert count_flops(m, torch.randn(2, c, h, w)).macs == 2 * ema_macs(c, h, w, groups)


def test_gradcheck():
    m, _ = built(6, 2, seed=3)
    x = torch.randn(1, 6, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,))


def test_every_parameter_gets_a_gradient():
    m = EMA(16, groups=4)
    m(torch.randn(3, 16, 5, 4)).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_one_spatial_gate_per_group_shared_by_its_channels():
    m, _ = built(12, 3, seed=8)
    x = torch.randn(2, 12, 5, 4, dtype=torch.float64)
    seen = {}
    m.gate.register_forward_hook(lambda mod, i, o: seen.__setitem__("gate", o))
    gate = (m(x) / x).reshape(2, 3, 4, 5, 4)                  # (B, G, c, H, W)
    torch.testing.assert_close(gate, gate[:, :, :1].expand_as(gate), atol=1e-12, rtol=0)
    torch.testing.assert_close(seen["gate"].reshape(2, 3, 1, 5, 4), gate[:, :, :1], atol=1e-12,
                               rtol=0)
    assert ((gate > 0) & (gate < 1)).all()


def test_the_groups_share_one_set_of_weights():
    m, _ = built(12, 4, seed=9)
    x = torch.randn(2, 12, 4, 5, dtype=torch.float64)
    perm = torch.tensor([3, 1, 0, 2])
    y = m(x).reshape(2, 4, 3, 4, 5)
    y_perm = m(x.reshape(2, 4, 3, 4, 5)[:, perm].reshape(2, 12, 4, 5)).reshape(2, 4, 3, 4, 5)
    torch.testing.assert_close(y_perm, y[:, perm], atol=1e-12, rtol=0)


def test_not_a_moving_average_no_state_no_mixing_across_the_batch():
    """An exponential moving average keeps state across calls; this module keeps none, and each
    image's output depends on that image alone."""
    m, _ = built(16, 4, seed=10)
    assert list(m.buffers()) == []
    x = torch.randn(3, 16, 5, 5, dtype=torch.float64)
    first = m.train()(x)
    for _ in range(3):
        m(torch.randn(3, 16, 5, 5, dtype=torch.float64) * 10)
    torch.testing.assert_close(m(x), first, atol=0, rtol=0)
    torch.testing.assert_close(m(x[1:2]), first[1:2], atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 0}, ValueError, "channels must be a positive integer, got 0"),
        ({"channels": 16}, ValueError,
         "channels=16 must be divisible by groups=32: .*groups=16 fits"),
        ({"channels": 48}, ValueError, "channels=48 must be divisible by groups=32.*groups=16"),
        ({"channels": 20, "groups": 8}, ValueError, "groups=4 fits"),
        ({"channels": 16, "groups": 0}, ValueError, "groups must be a positive integer, got 0"),
        ({"channels": 16, "groups": "4"}, TypeError, "groups must be an integer, got '4'"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    refused_everywhere(EMA, "ema", kwargs, error, match, ema_num_params)


def test_bad_input():
    m = EMA(16, groups=4)
    refuses_bad_maps(m, 16, [(torch.randn(2, 16, 5, 0), ValueError,
                              r"x has W = 0 \(shape \(2, 16, 5, 0\)\)")])
    with pytest.raises(ValueError, match="height must be a positive integer, got -1"):
        ema_macs(16, -1, 4, 4)



@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    cuda_matches_cpu(EMA(16, groups=4), 16)

# --- the factory and every network of the book ---------------------------------------------------

def test_factory_and_networks_accept_ema():
    assert type(make_attention("ema", 64)) is EMA
    with pytest.raises(ValueError, match="channels=8 must be divisible by groups=32"):
        SmallCNN(3, 5, (8, 16, 32), "ema")
    cnn, x = trains_in_small_cnn("ema", groups=4)
    assert capture(cnn, x)["block0.gate"].shape == (2 * 4, 1, 12, 12)
    book_networks_add("ema", *added_by(ema_num_params, {"groups": 16}),
                      mobile_options={"groups": 16})
