"""Checkers for chapter 7's code exercises: summarising seeds, and judging a difference.

``check_mean_std(fn)``: ``fn(values)`` returns ``(mean, std)`` with the *sample* standard deviation
(divisor n - 1). ``check_difference_is_clear(fn)``: ``fn(a, b)`` returns ``True`` when the mean
accuracies of two variants, each measured over several seeds, differ by more than twice the
standard error of the difference, ``sqrt(s_a^2 / n_a + s_b^2 / n_b)``.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from ._core import Feedback, check_function, correct, not_yet

_SEED_CASES = [
    ([0.8468, 0.8538],),
    ([0.71, 0.74, 0.69, 0.73],),
    ([0.5, 0.52, 0.55],),
]


def _mean_std(values):
    return statistics.fmean(values), statistics.stdev(values)


def check_mean_std(fn: Any) -> Feedback:
    """Check ``fn(values) -> (mean, sample std)`` on a few lists of accuracies."""
    if fn is None or fn is Ellipsis or not callable(fn):
        return check_function(fn, _mean_std, _SEED_CASES, what="mean_std")
    for i, (values,) in enumerate(_SEED_CASES, start=1):
        try:
            got = fn(list(values))
        except Exception as exc:
            return not_yet(f"mean_std raised {type(exc).__name__}: {exc} (on test case {i}).")
        if got is None:
            return not_yet("mean_std returned None: does it end with `return mean, std`?")
        try:
            mean, std = (float(v) for v in got)
        except (TypeError, ValueError):
            return not_yet(f"mean_std should return two numbers (mean, std), got {got!r:.60}.")
        want_mean, want_std = _mean_std(values)
        if not math.isclose(mean, want_mean, rel_tol=1e-6, abs_tol=1e-9):
            return not_yet(f"the mean is off on test case {i}: got {mean}, expected {want_mean}.")
        if math.isclose(std, statistics.pstdev(values), rel_tol=1e-6, abs_tol=1e-12):
            return not_yet(
                "your std divides by n: with a handful of seeds use the sample standard "
                "deviation, which divides by n - 1 (statistics.stdev, torch.std's default)."
            )
        if math.isclose(std, statistics.pvariance(values), rel_tol=1e-6) or math.isclose(
            std, statistics.variance(values), rel_tol=1e-6
        ):
            return not_yet("that is the variance: take its square root to get the std.")
        if not math.isclose(std, want_std, rel_tol=1e-6, abs_tol=1e-12):
            return not_yet(f"the std is off on test case {i}: got {std}, expected {want_std:.6g}.")
    return correct("mean and sample standard deviation, as the chapter reports them.")


def _clear(a, b):
    ma, sa = _mean_std(a)
    mb, sb = _mean_std(b)
    return abs(ma - mb) > 2 * math.sqrt(sa**2 / len(a) + sb**2 / len(b))


# (a, b, expected, what a typical mistake answers)
_DIFF_CASES = [
    # means 0.02 apart, spreads 0.02: standard error 0.0163, 2 SE = 0.033 -> not clear
    ([0.70, 0.72, 0.74], [0.72, 0.74, 0.76]),
    # means 0.10 apart, spreads 0.01: clear
    ([0.60, 0.61, 0.62], [0.70, 0.71, 0.72]),
    # b's mean is lower: the sign must not matter
    ([0.80, 0.81, 0.79, 0.80], [0.70, 0.69, 0.71, 0.70]),
    # means 0.03 apart, each spread 0.03 with 5 seeds: 2 SE = 0.038 -> not clear
    ([0.50, 0.53, 0.56, 0.53, 0.48], [0.53, 0.56, 0.59, 0.56, 0.51]),
    # means 0.04 apart, spreads 0.016 with 5 seeds: 2 SE = 0.020 -> clear (2 s would not be)
    ([0.60, 0.62, 0.64, 0.61, 0.63], [0.64, 0.66, 0.68, 0.65, 0.67]),
]


def _any_difference(a, b):
    return statistics.fmean(a) != statistics.fmean(b)


def _signed(a, b):
    return statistics.fmean(b) - statistics.fmean(a) > 2 * math.sqrt(
        statistics.variance(a) / len(a) + statistics.variance(b) / len(b)
    )


def _std_not_se(a, b):
    return abs(statistics.fmean(a) - statistics.fmean(b)) > 2 * math.sqrt(
        statistics.variance(a) + statistics.variance(b)
    )


_DIFF_MISTAKES = [
    (_any_difference,
     "any difference of the means counts as real here: compare it with the spread, "
     "2 * sqrt(s_a²/n_a + s_b²/n_b)."),
    (_signed, "only an improvement of b over a is detected: use the absolute difference."),
    (_std_not_se,
     "you compared with the standard deviations; the uncertainty of a *mean* of n seeds is "
     "s / sqrt(n), so divide each variance by its number of seeds."),
]


def check_difference_is_clear(fn: Any) -> Feedback:
    """Check ``fn(a, b) -> bool``: is the difference of means more than 2 standard errors?"""
    if fn is None or fn is Ellipsis or not callable(fn):
        return check_function(fn, _clear, [], what="difference_is_clear")
    answers = []
    for i, (a, b) in enumerate(_DIFF_CASES, start=1):
        try:
            got = fn(list(a), list(b))
        except Exception as exc:
            return not_yet(
                f"difference_is_clear raised {type(exc).__name__}: {exc} (on test case {i})."
            )
        if got is None:
            return not_yet("difference_is_clear returned None: does it end with `return`?")
        if not isinstance(got, bool) and not (hasattr(got, "item") and getattr(got, "size", 1) == 1
                                              and isinstance(got.item(), bool)):
            return not_yet(f"difference_is_clear should return True or False, got {got!r:.60}.")
        answers.append(bool(got))
    if answers == [_clear(a, b) for a, b in _DIFF_CASES]:
        return correct("a difference inside two standard errors is not evidence either way.")
    for mistake, hint in _DIFF_MISTAKES:
        if answers == [mistake(a, b) for a, b in _DIFF_CASES]:
            return not_yet(hint)
    wrong = next(i for i, (a, b) in enumerate(_DIFF_CASES, 1) if answers[i - 1] != _clear(a, b))
    return not_yet(
        f"wrong verdict on test case {wrong}: compare |mean_a - mean_b| with "
        f"2 * sqrt(s_a²/n_a + s_b²/n_b), s being the sample standard deviation."
    )
