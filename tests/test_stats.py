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


# --- paired t, permutation, Holm ------------------------------------------------------------------

from types import SimpleNamespace  # noqa: E402

from attn_lessons.stats import (  # noqa: E402
    analyse,
    holm,
    minimum_detectable_effect,
    paired,
    permutation,
    power_of,
    seeds_needed,
)


@pytest.mark.parametrize("seed", range(4))
def test_paired_matches_scipy_and_the_formulas(seed):
    rng = np.random.default_rng(seed)
    shared = rng.normal(0.7, 0.1, size=6 + seed)  # what the seed does to both arms
    a = shared + 0.02 + rng.normal(0, 0.01, size=len(shared))
    b = shared + rng.normal(0, 0.01, size=len(shared))
    c = paired(a, b)
    reference = scipy_stats.ttest_rel(a, b)
    d = a - b
    assert c.paired and c.test == "paired t" and c.df == len(d) - 1
    assert math.isclose(c.t, reference.statistic, rel_tol=1e-9)
    assert math.isclose(c.p, reference.pvalue, rel_tol=1e-6)
    assert math.isclose(c.sd_difference, d.std(ddof=1), rel_tol=1e-12)
    half = scipy_stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert math.isclose(c.ci_low, d.mean() - half, rel_tol=1e-9)
    assert math.isclose(c.ci_high, d.mean() + half, rel_tol=1e-9)
    # pairing removes the shared spread: the paired interval is much narrower than Welch's
    assert c.ci_high - c.ci_low < 0.5 * (welch(a, b).ci_high - welch(a, b).ci_low)
    assert not welch(a, b).paired and welch(a, b).test == "welch"


def test_paired_refuses_unequal_lengths_and_handles_constant_differences():
    with pytest.raises(ValueError, match="per seed"):
        paired([1.0, 2.0, 3.0], [1.0, 2.0])
    assert paired([1.0, 2.0], [1.0, 2.0]).p == 1.0
    assert paired([2.0, 3.0], [1.0, 2.0]).p == 0.0


def test_permutation_exact_small_cases():
    # unpaired: 3 against 3 values, 20 splits; the observed split and its mirror are the extremes
    r = permutation([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])
    assert r.exact and r.n_resamples == 20 and math.isclose(r.p, 2 / 20)
    assert r.difference == 3.0
    # paired: 5 positive differences, 32 sign patterns, two as extreme (all + and all -)
    r = permutation([1.1, 2.2, 3.3, 4.4, 5.5], [1.0, 2.0, 3.0, 4.0, 5.0], paired=True)
    assert r.exact and r.n_resamples == 32 and math.isclose(r.p, 2 / 32)


def test_permutation_on_a_bimodal_baseline_and_its_checks():
    # the review's `relation` example: a baseline that sometimes stalls (59.0, 90.0)
    stalls = [99.1, 99.9, 59.0, 90.0, 99.4]
    works = [99.6, 99.8, 99.7, 99.9, 99.5]
    assert welch(works, stalls).p > 0.2  # the t-test's normal approximation misses it
    assert permutation(works, stalls).p < 0.5
    large = permutation(list(range(30)), [x + 0.5 for x in range(30)], n_resamples=999)
    assert not large.exact and large.n_resamples == 999
    with pytest.raises(ValueError, match="n_resamples"):
        permutation([1.0, 2.0], [1.0, 2.0], n_resamples=0)
    with pytest.raises(TypeError, match="paired"):
        permutation([1.0, 2.0], [1.0, 2.0], paired="yes")


def test_holm_adjusts_step_down():
    # sorted 0.01, 0.03, 0.04: times 3, 2, 1 -> 0.03, 0.06, 0.04 -> monotone 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5] and holm([]) == []
    with pytest.raises(ValueError, match="pvalues"):
        holm([0.1, 1.5])
    with pytest.raises(TypeError, match="pvalues"):
        holm("0.1")


# --- power --------------------------------------------------------------------------------------


def test_seeds_needed_known_values():
    # Cohen's d = 0.5, 80 % power, two-sided 0.05: 34 pairs (paired), 64 per arm (two samples)
    assert seeds_needed(0.5, 1.0, power=0.8, alpha=0.05, paired=True) == 34
    assert seeds_needed(0.5, 1.0, power=0.8, alpha=0.05, paired=False) == 64
    # only the ratio effect / sd matters; more power or a smaller alpha needs more seeds
    assert seeds_needed(2.0, 4.0) == 34
    assert seeds_needed(0.5, 1.0, power=0.9) > 34 and seeds_needed(0.5, 1.0, alpha=0.01) > 34
    # close to the normal approximation 2 (z_.975 + z_.8)^2 / d^2 = 62.8 per arm
    assert 62 < 2 * (1.959964 + 0.841621) ** 2 / 0.25 < seeds_needed(0.5, 1.0, paired=False)


def test_the_two_se_rule_of_thumb_gives_about_half_power():
    # n = 8 s^2/d^2 per arm puts the true difference at 2 SE: about 50 % power, not 80 %
    n = math.ceil(8 * 0.3**2 / 0.2**2)  # 18
    assert 0.45 < power_of(n, 0.2, 0.3, paired=False) < 0.55


def _simulated_power(n, effect, sd, alpha, paired_design, trials=4000, seed=0):
    rng = np.random.default_rng(seed)
    if paired_design:
        d = rng.normal(effect, sd, size=(trials, n))
        p = scipy_stats.ttest_1samp(d, 0.0, axis=1).pvalue
    else:
        a = rng.normal(effect, sd, size=(trials, n))
        b = rng.normal(0.0, sd, size=(trials, n))
        p = scipy_stats.ttest_ind(a, b, axis=1).pvalue
    return float(np.mean(p < alpha))


@pytest.mark.parametrize(("n", "effect", "sd", "alpha", "paired_design"), [
    (10, 0.5, 0.6, 0.05, True),
    (20, 0.2, 0.5, 0.05, True),
    (12, 1.0, 1.2, 0.05, False),
    (30, 7.0, 8.0, 0.0125, False),
])
def test_power_of_agrees_with_simulation(n, effect, sd, alpha, paired_design):
    simulated = _simulated_power(n, effect, sd, alpha, paired_design)
    predicted = power_of(n, effect, sd, alpha=alpha, paired=paired_design)
    assert abs(simulated - predicted) < 0.03  # 4000 trials: SE of the simulated share <= 0.008


def test_seeds_needed_reaches_the_power_by_simulation():
    n = seeds_needed(0.4, 1.0, power=0.8, paired=True)
    assert power_of(n, 0.4, 1.0) >= 0.8 > power_of(n - 1, 0.4, 1.0)
    assert abs(_simulated_power(n, 0.4, 1.0, 0.05, True) - 0.8) < 0.03


@pytest.mark.parametrize("paired_design", [True, False])
def test_minimum_detectable_effect_inverts_power(paired_design):
    mde = minimum_detectable_effect(15, 2.0, power=0.8, alpha=0.05, paired=paired_design)
    assert math.isclose(power_of(15, mde, 2.0, paired=paired_design), 0.8, rel_tol=1e-4)
    # five seeds on `clutter` (s about 5 points) detect only effects of about 10 points or more
    assert 9 < minimum_detectable_effect(5, 5.0, paired=False) < 13
    assert minimum_detectable_effect(30, 5.0, paired=False) < minimum_detectable_effect(
        5, 5.0, paired=False)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: seeds_needed(0, 1.0), ValueError, "effect"),
    (lambda: seeds_needed(0.5, -1.0), ValueError, "sd"),
    (lambda: seeds_needed(0.5, 1.0, power=1.0), ValueError, "power"),
    (lambda: seeds_needed(0.5, 1.0, alpha=0), ValueError, "alpha"),
    (lambda: seeds_needed(0.5, 1.0, paired=1), TypeError, "paired"),
    (lambda: power_of(1, 0.5, 1.0), ValueError, "n must"),
    (lambda: power_of(2.5, 0.5, 1.0), TypeError, "n must"),
    (lambda: minimum_detectable_effect(10, "1"), TypeError, "sd"),
])
def test_power_functions_refuse_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- analyse: verdicts from intervals -------------------------------------------------------------


def _fake_results(cells: dict, *, paired_design=True, effect_of_interest=0.05, comparisons=None):
    """A stand-in for a Results object: a design dict and values(task, arm, metric)."""
    if comparisons is None:
        comparisons = [{"task": "t", "arm": arm, "baseline": "none", "role": "prediction",
                        "test": "t"} for arm in cells if arm != "none"]
    design = {"name": "fake", "paired": paired_design, "primary_metric": "accuracy",
              "power": 0.8, "effect_of_interest": effect_of_interest,
              "comparisons": comparisons}
    return SimpleNamespace(design=design, values=lambda task, arm, metric=None: cells[arm])


def test_analyse_verdicts_come_from_the_interval():
    rng = np.random.default_rng(0)
    none = rng.normal(0.6, 0.05, size=30)
    cells = {"none": list(none),
             "up": list(none + 0.10 + rng.normal(0, 0.01, 30)),
             "down": list(none - 0.10 + rng.normal(0, 0.01, 30)),
             "same": list(none + rng.normal(0, 0.005, 30)),
             "noisy": list(none + rng.normal(0, 0.3, 30))}
    analysis = analyse(_fake_results(cells))
    verdicts = {row.arm: row.verdict for row in analysis}
    assert verdicts == {"up": "higher", "down": "lower", "same": "equivalent",
                        "noisy": "inconclusive"}
    m = 4
    for row in analysis:
        assert math.isclose(row.interval_level, 1 - 0.05 / m)
        c = paired(cells[row.arm], cells["none"], level=1 - 0.05 / m)
        assert (row.effect, row.ci_low, row.ci_high) == (c.difference, c.ci_low, c.ci_high)
        # an interval that excludes 0 at the Bonferroni level is a Holm call at the family level
        if row.verdict in ("higher", "lower"):
            assert row.p_holm < 0.05
        assert row.mde > 0
    assert [r.p_holm for r in analysis] == pytest.approx(holm([r.p for r in analysis]))
    assert analysis[("t", "up")].outcome == "held"
    assert analysis[("t", "down")].outcome == "failed"
    assert analysis[("t", "noisy")].outcome == "unsettled"
    assert len(analysis.frame()) == 4 and analysis._repr_markdown_().startswith("| task")


def test_analyse_controls_questions_unpaired_and_permutation():
    rng = np.random.default_rng(1)
    cells = {"none": list(rng.normal(0.6, 0.02, 25)), "ctl": list(rng.normal(0.6, 0.02, 25))}
    comparisons = [{"task": "t", "arm": "ctl", "baseline": "none", "role": "control",
                    "test": "permutation"}]
    row = analyse(_fake_results(cells, paired_design=False, comparisons=comparisons))[0]
    assert row.test == "permutation" and row.verdict == "equivalent" and row.outcome == "held"
    assert row.interval_level == 0.95
    welch_row = analyse(_fake_results(cells, paired_design=False, comparisons=comparisons),
                        test="t")[0]
    assert welch_row.test == "welch" and welch_row.ci_low == row.ci_low
    question = [{**comparisons[0], "role": "question"}]
    assert analyse(_fake_results(cells, paired_design=False,
                                 comparisons=question))[0].outcome is None
    with pytest.raises(ValueError, match="test"):
        analyse(_fake_results(cells), test="bayes")
    with pytest.raises(KeyError, match="no comparison"):
        analyse(_fake_results(cells, paired_design=False, comparisons=comparisons))[("t", "x")]
