"""Chapters 4 and 5's experiments: run functions deterministic and paired, the ablation modules."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.device import seed_everything
from attn_lessons.experiments import ch4, ch5

# Small settings: the same code paths at a fraction of the cost.
CH4_SMALL = dict(ch4.SETTINGS, n_train=64, n_test=64, steps=5)
CH5_SMALL = dict(ch5.SETTINGS, n_train=64, n_test=32, epochs=1, batch_size=32)


@pytest.mark.parametrize("arm", ch4.ARMS)
def test_ch4_run_one_is_deterministic(arm):
    first = ch4.run_one(arm, ch4.TASK, 3, CH4_SMALL)
    assert set(first) == {"accuracy", "loss"}
    assert 0 <= first["accuracy"] <= 1
    assert first == ch4.run_one(arm, ch4.TASK, 3, CH4_SMALL)


def test_ch4_seeds_differ_and_data_are_the_seeds():
    (x0, y0, *_), (t0, *_) = ch4.make_data(0, CH4_SMALL)
    (x1, *_), _ = ch4.make_data(1, CH4_SMALL)
    assert not torch.equal(x0, x1)
    assert not torch.equal(x0[: len(t0)], t0)  # training and test sets are different draws
    assert x0.shape == (64, 8, 8, 8) and y0.shape == (64,)


def test_ch4_paired_arms_start_from_the_same_weights():
    """One seed gives the three orders the same initial gates, and the channel gates too."""
    def initial(arm):
        seed_everything(5)
        return ch4.OrderProbe(arm).state_dict()

    orders = [initial(o) for o in ("channel_first", "spatial_first", "parallel")]
    for other in orders[1:]:
        for name, value in orders[0].items():
            torch.testing.assert_close(other[name], value)
    channel = initial("channel")
    for name, value in initial("channel_avg").items():
        torch.testing.assert_close(channel[name], value)
    for name, value in channel.items():  # the CBAM's channel gate is the channel-only gate
        torch.testing.assert_close(orders[0][name.replace("attention.", "attention.channel.")]
                                   if name.startswith("attention.") else orders[0][name], value)


def test_ch4_probe_variants():
    assert isinstance(ch4.OrderProbe("none").attention, torch.nn.Identity)
    assert ch4.OrderProbe("channel_avg").attention.pooling == ("avg",)
    assert ch4.OrderProbe("channel_max").attention.pooling == ("max",)
    assert ch4.OrderProbe("channel").attention.pooling == ("avg", "max")
    assert ch4.OrderProbe("parallel").attention.order == "parallel"
    x = torch.randn(3, 8, 8, 8)
    assert ch4.OrderProbe("spatial_first")(x).shape == (3, 2)


@pytest.mark.parametrize("bad", ["cbam", "", None, 3])
def test_ch4_rejects_unknown_arm(bad):
    with pytest.raises(ValueError, match="unknown arm"):
        ch4.run_one(bad, ch4.TASK, 0, CH4_SMALL)


def test_ch4_rejects_unknown_task():
    with pytest.raises(ValueError, match="'axis'"):
        ch4.run_one("none", "axis", 0, CH4_SMALL)


@pytest.mark.parametrize("arm", ch5.ARMS)
def test_ch5_run_one_is_deterministic(arm):
    first = ch5.run_one(arm, ch5.TASK, 2, CH5_SMALL)
    assert set(first) == {"accuracy", "loss"}
    ch5._CACHE.clear()  # a fresh training, not the cached network
    assert first == ch5.run_one(arm, ch5.TASK, 2, CH5_SMALL)


def test_ch5_flattened_arms_test_the_coordatt_network():
    """The flattening arms evaluate the very network of the coordatt arm, gates flattened."""
    ch5._CACHE.clear()
    net, test = ch5.train_net("coordatt", 1, CH5_SMALL)
    x = test.tensors[0][:4]
    seen = {}
    with torch.no_grad():
        plain = net(x)
        with ch5.flattened(net, "h"):
            hooks = [net[3].gate_h.register_forward_hook(lambda m, i, o: seen.update(h=o)),
                     net[3].gate_w.register_forward_hook(lambda m, i, o: seen.update(w=o))]
            flat_h = net(x)
            for hook in hooks:
                hook.remove()
        gh, gw = seen["h"], seen["w"]
        assert torch.allclose(gh, gh.mean(dim=2, keepdim=True).expand_as(gh))  # one per channel
        assert not torch.allclose(gw, gw.mean(dim=3, keepdim=True).expand_as(gw))
        assert torch.equal(net(x), plain)  # the hook is gone after the block
    assert not torch.equal(flat_h, plain)


def test_one_axis_coordatt_shapes_and_parameters():
    x = torch.randn(2, 8, 5, 7)
    for axis, shape in (("h", (2, 8, 5, 1)), ("w", (2, 8, 1, 7))):
        m = ch5.OneAxisCoordAtt(8, axis, reduction=2, min_width=4)
        assert m.gate_values(x).shape == shape
        assert m(x).shape == x.shape
        c, hidden = 8, m.hidden
        assert sum(p.numel() for p in m.parameters()) == 2 * c * hidden + 3 * hidden + c


def test_one_axis_coordatt_h_ignores_the_columns():
    """The H-only gate is a function of the row means: permuting columns leaves it unchanged."""
    m = ch5.OneAxisCoordAtt(4, "h", reduction=1, min_width=2).eval()
    x = torch.randn(3, 4, 6, 5)
    torch.testing.assert_close(m.gate_values(x), m.gate_values(x[..., torch.randperm(5)]))


@pytest.mark.parametrize("axis", ["x", "H", None])
def test_one_axis_coordatt_rejects_bad_axis(axis):
    with pytest.raises((ValueError, TypeError), match="axis"):
        ch5.OneAxisCoordAtt(8, axis)


def test_ch5_rejects_unknown_arm_and_task():
    with pytest.raises(ValueError, match="unknown arm"):
        ch5.run_one("cbam", ch5.TASK, 0, CH5_SMALL)
    with pytest.raises(ValueError, match="'axis'"):
        ch5.run_one("none", "distractor", 0, CH5_SMALL)


@pytest.mark.parametrize("module", [ch4, ch5], ids=["ch4", "ch5"])
def test_declared_experiments_are_sized_and_cover_every_arm(module):
    from attn_lessons.experiments import all_experiments, seeds_required

    (exp,) = module.EXPERIMENTS
    assert all_experiments()[exp.name] is exp
    assert exp.cells == tuple((module.TASK, arm) for arm in module.ARMS)
    assert exp.paired and not exp.note  # sized by power, no budget cap
    assert len(exp.seeds) >= seeds_required(exp) >= 20
    assert exp.settings == module.SETTINGS
    assert {c.arm for c in exp.comparisons} | {c.baseline for c in exp.comparisons} == set(
        module.ARMS)
