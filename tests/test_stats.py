"""attn_lessons.stats: Welch's test against scipy and by hand, the interval, the simulated rates."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from attn_lessons.stats import false_positive_rate, two_se_rule, welch


@pytest.mark.parametrize("seed", range(5))
def test_welch_matches_scipy_and_the_formulas(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.7, 0.05, size=3 + seed)
    b = rng.normal(0.6, 0.1, size=5)
    c = welch(a, b)
    reference = scipy_stats.ttest_ind(a, b, equal_var=False)
    assert math.isclose(c.t, reference.statistic, rel_tol=1e-9)
    assert math.isclose(c.p, reference.pvalue, rel_tol=1e-6)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    assert math.isclose(c.df, df, rel_tol=1e-12)
    assert math.isclose(c.se, math.sqrt(va + vb), rel_tol=1e-12)
    half = scipy_stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert math.isclose(c.ci_low, a.mean() - b.mean() - half, rel_tol=1e-9)
    assert math.isclose(c.ci_high, a.mean() - b.mean() + half, rel_tol=1e-9)
    # the interval excludes 0 exactly when p < 0.05
    assert (c.ci_low > 0 or c.ci_high < 0) == c.clear


def test_a_worked_example_by_hand():
    # means 85.20 and 84.89, s = 0.36/sqrt2 and 0.42/sqrt2: the chapter's two-run exercise
    c = welch([85.38, 85.02], [84.68, 85.10])
    assert math.isclose(c.difference, 0.31, abs_tol=1e-9)
    assert math.isclose(c.se, math.sqrt((0.36**2 / 2 + 0.42**2 / 2) / 2), rel_tol=1e-9)
    assert not c.two_se and not c.clear and c.verdict == "not distinguishable"


def test_verdict_words_follow_the_sign():
    assert welch([1.0, 1.1, 0.9, 1.0], [0.0, 0.1, -0.1, 0.0]).verdict == "clearly better"
    assert welch([0.0, 0.1, -0.1, 0.0], [1.0, 1.1, 0.9, 1.0]).verdict == "clearly worse"
    assert two_se_rule([1.0, 1.1, 0.9], [0.0, 0.1, -0.1])


def test_zero_spread_is_handled():
    assert welch([1.0, 1.0], [1.0, 1.0]).p == 1.0
    assert welch([1.0, 1.0], [0.0, 0.0]).p == 0.0


@pytest.mark.parametrize("bad", [[1.0], [], [1.0, math.nan]])
def test_bad_values_are_refused(bad):
    with pytest.raises(ValueError, match="a"):
        welch(bad, [1.0, 2.0])


def test_bad_types_and_arguments_are_refused():
    with pytest.raises(TypeError, match="sequence"):
        welch("12", [1.0, 2.0])
    with pytest.raises(ValueError, match="level"):
        welch([1.0, 2.0], [1.0, 2.0], level=1.5)
    with pytest.raises(ValueError, match="n must"):
        false_positive_rate(1)
    with pytest.raises(ValueError, match="rule"):
        false_positive_rate(3, rule="bayes")
    with pytest.raises(ValueError, match="trials"):
        false_positive_rate(3, trials=0)


def test_welch_holds_its_level_and_two_se_does_not_at_few_seeds():
    # Welch's p < 0.05 calls at most about 5 % of null comparisons clear at any n (3.3 % at n = 3:
    # conservative for equal spreads); |d| > 2 SE ignores that SE is estimated, so with 3 seeds it
    # calls about 11 % clear, 8 % at 5, and tends to 4.6 % (|z| > 2) for many seeds.
    for n in (3, 5, 10):
        assert 0.025 < false_positive_rate(n, rule="welch", trials=40_000) < 0.056
    three, five = false_positive_rate(3, trials=40_000), false_positive_rate(5, trials=40_000)
    assert 0.10 < three < 0.13
    assert 0.07 < five < 0.09
    assert 0.04 < false_positive_rate(60, trials=40_000) < 0.055
    assert false_positive_rate(3, seed=1) == false_positive_rate(3, seed=1)
