"""Tests for attn_lessons.counting: each thop and fvcore rule against its hand formula."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from attn_lessons.cbam import CBAM
from attn_lessons.counting import OpCount, count_fvcore_style, count_thop_style

COUNTERS = (count_thop_style, count_fvcore_style)


@pytest.mark.parametrize("counter", COUNTERS)
@pytest.mark.parametrize(("batch", "cin", "cout", "k", "groups", "h", "w"),
                         [(1, 4, 6, 3, 1, 5, 7), (2, 6, 4, 1, 2, 4, 3), (3, 8, 8, 5, 8, 6, 9)])
def test_conv_counts_output_times_kernel_macs(counter, batch, cin, cout, k, groups, h, w):
    conv = nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=True)
    count = counter(conv, torch.randn(batch, cin, h, w))
    # every output element costs (cin / groups) * k * k MACs; neither tool counts the bias
    assert count.total == batch * cout * h * w * (cin // groups) * k * k
    assert count.by_rule == {"conv": count.total}


@pytest.mark.parametrize("counter", COUNTERS)
@pytest.mark.parametrize("shape", [(1, 5), (3, 5), (2, 4, 5)])
def test_linear_counts_in_times_out_per_row(counter, shape):
    linear = nn.Linear(5, 7)
    count = counter(linear, torch.randn(*shape))
    rows = torch.Size(shape[:-1]).numel()
    assert count.total == rows * 5 * 7


@pytest.mark.parametrize(("c", "h", "w", "out"), [(512, 7, 7, 1), (3, 6, 4, 2), (5, 9, 6, 3)])
def test_adaptive_avg_pool_rules_differ(c, h, w, out):
    pool = nn.AdaptiveAvgPool2d(out)
    x = torch.randn(2, c, h, w)
    window = (h / out) * (w / out)
    # thop: (window additions + 1 division) per output element
    assert count_thop_style(pool, x).total == int((window + 1) * 2 * c * out * out)
    # fvcore: one operation per input element
    assert count_fvcore_style(pool, x).total == 2 * c * h * w


def test_tensor_mean_is_invisible_to_thop_and_fvcore():
    class MeanPool(nn.Module):
        def forward(self, x):
            return x.mean(dim=(2, 3))

    x = torch.randn(1, 8, 4, 4)
    thop, fvcore = count_thop_style(MeanPool(), x), count_fvcore_style(MeanPool(), x)
    assert thop.total == fvcore.total == 0
    assert fvcore.uncounted["mean"] == 1


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_rules(affine):
    bn = nn.BatchNorm2d(3, affine=affine).eval()
    x = torch.randn(2, 3, 4, 5)
    assert count_thop_style(bn, x).total == 2 * x.numel() * (2 if affine else 1)
    assert count_fvcore_style(bn, x).total == x.numel() * (2 if affine else 1)
    bn.train()
    assert count_fvcore_style(bn, x).total == x.numel() * (5 if affine else 4)


def test_matmul_and_bmm_operators():
    a, b = torch.randn(3, 4), torch.randn(4, 6)
    p, q = torch.randn(2, 3, 4), torch.randn(2, 4, 5)

    class Products(nn.Module):
        def forward(self, a, b, p, q):
            return (a @ b).sum() + torch.mm(a, b).sum() + torch.bmm(p, q).sum()

    count = count_fvcore_style(Products(), a, b, p, q)
    assert count.by_rule["matmul"] == 2 * 3 * 4 * 6
    assert count.by_rule["bmm"] == 2 * 3 * 4 * 5
    assert count_thop_style(Products(), a, b, p, q).total == 0  # no module, nothing to hook


def test_modules_without_rule_are_listed_not_counted():
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.Sigmoid(), nn.ReLU())
    count = count_thop_style(model, torch.randn(1, 2, 4, 4))
    assert count.total == 3 * 16 * 2
    assert count.uncounted == {"Sigmoid": 1}
    assert count.by_rule["zero"] == 0


def test_a_module_called_twice_is_counted_twice():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2, bias=False)

        def forward(self, x):
            return self.fc(x) + self.fc(2 * x)

    for counter in COUNTERS:
        assert counter(Twice(), torch.randn(1, 4)).total == 2 * 4 * 2


@pytest.mark.parametrize(("c", "r", "k", "h", "w"), [(512, 16, 7, 7, 7), (64, 8, 3, 5, 9)])
def test_library_cbam_both_rules_give_mlp_plus_conv(c, r, k, h, w):
    # The library pools with x.mean / x.amax, which neither tool charges: only the shared MLP
    # (two descriptors, 2 C C/r MACs each) and the spatial convolution (HW outputs, 2k^2 each).
    expected = 2 * (2 * c * (c // r)) + h * w * 2 * k * k
    model = CBAM(c, reduction=r, kernel_size=k)
    x = torch.randn(1, c, h, w)
    assert count_thop_style(model, x).total == expected
    assert count_fvcore_style(model, x).total == expected
    if (c, r, k, h, w) == (512, 16, 7, 7, 7):
        assert expected == 70_338


def test_counting_leaves_no_hooks_and_does_not_change_the_output():
    model = CBAM(16, reduction=4).eval()
    x = torch.randn(2, 16, 5, 6)
    before = model(x)
    count_thop_style(model, x)
    count_fvcore_style(model, x)
    assert all(not m._forward_hooks for m in model.modules())
    torch.testing.assert_close(model(x), before)


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="nn.Module"):
        count_thop_style(lambda x: x, torch.randn(1))
    with pytest.raises(TypeError, match="nn.Module"):
        count_fvcore_style("model", torch.randn(1))
    with pytest.raises(ValueError, match="at least one input"):
        count_thop_style(nn.Identity())
    with pytest.raises(ValueError, match="at least one input"):
        count_fvcore_style(nn.Identity())


def test_opcount_add_accumulates():
    count = OpCount()
    count.add("conv", 3)
    count.add("conv", 4)
    count.add("linear", 1)
    assert count.total == 8 and count.by_rule == {"conv": 7, "linear": 1}


class _PooledByModule(nn.Module):
    """A CBAM channel gate written as blog code writes it: an nn.AdaptiveAvgPool2d module."""

    def __init__(self, c: int, r: int) -> None:
        super().__init__()
        self.avg = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Conv2d(c, c // r, 1, bias=False), nn.ReLU(),
                                nn.Conv2d(c // r, c, 1, bias=False))

    def forward(self, x):
        return torch.sigmoid(self.fc(self.avg(x))) * x


def test_the_real_thop_agrees_where_installed():
    """Against the real package when it is installed (the book's environment installs neither
    thop nor fvcore, so this is skipped there): same totals as the library's implementation."""
    thop = pytest.importorskip("thop")
    for model in (CBAM(64, reduction=8, kernel_size=3), _PooledByModule(64, 8)):
        x = torch.randn(1, 64, 7, 7)
        macs, _ = thop.profile(model, inputs=(x,), verbose=False)
        assert int(macs) == count_thop_style(model, x).total


def test_the_real_fvcore_agrees_where_installed():
    """As above, for fvcore's FlopCountAnalysis (operator counts, also MACs)."""
    fvcore_nn = pytest.importorskip("fvcore.nn")
    for model in (CBAM(64, reduction=8, kernel_size=3), _PooledByModule(64, 8)):
        x = torch.randn(1, 64, 7, 7)
        analysis = fvcore_nn.FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        assert int(analysis.total()) == count_fvcore_style(model, x).total
