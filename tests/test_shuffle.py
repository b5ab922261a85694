"""Shuffle Attention against the authors' forward pass, their parameter count and its properties."""

from __future__ import annotations

import math

import pytest
import torch

from attn_lessons.cost import count_flops
from attn_lessons.factory import make_attention
from attn_lessons.shuffle import (
    ShuffleAttention,
    channel_shuffle,
    shuffle_macs,
    shuffle_num_params,
)
from attn_lessons.small_cnn import SmallCNN

from ._module_checks import (
    added_by,
    book_networks_add,
    cuda_matches_cpu,
    refused_everywhere,
    refuses_bad_maps,
    trains_in_small_cnn,
)

# The authors' module: wofmanaf/SA-Net at commit 00a676085e2ad12f3e2053109ece4840de6a5ce1, file
# models/sa_resnet.py, class sa_layer (lines 14-66). Their parameter names and shapes, c = C/2G:
# cweight, cbias, sweight, sbias (1, c, 1, 1); gn.weight, gn.bias (c,).
OURS = {"cweight": "channel_weight", "cbias": "channel_bias", "sweight": "spatial_weight",
        "sbias": "spatial_bias", "gn.weight": "norm.weight", "gn.bias": "norm.bias"}


def authors_shapes(channel: int, groups: int) -> dict[str, tuple[int, ...]]:
    """The shapes sa_layer.__init__ creates (lines 25-31)."""
    c = channel // (2 * groups)
    return {"cweight": (1, c, 1, 1), "cbias": (1, c, 1, 1), "sweight": (1, c, 1, 1),
            "sbias": (1, c, 1, 1), "gn.weight": (c,), "gn.bias": (c,)}


def authors_state(channel: int, groups: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=g, dtype=torch.float64)
            for k, s in authors_shapes(channel, groups).items()}


def authors_forward(x: torch.Tensor, state: dict, groups: int, affine: bool = True):
    """sa_layer.forward (lines 45-66) and channel_shuffle (lines 33-43), re-stated.

    GroupNorm(c, c) (one channel per group) written out: each channel of each of the B*G
    sub-maps normalised over its H*W positions, eps 1e-5, then the affine weight and bias.
    ``affine=False`` leaves the affine out: the paper's equation (4).
    """
    b, _, h, w = x.shape
    x = x.reshape(b * groups, -1, h, w)
    x_0, x_1 = x.chunk(2, dim=1)
    xn = x_0.mean(dim=(2, 3), keepdim=True)                     # AdaptiveAvgPool2d(1)
    xn = state["cweight"] * xn + state["cbias"]
    xn = x_0 * torch.sigmoid(xn)
    mu = x_1.mean(dim=(2, 3), keepdim=True)
    var = ((x_1 - mu) ** 2).mean(dim=(2, 3), keepdim=True)
    xs = (x_1 - mu) / torch.sqrt(var + 1e-5)
    if affine:
        xs = xs * state["gn.weight"][None, :, None, None] + state["gn.bias"][None, :, None, None]
    xs = state["sweight"] * xs + state["sbias"]
    xs = x_1 * torch.sigmoid(xs)
    out = torch.cat([xn, xs], dim=1)
    out = out.reshape(b, -1, h, w)
    out = out.reshape(b, 2, -1, h, w).permute(0, 2, 1, 3, 4).reshape(b, -1, h, w)
    return out


def built(channels: int, groups: int, seed: int = 0, affine: bool = True):
    state = authors_state(channels, groups, seed)
    m = ShuffleAttention(channels, groups=groups, norm_affine=affine).double()
    ours = {OURS[k]: v for k, v in state.items() if affine or not k.startswith("gn.")}
    m.load_state_dict(ours, strict=True)
    return m, state


@pytest.mark.parametrize(
    ("shape", "groups"),
    [((2, 256, 7, 5), 64), ((3, 16, 4, 6), 4), ((2, 24, 5, 5), 2), ((1, 12, 1, 9), 6),
     ((2, 8, 3, 1), 1), ((4, 128, 2, 2), 64)],
)
@pytest.mark.parametrize("affine", [True, False])
def test_equals_the_authors_forward_pass(shape, groups, affine):
    m, state = built(shape[1], groups, seed=sum(shape), affine=affine)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(m(x), authors_forward(x, state, groups, affine), atol=1e-10,
                               rtol=0)


def test_authors_initialisation_is_kept_and_starts_as_a_constant_gate():
    m = ShuffleAttention(32, groups=4).double()
    x = torch.randn(2, 32, 5, 4, dtype=torch.float64)
    state = {k: torch.zeros(s) if k in ("cweight", "sweight") else torch.ones(s)
             for k, s in authors_shapes(32, 4).items()}
    state["gn.bias"] = torch.zeros(authors_shapes(32, 4)["gn.bias"])  # nn.GroupNorm's init
    torch.testing.assert_close(m(x), authors_forward(x, {k: v.double() for k, v in state.items()},
                                                      4), atol=1e-10, rtol=0)
    # cweight = sweight = 0: every gate is sigmoid(1), so y is x shuffled and scaled by 0.73.
    torch.testing.assert_close(m(x), torch.sigmoid(torch.tensor(1.0, dtype=torch.float64))
                               * channel_shuffle(x, 2), atol=1e-12, rtol=0)
    # ...and GroupNorm's weight and bias get no gradient until sweight moves off 0.
    m(x).square().sum().backward()
    assert m.norm.weight.grad.abs().max() == 0 and m.norm.bias.grad.abs().max() == 0
    assert m.spatial_weight.grad.abs().sum() > 0


@pytest.mark.parametrize(("channels", "groups"), [(256, 64), (16, 4), (24, 3), (64, 32)])
@pytest.mark.parametrize("affine", [True, False])
def test_parameter_count_equals_the_authors_and_the_closed_form(channels, groups, affine):
    m = ShuffleAttention(channels, groups=groups, norm_affine=affine)
    real = sum(p.numel() for p in m.parameters())
    assert shuffle_num_params(channels, groups, affine) == real
    assert real == (3 if affine else 2) * channels // groups
    if affine:
        assert real == sum(math.prod(s) for s in authors_shapes(channels, groups).values())
    assert shuffle_num_params(256) == 12


def test_macs_are_zero_as_pytorchs_counter_counts():
    m = ShuffleAttention(64, groups=8).eval()
    assert count_flops(m, torch.randn(2, 64, 6, 5)).macs == shuffle_macs(64, 6, 5, 8) == 0


def test_gradcheck():
    m, _ = built(8, 2, seed=3)
    x = torch.randn(2, 8, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,))


def test_every_parameter_gets_a_gradient():
    m, _ = built(16, 4, seed=4)
    m.float()(torch.randn(3, 16, 5, 4)).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_channel_shuffle_interleaves_the_two_halves():
    x = torch.arange(8.0).reshape(1, 8, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 4, 1, 5, 2, 6, 3, 7]
    assert channel_shuffle(x, 4).flatten().tolist() == [0, 2, 4, 6, 1, 3, 5, 7]


def _unshuffle(y: torch.Tensor) -> torch.Tensor:
    b, c, h, w = y.shape
    return y.reshape(b, c // 2, 2, h, w).transpose(1, 2).reshape(b, c, h, w)


def test_the_groups_share_one_set_of_weights():
    """Permuting the G groups of the input permutes the (unshuffled) output the same way."""
    m, _ = built(24, 4, seed=6)
    x = torch.randn(2, 24, 4, 5, dtype=torch.float64)
    perm = torch.tensor([2, 0, 3, 1])
    by_group = x.reshape(2, 4, 6, 4, 5)
    y = _unshuffle(m(x)).reshape(2, 4, 6, 4, 5)
    y_perm = _unshuffle(m(by_group[:, perm].reshape(2, 24, 4, 5))).reshape(2, 4, 6, 4, 5)
    torch.testing.assert_close(y_perm, y[:, perm], atol=1e-12, rtol=0)


def test_channel_half_gate_is_per_channel_and_spatial_half_ignores_scale_and_offset():
    m, _ = built(16, 2, seed=7)
    x = torch.randn(2, 16, 5, 6, dtype=torch.float64)
    gate = _unshuffle(m(x)) / x                                 # (B, C, H, W), group layout
    halves = gate.reshape(2, 2, 2, 4, 5, 6)                     # (B, G, half, c, H, W)
    channel_gate = halves[:, :, 0]
    assert torch.allclose(channel_gate, channel_gate[..., :1, :1].expand_as(channel_gate))
    # GroupNorm removes each channel's mean and scale: a * x + b (a > 0) on a spatial-half
    # channel leaves that half's gate unchanged (up to GroupNorm's eps = 1e-5 under the root).
    a = torch.rand(2, 16, 1, 1, dtype=torch.float64) + 0.5
    b = torch.randn(2, 16, 1, 1, dtype=torch.float64)
    x2 = a * x + b
    gate2 = (_unshuffle(m(x2)) / x2).reshape(2, 2, 2, 4, 5, 6)
    torch.testing.assert_close(gate2[:, :, 1], halves[:, :, 1], atol=1e-4, rtol=0)
    assert not torch.allclose(gate2[:, :, 0], halves[:, :, 0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 0}, ValueError, "channels must be a positive integer, got 0"),
        ({"channels": 64}, ValueError,
         r"channels=64 must be divisible by 2 \* groups = 128: .*groups=32 fits"),
        ({"channels": 16}, ValueError, "groups=8 fits"),
        ({"channels": 20, "groups": 4}, ValueError, r"2 \* groups = 8: .*groups=2 fits"),
        ({"channels": 30, "groups": 2}, ValueError, "groups=1 fits"),
        ({"channels": 21, "groups": 1}, ValueError, "channels must be even"),
        ({"channels": 16, "groups": 0}, ValueError, "groups must be a positive integer, got 0"),
        ({"channels": 16, "groups": 2.0}, TypeError, "groups must be an integer, got 2.0"),
        ({"channels": 16, "groups": 2, "norm_affine": 1}, TypeError,
         "norm_affine must be True or False, got 1"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    refused_everywhere(ShuffleAttention, "shuffle", kwargs, error, match, shuffle_num_params)


def test_bad_input():
    m = ShuffleAttention(16, groups=2)
    refuses_bad_maps(m, 16, [(torch.randn(0, 16, 5, 5), ValueError,
                         r"x is an empty batch \(shape \(0, 16, 5, 5\)\)")])
    with pytest.raises(ValueError, match="width must be a positive integer, got 0"):
        shuffle_macs(16, 4, 0, 2)



@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    cuda_matches_cpu(ShuffleAttention(16, groups=2), 16)

# --- the factory and every network of the book ---------------------------------------------------

def test_factory_and_networks_accept_shuffle():
    assert type(make_attention("shuffle", 128)) is ShuffleAttention
    # The authors' 64 groups need multiples of 128 channels: the error names a groups that fits.
    with pytest.raises(ValueError, match="channels=8 must be divisible by 2 \\* groups = 128"):
        SmallCNN(3, 5, (8, 16, 32), "shuffle")

    def off_zero(cnn):  # leave the authors' zeros, so that GroupNorm gets a gradient too
        for block in cnn.blocks:
            torch.nn.init.constant_(block.attention.spatial_weight, 0.5)

    trains_in_small_cnn("shuffle", prepare=off_zero, groups=4)
    added = added_by(shuffle_num_params, {"groups": 8})
    assert added[0] == 708  # the authors' placement in ResNet-50 and their 64 groups
    book_networks_add("shuffle", *added, mobile_options={"groups": 8})
