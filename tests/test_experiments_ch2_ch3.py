"""Chapters 2 and 3's experiments: the scores they compute and their run functions.

The run functions are tested on tiny settings (a few dozen images, one epoch), so that each
training run takes a fraction of a second; the book's settings are those of the declarations.
"""

from __future__ import annotations

import math

import pytest
import torch

from attn_lessons.experiments import ch2, ch3

TINY2 = {**ch2.SETTINGS, "train_n": 64, "test_n": 32, "epochs": 1, "null_permutations": 3}
TINY3 = {**ch3.SETTINGS, "train_n": 64, "test_n": 48, "epochs": 1}


# ---------------------------------------------------------------- class_share (eta squared)


def test_class_share_matches_the_sums_of_squares_written_out():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(3, (40,), generator=g)
    gates = torch.rand(40, 5, generator=g, dtype=torch.float64) + 0.3 * labels[:, None]
    share = ch2.class_share(gates, labels, 3)
    for c in range(5):
        s = gates[:, c]
        total = ((s - s.mean()) ** 2).sum()
        between = sum((labels == k).sum() * (s[labels == k].mean() - s.mean()) ** 2
                      for k in range(3))
        assert math.isclose(share[c].item(), (between / total).item(), rel_tol=1e-12)


def test_class_share_is_scale_free_and_bounded():
    g = torch.Generator().manual_seed(1)
    labels = torch.arange(4).repeat(10)
    gates = torch.rand(40, 6, generator=g) + 0.2 * labels[:, None]
    share = ch2.class_share(gates, labels, 4)
    # A gate that moves by a thousandth as much, around another level, scores the same.
    torch.testing.assert_close(ch2.class_share(0.5 + 1e-3 * gates, labels, 4), share,
                               rtol=1e-4, atol=1e-6)
    assert ((share >= 0) & (share <= 1)).all()


def test_class_share_extremes():
    labels = torch.arange(4).repeat(8)
    exact = labels[:, None].double().repeat(1, 3)  # the gate is a function of the class
    assert torch.allclose(ch2.class_share(exact, labels, 4), torch.ones(3, dtype=torch.float64))
    constant = torch.full((32, 3), 0.7)
    assert torch.equal(ch2.class_share(constant, labels, 4), torch.zeros(3, dtype=torch.float64))
    # No class information: about (K - 1) / (N - 1) on average.
    noise = torch.rand(32, 2000, generator=torch.Generator().manual_seed(2))
    assert abs(ch2.class_share(noise, labels, 4).mean().item() - 3 / 31) < 0.01


def test_class_share_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="gates must be"):
        ch2.class_share(torch.rand(10, 3), torch.zeros(9, dtype=torch.long), 2)


# ---------------------------------------------------------------- ch2 run function


def test_ch2_run_is_deterministic_and_paired_by_seed():
    ch2._scores.cache_clear()
    first = {arm: ch2.run_one(arm, "block2", 3, TINY2) for arm in ch2.ARMS}
    ch2._scores.cache_clear()
    again = {arm: ch2.run_one(arm, "block2", 3, TINY2) for arm in ch2.ARMS}
    assert first == again
    assert set(first["trained"]) == set(ch2.METRICS)
    # The untrained arm is the trained arm's starting point: its gates have not moved.
    assert first["init"]["moved_from_init"] == 0.0
    assert first["trained"]["moved_from_init"] > 0
    for metrics in first.values():
        assert all(math.isfinite(v) for v in metrics.values())
        assert 0 <= metrics["class_share"] <= 1


def test_ch2_three_blocks_come_from_one_network():
    ch2._scores.cache_clear()
    records = [ch2.run_one("trained", block, 0, TINY2) for block in ch2.BLOCKS]
    assert ch2._scores.cache_info().misses == 1
    assert len({r["accuracy"] for r in records}) == 1


def test_ch2_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown task"):
        ch2.run_one("trained", "block4", 0, TINY2)
    with pytest.raises(ValueError, match="unknown arm"):
        ch2.run_one("random", "block1", 0, TINY2)


# ---------------------------------------------------------------- ch3 run functions


def test_neighbour_excess_sees_a_banded_correlation():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(500, 12, generator=g)
    banded = base + torch.roll(base, 1, dims=1)  # channel c shares a source with c - 1
    assert ch3.neighbour_excess(banded) > 0.3
    assert abs(ch3.neighbour_excess(base)) < 0.05
    dead = banded.clone()
    dead[:, 5] = 0.0  # a constant channel has no correlation and is left out
    assert math.isfinite(ch3.neighbour_excess(dead))


def test_ch3_runs_are_deterministic_and_share_the_eca_network():
    ch3._trained.cache_clear()
    modules = {arm: ch3.run_module(arm, "clutter", 2, TINY3) for arm in ch3.MODULE_ARMS}
    kernels = {arm: ch3.run_kernel(arm, "block2", 2, TINY3) for arm in ch3.KERNEL_ARMS}
    ch3._trained.cache_clear()
    assert modules == {arm: ch3.run_module(arm, "clutter", 2, TINY3) for arm in ch3.MODULE_ARMS}
    assert kernels == {arm: ch3.run_kernel(arm, "block2", 2, TINY3) for arm in ch3.KERNEL_ARMS}
    assert set(modules["se"]) == set(ch3.MODULE_METRICS)
    assert set(kernels["trained"]) == set(ch3.KERNEL_METRICS)
    # ch3_kernels' trained network is ch3_modules' ECA network of the same seed.
    assert kernels["trained"]["accuracy"] == modules["eca"]["accuracy"]
    taps = [kernels["trained"][f"tap_{side}"] for side in ("left", "centre", "right")]
    share = abs(taps[1]) / sum(abs(t) for t in taps)
    assert math.isclose(kernels["trained"]["centre_share"], share, rel_tol=1e-12)


def test_ch3_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown task"):
        ch3.run_module("se", "axis", 0, TINY3)
    with pytest.raises(ValueError, match="unknown arm"):
        ch3.run_module("cbam", "clutter", 0, TINY3)
    with pytest.raises(ValueError, match="unknown arm"):
        ch3.run_kernel("eca", "block1", 0, TINY3)


# ---------------------------------------------------------------- the declarations


def test_the_declared_experiments_name_these_run_functions_and_settings():
    from attn_lessons.experiments import all_experiments, minimum_detectable_effect
    from attn_lessons.experiments.runner import resolve_runner

    declared = all_experiments()
    gates, modules = declared["ch2_gates"], declared["ch3_modules"]
    kernels = declared["ch3_kernels"]
    assert resolve_runner(gates.runner) is ch2.run_one
    assert resolve_runner(modules.runner) is ch3.run_module
    assert resolve_runner(kernels.runner) is ch3.run_kernel
    assert gates.settings == ch2.SETTINGS and gates.metrics == ch2.METRICS
    # ch3_kernels' trained network is ch3_modules' ECA network: the same settings.
    assert modules.settings == kernels.settings == ch3.SETTINGS
    for exp in (gates, modules, kernels):
        assert exp.paired
        assert set(exp.seeds) >= set(range(10))  # the pilot's seeds are part of the design
    # Capped designs say so, and their minimum detectable effect is above the effect of interest.
    for exp in (gates, modules):
        assert exp.note and minimum_detectable_effect(exp) > exp.effect_of_interest
    assert not kernels.note and minimum_detectable_effect(kernels) < kernels.effect_of_interest
