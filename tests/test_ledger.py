"""The ledger against the popular code it reproduces, its closed forms and its errors.

Each ``popular_*`` function below restates one popular implementation's forward pass with plain
tensor operations, following the lines cited in its docstring (read at the commit recorded in
the ledger entry), on weights copied from the module under test. They are written from the
popular code, not from ``attn_lessons``, so a module that drifted from its source fails here.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attn_lessons.ledger import (
    LEDGER,
    LEDGER_WIDTHS,
    MECHANISMS,
    CoordAttVariant,
    ECAWithBias,
    FullChannelGate,
    LedgerEntry,
    Residual,
    WidthChannelGate,
    ledger_entry,
    ledger_param_counts,
    ledger_rows,
    matches_library,
    timm_make_divisible,
)

BN_EPS = 1e-5


def randomised(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """float64, evaluation mode, every parameter and BatchNorm statistic drawn at random."""
    g = torch.Generator().manual_seed(seed)
    module = module.double().eval()
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point():
                u = torch.rand(t.shape, generator=g, dtype=torch.float64)
                t.copy_(u + 0.5 if name.endswith("running_var") else 2 * u - 1)
    return module


def bn_eval(v: torch.Tensor, p: dict, prefix: str) -> torch.Tensor:
    """BatchNorm in evaluation mode over dim 1, written out."""
    shape = (1, -1) + (1,) * (v.ndim - 2)
    mean, var = p[f"{prefix}.running_mean"].view(shape), p[f"{prefix}.running_var"].view(shape)
    w, b = p[f"{prefix}.weight"].view(shape), p[f"{prefix}.bias"].view(shape)
    return (v - mean) / torch.sqrt(var + BN_EPS) * w + b


def conv1x1(v: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """A 1x1 convolution as the popular code builds it (weights (out, in) -> (out, in, 1, 1))."""
    return F.conv2d(v, weight.reshape(weight.shape[0], -1, 1, 1), bias)


# ---------------------------------------------------------------------------------- SE


def popular_se_linear(p: dict, x: torch.Tensor) -> torch.Tensor:
    """bubbliiiing nets/attention.py 5-20 and External-Attention SEAttention.py 8-39:
    AdaptiveAvgPool2d(1) -> Linear(bias=False) -> ReLU -> Linear(bias=False) -> Sigmoid, x * y."""
    b, c = x.shape[:2]
    y = F.adaptive_avg_pool2d(x, 1).view(b, c)
    y = torch.sigmoid(F.linear(torch.relu(F.linear(y, p["fc1.weight"])), p["fc2.weight"]))
    return x * y.view(b, c, 1, 1)


def popular_se_caffe(p: dict, x: torch.Tensor) -> torch.Tensor:
    """hujie-frank/SENet SE-ResNet-50.prototxt 167-211: global AVE pooling, 1x1 Convolution
    (bias: Caffe's default), ReLU, 1x1 Convolution (bias), Sigmoid; then Axpy scales x by it."""
    y = F.avg_pool2d(x, x.shape[2:])
    y = torch.relu(conv1x1(y, p["fc1.weight"], p["fc1.bias"]))
    return x * torch.sigmoid(conv1x1(y, p["fc2.weight"], p["fc2.bias"]))


def popular_se_timm(p: dict, x: torch.Tensor) -> torch.Tensor:
    """timm squeeze_excite.py 55-63: x.mean((2, 3), keepdim) -> fc1 (1x1, bias) -> ReLU ->
    fc2 (1x1, bias) -> sigmoid, x * gate."""
    s = x.mean((2, 3), keepdim=True)
    s = conv1x1(torch.relu(conv1x1(s, p["fc1.weight"], p["fc1.bias"])), p["fc2.weight"],
                p["fc2.bias"])
    return x * torch.sigmoid(s)


# ---------------------------------------------------------------------------------- ECA


def popular_eca(p: dict, x: torch.Tensor) -> torch.Tensor:
    """BangguWu/ECANet eca_module.py 18-28 (bubbliiiing 78-82 is the same): avg pool,
    squeeze(-1).transpose(-1, -2) -> (B, 1, C), Conv1d(padding=(k-1)//2, bias=False), back,
    sigmoid, x * y."""
    w = p["conv.weight"]
    y = F.adaptive_avg_pool2d(x, 1)
    y = F.conv1d(y.squeeze(-1).transpose(-1, -2), w, None, padding=(w.shape[-1] - 1) // 2)
    return x * torch.sigmoid(y.transpose(-1, -2).unsqueeze(-1)).expand_as(x)


def popular_eca_ext(p: dict, x: torch.Tensor) -> torch.Tensor:
    """External-Attention ECAAttention.py 31-37: as ECANet but the Conv1d keeps its bias."""
    y = F.adaptive_avg_pool2d(x, 1).squeeze(-1).permute(0, 2, 1)  # bs,1,c
    y = torch.sigmoid(F.conv1d(y, p["conv.weight"], p["conv.bias"], padding=1))
    return x * y.permute(0, 2, 1).unsqueeze(-1)


def eca_kernel_popular(c: int, floor3: bool) -> int:
    """bubbliiiing 71-72 (and timm eca.py 79-80 with the floor of 3), restated."""
    t = int(abs((math.log(c, 2) + 1) / 2))
    k = t if t % 2 else t + 1
    return max(k, 3) if floor3 else k


# ---------------------------------------------------------------------------------- CBAM


def cbam_mlp(p: dict, z: torch.Tensor, prefix: str, bias: bool) -> torch.Tensor:
    b1 = p[f"{prefix}.fc1.bias"] if bias else None
    b2 = p[f"{prefix}.fc2.bias"] if bias else None
    return F.linear(torch.relu(F.linear(z, p[f"{prefix}.fc1.weight"], b1)),
                    p[f"{prefix}.fc2.weight"], b2)


def popular_cbam_paper(p: dict, x: torch.Tensor) -> torch.Tensor:
    """The paper's equations (1)-(3): M_c = sigma(MLP(avg) + MLP(max)), F' = M_c F,
    M_s = sigma(f7x7([avg; max])), F'' = M_s F'."""
    mc = torch.sigmoid(cbam_mlp(p, x.mean((2, 3)), "channel", False)
                       + cbam_mlp(p, x.amax((2, 3)), "channel", False))
    f1 = x * mc[:, :, None, None]
    s = torch.cat([f1.mean(1, keepdim=True), f1.amax(1, keepdim=True)], 1)
    return f1 * torch.sigmoid(F.conv2d(s, p["spatial.conv.weight"], padding=3))


def popular_cbam_bubbliiiing(p: dict, x: torch.Tensor) -> torch.Tensor:
    """bubbliiiing nets/attention.py 22-66: ChannelAttention (1x1 convs without bias, ratio 8)
    fc2(relu(fc1(avg))) + fc2(relu(fc1(max))), sigmoid; SpatialAttention cat[mean, max],
    conv 7x7 padding 3 without bias, sigmoid; x = x * ca(x); x = x * sa(x)."""
    w1, w2 = p["channel.fc1.weight"], p["channel.fc2.weight"]
    ca = torch.sigmoid(
        conv1x1(torch.relu(conv1x1(F.adaptive_avg_pool2d(x, 1), w1, None)), w2, None)
        + conv1x1(torch.relu(conv1x1(F.adaptive_max_pool2d(x, 1), w1, None)), w2, None))
    x = x * ca
    s = torch.cat([torch.mean(x, dim=1, keepdim=True), torch.max(x, dim=1, keepdim=True)[0]], 1)
    return x * torch.sigmoid(F.conv2d(s, p["spatial.conv.weight"], padding=3))


def popular_cbam_jongchan(p: dict, x: torch.Tensor) -> torch.Tensor:
    """Jongchan/attention-module MODELS/cbam.py 26-95: ChannelGate sums mlp(avg_pool2d) and
    mlp(max_pool2d) (Linear layers with bias), sigmoid, x * scale; SpatialGate: ChannelPool
    cat(max, mean), BasicConv (conv no bias, BatchNorm eps 1e-5, no ReLU), sigmoid, x * scale."""
    h, w = x.shape[2:]
    avg = F.avg_pool2d(x, (h, w), stride=(h, w)).flatten(1)
    mx = F.max_pool2d(x, (h, w), stride=(h, w)).flatten(1)
    att = cbam_mlp(p, avg, "channel", True) + cbam_mlp(p, mx, "channel", True)
    x_out = x * torch.sigmoid(att).unsqueeze(2).unsqueeze(3).expand_as(x)
    comp = torch.cat((torch.max(x_out, 1)[0].unsqueeze(1), torch.mean(x_out, 1).unsqueeze(1)), 1)
    v = bn_eval(F.conv2d(comp, p["spatial.conv.weight"], padding=3), p, "spatial.norm")
    return x_out * torch.sigmoid(v)


def popular_cbam_timm(p: dict, x: torch.Tensor) -> torch.Tensor:
    """timm cbam.py 45-48, 89-92, 143-146: channel gate fc2(act(fc1(mean))) + the same on amax,
    sigmoid; spatial cat[mean, amax] -> ConvNormAct (conv no bias, BatchNorm, no act) ->
    sigmoid."""
    w1, w2 = p["channel.fc1.weight"], p["channel.fc2.weight"]
    x_avg = conv1x1(torch.relu(conv1x1(x.mean((2, 3), keepdim=True), w1, None)), w2, None)
    x_max = conv1x1(torch.relu(conv1x1(x.amax((2, 3), keepdim=True), w1, None)), w2, None)
    x = x * torch.sigmoid(x_avg + x_max)
    a = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
    a = bn_eval(F.conv2d(a, p["spatial.conv.weight"], padding=3), p, "spatial.norm")
    return x * torch.sigmoid(a)


def popular_cbam_ultralytics(p: dict, x: torch.Tensor) -> torch.Tensor:
    """Ultralytics conv.py 540-650: ChannelAttention x * sigmoid(fc(pool(x))) with fc a C x C
    1x1 conv with bias; SpatialAttention x * sigmoid(cv1(cat[mean, max])), cv1 7x7, padding 3,
    no bias; CBAM = spatial(channel(x))."""
    x = x * torch.sigmoid(conv1x1(F.adaptive_avg_pool2d(x, 1), p["channel.fc.weight"],
                                  p["channel.fc.bias"]))
    s = torch.cat([torch.mean(x, 1, keepdim=True), torch.max(x, 1, keepdim=True)[0]], 1)
    return x * torch.sigmoid(F.conv2d(s, p["spatial.conv.weight"], padding=3))


def popular_cbam_external(p: dict, x: torch.Tensor) -> torch.Tensor:
    """External-Attention CBAM.py 8-71: ca = sigmoid(se(max) + se(avg)) with bias-free 1x1
    convs; sa = sigmoid(conv(cat[max, avg])) with a 49x49 conv, padding 24, with bias;
    out = x * ca(x); out = out * sa(out); return out + residual."""
    w1, w2 = p["body.channel.fc1.weight"], p["body.channel.fc2.weight"]

    def se(v: torch.Tensor) -> torch.Tensor:
        return conv1x1(torch.relu(conv1x1(v, w1, None)), w2, None)

    out = x * torch.sigmoid(se(F.adaptive_max_pool2d(x, 1)) + se(F.adaptive_avg_pool2d(x, 1)))
    r = torch.cat([torch.max(out, dim=1, keepdim=True)[0], torch.mean(out, dim=1, keepdim=True)], 1)
    sa = torch.sigmoid(F.conv2d(r, p["body.spatial.conv.weight"], p["body.spatial.conv.bias"],
                                padding=49 // 2))
    return out * sa + x


# ---------------------------------------------------------------------------------- CoordAtt


def popular_coordatt(p: dict, x: torch.Tensor, bias: bool = True, act: str = "hswish"
                     ) -> torch.Tensor:
    """houqb/CoordAttention coordatt.py 38-58 (External-Attention CoordAttention.py 37-57 is the
    same; timm coord_attn.py 74-98 differs only in bias=False and nn.Hardswish): pool_h
    (B, C, H, 1), pool_w permuted to (B, C, W, 1), cat on dim 2, conv1, bn1, h_swish, split
    [h, w], permute back, a_h = sigmoid(conv_h), a_w = sigmoid(conv_w), identity * a_w * a_h."""
    h, w = x.shape[2:]

    def b(name: str) -> torch.Tensor | None:
        return p[name] if bias else None

    x_h = F.adaptive_avg_pool2d(x, (h, 1))
    x_w = F.adaptive_avg_pool2d(x, (1, w)).permute(0, 1, 3, 2)
    y = bn_eval(conv1x1(torch.cat([x_h, x_w], dim=2), p["conv1.weight"], b("conv1.bias")), p,
                "bn1")
    y = y * F.relu6(y + 3) / 6 if act == "hswish" else torch.relu(y)
    x_h, x_w = torch.split(y, [h, w], dim=2)
    a_h = torch.sigmoid(conv1x1(x_h, p["conv_h.weight"], b("conv_h.bias")))
    a_w = torch.sigmoid(conv1x1(x_w.permute(0, 1, 3, 2), p["conv_w.weight"], b("conv_w.bias")))
    return x * a_w * a_h


def popular_ca_bubbliiiing(p: dict, x: torch.Tensor) -> torch.Tensor:
    """bubbliiiing nets/attention.py 99-121: x_h = mean(dim 3) permuted to (B, C, 1, H),
    x_w = mean(dim 2) (B, C, 1, W), cat on dim 3, conv_1x1 (no bias), bn, ReLU, split [h, w] on
    dim 3, s_h = sigmoid(F_h(split_h permuted)), s_w = sigmoid(F_w(split_w)), x * s_h * s_w."""
    _, _, h, w = x.shape
    x_h = torch.mean(x, dim=3, keepdim=True).permute(0, 1, 3, 2)
    x_w = torch.mean(x, dim=2, keepdim=True)
    y = torch.relu(bn_eval(conv1x1(torch.cat((x_h, x_w), 3), p["conv1.weight"], None), p, "bn1"))
    y_h, y_w = y.split([h, w], 3)
    s_h = torch.sigmoid(conv1x1(y_h.permute(0, 1, 3, 2), p["conv_h.weight"], None))
    s_w = torch.sigmoid(conv1x1(y_w, p["conv_w.weight"], None))
    return x * s_h.expand_as(x) * s_w.expand_as(x)


POPULAR = {
    ("SE", "paper"): popular_se_linear,
    ("SE", "authors' code (Caffe)"): popular_se_caffe,
    ("SE", "timm SEModule"): popular_se_timm,
    ("SE", "bubbliiiing se_block"): popular_se_linear,
    ("SE", "External-Attention SEAttention"): popular_se_linear,
    ("ECA", "paper"): popular_eca,
    ("ECA", "authors' eca_layer"): popular_eca,
    ("ECA", "timm EcaModule"): popular_eca,
    ("ECA", "bubbliiiing eca_block"): popular_eca,
    ("ECA", "External-Attention ECAAttention"): popular_eca_ext,
    ("CBAM", "paper"): popular_cbam_paper,
    ("CBAM", "authors' code"): popular_cbam_jongchan,
    ("CBAM", "timm CbamModule"): popular_cbam_timm,
    ("CBAM", "Ultralytics CBAM"): popular_cbam_ultralytics,
    ("CBAM", "bubbliiiing cbam_block"): popular_cbam_bubbliiiing,
    ("CBAM", "External-Attention CBAMBlock"): popular_cbam_external,
    ("CoordAtt", "paper and authors' code"): popular_coordatt,
    ("CoordAtt", "timm CoordAttn (2025)"):
        lambda p, x: popular_coordatt(p, x, bias=False, act="hswish"),
    ("CoordAtt", "bubbliiiing CA_Block"): popular_ca_bubbliiiing,
    ("CoordAtt", "External-Attention CoordAtt"): popular_coordatt,
}

IDS = [f"{e.mechanism}-{e.variant}" for e in LEDGER]


def test_every_entry_has_a_restatement():
    assert set(POPULAR) == {(e.mechanism, e.variant) for e in LEDGER}
    assert {e.mechanism for e in LEDGER} == set(MECHANISMS)


@pytest.mark.parametrize("entry", LEDGER, ids=IDS)
@pytest.mark.parametrize("channels, size", [(64, (2, 5, 7)), (48, (3, 4, 4))])
def test_forward_equals_popular_code(entry: LedgerEntry, channels: int, size: tuple):
    batch, h, w = size
    module = randomised(entry.build(channels), seed=channels)
    x = torch.randn(batch, channels, h, w, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(1))
    p = dict(module.state_dict())
    with torch.no_grad():
        got, expected = module(x), POPULAR[(entry.mechanism, entry.variant)](p, x)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("channels", [16, 24, 40, 64, 96, 200, 256, 512, 1000])
def test_closed_form_equals_parameter_count(channels: int):
    for entry in LEDGER:
        real = sum(p.numel() for p in entry.build(channels).parameters())
        assert entry.closed_form(channels) == real, (entry.variant, channels)


def test_param_counts_table():
    counts = ledger_param_counts()
    assert list(counts) == [(e.mechanism, e.variant) for e in LEDGER]
    for entry in LEDGER:
        row = counts[(entry.mechanism, entry.variant)]
        assert list(row) == list(LEDGER_WIDTHS)
        assert row == {c: entry.closed_form(c) for c in LEDGER_WIDTHS}
    # Spot values worked by hand: the paper's CBAM at 512 (2 * 512 * 32 + 2 * 49), Ultralytics'
    # (512^2 + 512 + 98), bubbliiiing's CA at 64 (m = 4: 3 * 64 * 4 + 2 * 4).
    assert counts[("CBAM", "paper")][512] == 32_866
    assert counts[("CBAM", "Ultralytics CBAM")][512] == 262_754
    assert counts[("CoordAtt", "bubbliiiing CA_Block")][64] == 776


@pytest.mark.parametrize("channels", [8, 16, 64, 100, 128, 256, 512, 1024, 2048])
def test_eca_kernel_sizes_follow_the_popular_rules(channels: int):
    def k(variant: str) -> int:
        return ledger_entry("ECA", variant).build(channels).conv.weight.shape[-1]
    assert k("bubbliiiing eca_block") == eca_kernel_popular(channels, floor3=False)
    assert k("paper") == eca_kernel_popular(channels, floor3=False)
    assert k("timm EcaModule") == eca_kernel_popular(channels, floor3=True)
    assert k("authors' eca_layer") == 3 and k("External-Attention ECAAttention") == 3


def test_timm_make_divisible_restated():
    # make_divisible(v, d, round_limit=0) = max(d, int(v + d / 2) // d * d), timm helpers.py
    for v in [0.3, 2.67, 4.0, 10.67, 12.0, 12.5, 21.33, 31.9, 100.0]:
        for d in (1, 8):
            assert timm_make_divisible(v, d, round_limit=0.0) == max(d, int(v + d / 2) // d * d)
    assert timm_make_divisible(10.0, 8) == 16  # 8 < 0.9 * 10: one divisor more


def test_hidden_widths_and_the_missing_floor():
    ca = ledger_entry("CoordAtt", "bubbliiiing CA_Block")
    assert [ca.hidden(c) for c in (8, 15, 16, 64)] == [0, 0, 1, 4]
    with pytest.raises(ValueError, match="0.5"):
        ca.build(8)
    assert ledger_entry("CoordAtt", "paper and authors' code").hidden(8) == 8
    assert ledger_entry("CBAM", "bubbliiiing cbam_block").hidden(4) == 0
    assert [ledger_entry("SE", "timm SEModule").hidden(c) for c in (64, 200, 256)] == [8, 16, 16]
    assert [ledger_entry("CoordAtt", "timm CoordAttn (2025)").hidden(c)
            for c in (64, 256, 512)] == [8, 8, 24]
    assert ledger_entry("ECA", "paper").hidden(64) is None


def test_what_pytorch_does_with_a_zero_width_bottleneck():
    """The module docstring's claim: nn.Linear layers of width 0 run and give the constant 0.5
    (bubbliiiing's se_block below 16 channels); 1x1 convolutions of width 0 fail at the forward
    pass (its CA_Block below 16 channels)."""
    x = torch.randn(3, 8, 4, 5)
    with pytest.warns(UserWarning):
        fc1, fc2 = torch.nn.Linear(8, 8 // 16, bias=False), torch.nn.Linear(8 // 16, 8, bias=False)
    gate = torch.sigmoid(fc2(torch.relu(fc1(x.mean((2, 3))))))
    assert torch.equal(gate, torch.full_like(gate, 0.5))
    with pytest.warns(UserWarning):
        conv = torch.nn.Conv2d(8, 8 // 16, 1, bias=False)
    with pytest.raises(RuntimeError):
        conv(x)
    with pytest.raises(ValueError, match="would ignore the input"):
        ledger_entry("SE", "bubbliiiing se_block").build(8)


@pytest.mark.parametrize("entry", LEDGER, ids=IDS)
def test_exactness_claims(entry: LedgerEntry):
    """An exact entry equals its library configuration at every width tried; a partial one at
    the ledger's widths but not at C = 200 (timm rounds 12.5 up where C // 16 gives 12)."""
    if entry.library is None:
        assert not entry.exact and not matches_library(entry, 64)
        return
    assert all(matches_library(entry, c) for c in LEDGER_WIDTHS)
    assert matches_library(entry, 200) == entry.exact


def test_rows_for_the_page():
    rows = ledger_rows((64, 200))
    assert [(r["mechanism"], r["variant"]) for r in rows] == [(e.mechanism, e.variant)
                                                              for e in LEDGER]
    timm_se = rows[[e.variant for e in LEDGER].index("timm SEModule")]
    assert timm_se["equals_library"] == {64: True, 200: False}
    assert timm_se["params"] == {64: 1096, 200: 2 * 200 * 16 + 16 + 200}
    assert timm_se["source"].startswith("huggingface/pytorch-image-models@aa4b5850c1")
    with pytest.raises(TypeError, match="widths"):
        ledger_rows(64)


def test_library_call_text():
    assert (ledger_entry("CBAM", "bubbliiiing cbam_block").library_call()
            == 'make_attention("cbam", C, reduction=8)')
    assert ledger_entry("CBAM", "Ultralytics CBAM").library_call() is None


def test_the_behaviour_changes_are_real():
    """Ultralytics' gate has no bottleneck; External-Attention's CBAM never shrinks a positive
    input; a ReLU CA gate ignores the sign of the negative normalised values h-swish keeps."""
    x = torch.rand(2, 64, 5, 5, dtype=torch.float64) + 0.1
    ext = randomised(ledger_entry("CBAM", "External-Attention CBAMBlock").build(64))
    with torch.no_grad():
        y = ext(x)
    assert bool((y >= x).all()) and bool((y <= 2 * x).all())
    gate = FullChannelGate(64)
    assert gate.fc.weight.shape == (64, 64)
    relu = randomised(CoordAttVariant(32, 4, act="relu"))
    hsw = randomised(CoordAttVariant(32, 4, act="hswish"))
    x = torch.randn(2, 32, 4, 6, dtype=torch.float64)
    with torch.no_grad():
        assert not torch.allclose(relu(x), hsw(x))


@pytest.mark.parametrize("module", [
    WidthChannelGate(12, 5, pooling=("avg", "max")), FullChannelGate(12), ECAWithBias(12, 5),
    CoordAttVariant(12, 3, act="relu", bias=True), Residual(FullChannelGate(12)),
], ids=["width_gate", "full_gate", "eca_bias", "coord_variant", "residual"])
def test_every_parameter_gets_a_gradient(module: torch.nn.Module):
    module.train()
    x = torch.randn(3, 12, 4, 5, requires_grad=True)
    module(x).square().sum().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="mechanism"):
        ledger_entry("GCT", "paper")
    with pytest.raises(ValueError, match="variant of SE"):
        ledger_entry("SE", "torchvision")
    with pytest.raises(TypeError, match="widths"):
        ledger_param_counts("64")
    with pytest.raises(ValueError, match="at least one"):
        ledger_param_counts([])
    with pytest.raises(ValueError, match="width"):
        ledger_param_counts([64, 0])
    with pytest.raises(TypeError, match="width"):
        ledger_param_counts([64.0])
    with pytest.raises(ValueError, match="hidden width 0"):
        WidthChannelGate(16, 0)
    with pytest.raises(TypeError, match="hidden"):
        CoordAttVariant(16, 2.5)
    with pytest.raises(ValueError, match="act"):
        CoordAttVariant(16, 2, act="gelu")
    with pytest.raises(ValueError, match="kernel_size"):
        ECAWithBias(16, 4)
    with pytest.raises(TypeError, match="bias"):
        FullChannelGate(16, bias=1)
    with pytest.raises(TypeError, match="body"):
        Residual(lambda x: x)
    with pytest.raises(ValueError, match="value"):
        timm_make_divisible(-1.0)
    with pytest.raises(TypeError, match="value"):
        timm_make_divisible("8")
    with pytest.raises(TypeError, match="LedgerEntry"):
        matches_library("SE", 64)
    with pytest.raises(ValueError, match="channels"):
        ECAWithBias(16)(torch.randn(1, 8, 3, 3))
