"""BAM equals its authors' code (and, with combine="sum", the paper), counts, refuses bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attn_lessons.bam import BAM, bam_macs, bam_num_params
from attn_lessons.cost import count_flops
from attn_lessons.factory import make_attention

from ._module_checks import bad_maps, one_image_training_says_why


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)  # the inputs drawn with torch.randn below are the same on every run


def authors_parameter_shapes(gate_channel, reduction_ratio=16, num_layers=1,
                             dilation_conv_num=2):
    """The parameters the authors' BAM(gate_channel) creates, by name and shape.

    Jongchan/attention-module @ 459efad0e05ee7dde50c41ca10a3d0800bc3792a, MODELS/bam.py:
    ChannelGate.__init__ lines 10-22 (Flatten, then per hidden layer Linear + BatchNorm1d +
    ReLU, then Linear to C), SpatialGate.__init__ lines 28-39 (1x1 conv to C/r + BN + ReLU,
    dilation_conv_num x (3x3 conv + BN + ReLU), 1x1 conv to 1), BAM.__init__ lines 43-46.
    """
    c, p = gate_channel, gate_channel // reduction_ratio
    widths = [c] + [p] * num_layers + [c]
    shapes = {}
    gc, gs = "channel_att.gate_c", "spatial_att.gate_s"
    for i in range(len(widths) - 2):
        shapes[f"{gc}.gate_c_fc_{i}.weight"] = (widths[i + 1], widths[i])
        shapes[f"{gc}.gate_c_fc_{i}.bias"] = (widths[i + 1],)
        shapes[f"{gc}.gate_c_bn_{i + 1}.weight"] = (widths[i + 1],)
        shapes[f"{gc}.gate_c_bn_{i + 1}.bias"] = (widths[i + 1],)
    shapes[f"{gc}.gate_c_fc_final.weight"] = (c, widths[-2])
    shapes[f"{gc}.gate_c_fc_final.bias"] = (c,)
    shapes[f"{gs}.gate_s_conv_reduce0.weight"] = (p, c, 1, 1)
    shapes[f"{gs}.gate_s_conv_reduce0.bias"] = (p,)
    shapes[f"{gs}.gate_s_bn_reduce0.weight"] = (p,)
    shapes[f"{gs}.gate_s_bn_reduce0.bias"] = (p,)
    for i in range(dilation_conv_num):
        shapes[f"{gs}.gate_s_conv_di_{i}.weight"] = (p, p, 3, 3)
        shapes[f"{gs}.gate_s_conv_di_{i}.bias"] = (p,)
        shapes[f"{gs}.gate_s_bn_di_{i}.weight"] = (p,)
        shapes[f"{gs}.gate_s_bn_di_{i}.bias"] = (p,)
    shapes[f"{gs}.gate_s_conv_final.weight"] = (1, p, 1, 1)
    shapes[f"{gs}.gate_s_conv_final.bias"] = (1,)
    return shapes


def _bn(x, p, prefix, training, eps=1e-5):
    """BatchNorm by its definition: batch statistics (biased variance) or the running ones."""
    dims = [0, *range(2, x.ndim)]
    shape = (1, -1, *[1] * (x.ndim - 2))
    if training:
        mean = x.mean(dim=dims)
        var = ((x - mean.view(shape)) ** 2).mean(dim=dims)
    else:
        mean, var = p[f"{prefix}.running_mean"], p[f"{prefix}.running_var"]
    scale = p[f"{prefix}.weight"] / torch.sqrt(var + eps)
    return (x - mean.view(shape)) * scale.view(shape) + p[f"{prefix}.bias"].view(shape)


def authors_forward(x, p, training, dilation=4, num_dilated=2, merge="product"):
    """The authors' forward pass with plain tensor operations, on their parameter names.

    Same file: ChannelGate.forward lines 23-25 (avg_pool2d with a window of x.size(2), flatten,
    the MLP, expand), SpatialGate.forward lines 40-41, BAM.forward lines 47-49:
    att = 1 + sigmoid(channel_att(x) * spatial_att(x)); return att * x. merge="sum" is the
    paper's Eq. 2 instead of line 48's product.
    """
    b, _, h, _ = x.shape
    gc, gs = "channel_att.gate_c", "spatial_att.gate_s"
    pooled = F.avg_pool2d(x, h, stride=h).reshape(b, -1)  # line 24, then Flatten
    t = pooled @ p[f"{gc}.gate_c_fc_0.weight"].T + p[f"{gc}.gate_c_fc_0.bias"]
    t = torch.clamp(_bn(t, p, f"{gc}.gate_c_bn_1", training), min=0)
    m_c = t @ p[f"{gc}.gate_c_fc_final.weight"].T + p[f"{gc}.gate_c_fc_final.bias"]
    m_c = m_c[:, :, None, None].expand_as(x)
    s = F.conv2d(x, p[f"{gs}.gate_s_conv_reduce0.weight"], p[f"{gs}.gate_s_conv_reduce0.bias"])
    s = torch.clamp(_bn(s, p, f"{gs}.gate_s_bn_reduce0", training), min=0)
    for i in range(num_dilated):
        s = F.conv2d(s, p[f"{gs}.gate_s_conv_di_{i}.weight"], p[f"{gs}.gate_s_conv_di_{i}.bias"],
                     padding=dilation, dilation=dilation)
        s = torch.clamp(_bn(s, p, f"{gs}.gate_s_bn_di_{i}", training), min=0)
    m_s = F.conv2d(s, p[f"{gs}.gate_s_conv_final.weight"], p[f"{gs}.gate_s_conv_final.bias"])
    m_s = m_s.expand_as(x)
    merged = m_c * m_s if merge == "product" else m_c + m_s
    att = 1 + 1 / (1 + torch.exp(-merged))
    return att * x


def _random_state(module, seed):
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, t in module.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = t
        elif name.endswith("running_var"):
            state[name] = 0.5 + torch.rand(t.shape, generator=g, dtype=torch.float64)
        else:
            state[name] = torch.randn(t.shape, generator=g, dtype=torch.float64) * 0.5
    return state


CASES = [  # (shape, reduction, dilation, num_dilated)
    ((2, 64, 6, 6), 16, 4, 2),  # the authors' defaults
    ((3, 32, 1, 1), 4, 4, 2),  # a 1 x 1 map: the dilated taps all fall in the padding
    ((2, 16, 9, 9), 4, 2, 3),
    ((4, 8, 3, 3), 2, 1, 0),
]


@pytest.mark.parametrize(("shape", "r", "dil", "n"), CASES)
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("combine", ["product", "sum"])
def test_equals_the_authors_forward_with_copied_weights(shape, r, dil, n, training, combine):
    c = shape[1]
    module = BAM(c, r, dil, n, combine=combine).double()
    state = _random_state(module, seed=c + n)
    module.load_state_dict(state, strict=True)  # the authors' names load unchanged
    module.train(training)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    want = authors_forward(x, state, training, dil, n, merge=combine)
    torch.testing.assert_close(module(x), want, atol=1e-10, rtol=0)


def test_on_a_non_square_map_the_channel_branch_averages_the_whole_map():
    # The authors' window of x.size(2) x x.size(2) covers only the left H x H square when
    # H < W < 2H, and fails otherwise; the library averages over H x W.
    module = BAM(16, 4).double().eval()
    state = _random_state(module, seed=3)
    module.load_state_dict(state)
    x = torch.randn(2, 16, 3, 5, dtype=torch.float64)
    authors = authors_forward(x, state, training=False)
    assert not torch.allclose(module(x), authors)
    m_c = module.channel_map(x[:, :, :, :3])  # the MLP of the left 3 x 3 square's average
    torch.testing.assert_close(authors, x * (1 + torch.sigmoid(m_c * module.spatial_map(x))),
                               atol=1e-10, rtol=0)
    for wide_or_tall in ((3, 7), (5, 3)):
        with pytest.raises(RuntimeError):
            authors_forward(torch.randn(2, 16, *wide_or_tall, dtype=torch.float64), state, False)
        assert module(torch.randn(2, 16, *wide_or_tall, dtype=torch.float64)).shape[2:] == \
            wide_or_tall


@pytest.mark.parametrize(("channels", "r", "n"), [(256, 16, 2), (1024, 16, 2), (64, 8, 3),
                                                  (48, 16, 0)])
def test_parameter_count_is_the_authors(channels, r, n):
    module = BAM(channels, r, num_dilated=n)
    shapes = authors_parameter_shapes(channels, r, dilation_conv_num=n)
    assert {name: tuple(p.shape) for name, p in module.named_parameters()} == shapes
    total = sum(math.prod(s) for s in shapes.values())
    assert bam_num_params(channels, r, num_dilated=n) == total
    assert sum(p.numel() for p in module.parameters()) == total


def test_parameter_counts_quoted_in_the_docstring():
    assert bam_num_params(256) == 17_361
    assert bam_num_params(1024) == 272_193


def test_a_closed_gate_passes_the_input_and_an_open_one_doubles_it():
    module = BAM(16, 4).eval()
    x = torch.randn(2, 16, 5, 5)
    with torch.no_grad():
        module.channel_att.gate_c.gate_c_fc_final.weight.zero_()
        module.channel_att.gate_c.gate_c_fc_final.bias.fill_(1.0)  # M_c = 1 everywhere
        module.spatial_att.gate_s.gate_s_conv_final.weight.zero_()
        module.spatial_att.gate_s.gate_s_conv_final.bias.fill_(-100.0)  # M_s = -100
    torch.testing.assert_close(module(x), x)  # 1 + sigmoid(-100) = 1: the residual keeps x
    with torch.no_grad():
        module.spatial_att.gate_s.gate_s_conv_final.bias.fill_(100.0)
    torch.testing.assert_close(module(x), 2 * x)


def test_the_two_combines_differ_and_the_gate_is_3d():
    module, seen = BAM(16, 4).eval(), []
    module.gate.register_forward_hook(lambda m, i, o: seen.append(o))
    x = torch.randn(2, 16, 4, 6)
    y = module(x)
    assert seen[0].shape == x.shape
    torch.testing.assert_close(y, x * (1 + seen[0]))
    m_c, m_s = module.channel_map(x), module.spatial_map(x)
    assert m_c.shape == (2, 16, 1, 1) and m_s.shape == (2, 1, 4, 6)
    torch.testing.assert_close(seen[0], torch.sigmoid(m_c * m_s))
    module.combine = "sum"
    torch.testing.assert_close(module(x), x * (1 + torch.sigmoid(m_c + m_s)))
    assert not torch.allclose(module(x), y)


def test_receptive_field_of_the_spatial_branch():
    # Two 3x3 convolutions with dilation 4 see 1 + 2 * 2 * 4 = 17 pixels: a change 8 pixels away
    # moves the spatial map, one 9 pixels away does not.
    module = BAM(16, 4).double().eval()
    x = torch.randn(1, 16, 21, 21, dtype=torch.float64)
    base = module.spatial_map(x)[0, 0, 10, 10]
    for offset, moves in ((8, True), (9, False)):
        x2 = x.clone()
        x2[0, :, 10, 10 + offset] += 5.0
        changed = not torch.isclose(module.spatial_map(x2)[0, 0, 10, 10], base, rtol=0,
                                    atol=1e-12)
        assert changed == moves, offset


def test_gradcheck():
    module = BAM(8, 2, dilation=1).double().eval()
    x = torch.randn(2, 8, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,), fast_mode=True)


@pytest.mark.parametrize("combine", ["product", "sum"])
def test_every_parameter_gets_a_finite_gradient(combine):
    module = BAM(16, 4, combine=combine).train()
    module(torch.randn(4, 16, 6, 6)).square().mean().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize(("c", "h", "w", "options"), [
    (64, 7, 5, {}), (32, 3, 3, {"reduction": 4, "num_dilated": 3}), (16, 1, 4, {"reduction": 2})])
def test_macs_closed_form_equals_the_counter(c, h, w, options):
    module = BAM(c, **options).eval()
    counted = count_flops(module, torch.randn(2, c, h, w)).macs
    macs = bam_macs(c, h, w, **options)
    assert counted == 2 * macs["macs"] == 2 * (macs["channel_macs"] + macs["spatial_macs"])


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: BAM(8), ValueError, "reduction=16 is larger than channels=8"),
        (lambda: BAM(64, dilation=0), ValueError, "dilation must be a positive integer, got 0"),
        (lambda: BAM(64, num_dilated=-1), ValueError, "num_dilated must be an integer >= 0"),
        (lambda: BAM(64, combine="max"), ValueError,
         r"combine must be one of \['product', 'sum'\], got 'max'"),
        (lambda: BAM(64, reduction=2.0), TypeError, "reduction must be an integer, got 2.0"),
        (lambda: BAM(True), TypeError, "channels must be an integer, got True"),
        (lambda: bam_num_params(64, combine="add"), ValueError, "combine must be one of"),
        (lambda: bam_macs(64, 3, 0), ValueError, "width must be a positive integer, got 0"),
    ],
)
def test_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        *bad_maps(16),
        (torch.randn(2, 16, 0, 0), ValueError, "x has H = 0 and W = 0"),
    ],
)
def test_bad_inputs(x, error, message):
    with pytest.raises(error, match=message):
        BAM(16, 4).eval()(x)


def test_training_with_one_image_says_why():
    one_image_training_says_why(lambda: BAM(16, 4))


def test_factory_builds_it():
    module = make_attention("bam", 64, combine="sum")
    assert isinstance(module, BAM) and module.hidden == 4 and module.combine == "sum"
