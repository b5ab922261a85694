"""Tests of the YOLOv4-tiny style neck: shapes, exact parameter counts, attention placement."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from attn_lessons.bam import bam_num_params
from attn_lessons.cbam import cbam_num_params
from attn_lessons.coordatt import coordatt_num_params
from attn_lessons.cost import count_parameters, summary_table
from attn_lessons.eca import eca_num_params
from attn_lessons.factory import ALL_ATTENTION_KINDS
from attn_lessons.global_context import gc_num_params
from attn_lessons.neck import YoloTinyNeck
from attn_lessons.se import se_num_params
from attn_lessons.simam import simam_num_params
from attn_lessons.sk import sk_num_params

# By hand: 1x1 512->256 + BN (131,584); 3x3 256->512 + BN (1,180,672); 1x1 512->255 + bias
# (130,815); 1x1 256->128 + BN (33,024); 3x3 384->256 + BN (885,248); 1x1 256->255 + bias (65,535).
PLAIN = 131_584 + 1_180_672 + 130_815 + 33_024 + 885_248 + 65_535


@pytest.mark.parametrize(
    ("kind", "per_module"),
    [("none", lambda c: 0), ("se", se_num_params), ("eca", eca_num_params),
     ("cbam", cbam_num_params), ("coordatt", coordatt_num_params),
     ("simam", simam_num_params), ("gc", gc_num_params), ("sk", sk_num_params),
     ("bam", bam_num_params)],
)
def test_parameter_counts(kind, per_module):
    neck = YoloTinyNeck(kind)
    assert count_parameters(neck) == PLAIN + sum(per_module(c) for c in (256, 512, 128))
    assert PLAIN == 2_426_878


@pytest.mark.parametrize("kind", ALL_ATTENTION_KINDS)
def test_shapes(kind):
    torch.manual_seed(0)
    neck = YoloTinyNeck(kind, num_classes=3, num_anchors=2).eval()
    coarse, fine = neck(torch.randn(2, 256, 8, 6), torch.randn(2, 512, 4, 3))
    assert coarse.shape == (2, 2 * (5 + 3), 4, 3)
    assert fine.shape == (2, 2 * (5 + 3), 8, 6)
    assert torch.isfinite(coarse).all() and torch.isfinite(fine).all()


def test_attention_is_applied_at_the_three_points():
    seen = {}
    neck = YoloTinyNeck("se").eval()
    for name in ("feat1_attention", "feat2_attention", "up_attention"):
        getattr(neck, name).register_forward_hook(
            lambda mod, args, out, name=name: seen.__setitem__(name, tuple(out.shape)))
    neck(torch.randn(1, 256, 4, 4), torch.randn(1, 512, 2, 2))
    assert seen == {"feat1_attention": (1, 256, 4, 4), "feat2_attention": (1, 512, 2, 2),
                    "up_attention": (1, 128, 4, 4)}


def test_plain_neck_uses_identities():
    neck = YoloTinyNeck()
    assert all(isinstance(getattr(neck, n), nn.Identity)
               for n in ("feat1_attention", "feat2_attention", "up_attention"))


def test_gradients_reach_every_parameter():
    neck = YoloTinyNeck("cbam", num_classes=1, num_anchors=1, in_channels=(32, 64))
    coarse, fine = neck(torch.randn(2, 32, 4, 4), torch.randn(2, 64, 2, 2))
    (coarse.sum() + fine.sum()).backward()
    for name, p in neck.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_summary_table():
    stats = summary_table(YoloTinyNeck("eca"), [(1, 256, 8, 8), (1, 512, 4, 4)], depth=1)
    assert stats.total_params == count_parameters(YoloTinyNeck("eca"))


def test_bad_input():
    with pytest.raises(ValueError, match="unknown attention kind 'senet'"):
        YoloTinyNeck("senet")
    with pytest.raises(TypeError, match="in_channels must be a pair"):
        YoloTinyNeck(in_channels=256)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        YoloTinyNeck(num_classes=0)
    neck = YoloTinyNeck()
    with pytest.raises(ValueError, match="feat1 has 128 channels but the module was built for 256"):
        neck(torch.randn(1, 128, 4, 4), torch.randn(1, 512, 2, 2))
    with pytest.raises(ValueError, match="twice the height and width"):
        neck(torch.randn(1, 256, 4, 4), torch.randn(1, 512, 4, 4))
    with pytest.raises(ValueError, match="feat2 must be a 4-D feature map"):
        neck(torch.randn(1, 256, 4, 4), torch.randn(512, 2, 2))
