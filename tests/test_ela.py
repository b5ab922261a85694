"""ELA against the paper's listing and timm's port (there is no authors' repository), their
parameter counts, and its properties."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_lessons.cost import count_flops
from attn_lessons.ela import (
    ELA,
    ELA_VERSIONS,
    ela_macs,
    ela_num_params,
    ela_version_kwargs,
)
from attn_lessons.factory import make_attention
from attn_lessons.resnet import ResNet50
from attn_lessons.small_cnn import SmallCNN, capture

from ._module_checks import (
    added_by,
    book_networks_add,
    cuda_matches_cpu,
    refused_everywhere,
    refuses_bad_maps,
    trains_in_small_cnn,
)

TIMM = {"shared": False, "norm_groups": 1, "activation": "silu"}  # EfficientLocalAttn's defaults


def _rand(shape, g, scale=1.0):
    return torch.randn(shape, generator=g, dtype=torch.float64) * scale


def group_norm(z: torch.Tensor, groups: int, weight, bias, eps: float = 1e-5) -> torch.Tensor:
    """GroupNorm written out for (B, C, *): each group of C/groups channels normalised over its
    channels and positions together (biased variance), then a per-channel weight and bias."""
    b, c = z.shape[:2]
    t = z.reshape(b, groups, -1)
    mu = t.mean(dim=2, keepdim=True)
    var = ((t - mu) ** 2).mean(dim=2, keepdim=True)
    t = ((t - mu) / torch.sqrt(var + eps)).reshape(z.shape)
    view = (1, c) + (1,) * (z.dim() - 2)
    return t * weight.reshape(view) + bias.reshape(view)


# --- the paper's listing -------------------------------------------------------------------------
# Xu and Wan, arXiv:2403.01123, the PyTorch listing printed in the paper: one depthwise
# nn.Conv1d(C, C, k, padding=k // 2, groups=C, bias=False) and one nn.GroupNorm(16, C) for both
# strips; x_h = mean over W viewed as (b, c, h), x_w = mean over H as (b, c, w); each strip is
# sigmoid(gn(conv(.))); the output is x * x_h * x_w.

def paper_state(c: int, k: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"conv.weight": _rand((c, 1, k), g, 1 / math.sqrt(k)),
            "gn.weight": _rand((c,), g, 0.3) + 1, "gn.bias": _rand((c,), g, 0.3)}


def paper_forward(x: torch.Tensor, state: dict, groups: int) -> torch.Tensor:
    b, c, h, w = x.size()
    k = state["conv.weight"].shape[-1]

    def strip(z):
        z = F.conv1d(z, state["conv.weight"], padding=k // 2, groups=c)
        return torch.sigmoid(group_norm(z, groups, state["gn.weight"], state["gn.bias"]))

    x_h = torch.mean(x, dim=3, keepdim=True).view(b, c, h)
    x_w = torch.mean(x, dim=2, keepdim=True).view(b, c, w)
    return x * strip(x_h).view(b, c, h, 1) * strip(x_w).view(b, c, 1, w)


# --- timm's port ---------------------------------------------------------------------------------
# huggingface/pytorch-image-models, commit af3732eebe8c1964e5ba5f2769f955e6e0deb980,
# timm/layers/coord_attn.py, EfficientLocalAttn: __init__ lines 186-239 (conv_h: Conv2d kernel
# (k, 1), padding (k // 2, 0); conv_w: kernel (1, k), padding (0, k // 2); both depthwise without
# bias; norm_h, norm_w: GroupNorm1 = GroupNorm(1, C); act SiLU; gate sigmoid), forward lines
# 241-260.

def timm_state(c: int, k: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"conv_h.weight": _rand((c, 1, k, 1), g, 1 / math.sqrt(k)),
            "conv_w.weight": _rand((c, 1, 1, k), g, 1 / math.sqrt(k)),
            "norm_h.weight": _rand((c,), g, 0.3) + 1, "norm_h.bias": _rand((c,), g, 0.3),
            "norm_w.weight": _rand((c,), g, 0.3) + 1, "norm_w.bias": _rand((c,), g, 0.3)}


def timm_forward(x: torch.Tensor, state: dict) -> torch.Tensor:
    c = x.shape[1]
    k = state["conv_h.weight"].shape[2]
    x_h = x.mean(dim=3, keepdim=True)
    x_w = x.mean(dim=2, keepdim=True)
    x_h = F.conv2d(x_h, state["conv_h.weight"], padding=(k // 2, 0), groups=c)
    x_w = F.conv2d(x_w, state["conv_w.weight"], padding=(0, k // 2), groups=c)
    x_h = F.silu(group_norm(x_h, 1, state["norm_h.weight"], state["norm_h.bias"]))
    x_w = F.silu(group_norm(x_w, 1, state["norm_w.weight"], state["norm_w.bias"]))
    a_h = torch.sigmoid(x_h)
    a_w = torch.sigmoid(x_w)
    return x * a_h * a_w


def built_paper(c: int, k: int = 7, groups: int = 16, seed: int = 0):
    state = paper_state(c, k, seed)
    m = ELA(c, kernel_size=k, norm_groups=groups).double()
    m.load_state_dict({key.replace("gn.", "norm."): v for key, v in state.items()}, strict=True)
    return m, state


def built_timm(c: int, k: int = 7, seed: int = 0):
    state = timm_state(c, k, seed)
    m = ELA(c, kernel_size=k, **TIMM).double()
    ours = {key: (v.reshape(c, 1, k) if key.startswith("conv") else v)  # (C,1,k,1) -> (C,1,k)
            for key, v in state.items()}
    m.load_state_dict(ours, strict=True)
    return m, state


# --- the sized versions: the port that takes a version letter ------------------------------------
# bobo504/KED-YOLO, commit faaee5fe8e3d5887652997cec961e2c33417635e, models/ELA.py: the three
# tables of lines 13-15 (kernel size, the convolution's groups, GroupNorm's groups, by letter 'T',
# 'B', 'S', 'L'), the layers of lines 16-19 (one nn.Conv1d(C, C, k, padding=k // 2, groups=groups,
# bias=False), one nn.GroupNorm(num_groups, C), a sigmoid), the forward pass of lines 21-29 (the
# paper's listing's: row and column means, the shared convolution and GroupNorm on each strip,
# x_h * x_w * input). The paper's own table could not be read; see the module's docstring.

PORT_KERNEL = {"T": 5, "B": 7, "S": 5, "L": 7}
PORT_NUM_GROUPS = {"T": 32, "B": 16, "S": 16, "L": 16}


def port_groups(version: str, c: int) -> int:
    return {"T": c, "B": c, "S": c // 8, "L": c // 8}[version]


def port_state(version: str, c: int, seed: int) -> dict[str, torch.Tensor]:
    """The port's parameters: con1.weight of shape (C, C / groups, k), GN.weight, GN.bias."""
    g = torch.Generator().manual_seed(seed)
    k, fan_in = PORT_KERNEL[version], c // port_groups(version, c)
    return {"con1.weight": _rand((c, fan_in, k), g, 1 / math.sqrt(k * fan_in)),
            "GN.weight": _rand((c,), g, 0.3) + 1, "GN.bias": _rand((c,), g, 0.3)}


def port_forward(x: torch.Tensor, state: dict, version: str) -> torch.Tensor:
    b, c, h, w = x.size()
    k = PORT_KERNEL[version]

    def strip(z):
        z = F.conv1d(z, state["con1.weight"], padding=k // 2, groups=port_groups(version, c))
        return torch.sigmoid(group_norm(z, PORT_NUM_GROUPS[version], state["GN.weight"],
                                        state["GN.bias"]))

    x_h = torch.mean(x, dim=3, keepdim=True).view(b, c, h)
    x_w = torch.mean(x, dim=2, keepdim=True).view(b, c, w)
    return strip(x_h).view(b, c, h, 1) * strip(x_w).view(b, c, 1, w) * x


def built_version(version: str, c: int, seed: int = 0):
    state = port_state(version, c, seed)
    m = ELA.from_version(version, c).double()
    names = {"con1.weight": "conv.weight", "GN.weight": "norm.weight", "GN.bias": "norm.bias"}
    m.load_state_dict({names[key]: v for key, v in state.items()}, strict=True)
    return m, state


VERSION_SHAPES = [(2, 64, 9, 7), (3, 32, 5, 6), (2, 128, 4, 11), (1, 256, 3, 3), (2, 96, 1, 8)]


@pytest.mark.parametrize("version", ["T", "B", "S", "L"])
@pytest.mark.parametrize("shape", VERSION_SHAPES)
def test_each_version_equals_the_port(version, shape):
    m, state = built_version(version, shape[1], seed=sum(shape))
    x = _rand(shape, torch.Generator().manual_seed(3))
    torch.testing.assert_close(m(x), port_forward(x, state, version), atol=1e-10, rtol=0)


def test_the_versions_table_is_the_ports():
    for v, spec in ELA_VERSIONS.items():
        for c in (32, 64, 256):
            assert ela_version_kwargs(v, c) == {"kernel_size": PORT_KERNEL[v],
                                                "conv_groups": port_groups(v, c),
                                                "norm_groups": PORT_NUM_GROUPS[v]}
        assert spec["channels_per_conv_group"] == (8 if v in "SL" else 1)
    assert list(ELA_VERSIONS) == ["T", "B", "S", "L"]
    with pytest.raises(TypeError):
        ELA_VERSIONS["T"]["kernel_size"] = 3  # read-only
    # ELA-B is the library's default, the paper's listing.
    assert ela_version_kwargs("B", 64) == {"kernel_size": 7, "conv_groups": 64, "norm_groups": 16}
    default = ELA(64)
    assert (default.kernel_size, default.conv_groups, default.norm_groups) == (7, 64, 16)


def test_grouped_convolution_mixes_the_channels_of_its_group_only():
    """ELA-S at C = 32 (4 groups of 8 channels, GroupNorm of 16 groups of 2): moving channel 3
    changes the convolution's output in channels 0-7, and so the gates there, and nowhere else."""
    m, _ = built_version("S", 32, seed=7)
    x = torch.randn(2, 32, 5, 6, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 3] += 2.0 * torch.randn(2, 5, 6, dtype=torch.float64)
    moved = [((a - b).abs().amax(dim=(0, 2)) > 1e-12).nonzero().flatten().tolist()
             for a, b in zip(m.gates(x), m.gates(x2), strict=True)]
    assert moved == [list(range(8)), list(range(8))]


@pytest.mark.parametrize("c", [32, 64, 256, 512])
@pytest.mark.parametrize("version", ["T", "B", "S", "L"])
def test_version_parameter_counts_equal_the_port_and_the_closed_form(version, c):
    m = ELA.from_version(version, c)
    n = sum(p.numel() for p in m.parameters())
    assert n == sum(math.prod(v.shape) for v in port_state(version, c, 0).values())
    assert n == ela_num_params(c, **ela_version_kwargs(version, c))
    k, per_group = PORT_KERNEL[version], (8 if version in "SL" else 1)
    assert n == c * per_group * k + 2 * c


@pytest.mark.parametrize(("c", "g"), [(16, 16), (16, 2), (24, 3), (32, 1), (48, 6)])
@pytest.mark.parametrize("form", [{}, TIMM])
def test_grouped_counts_and_macs_equal_the_closed_forms(c, g, form):
    m = ELA(c, kernel_size=5, conv_groups=g, **{"norm_groups": 4, **form}).eval()
    shared = form.get("shared", True)
    assert sum(p.numel() for p in m.parameters()) == ela_num_params(
        c, 5, norm_groups=4, shared=shared, conv_groups=g) == (1 if shared else 2) * (
        c * (c // g) * 5 + 2 * c)
    for h, w in [(7, 5), (1, 9)]:
        assert count_flops(m, torch.randn(1, c, h, w)).macs == ela_macs(c, h, w, 5, g) == (
            c * (c // g) * 5 * (h + w))


def test_gradcheck_grouped_version():
    m = ELA.from_version("S", 16).double()  # conv_groups 2 (8 channels each), GroupNorm 16
    assert m.conv.groups == 2
    x = torch.randn(2, 16, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,))
    timm_grouped = ELA(8, kernel_size=3, conv_groups=2, **TIMM).double()
    x = torch.randn(2, 8, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(timm_grouped, (x,))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 16, "conv_groups": 5}, ValueError,
         r"conv_groups=5 must divide channels=16: .*1, 2, 4, 8, 16 fit \(conv_groups=16 is "
         r"depthwise\)"),
        ({"channels": 256, "conv_groups": 3}, ValueError,
         r"conv_groups=3 must divide channels=256: .*1, 2, 4, 8, 16, 32, 64, 128, 256 fit"),
        ({"channels": 16, "conv_groups": 0}, ValueError,
         "conv_groups must be a positive integer, got 0"),
        ({"channels": 16, "conv_groups": 32}, ValueError, "conv_groups=32 must divide channels=16"),
        ({"channels": 16, "conv_groups": True}, TypeError,
         "conv_groups must be an integer, got True"),
        ({"channels": 16, "conv_groups": 2.0}, TypeError,
         "conv_groups must be an integer, got 2.0"),
    ],
)
def test_bad_conv_groups(kwargs, error, match):
    refused_everywhere(ELA, "ela", kwargs, error, match, ela_num_params)
    with pytest.raises(error, match=match):
        ela_macs(kwargs["channels"], 4, 4, 7, kwargs["conv_groups"])


@pytest.mark.parametrize("version", ["X", "t", "ELA-T", "", None, 1])
def test_bad_version_letter(version):
    match = r"version must be one of \['T', 'B', 'S', 'L'\], got " + repr(version).replace(
        "(", r"\(")
    with pytest.raises(ValueError, match=match):
        ela_version_kwargs(version, 64)
    with pytest.raises(ValueError, match=match):
        ELA.from_version(version, 64)


@pytest.mark.parametrize(
    ("version", "c", "match"),
    [
        ("T", 48, "ELA-T cannot take channels=48: its GroupNorm has 32 groups, so the width must "
                  r"be a multiple of 32 \(e.g. 32, 64, 128\)"),
        ("T", 16, "ELA-T cannot take channels=16"),
        ("B", 24, "ELA-B cannot take channels=24: its GroupNorm has 16 groups"),
        ("S", 12, "ELA-S cannot take channels=12: its convolution has groups of 8 channels and "
                  "its GroupNorm has 16 groups, so the width must be a multiple of 16"),
        ("L", 8, "ELA-L cannot take channels=8"),
        ("L", 40, "ELA-L cannot take channels=40"),
    ],
)
def test_widths_a_version_cannot_take(version, c, match):
    with pytest.raises(ValueError, match=match):
        ela_version_kwargs(version, c)
    with pytest.raises(ValueError, match=match):
        ELA.from_version(version, c)


def test_from_version_passes_the_other_options_on():
    m = ELA.from_version("L", 64, shared=False, activation="silu")
    assert (m.shared, m.norm_groups, m.conv_groups, m.kernel_size) == (False, 16, 8, 7)
    assert sum(p.numel() for p in m.parameters()) == 2 * (64 * 8 * 7 + 2 * 64)
    with pytest.raises(TypeError, match="kernel_size"):
        ELA.from_version("L", 64, kernel_size=3)  # a version's own numbers are not overridden


def test_networks_take_a_version_per_block_width():
    """A version as ``attention_kwargs``: a function of each block's width."""
    with torch.device("meta"):
        net = ResNet50("ela", lambda c: ela_version_kwargs("S", c))
    elas = [m for m in net.modules() if isinstance(m, ELA)]
    assert elas and all(m.conv.groups == m.channels // 8 and m.kernel_size == 5 for m in elas)
    assert type(make_attention("ela", 64, **ela_version_kwargs("T", 64))) is ELA


SHAPES = [((2, 32, 9, 7), 7, 16), ((3, 16, 4, 6), 7, 16), ((2, 24, 5, 5), 5, 8),
          ((1, 12, 1, 9), 3, 4), ((2, 8, 3, 1), 7, 1), ((2, 64, 11, 12), 7, 16)]


@pytest.mark.parametrize(("shape", "k", "groups"), SHAPES)
def test_equals_the_papers_listing(shape, k, groups):
    m, state = built_paper(shape[1], k, groups, seed=sum(shape))
    x = _rand(shape, torch.Generator().manual_seed(1))
    torch.testing.assert_close(m(x), paper_forward(x, state, groups), atol=1e-10, rtol=0)


@pytest.mark.parametrize(("shape", "k", "groups"), SHAPES)
def test_equals_timms_port(shape, k, groups):
    m, state = built_timm(shape[1], k, seed=sum(shape))
    x = _rand(shape, torch.Generator().manual_seed(2))
    torch.testing.assert_close(m(x), timm_forward(x, state), atol=1e-10, rtol=0)


@pytest.mark.parametrize("c", [16, 48, 256])
@pytest.mark.parametrize("k", [3, 7])
@pytest.mark.parametrize("bias", [False, True])
def test_parameter_counts_equal_the_sources_and_the_closed_form(c, k, bias):
    paper = ELA(c, kernel_size=k, bias=bias)
    timm = ELA(c, kernel_size=k, bias=bias, **TIMM)
    n_paper = sum(p.numel() for p in paper.parameters())
    n_timm = sum(p.numel() for p in timm.parameters())
    assert ela_num_params(c, k, bias=bias) == n_paper
    assert ela_num_params(c, k, norm_groups=1, shared=False, bias=bias) == n_timm
    if not bias:  # the sources have no bias
        assert n_paper == sum(math.prod(v.shape) for v in paper_state(c, k, 0).values())
        assert n_timm == sum(math.prod(v.shape) for v in timm_state(c, k, 0).values())
        assert (n_paper, n_timm) == (c * k + 2 * c, 2 * c * k + 4 * c)
    assert ela_num_params(256) == 9 * 256


@pytest.mark.parametrize(("c", "h", "w", "k"), [(32, 9, 7, 7), (16, 2, 5, 3), (64, 4, 1, 5)])
@pytest.mark.parametrize("form", [{}, TIMM])
def test_mac_formula_equals_pytorchs_count(c, h, w, k, form):
    m = ELA(c, kernel_size=k, **form).eval()
    assert count_flops(m, torch.randn(1, c, h, w)).macs == ela_macs(c, h, w, k)
    assert count_flops(m, torch.randn(2, c, h, w)).macs == 2 * ela_macs(c, h, w, k)


@pytest.mark.parametrize("form", [{"norm_groups": 2}, TIMM])
def test_gradcheck(form):
    m = ELA(4, kernel_size=3, **form).double()
    x = torch.randn(2, 4, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,))


@pytest.mark.parametrize("form", [{}, TIMM, {"bias": True}])
def test_every_parameter_gets_a_gradient(form):
    m = ELA(32, **form)
    m(torch.randn(3, 32, 6, 5)).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_gates_are_a_rank_one_map_per_channel():
    m, _ = built_paper(16, seed=3)
    x = torch.randn(2, 16, 6, 5, dtype=torch.float64)
    seen = {}
    m.gate_h.register_forward_hook(lambda mod, i, o: seen.__setitem__("h", o))
    g_h, g_w = m.gates(x)
    assert g_h.shape == (2, 16, 6) and g_w.shape == (2, 16, 5)
    gate = m(x) / x
    torch.testing.assert_close(seen["h"], g_h)
    torch.testing.assert_close(gate, g_h[..., None] * g_w[:, :, None, :], atol=1e-12, rtol=0)


@settings(max_examples=20, deadline=None)
@given(c=st.sampled_from([4, 8]), h=st.integers(1, 6), w=st.integers(1, 6),
       seed=st.integers(0, 10_000))
def test_gate_depends_only_on_row_and_column_means(c, h, w, seed):
    g = torch.Generator().manual_seed(seed)
    m = ELA(c, norm_groups=2).double()
    x = _rand((2, c, h, w), g)
    r = _rand((2, c, h, w), g)
    # Double centring: every row mean and every column mean of d is 0.
    d = r - r.mean(3, keepdim=True) - r.mean(2, keepdim=True) + r.mean((2, 3), keepdim=True)
    for got, expected in zip(m.gates(x + 3 * d), m.gates(x), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)


def test_no_channel_mixing_beyond_the_groupnorm_statistics():
    """With one channel per GroupNorm group, a channel's gates depend on that channel alone."""
    m = ELA(8, norm_groups=8).double()
    x = torch.randn(2, 8, 5, 6, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 3] = torch.randn(2, 5, 6, dtype=torch.float64) * 4
    (h1, w1), (h2, w2) = m.gates(x), m.gates(x2)
    keep = [i for i in range(8) if i != 3]
    torch.testing.assert_close(h2[:, keep], h1[:, keep], atol=1e-12, rtol=0)
    torch.testing.assert_close(w2[:, keep], w1[:, keep], atol=1e-12, rtol=0)
    assert not torch.allclose(h2[:, 3], h1[:, 3])
    # With groups of channels, the statistics are shared: channel 2's gate now moves too.
    m16 = ELA(8, norm_groups=1).double()
    assert not torch.allclose(m16.gates(x2)[0][:, 2], m16.gates(x)[0][:, 2])


def test_timms_silu_keeps_each_gate_above_sigmoid_of_silus_minimum():
    """SiLU(t) = t sigmoid(t) >= -0.2785 (at t = -1.2785), so timm's gates cannot fall below
    sigmoid(-0.2785) = 0.4308; the paper's gates can approach 0."""
    t = torch.linspace(-5, 5, 100_001, dtype=torch.float64)
    silu_min = F.silu(t).min()
    floor = torch.sigmoid(silu_min)
    assert abs(silu_min + 0.27846) < 1e-4 and abs(floor - 0.4308) < 1e-4
    g = torch.Generator().manual_seed(4)
    x = _rand((4, 16, 9, 9), g, 5.0)
    timm, _ = built_timm(16, seed=5)
    paper, _ = built_paper(16, seed=5)
    timm_gates = torch.cat([gate.flatten() for gate in timm.gates(x)])
    paper_gates = torch.cat([gate.flatten() for gate in paper.gates(x)])
    assert timm_gates.min() >= floor - 1e-12
    assert paper_gates.min() < 0.1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 0}, ValueError, "channels must be a positive integer, got 0"),
        ({"channels": 8}, ValueError,
         "channels=8 must be divisible by norm_groups=16: .*norm_groups=8 fits"),
        ({"channels": 24}, ValueError, "norm_groups=8 fits"),
        ({"channels": 16, "norm_groups": 0}, ValueError,
         "norm_groups must be a positive integer, got 0"),
        ({"channels": 16, "kernel_size": 6}, ValueError,
         "kernel_size must be a positive odd integer, got 6"),
        ({"channels": 16, "shared": "no"}, TypeError, "shared must be True or False, got 'no'"),
        ({"channels": 16, "bias": None}, TypeError, "bias must be True or False, got None"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    refused_everywhere(ELA, "ela", kwargs, error, match, ela_num_params)


def test_bad_activation_and_input():
    with pytest.raises(ValueError,
                       match=r"activation must be one of \['none', 'silu'\], got 'relu'"):
        ELA(16, activation="relu")
    m = ELA(16)
    refuses_bad_maps(m, 16, [(torch.randn(2, 16, 0, 0), ValueError,
                              r"x has H = 0 and W = 0 \(shape \(2, 16, 0, 0\)\)")])
    with pytest.raises(ValueError, match="kernel_size must be a positive odd integer, got 0"):
        ela_macs(16, 4, 4, 0)
    # GroupNorm refuses a group that holds a single value: one image, one row, one channel a group.
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        m(torch.randn(1, 16, 1, 5))
    assert m(torch.randn(2, 16, 1, 5)).shape == (2, 16, 1, 5)
    assert ELA(16, norm_groups=8)(torch.randn(1, 16, 1, 5)).shape == (1, 16, 1, 5)



@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    cuda_matches_cpu(ELA(16), 16)

# --- the factory and every network of the book ---------------------------------------------------

def test_factory_and_networks_accept_ela():
    assert type(make_attention("ela", 32)) is ELA
    with pytest.raises(ValueError, match="channels=8 must be divisible by norm_groups=16"):
        SmallCNN(3, 5, (8, 16, 32), "ela")
    cnn, x = trains_in_small_cnn("ela", norm_groups=8)
    seen = capture(cnn, x)
    assert seen["block0.gate_h"].shape == (2, 8, 12) and seen["block2.gate_w"].shape == (2, 32, 3)
    book_networks_add("ela", *added_by(ela_num_params))
