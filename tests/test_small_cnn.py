"""SmallCNN: attention in the right place, every kind runs, hooks see every block and gate."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from attn_lessons.factory import ALL_ATTENTION_KINDS
from attn_lessons.small_cnn import SmallCNN, capture, gate_modules

KWARGS = {
    "se": {"reduction": 4},
    "cbam": {"reduction": 4},
    "gc": {"reduction": 4},  # 8 // 16 = 0: the defaults do not fit a width of 8
    "sk": {"groups": 8},
    "bam": {"reduction": 4},
    "shuffle": {"groups": 4},  # widths 8, 16, 32: the authors' 64 groups need 128 channels
    "ema": {"groups": 4},  # the authors' 32 groups need multiples of 32 channels
    "ela": {"norm_groups": 4},  # GroupNorm(16, C) needs multiples of 16 channels
}


def _model(kind: str, **extra) -> SmallCNN:
    return SmallCNN(3, 5, (8, 16, 32), kind, **KWARGS.get(kind, {}), **extra)


@pytest.mark.parametrize("kind", ALL_ATTENTION_KINDS)
@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (1, 3, 12, 20), (3, 3, 4, 4)])
def test_every_kind_classifies(kind, shape):
    torch.manual_seed(0)
    model = _model(kind).eval()
    logits = model(torch.randn(shape))
    assert logits.shape == (shape[0], 5)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("kind", ALL_ATTENTION_KINDS)
def test_every_parameter_gets_a_gradient(kind):
    torch.manual_seed(0)
    model = _model(kind)
    if kind == "self_attention":  # gamma starts at 0, which blocks the gradient of q, k, v
        for block in model.blocks:
            nn.init.constant_(block.attention.gamma, 0.5)
    if kind == "shuffle":  # the authors' spatial weight starts at 0, which blocks GroupNorm's
        for block in model.blocks:
            nn.init.constant_(block.attention.spatial_weight, 0.5)
    if kind == "gc":  # the last convolution starts at 0 (the authors' init), blocking the rest
        for block in model.blocks:
            nn.init.normal_(block.attention.channel_add_conv[3].weight)
    model(torch.randn(4, 3, 8, 8)).logsumexp(dim=1).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        if name.endswith("conv_mask.bias"):  # a softmax ignores a common shift: no gradient
            continue
        assert p.grad.abs().sum() > 0, name


def test_block_order_conv_bn_relu_attention_pool():
    model = _model("se").eval()
    x = torch.randn(2, 3, 8, 8)
    block = model.blocks[0]
    u = torch.relu(block.bn(block.conv(x)))
    expected = nn.functional.max_pool2d(block.attention(u), 2)
    torch.testing.assert_close(block(x), expected)
    out = model.blocks[2](model.blocks[1](block(x)))
    torch.testing.assert_close(model(x), model.head(out.mean(dim=(2, 3))))


def test_none_equals_a_network_without_attention_slots():
    torch.manual_seed(0)
    model = _model("none").eval()
    assert all(isinstance(b.attention, nn.Identity) for b in model.blocks)
    x = torch.randn(2, 3, 8, 8)
    h = x
    for b in model.blocks:
        h = b.pool(torch.relu(b.bn(b.conv(h))))
    torch.testing.assert_close(model(x), model.head(h.mean(dim=(2, 3))))


def test_attention_blocks_selects_where_modules_go():
    model = _model("eca", attention_blocks=[2])
    kinds = [type(b.attention).__name__ for b in model.blocks]
    assert kinds == ["Identity", "Identity", "ECA"]
    n_none = sum(p.numel() for p in _model("none").parameters())
    n_all = sum(p.numel() for p in _model("se").parameters())
    n_last = sum(p.numel() for p in _model("se", attention_blocks=(2,)).parameters())
    # SE on C channels with r = 4 (biases on, the library's default): 2 C (C/4) + C/4 + C
    assert n_last - n_none == 2 * 32 * 8 + 8 + 32
    assert n_all - n_none == sum(2 * c * (c // 4) + c // 4 + c for c in (8, 16, 32))


def test_capture_keys_and_shapes():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 16, 12)
    got = capture(_model("cbam"), x)
    assert got["block0.pre"].shape == (2, 8, 16, 12)
    assert got["block1"].shape == (2, 16, 8, 6)
    assert got["block2"].shape == (2, 32, 4, 3)
    assert got["block0.channel.gate"].shape == (2, 8)
    assert got["block2.spatial.gate"].shape == (2, 1, 4, 3)
    sa = capture(_model("self_attention"), x)
    assert sa["block1.weights"].shape == (2, 1, 48, 48)
    torch.testing.assert_close(sa["block1.weights"].sum(-1), torch.ones(2, 1, 48))
    co = capture(_model("coordatt"), x)
    assert co["block0.gate_h"].shape == (2, 8, 16, 1) and co["block0.gate_w"].shape == (2, 8, 1, 12)


def test_capture_leaves_no_hooks_and_restores_mode():
    model = _model("se").train()
    capture(model, torch.randn(2, 3, 8, 8))
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())
    assert gate_modules(nn.Identity()) == {}


def test_capture_gate_equals_module_gate():
    torch.manual_seed(0)
    model = _model("se").eval()
    x = torch.randn(2, 3, 8, 8)
    got = capture(model, x)
    se = model.blocks[0].attention
    torch.testing.assert_close(got["block0.gate"], se.gate_values(got["block0.pre"]))
    scaled = got["block0.pre"] * got["block0.gate"][:, :, None, None]  # (B, C) -> (B, C, 1, 1)
    torch.testing.assert_close(got["block0"], scaled)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"attention": "sse"}, ValueError, "unknown attention kind 'sse'"),
        ({"widths": (8, 16)}, ValueError, "widths must hold 3 block widths"),
        ({"widths": (8, 0, 16)}, ValueError, "widths must be a positive integer, got 0"),
        ({"num_classes": 1}, ValueError, "num_classes must be an integer >= 2"),
        ({"attention": "se", "attention_blocks": (3,)}, ValueError, "attention_blocks must hold"),
        ({"attention": "se", "reduction": 64}, ValueError, "reduction=64 is larger than"),
    ],
)
def test_bad_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        SmallCNN(**{"widths": (8, 16, 32), **kwargs})


def test_wrong_input_channels():
    with pytest.raises(ValueError, match="x has 1 channels but the module was built for 3"):
        _model("none")(torch.randn(2, 1, 8, 8))
    with pytest.raises(TypeError, match="model must be a SmallCNN"):
        capture(nn.Linear(2, 2), torch.randn(2, 2))
