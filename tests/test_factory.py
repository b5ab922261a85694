"""The factory maps each name to its module, forwards options, and refuses bad names and widths."""

from __future__ import annotations

import importlib

import pytest
import torch
from torch import nn

from attn_lessons.factory import (
    ALL_ATTENTION_KINDS,
    ATTENTION_KINDS,
    FIELD_GUIDE_KINDS,
    attention_class,
    make_attention,
)

EXPECTED_CLASSES = {
    "se": ("attn_lessons.se", "SqueezeExcite"),
    "eca": ("attn_lessons.eca", "ECA"),
    "cbam": ("attn_lessons.cbam", "CBAM"),
    "coordatt": ("attn_lessons.coordatt", "CoordAtt"),
    "self_attention": ("attn_lessons.self_attention", "SelfAttention2d"),
    "simam": ("attn_lessons.simam", "SimAM"),
    "gc": ("attn_lessons.global_context", "GlobalContext"),
    "sk": ("attn_lessons.sk", "SelectiveKernel"),
    "bam": ("attn_lessons.bam", "BAM"),
    "triplet": ("attn_lessons.triplet", "TripletAttention"),
    "shuffle": ("attn_lessons.shuffle", "ShuffleAttention"),
    "ema": ("attn_lessons.ema", "EMA"),
    "ela": ("attn_lessons.ela", "ELA"),
}

# One option per kind that changes the module, to show keyword arguments reach the constructor.
OPTIONS = {
    "se": {"reduction": 4},
    "eca": {"kernel_size": 5},
    "cbam": {"reduction": 4, "kernel_size": 3},
    "coordatt": {"reduction": 2},  # 32 // 2 = 16 hidden, above the floor of 8
    "gc": {"reduction": 4},
    "sk": {"groups": 8},
    "bam": {"reduction": 4},
    "triplet": {"kernel_size": 3},
    "ema": {"groups": 8},  # the default 32 groups also fit 32 channels
    "ela": {"kernel_size": 3},
}

# Options that let a kind whose authors' defaults need wide maps run at 16 to 64 channels (the
# defaults' own refusal is tested in the kind's test file). One line per kind. GC's hidden width
# 16 // 16 = 1 is refused (LayerNorm over one value); SK's 32 groups do not divide 16.
SMALL_WIDTH_OPTIONS = {
    "gc": {"reduction": 4},
    "sk": {"groups": 8},
    "shuffle": {"groups": 4},  # the authors' 64 groups need multiples of 128 channels
    "ema": {"groups": 4},  # the authors' 32 groups need multiples of 32 channels
    "ela": {"norm_groups": 4},  # GroupNorm(16, C) on a 1 x 1 map of one image: one value a group
}


def _num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_kinds_are_the_documented_ones():
    assert ATTENTION_KINDS == ("none", "se", "eca", "cbam", "coordatt", "self_attention")
    assert FIELD_GUIDE_KINDS == (
        "simam", "gc", "sk", "bam", "triplet", "shuffle", "ema", "ela"
    )
    assert ALL_ATTENTION_KINDS == ATTENTION_KINDS + FIELD_GUIDE_KINDS
    assert not set(ATTENTION_KINDS) & set(FIELD_GUIDE_KINDS)
    assert set(EXPECTED_CLASSES) == set(ALL_ATTENTION_KINDS) - {"none"}


def test_none_is_identity():
    module = make_attention("none", 8)
    assert isinstance(module, nn.Identity)
    x = torch.randn(2, 8, 3, 5)
    assert module(x) is x


@pytest.mark.parametrize("name", sorted(EXPECTED_CLASSES))
def test_each_name_builds_its_class(name):
    module_path, class_name = EXPECTED_CLASSES[name]
    cls = getattr(importlib.import_module(module_path), class_name)
    assert attention_class(name) is cls
    assert type(make_attention(name, 32, **SMALL_WIDTH_OPTIONS.get(name, {}))) is cls


@pytest.mark.parametrize("name", ALL_ATTENTION_KINDS)
@pytest.mark.parametrize("shape", [(2, 32, 5, 7), (1, 16, 1, 1), (3, 64, 8, 8)])
def test_every_kind_keeps_the_shape(name, shape):
    module = make_attention(name, shape[1], **SMALL_WIDTH_OPTIONS.get(name, {})).eval()
    x = torch.randn(shape)
    y = module(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_options_reach_the_constructor(name):
    torch.manual_seed(0)
    built = make_attention(name, 32, **OPTIONS[name])
    direct = attention_class(name)(32, **OPTIONS[name])
    default = attention_class(name)(32)
    assert _num_params(built) == _num_params(direct)
    assert _num_params(built) != _num_params(default)
    direct.load_state_dict(built.state_dict())
    x = torch.randn(2, 32, 6, 4)
    torch.testing.assert_close(built.eval()(x), direct.eval()(x))


def test_each_call_gives_a_fresh_module():
    a, b = make_attention("se", 32), make_attention("se", 32)
    assert a is not b
    assert all(pa is not pb for pa, pb in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("bad", ["SE", "squeeze", "", None, 3, "coord_att"])
def test_unknown_names_list_the_known_ones(bad):
    with pytest.raises(ValueError, match=r"unknown attention kind .*'se', 'eca', 'cbam'"):
        make_attention(bad, 16)
    with pytest.raises(ValueError, match="unknown attention kind"):
        attention_class(bad)


@pytest.mark.parametrize("name", ALL_ATTENTION_KINDS)
@pytest.mark.parametrize(
    ("channels", "error", "message"),
    [
        (0, ValueError, "channels must be a positive integer, got 0"),
        (-4, ValueError, "channels must be a positive integer, got -4"),
        (16.0, TypeError, "channels must be an integer, got 16.0"),
        (True, TypeError, "channels must be an integer, got True"),
        ("16", TypeError, "channels must be an integer"),
    ],
)
def test_bad_channels_are_refused(name, channels, error, message):
    with pytest.raises(error, match=message):
        make_attention(name, channels)


def test_none_refuses_options():
    with pytest.raises(TypeError, match=r"attention 'none' takes no options, got \['reduction'\]"):
        make_attention("none", 16, reduction=4)


@pytest.mark.parametrize(
    ("name", "channels", "message"),
    [
        ("gc", 16, r"16 // 16 = 1 is too small.*Use reduction <= 8 or min_width >= 2"),
        ("sk", 16, r"groups=32 must divide the channels \(16\)"),
        ("bam", 8, "reduction=16 is larger than channels=8"),
    ],
)
def test_a_default_that_cannot_fit_a_small_width_says_why(name, channels, message):
    with pytest.raises(ValueError, match=message):
        make_attention(name, channels)
