"""The Global Context block equals its authors' code, counts, and refuses bad input."""

from __future__ import annotations

import math

import pytest
import torch

from attn_lessons.cost import count_flops
from attn_lessons.factory import make_attention
from attn_lessons.global_context import GlobalContext, gc_macs, gc_num_params


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)  # the inputs drawn with torch.randn below are the same on every run


OPTIONS = [  # (pooling, fusion)
    ("att", ("channel_add",)),
    ("att", ("channel_mul",)),
    ("att", ("channel_add", "channel_mul")),
    ("avg", ("channel_add",)),
    ("avg", ("channel_mul", "channel_add")),
]


def authors_parameter_shapes(inplanes, ratio, pooling_type, fusion_types):
    """The parameters the authors' constructor creates, by name and shape.

    xvjiarui/GCNet @ 029db5407dc27147eb1d41f62b09dfed8ec88837, mmdet/ops/gcb/context_block.py,
    lines 15-52: planes = int(inplanes * ratio); conv_mask = Conv2d(inplanes, 1, 1) (with bias);
    each fusion an nn.Sequential of Conv2d(inplanes, planes, 1), LayerNorm([planes, 1, 1]),
    ReLU, Conv2d(planes, inplanes, 1).
    """
    planes = int(inplanes * ratio)
    shapes = {}
    if pooling_type == "att":
        shapes["conv_mask.weight"] = (1, inplanes, 1, 1)
        shapes["conv_mask.bias"] = (1,)
    for fusion, name in (("channel_add", "channel_add_conv"), ("channel_mul", "channel_mul_conv")):
        if fusion in fusion_types:
            shapes[f"{name}.0.weight"] = (planes, inplanes, 1, 1)
            shapes[f"{name}.0.bias"] = (planes,)
            shapes[f"{name}.1.weight"] = (planes, 1, 1)
            shapes[f"{name}.1.bias"] = (planes, 1, 1)
            shapes[f"{name}.3.weight"] = (inplanes, planes, 1, 1)
            shapes[f"{name}.3.bias"] = (inplanes,)
    return shapes


def random_authors_weights(shapes, seed):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(s, generator=g, dtype=torch.float64) * 0.5 for n, s in shapes.items()}


def authors_forward(x, p, pooling_type, fusion_types):
    """The authors' forward pass with plain tensor operations, on their parameter names.

    Same file: spatial_pool lines 64-88 (att: conv_mask, view (N, 1, HW), softmax over dim 2,
    matmul of (N, 1, C, HW) by (N, 1, HW, 1); avg: AdaptiveAvgPool2d(1)), forward lines 90-104
    (out = x; out * sigmoid(channel_mul_conv(context)); out + channel_add_conv(context)).
    """
    n, c, h, w = x.shape
    if pooling_type == "att":
        input_x = x.reshape(n, c, h * w).unsqueeze(1)  # (N, 1, C, HW)
        logits = torch.einsum("nchw,c->nhw", x, p["conv_mask.weight"].reshape(c))
        logits = logits.reshape(n, 1, h * w) + p["conv_mask.bias"]  # (N, 1, HW)
        e = torch.exp(logits - logits.max(dim=2, keepdim=True).values)
        mask = (e / e.sum(dim=2, keepdim=True)).unsqueeze(-1)  # (N, 1, HW, 1)
        context = torch.matmul(input_x, mask).reshape(n, c, 1, 1)
    else:
        context = (x.sum(dim=(2, 3)) / (h * w)).reshape(n, c, 1, 1)

    def transform(prefix):
        planes = p[f"{prefix}.0.bias"].shape[0]
        t = context.reshape(n, c) @ p[f"{prefix}.0.weight"].reshape(planes, c).T
        t = t + p[f"{prefix}.0.bias"]
        mu = t.mean(dim=1, keepdim=True)
        var = ((t - mu) ** 2).mean(dim=1, keepdim=True)  # LayerNorm: biased variance, eps 1e-5
        t = (t - mu) / torch.sqrt(var + 1e-5)
        t = t * p[f"{prefix}.1.weight"].reshape(planes) + p[f"{prefix}.1.bias"].reshape(planes)
        t = torch.clamp(t, min=0)
        t = t @ p[f"{prefix}.3.weight"].reshape(c, planes).T + p[f"{prefix}.3.bias"]
        return t.reshape(n, c, 1, 1)

    out = x
    if "channel_mul" in fusion_types:
        out = out * (1 / (1 + torch.exp(-transform("channel_mul_conv"))))
    if "channel_add" in fusion_types:
        out = out + transform("channel_add_conv")
    return out


CASES = [  # (shape, reduction)
    ((2, 32, 6, 5), 4),
    ((1, 64, 3, 3), 8),  # batch 1
    ((3, 16, 1, 1), 4),  # a 1 x 1 map: the softmax over one position is 1
    ((2, 48, 1, 7), 8),  # H != W
]


@pytest.mark.parametrize(("pooling", "fusion"), OPTIONS)
@pytest.mark.parametrize(("shape", "reduction"), CASES)
def test_equals_the_authors_forward_with_copied_weights(pooling, fusion, shape, reduction):
    c = shape[1]
    shapes = authors_parameter_shapes(c, 1 / reduction, pooling, fusion)
    weights = random_authors_weights(shapes, seed=c + reduction)
    module = GlobalContext(c, reduction, pooling, fusion).double()
    module.load_state_dict(weights, strict=True)  # the authors' names load unchanged
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(module(x), authors_forward(x, weights, pooling, fusion),
                               atol=1e-10, rtol=0)


@pytest.mark.parametrize(("pooling", "fusion"), OPTIONS)
@pytest.mark.parametrize(("channels", "reduction"), [(256, 16), (256, 4), (64, 16), (40, 8)])
def test_parameter_count_is_the_authors(pooling, fusion, channels, reduction):
    module = GlobalContext(channels, reduction, pooling, fusion)
    shapes = authors_parameter_shapes(channels, 1 / reduction, pooling, fusion)
    assert {n: tuple(p.shape) for n, p in module.named_parameters()} == shapes
    total = sum(math.prod(s) for s in shapes.values())
    assert gc_num_params(channels, reduction, pooling, fusion) == total
    assert sum(p.numel() for p in module.parameters()) == total


def test_parameter_counts_quoted_in_the_docstring():
    assert gc_num_params(256) == 8_753
    assert gc_num_params(256, 4) == 33_473


def test_new_block_is_the_identity_or_a_half_as_the_authors_initialise_it():
    torch.manual_seed(0)
    x = torch.randn(2, 32, 5, 4)
    torch.testing.assert_close(GlobalContext(32, 4)(x), x, atol=0, rtol=0)
    torch.testing.assert_close(GlobalContext(32, 4, fusion=("channel_mul",))(x), x * 0.5)
    module = GlobalContext(512)
    assert module.conv_mask.bias.abs().max() == 0
    std = module.conv_mask.weight.std().item()  # Kaiming normal, fan_in = 512: sqrt(2 / 512)
    assert abs(std - math.sqrt(2 / 512)) < 0.015


def _randomized(module, seed=0):
    """Random weights everywhere (the last convolutions are zero at initialisation), with each
    LayerNorm's shift at 1 so its ReLU passes something for every input."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
            if name.endswith(".1.bias"):
                p.fill_(1.0)
    return module


def test_context_ignores_where_things_are():
    module = _randomized(GlobalContext(16, 4, fusion=("channel_add", "channel_mul"))).double()
    x = torch.randn(2, 16, 5, 6, dtype=torch.float64)
    perm = torch.randperm(30, generator=torch.Generator().manual_seed(3))
    x_perm = x.flatten(2)[:, :, perm].reshape(2, 16, 5, 6)  # the same shuffle for every channel
    torch.testing.assert_close(module.context(x_perm), module.context(x), atol=1e-12, rtol=0)
    out_perm = module(x).flatten(2)[:, :, perm].reshape(2, 16, 5, 6)
    torch.testing.assert_close(module(x_perm), out_perm, atol=1e-12, rtol=0)


def test_attention_map_is_a_softmax_over_positions_and_pools_the_context():
    module = _randomized(GlobalContext(16, 4)).double()
    x = torch.randn(3, 16, 4, 7, dtype=torch.float64)
    alpha = module.attention_map(x)
    assert alpha.shape == (3, 1, 4, 7) and (alpha > 0).all()
    torch.testing.assert_close(alpha.sum(dim=(2, 3)), torch.ones(3, 1, dtype=torch.float64))
    torch.testing.assert_close(module.context(x), (x * alpha).sum(dim=(2, 3), keepdim=True))
    avg = GlobalContext(16, 4, pooling="avg").double()
    torch.testing.assert_close(avg.attention_map(x), torch.full_like(alpha, 1 / 28))


def test_the_mask_bias_changes_nothing_and_gets_no_gradient():
    module = _randomized(GlobalContext(16, 4)).double()
    x = torch.randn(2, 16, 5, 5, dtype=torch.float64)
    y = module(x)
    with torch.no_grad():
        module.conv_mask.bias.add_(3.0)
    torch.testing.assert_close(module(x), y, atol=1e-12, rtol=0)
    module(x).square().sum().backward()
    assert module.conv_mask.bias.grad.abs().item() < 1e-9


def test_avg_pooling_with_a_gate_is_se_with_a_layer_norm():
    module = _randomized(GlobalContext(32, 4, pooling="avg", fusion=("channel_mul",))).double()
    x = torch.randn(2, 32, 3, 5, dtype=torch.float64)
    t = module.channel_mul_conv
    z = x.mean(dim=(2, 3), keepdim=True)
    s = torch.sigmoid(t[3](torch.relu(t[1](t[0](z)))))
    torch.testing.assert_close(module(x), x * s, atol=1e-12, rtol=0)


def test_gradcheck():
    module = _randomized(GlobalContext(8, 4, fusion=("channel_add", "channel_mul"))).double()
    x = torch.randn(2, 8, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,), fast_mode=True)


@pytest.mark.parametrize(("pooling", "fusion"), OPTIONS)
def test_every_parameter_gets_a_finite_gradient(pooling, fusion):
    module = _randomized(GlobalContext(16, 4, pooling, fusion))
    x = torch.randn(4, 16, 5, 5, generator=torch.Generator().manual_seed(5))
    module(x).square().mean().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if name != "conv_mask.bias":  # shift-invariance of the softmax: see the test above
            assert p.grad.abs().sum() > 0, name


def test_hooks_see_the_weights_and_the_gate():
    module = _randomized(GlobalContext(16, 4, fusion=("channel_add", "channel_mul")))
    seen = {}
    module.softmax.register_forward_hook(lambda m, i, o: seen.__setitem__("alpha", o))
    module.gate.register_forward_hook(lambda m, i, o: seen.__setitem__("gate", o))
    module(torch.randn(2, 16, 3, 5))
    assert seen["alpha"].shape == (2, 1, 15) and seen["gate"].shape == (2, 16, 1, 1)
    assert GlobalContext(16, 4).gate is None


@pytest.mark.parametrize(("pooling", "fusion"), OPTIONS)
@pytest.mark.parametrize(("c", "h", "w", "r"), [(64, 7, 5, 16), (48, 1, 3, 8)])
def test_macs_closed_form_equals_the_counter(pooling, fusion, c, h, w, r):
    module = GlobalContext(c, r, pooling, fusion).eval()
    counted = count_flops(module, torch.randn(2, c, h, w)).macs
    macs = gc_macs(c, h, w, r, pooling, fusion)
    assert counted == 2 * macs["macs"]
    assert macs["macs"] == macs["mask_macs"] + macs["pool_macs"] + macs["transform_macs"]


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: GlobalContext(16), ValueError,
         r"channels // reduction = 16 // 16 = 1 is too small.*reduction <= 8 or min_width >= 2"),
        (lambda: GlobalContext(8, 16), ValueError, "reduction=16 is larger than channels=8"),
        (lambda: GlobalContext(64, 0), ValueError, "reduction must be a positive integer, got 0"),
        (lambda: GlobalContext(64, pooling="max"), ValueError,
         r"pooling must be one of \['att', 'avg'\], got 'max'"),
        (lambda: GlobalContext(64, fusion="channel_add"), TypeError,
         "fusion must be a tuple of names"),
        (lambda: GlobalContext(64, fusion=()), ValueError, "fusion must name at least one"),
        (lambda: GlobalContext(64, fusion=("add",)), ValueError, "fusion entry must be one of"),
        (lambda: GlobalContext(64, fusion=("channel_add", "channel_add")), ValueError,
         "fusion must not repeat a name"),
        (lambda: GlobalContext(64, min_width=0), ValueError, "min_width must be a positive"),
        (lambda: GlobalContext(64.0), TypeError, "channels must be an integer, got 64.0"),
        (lambda: gc_num_params(16), ValueError, "is too small"),
        (lambda: gc_macs(64, 7, -1), ValueError, "width must be a positive integer, got -1"),
    ],
)
def test_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_min_width_floors_a_narrow_block():
    module = GlobalContext(16, min_width=2)
    assert module.hidden == 2 and gc_num_params(16, min_width=2) == 17 + 2 * 16 * 2 + 6 + 16


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (torch.randn(2, 8, 3, 3), ValueError, "x has 8 channels but the module was built for 32"),
        (torch.randn(32, 3, 3), ValueError, r"x must be a 4-D feature map"),
        (torch.ones(1, 32, 3, 3, dtype=torch.int32), TypeError, "floating-point"),
        (torch.randn(2, 32, 3, 0), ValueError, r"x has W = 0 \(shape \(2, 32, 3, 0\)\)"),
    ],
)
def test_bad_inputs(x, error, message):
    with pytest.raises(error, match=message):
        GlobalContext(32, 4)(x)


def test_factory_builds_it():
    module = make_attention("gc", 64, reduction=4)
    assert isinstance(module, GlobalContext) and module.hidden == 16
