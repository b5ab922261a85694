"""Exact parameter counts of ResNet-50 and MobileNetV2, plain and with each attention module.

Closed forms: with attention at channel counts c_1, ..., c_n (resnet50_attention_channels,
mobilenetv2_attention_channels), the network's count is the plain count plus the sum of the
module's own closed-form count over the c_i. The literal totals are derived by hand in the
chapter-7 notebook `paper_tables.ipynb`. No 224x224 forward pass runs here: operation counts use the
meta device (shapes only).
"""

from __future__ import annotations

import pytest
import torch

from attn_lessons.bam import bam_num_params
from attn_lessons.cbam import cbam_num_params
from attn_lessons.coordatt import coordatt_num_params
from attn_lessons.cost import count_flops, count_parameters
from attn_lessons.eca import eca_num_params
from attn_lessons.global_context import gc_num_params
from attn_lessons.mobilenetv2 import MobileNetV2, mobilenetv2_attention_channels
from attn_lessons.resnet import Bottleneck, ResNet50, resnet50_attention_channels
from attn_lessons.se import se_num_params
from attn_lessons.simam import simam_num_params
from attn_lessons.sk import sk_num_params

RESNET50_PLAIN = 25_557_032
MOBILENETV2_PLAIN = 3_504_872


def eca_k3557(channels: int) -> dict:
    """Kernel sizes of the released ECA-Net50 weights ('k3557'): 3, 5, 5, 7 for stages 1-4."""
    return {"kernel_size": {256: 3, 512: 5, 1024: 5, 2048: 7}[channels]}


def test_attention_channel_lists():
    assert resnet50_attention_channels() == [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    assert mobilenetv2_attention_channels("depthwise") == [
        96, 144, 144, 192, 192, 192, 384, 384, 384, 384, 576, 576, 576, 960, 960, 960]
    assert mobilenetv2_attention_channels("project") == (
        [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3 + [320])


@pytest.mark.parametrize("variant", ["v1", "v1.5"])
def test_resnet50_plain(variant):
    assert count_parameters(ResNet50(variant=variant)) == RESNET50_PLAIN


@pytest.mark.parametrize(
    ("kind", "kwargs", "per_module", "total"),
    [
        # SE paper / CBAM paper: FC layers with biases, r = 16.
        ("se", {"bias": True}, lambda c: se_num_params(c, 16, bias=True), 28_088_024),
        # ECA paper's "SENet" row and SE without biases.
        ("se", {"bias": False}, lambda c: se_num_params(c, 16, bias=False), 28_071_976),
        # ECA with the adaptive kernel (5, 5, 5, 7) and with the released k3557 weights.
        ("eca", None, lambda c: eca_num_params(c), 25_557_118),
        ("eca", eca_k3557, lambda c: eca_k3557(c)["kernel_size"], 25_557_112),
        # CBAM as its authors' code builds it: MLP biases, BatchNorm after the 7x7 convolution.
        ("cbam", {"bias": True, "batch_norm": True},
         lambda c: cbam_num_params(c, bias=True, batch_norm=True), 28_089_624),
        ("cbam", None, lambda c: cbam_num_params(c), 28_073_544),
        ("coordatt", None, lambda c: coordatt_num_params(c), None),
    ],
)
def test_resnet50_with_attention(kind, kwargs, per_module, total):
    model = ResNet50(kind, kwargs)
    added = sum(per_module(c) for c in resnet50_attention_channels())
    assert count_parameters(model) == RESNET50_PLAIN + added
    if total is not None:
        assert RESNET50_PLAIN + added == total


# The field guide's kinds (FIELD_GUIDE_KINDS): built on the meta device (shapes only, no memory
# for weights), each network's count is the plain one plus the module's closed form at each place.
# MobileNetV2's hidden widths (96, 144, ...) are not all multiples of SK's 32 groups: 16 fits.
@pytest.mark.parametrize(
    ("kind", "resnet_kwargs", "mobilenet_kwargs", "per_module"),
    [
        ("simam", None, None, lambda c, **kw: simam_num_params(c)),
        ("gc", None, None, gc_num_params),
        ("sk", None, {"groups": 16}, sk_num_params),
        ("bam", None, None, bam_num_params),
    ],
)
def test_field_guide_kinds_in_resnet50_and_mobilenetv2(kind, resnet_kwargs, mobilenet_kwargs,
                                                       per_module):
    with torch.device("meta"):
        resnet = ResNet50(kind, resnet_kwargs)
        mobilenet = MobileNetV2(kind, mobilenet_kwargs)
    added = sum(per_module(c, **(resnet_kwargs or {})) for c in resnet50_attention_channels())
    assert count_parameters(resnet) == RESNET50_PLAIN + added
    added = sum(per_module(c, **(mobilenet_kwargs or {}))
                for c in mobilenetv2_attention_channels("depthwise"))
    assert count_parameters(mobilenet) == MOBILENETV2_PLAIN + added


@pytest.mark.parametrize(("kind", "kwargs"), [("simam", None), ("gc", None), ("sk", {"groups": 16}),
                                              ("bam", None)])
def test_field_guide_kinds_run_in_both_networks(kind, kwargs):
    torch.manual_seed(0)
    model = MobileNetV2(kind, kwargs, num_classes=5).eval()
    out = model(torch.randn(2, 3, 32, 32))  # the last stages run on 1 x 1 maps
    assert out.shape == (2, 5) and torch.isfinite(out).all()
    block = Bottleneck(256, 64, attention=kind, attention_kwargs=kwargs).eval()  # ResNet-50's
    x = torch.randn(2, 256, 3, 3)
    out = block(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_a_field_guide_default_that_does_not_fit_mobilenetv2_says_why():
    with pytest.raises(ValueError, match=r"groups=32 must divide the channels \(144\)"):
        MobileNetV2("sk")


def test_mobilenetv2_plain():
    assert count_parameters(MobileNetV2()) == MOBILENETV2_PLAIN
    assert count_parameters(MobileNetV2(position="project")) == MOBILENETV2_PLAIN


@pytest.mark.parametrize(
    ("kind", "kwargs", "position", "per_module", "total"),
    [
        ("coordatt", None, "depthwise", lambda c: coordatt_num_params(c), 3_950_648),
        ("se", {"reduction": 16}, "depthwise", lambda c: se_num_params(c, 16), 4_076_324),
        ("eca", lambda c: {"kernel_size": 1 if c < 96 else 3}, "project",
         lambda c: 1 if c < 96 else 3, 3_504_903),
        ("cbam", None, "depthwise", lambda c: cbam_num_params(c), None),
    ],
)
def test_mobilenetv2_with_attention(kind, kwargs, position, per_module, total):
    model = MobileNetV2(kind, kwargs, position=position)
    added = sum(per_module(c) for c in mobilenetv2_attention_channels(position))
    assert count_parameters(model) == MOBILENETV2_PLAIN + added
    if total is not None:
        assert MOBILENETV2_PLAIN + added == total


@pytest.mark.parametrize(
    ("variant", "macs"), [("v1", 3_857_973_248), ("v1.5", 4_089_184_256)]
)
def test_resnet50_macs_on_meta(variant, macs):
    with torch.device("meta"):
        model = ResNet50(variant=variant).eval()
        count = count_flops(model, torch.empty(1, 3, 224, 224))
    assert count.macs == macs


def test_mobilenetv2_macs_on_meta():
    with torch.device("meta"):
        count = count_flops(MobileNetV2().eval(), torch.empty(1, 3, 224, 224))
    assert count.macs == 300_774_272


def test_small_forward_shapes():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 48)
    for model in (ResNet50("se", num_classes=7), MobileNetV2("coordatt", num_classes=7)):
        out = model.eval()(x)
        assert out.shape == (2, 7) and torch.isfinite(out).all()


def test_attention_sits_on_the_residual_branch():
    # With the gate forced shut (SE output 0), a block with an identity shortcut returns ReLU(x).
    block = Bottleneck(256, 64, attention="se").eval()
    with torch.no_grad():
        block.attention.fc2.weight.zero_()
        block.attention.fc2.bias.fill_(-1e4)
    x = torch.randn(1, 256, 5, 5)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_v1_and_v15_put_the_stride_in_different_convolutions():
    v1 = Bottleneck(256, 128, stride=2, variant="v1")
    v15 = Bottleneck(256, 128, stride=2, variant="v1.5")
    assert (v1.conv1.stride, v1.conv2.stride) == ((2, 2), (1, 1))
    assert (v15.conv1.stride, v15.conv2.stride) == ((1, 1), (2, 2))


def test_bad_input():
    with pytest.raises(ValueError, match="unknown attention kind 'sse'"):
        ResNet50("sse")
    with pytest.raises(ValueError, match="variant must be one of"):
        ResNet50(variant="v2")
    with pytest.raises(ValueError, match="position must be one of"):
        MobileNetV2(position="middle")
    with pytest.raises(TypeError, match="attention_kwargs must be a mapping"):
        ResNet50("se", attention_kwargs=[16])
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        Bottleneck(64, 64, stride=3)
    with pytest.raises(ValueError, match=r"expects a \(B, 3, H, W\)"):
        ResNet50()(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"expects a \(B, 256, H, W\)"):
        Bottleneck(256, 64)(torch.randn(1, 128, 4, 4))
    with pytest.raises(ValueError, match=r"expects a \(B, 3, H, W\)"):
        MobileNetV2()(torch.randn(3, 32, 32))
