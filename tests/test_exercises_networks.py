"""Chapter 7's checkers accept the solutions, catch the modelled mistakes, and never raise."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from attn_lessons.exercises import networks
from attn_lessons.exercises.networks import check_difference_is_clear, check_mean_std


def mean_std(values):
    return statistics.fmean(values), statistics.stdev(values)


def combined_mean_std(summaries):
    """Mean and sample SD of all seeds from (n, mean, sample SD) batch summaries."""
    total = sum(n for n, _, _ in summaries)
    mean = sum(n * m for n, m, _ in summaries) / total
    squares = sum((n - 1) * s**2 + n * (m - mean) ** 2 for n, m, s in summaries)
    return mean, math.sqrt(squares / (total - 1))


def difference_is_clear(a, b):
    ma, sa = mean_std(a)
    mb, sb = mean_std(b)
    return abs(ma - mb) > 2 * math.sqrt(sa**2 / len(a) + sb**2 / len(b))


def _raises(*args):
    raise RuntimeError("boom")


def test_solutions_are_accepted():
    assert check_mean_std(combined_mean_std)
    assert check_difference_is_clear(difference_is_clear)
    assert str(check_mean_std(combined_mean_std)).startswith("Correct: ")


def test_the_combined_summary_equals_the_raw_seeds():
    """The checker's reference, on summaries of random batches, is mean_std of all the seeds."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        batches = [list(rng.normal(0.7, 0.05, rng.integers(2, 9)))
                   for _ in range(rng.integers(1, 5))]
        summaries = [(len(b), statistics.fmean(b), statistics.stdev(b)) for b in batches]
        want = mean_std([x for b in batches for x in b])
        assert networks._mean_std(summaries) == pytest.approx(want, rel=1e-12)


def test_the_library_and_statistics_cannot_answer_from_summaries():
    """The raw seeds are not given: mean_std and statistics.stdev of the summaries are refused."""
    from attn_lessons.train import mean_std as library_mean_std

    for answer in (library_mean_std, lambda g: (statistics.fmean(m for _, m, _ in g),
                                                statistics.stdev(m for _, m, _ in g))):
        assert not check_mean_std(answer)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda g: (np.mean([m for _, m, _ in g]), combined_mean_std(g)[1]),
         "not the plain average"),
        (lambda g: (combined_mean_std(g)[0], sum(n * s for n, _, s in g) / sum(n for n, _, _ in g)),
         "do not average"),
        (lambda g: (combined_mean_std(g)[0] + 1, combined_mean_std(g)[1]), "the mean is off"),
        (lambda g: (combined_mean_std(g)[0], 2 * combined_mean_std(g)[1]), "the std is off"),
        (lambda g: combined_mean_std(g)[0], "should return two numbers"),
    ],
)
def test_mean_std_mistakes(wrong, hint):
    feedback = check_mean_std(wrong)
    assert not feedback
    assert hint in str(feedback)
    assert str(feedback).startswith("Not yet: ")


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda a, b: statistics.fmean(a) != statistics.fmean(b), "any difference of the means"),
        (lambda a, b: statistics.fmean(b) - statistics.fmean(a)
         > 2 * math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b)),
         "only an improvement of b"),
        (lambda a, b: abs(statistics.fmean(a) - statistics.fmean(b))
         > 2 * math.sqrt(statistics.variance(a) + statistics.variance(b)),
         "divide each variance by its number of seeds"),
    ],
)
def test_difference_mistakes(wrong, hint):
    feedback = check_difference_is_clear(wrong)
    assert not feedback
    assert hint in str(feedback)


@pytest.mark.parametrize("checker", [check_mean_std, check_difference_is_clear,
                                     networks.check_seeds_to_clear])
@pytest.mark.parametrize(
    "answer",
    [None, "mean_std", ..., _raises, lambda *a: None, lambda *a: [1.0, 2.0, 3.0], lambda *a: "x"],
)
def test_checkers_never_raise(checker, answer):
    feedback = checker(answer)
    assert not feedback
    assert str(feedback).startswith("Not yet: ")


def test_every_modelled_rule_gets_its_own_verdicts():
    """The hint of check_difference_is_clear is the first mistake whose verdicts equal the
    reader's: each mistake must answer the cases differently from the rule and from each other."""
    verdicts = [tuple(networks._clear(a, b) for a, b in networks._DIFF_CASES)]
    for mistake, hint in networks._DIFF_MISTAKES:
        mine = tuple(bool(mistake(a, b)) for a, b in networks._DIFF_CASES)
        assert mine not in verdicts, hint
        verdicts.append(mine)


def test_the_cases_leave_no_wide_band_around_the_rule():
    """A rule whose standard error is a few per cent off must flip a verdict: the cases nearest to
    |Δ| = 2 SE lie within 5 % of it on both sides (but no closer than 2 %, away from rounding)."""
    ratios = [networks._delta(a, b) / (2 * networks._se(a, b)) for a, b in networks._DIFF_CASES]
    above = min(r for r in ratios if r > 1)
    below = max(r for r in ratios if r < 1)
    assert 1.02 < above < 1.05 and 0.95 < below < 0.98


def test_seeds_to_clear_cases_stay_away_from_the_floor_of_the_closed_form():
    """s_a²/D is never within 1e-6 of a whole number (where > and >= would differ), and the
    reference's search equals the closed form k = max(0, floor(s_a²/D) + 1 - n_a)."""
    for a, b in networks._CLEAR_CASES:
        delta = abs(statistics.fmean(a) - statistics.fmean(b))
        room = (delta / 2) ** 2 - statistics.variance(b) / len(b)
        if room <= 0:
            with pytest.raises(ValueError):
                networks._clear_reference(a, b)
            continue
        ratio = statistics.variance(a) / room
        assert abs(ratio - round(ratio)) > 1e-6
        assert networks._clear_reference(a, b) == max(0, math.floor(ratio) + 1 - len(a))


def test_a_search_that_never_stops_is_cut_off_with_a_hint():
    def forever(a, b):
        k = 0
        while True:
            k += 1

    verdict = networks.check_seeds_to_clear(forever)
    assert not verdict and "did not return" in verdict.message
