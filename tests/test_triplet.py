"""Triplet Attention against the authors' forward pass, their parameter count and its properties."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attn_lessons.cost import count_flops
from attn_lessons.factory import make_attention
from attn_lessons.mobilenetv2 import mobilenetv2_attention_channels
from attn_lessons.resnet import resnet50_attention_channels
from attn_lessons.small_cnn import capture
from attn_lessons.triplet import TripletAttention, triplet_macs, triplet_num_params

from ._module_checks import (
    NECK_CHANNELS,
    book_networks_add,
    cuda_matches_cpu,
    refused_everywhere,
    refuses_bad_maps,
    trains_in_small_cnn,
)

# The authors' module: landskape-ai/triplet-attention at commit
# 2cf02fb91196408ac6352f7984a0336aa4f7677a, file triplet_attention.py. Their parameter names:
# branch.conv.conv.weight (1, 2, k, k), branch.conv.bn.{weight, bias, running_mean, running_var,
# num_batches_tracked} for branch in cw, hc, hw.
AUTHORS_MOMENTUM, AUTHORS_EPS = 0.01, 1e-5  # BasicConv, lines 31-35


def authors_state(k: int, spatial: bool, seed: int) -> dict[str, torch.Tensor]:
    """A random state dict with the authors' keys and shapes (float64)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for branch in ("cw", "hc", "hw") if spatial else ("cw", "hc"):
        p = f"{branch}.conv."
        state[p + "conv.weight"] = torch.randn(1, 2, k, k, generator=g, dtype=torch.float64) / k
        state[p + "bn.weight"] = torch.rand(1, generator=g, dtype=torch.float64) + 0.5
        state[p + "bn.bias"] = torch.randn(1, generator=g, dtype=torch.float64) * 0.3
        state[p + "bn.running_mean"] = torch.randn(1, generator=g, dtype=torch.float64) * 0.2
        state[p + "bn.running_var"] = torch.rand(1, generator=g, dtype=torch.float64) + 0.5
        state[p + "bn.num_batches_tracked"] = torch.tensor(3)
    return state


def to_ours(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' keys renamed to ours: ``conv.conv`` -> ``conv``, ``conv.bn`` -> ``norm``."""
    return {key.replace(".conv.conv.", ".conv.").replace(".conv.bn.", ".norm."): value
            for key, value in state.items()}


def authors_forward(x: torch.Tensor, state: dict, spatial: bool, train: bool) -> torch.Tensor:
    """triplet_attention.py, re-stated with tensor operations.

    ZPool, lines 47-51; AttentionGate.forward, lines 63-67 (BasicConv, lines 38-44: conv, BN, no
    ReLU); TripletAttention.forward, lines 79-91.
    """

    def attention_gate(u: torch.Tensor, branch: str) -> torch.Tensor:
        p = f"{branch}.conv."
        x_compress = torch.cat((torch.max(u, 1)[0].unsqueeze(1), torch.mean(u, 1).unsqueeze(1)),
                               dim=1)
        k = state[p + "conv.weight"].shape[-1]
        x_out = F.conv2d(x_compress, state[p + "conv.weight"], padding=(k - 1) // 2)
        if train:
            mean = x_out.mean()
            var = ((x_out - mean) ** 2).mean()
        else:
            mean, var = state[p + "bn.running_mean"], state[p + "bn.running_var"]
        x_out = (x_out - mean) / torch.sqrt(var + AUTHORS_EPS) * state[p + "bn.weight"] \
            + state[p + "bn.bias"]
        return u * torch.sigmoid(x_out)

    x_perm1 = x.permute(0, 2, 1, 3).contiguous()
    x_out11 = attention_gate(x_perm1, "cw").permute(0, 2, 1, 3).contiguous()
    x_perm2 = x.permute(0, 3, 2, 1).contiguous()
    x_out21 = attention_gate(x_perm2, "hc").permute(0, 3, 2, 1).contiguous()
    if spatial:
        return 1 / 3 * (attention_gate(x, "hw") + x_out11 + x_out21)
    return 1 / 2 * (x_out11 + x_out21)


def built(channels: int, k: int = 7, spatial: bool = True, seed: int = 0):
    """Our module carrying the weights of a random authors' state dict, in float64."""
    state = authors_state(k, spatial, seed)
    m = TripletAttention(channels, kernel_size=k, spatial=spatial).double()
    m.load_state_dict(to_ours(state), strict=True)
    return m, state


@pytest.mark.parametrize(
    ("shape", "k", "spatial"),
    [((2, 16, 9, 7), 7, True), ((3, 5, 4, 6), 7, True), ((2, 8, 5, 5), 3, True),
     ((1, 6, 11, 3), 5, False), ((4, 3, 1, 8), 7, True), ((2, 32, 6, 6), 7, False)],
)
@pytest.mark.parametrize("train", [False, True])
def test_equals_the_authors_forward_pass(shape, k, spatial, train):
    m, state = built(shape[1], k, spatial, seed=sum(shape) + k)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    m.train(train)
    torch.testing.assert_close(m(x), authors_forward(x, state, spatial, train), atol=1e-10,
                               rtol=0)


def test_training_updates_running_statistics_like_the_authors_batchnorm():
    m, state = built(8)
    x = torch.randn(4, 8, 5, 6, dtype=torch.float64)
    m.train()(x)
    # The hw branch's pre-BN map, computed from the authors' state: BatchNorm2d(momentum=0.01)
    # blends the batch mean and the unbiased batch variance into the running ones.
    pooled = torch.cat((x.max(1, keepdim=True)[0], x.mean(1, keepdim=True)), dim=1)
    pre = F.conv2d(pooled, state["hw.conv.conv.weight"], padding=3)
    mean = (1 - AUTHORS_MOMENTUM) * state["hw.conv.bn.running_mean"] + AUTHORS_MOMENTUM * pre.mean()
    var = (1 - AUTHORS_MOMENTUM) * state["hw.conv.bn.running_var"] \
        + AUTHORS_MOMENTUM * pre.var()  # unbiased, as BatchNorm's running variance uses
    torch.testing.assert_close(m.hw.norm.running_mean, mean, atol=1e-12, rtol=0)
    torch.testing.assert_close(m.hw.norm.running_var, var, atol=1e-12, rtol=0)


@pytest.mark.parametrize("k", [3, 7])
@pytest.mark.parametrize("spatial", [True, False])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_parameter_count_equals_the_authors_and_the_closed_form(k, spatial, batch_norm):
    m = TripletAttention(12, kernel_size=k, spatial=spatial, batch_norm=batch_norm)
    real = sum(p.numel() for p in m.parameters())
    assert triplet_num_params(k, spatial, batch_norm) == real
    if batch_norm:
        # The authors' constructor (lines 70-77 and 54-61): per AttentionGate one
        # Conv2d(2, 1, k, bias=False) and one affine BatchNorm2d(1); three gates, or two.
        per_gate = math.prod((1, 2, k, k)) + math.prod((1,)) + math.prod((1,))
        assert real == (3 if spatial else 2) * per_gate
    assert triplet_num_params() == 300


@pytest.mark.parametrize(("c", "h", "w", "k", "spatial"),
                         [(16, 9, 7, 7, True), (64, 8, 8, 3, False), (5, 1, 4, 5, True)])
def test_mac_formula_equals_pytorchs_count(c, h, w, k, spatial):
    m = TripletAttention(c, kernel_size=k, spatial=spatial).eval()
    assert count_flops(m, torch.randn(1, c, h, w)).macs == triplet_macs(c, h, w, k, spatial)
    assert count_flops(m, torch.randn(3, c, h, w)).macs == 3 * triplet_macs(c, h, w, k, spatial)


@pytest.mark.parametrize("train", [False, True])
def test_gradcheck(train):
    m, _ = built(3, k=3, seed=5)
    x = torch.randn(2, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m.train(train), (x,))


def test_every_parameter_gets_a_gradient():
    m = TripletAttention(8).train()
    m(torch.randn(3, 8, 6, 5)).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_output_is_x_times_the_mean_of_three_two_axis_gates():
    m, _ = built(6)
    m.eval()
    x = torch.randn(2, 6, 5, 4, dtype=torch.float64)
    seen = {}
    for name in ("cw", "hc", "hw"):
        getattr(m, name).gate.register_forward_hook(
            lambda mod, i, o, name=name: seen.__setitem__(name, o))
    g_cw, g_hc, g_hw = m.gates(x)
    assert g_cw.shape == (2, 6, 1, 4) and g_hc.shape == (2, 6, 5, 1) and g_hw.shape == (2, 1, 5, 4)
    # Hooks see each gate in its branch's own layout: (C, W), (H, C) and (H, W) planes.
    assert seen["cw"].shape == (2, 1, 6, 4) and seen["hc"].shape == (2, 1, 5, 6)
    torch.testing.assert_close(m(x), x * (g_cw + g_hc + g_hw) / 3, atol=1e-12, rtol=0)
    # The averaged gate lies in (0, 1): the module only ever shrinks an element.
    assert (m(x).abs() < x.abs()).all()


def test_each_branch_ignores_the_order_along_the_axis_it_pools():
    """Z-pool takes a max and a mean: permuting the pooled axis leaves that branch's gate as is."""
    m, _ = built(7)
    m.eval()
    x = torch.randn(2, 7, 6, 5, dtype=torch.float64)
    g = m.gates(x)
    perm_h, perm_w, perm_c = torch.randperm(6), torch.randperm(5), torch.randperm(7)
    torch.testing.assert_close(m.gates(x[:, :, perm_h])[0], g[0], atol=1e-12, rtol=0)  # cw: H
    torch.testing.assert_close(m.gates(x[:, :, :, perm_w])[1], g[1], atol=1e-12, rtol=0)  # hc: W
    torch.testing.assert_close(m.gates(x[:, perm_c])[2], g[2], atol=1e-12, rtol=0)  # hw: C
    # ...and a branch does see the order of the axes it convolves over.
    assert not torch.allclose(m.gates(x[:, perm_c])[0], g[0][:, perm_c])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 0}, ValueError, "channels must be a positive integer, got 0"),
        ({"channels": 4.0}, TypeError, "channels must be an integer, got 4.0"),
        ({"channels": 8, "kernel_size": 4}, ValueError, "kernel_size must be a positive odd"),
        ({"channels": 8, "kernel_size": "7"}, TypeError, "kernel_size must be a positive odd"),
        ({"channels": 8, "spatial": 1}, TypeError, "spatial must be True or False, got 1"),
        ({"channels": 8, "batch_norm": "no"}, TypeError, "batch_norm must be True or False"),
        ({"channels": 8, "bn_momentum": 0.0}, ValueError, r"bn_momentum must be in \(0, 1\]"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    refused_everywhere(TripletAttention, "triplet", kwargs, error, match)


def test_bad_input():
    m = TripletAttention(8)
    refuses_bad_maps(m, 8, [(torch.randn(2, 8, 0, 5), ValueError,
                             r"x has H = 0 \(shape \(2, 8, 0, 5\)\)")])
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        m.train()(torch.randn(1, 8, 1, 1))  # BatchNorm of the hw branch: one value
    assert m.eval()(torch.randn(1, 8, 1, 1)).shape == (1, 8, 1, 1)
    with pytest.raises(ValueError, match="kernel_size must be a positive odd integer, got 2"):
        triplet_num_params(kernel_size=2)
    with pytest.raises(ValueError, match="height must be a positive integer, got 0"):
        triplet_macs(8, 0, 4)



@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    cuda_matches_cpu(TripletAttention(16).eval(), 16)

# --- the factory and every network of the book ---------------------------------------------------

def test_factory_and_networks_accept_triplet():
    assert type(make_attention("triplet", 16)) is TripletAttention
    cnn, x = trains_in_small_cnn("triplet", nonzero=False)
    gates = capture(cnn, x)
    assert gates["block0.hw.gate"].shape == (2, 1, 12, 12)
    assert gates["block2.cw.gate"].shape == (2, 1, 32, 3)
    # The parameter count of a network grows by 300 per attention module, whatever its width.
    assert triplet_num_params() == 300
    book_networks_add("triplet", 300 * len(resnet50_attention_channels()),
                      triplet_num_params(3) * len(mobilenetv2_attention_channels("depthwise")),
                      300 * len(NECK_CHANNELS), mobile_options={"kernel_size": 3})
