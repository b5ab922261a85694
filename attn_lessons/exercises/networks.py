"""Checkers for chapter 7's code exercises: summarising seeds, and judging a difference.

``check_mean_std(fn)``: ``fn(summaries)`` returns ``(mean, std)`` of all the seeds of a variant,
the *sample* standard deviation (divisor n - 1), from one ``(n, mean, sample std)`` summary per
batch of seeds (the raw values are not given).

``check_difference_is_clear(fn)``: ``fn(a, b)`` returns ``True`` when the mean accuracies of two
variants, each measured over several seeds, differ by more than twice the standard error of the
difference, ``sqrt(s_a^2 / n_a + s_b^2 / n_b)`` with sample standard deviations. The chapter keeps
this "|Δ| > 2 SE" only as a rule of thumb (it measures its false-positive rate); its verdicts come
from Welch's t-test, which ``check_welch`` checks against SciPy.

``check_welch(fn)``: ``fn(a, b)`` returns ``(t, df, p)`` of Welch's two-sided t-test, as
``scipy.stats.ttest_ind(a, b, equal_var=False)`` computes them, from the formulas: the prompt
allows SciPy for the t distribution's tail only, so an answer that calls ``ttest_ind`` (or
``ttest_ind_from_stats``, or the library's ``attn_lessons.stats.welch``, which calls it) is
refused.

``check_equivalence_power(fn)``: ``fn(effect, sd, n, band, alpha)`` returns the probability that a
paired design's interval, ``mean ± z_{1-alpha/2} sd / sqrt(n)`` with the mean normal around the
true effect (the normal approximation of the chapter's power formula), lies inside
``(-band, band)``: the power of an "equivalent" verdict. Derived by hand; compared with the closed
form ``Phi((band - z se - effect) / se) - Phi((-band + z se - effect) / se)``, 0 when the band is
narrower than the interval.

A half-precision answer (float16, bfloat16) is refused where its rounding is more than a tenth
of the quantity (a standard deviation of 0.02): see :func:`attn_lessons.exercises._core.too_coarse`.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Callable
from typing import Any

from scipy import stats

from ._core import (
    Feedback,
    Forbidden,
    _as_number,
    _Refused,
    as_bool,
    call,
    call_watched,
    check_function,
    correct,
    mistake_of,
    not_yet,
    safe_repr,
    safe_str,
    tolerance,
    too_coarse,
)
from ._messages import mark, tr

__all__ = ["check_difference_is_clear", "check_equivalence_power", "check_mean_std",
           "check_seeds_to_clear", "check_welch"]


def _missing(fn: Any, what: str) -> Feedback | None:
    if fn is None:
        return not_yet(tr('{what} is None. Replace the `...` with your code, and check the '
                          'function ends with `return`.', what=what))
    if fn is Ellipsis:
        return not_yet(tr('{what} is still the placeholder `...`: write your answer in its place.',
                          what=what))
    if not callable(fn):
        return not_yet(tr('{what} should be a function, got {value}', what=what,
                          value=safe_repr(fn)))
    return None


_WORDS = {2: mark("two"), 3: mark("three")}


def _numbers(got: Any, count: int, what: str) -> list[float]:
    """``count`` real numbers out of a tuple/list/array answer, or :class:`_Refused`."""
    if isinstance(got, dict):
        raise _Refused(tr('{what} returned a dict ({value}): return the {count} numbers '
                          'themselves, as a tuple, in the order asked for.', what=what,
                          value=safe_repr(got), count=tr(_WORDS[count])))
    if isinstance(got, (str, bytes)) or not hasattr(got, "__len__"):
        raise _Refused(tr('{what} should return {count} numbers, got {value}.', what=what,
                          count=tr(_WORDS[count]), value=safe_repr(got)))
    try:
        items = list(got) if len(got) <= 16 else None
    except Exception:
        items = None
    if items is None or len(items) != count:
        raise _Refused(tr('{what} should return {count} numbers, got {value}.', what=what,
                          count=tr(_WORDS[count]), value=safe_repr(got)))
    values = []
    for item in items:
        value, dtype = _as_number(item, what)
        values.append((float(value), dtype))
    return values


def _close(value: float, dtype: Any, want: float, rel: float = 1e-6) -> bool:
    atol, rtol = tolerance(dtype, 1e-12, rel)
    return math.isfinite(value) and math.isclose(value, want, rel_tol=rtol, abs_tol=atol)


def _coarse(answer: list[tuple[float, Any]], want: tuple[float, ...], what: str) -> str | None:
    """The hint of :func:`too_coarse` for the first number whose dtype cannot hold it."""
    for (_, dtype), w in zip(answer, want, strict=True):
        if (hint := too_coarse(dtype, w, what)) is not None:
            return hint
    return None


# --- mean and sample standard deviation, from batch summaries ------------------------------------
#
# A variant's seeds were run in batches, and only each batch's summary (n, mean, sample std) was
# kept. The mean and sample std of all the seeds together follow from the summaries alone: the sum
# of squared deviations around the overall mean m splits, batch by batch, into the batch's own
# (n_g - 1) s_g^2 and n_g (m_g - m)^2, the batch mean's distance from m.

# Every batch has at least two seeds. Unequal counts come first (the unweighted mean shows), then
# batches with different means (the between-batch term shows), three batches (a pooled SD with
# N - k shows), a spread of 0 inside each batch, and a single batch (its own summary).
_SEED_CASES = [
    [(5, 0.72, 0.020), (3, 0.75, 0.030)],
    [(2, 0.80, 0.005), (10, 0.78, 0.020), (6, 0.79, 0.015)],
    [(4, 0.61, 0.010), (4, 0.65, 0.012)],
    [(3, 0.70, 0.0), (3, 0.74, 0.0)],
    [(10, 0.5, 0.1)],
]


def _combined(groups, *, weights="n", within="n-1", between=True, divisor="N-1", root=True):
    """The mean and std of all seeds from ``(n, mean, std)`` summaries, or a modelled mistake."""
    total = sum(n for n, _, _ in groups)
    if weights == "n":
        mean = sum(n * m for n, m, _ in groups) / total
    else:                                            # the batch means averaged as equals
        mean = sum(m for _, m, _ in groups) / len(groups)
    ss = sum({"n-1": n - 1, "n": n}[within] * sd**2 for n, _, sd in groups)
    if between:
        ss += sum(n * (m - mean) ** 2 for n, m, _ in groups)
    var = ss / {"N-1": total - 1, "N": total, "N-k": total - len(groups)}[divisor]
    return mean, (math.sqrt(var) if root else var)


def _mean_std(groups):
    return _combined(groups)


def _mean_of_sds(groups):
    total = sum(n for n, _, _ in groups)
    return _combined(groups)[0], sum(n * sd for n, _, sd in groups) / total


def _sd_of_means(groups):
    means = [m for _, m, _ in groups]
    return _combined(groups)[0], (statistics.stdev(means) if len(means) > 1 else 0.0)


#: (what a mistake returns for the summaries, hint); the mean comes first, then the spread.
_MEAN_STD_MISTAKES: list[tuple[Callable[[list[tuple[float, float, float]]],
                                        tuple[float, float]], str]] = [
    (lambda g: _combined(g, weights="equal"),
     mark("the batches have different numbers of seeds: the overall mean weights each batch mean "
          "by its n, sum(n_g m_g) / N, not the plain average of the batch means.")),
    (_mean_of_sds,
     mark("standard deviations do not average: a batch whose seeds all sit at one value has s = 0, "
          "yet two such batches at different values spread. Add up the squared deviations instead: "
          "(n_g - 1) s_g² inside each batch plus n_g (m_g - m)² for its distance from the overall "
          "mean m, then divide by N - 1.")),
    (lambda g: _combined(g, between=False, divisor="N-k"),
     mark("that is the pooled standard deviation of Student's test, which measures the spread "
          "inside the batches only: the seeds also spread because the batch means differ. Add n_g "
          "(m_g - m)² for each batch, and divide the total by N - 1.")),
    (lambda g: _combined(g, between=False),
     mark("only the spread inside each batch is counted: the batch means differ from the overall "
          "mean too, which adds n_g (m_g - m)² per batch to the sum of squares.")),
    (_sd_of_means,
     mark("that is the standard deviation of the batch means; the seeds spread inside their "
          "batches as well: (n_g - 1) s_g² per batch, plus n_g (m_g - m)².")),
    (lambda g: _combined(g, divisor="N"),
     mark("the sum of squared deviations is right, but you divided it by N: the sample standard "
          "deviation of N seeds divides by N - 1.")),
    (lambda g: _combined(g, within="n"),
     mark("each batch's s_g is a *sample* standard deviation: its seeds' squared deviations add up "
          "to (n_g - 1) s_g², not n_g s_g².")),
    (lambda g: _combined(g, root=False),
     mark("that is the variance of the seeds: take its square root to get the std.")),
    (lambda g: _combined(g)[::-1],
     mark("the two numbers are in the wrong order: return (mean, std). (torch.std_mean returns "
          "(std, mean).)")),
]


def check_mean_std(fn: Any) -> Feedback:
    """Check ``fn(summaries) -> (mean, sample std)`` of all seeds, where ``summaries`` lists one
    ``(n, mean, sample std)`` per batch of seeds; the raw values are not given."""
    if (missing := _missing(fn, "mean_std")) is not None:
        return missing
    candidates = list(_MEAN_STD_MISTAKES)
    for i, groups in enumerate(_SEED_CASES, start=1):
        got, error = call(fn, ([tuple(g) for g in groups],))
        if error is not None:
            return not_yet(tr('mean_std raised {type}: {error} (on test case {number}, {batches} '
                              'batch(es)).', type=type(error).__name__, error=safe_str(error),
                              number=i, batches=len(groups)))
        if got is None:
            return not_yet(tr("mean_std returned None: does it end with `return mean, std`?"))
        try:
            answer = _numbers(got, 2, "mean_std")
        except _Refused as refused:
            return not_yet(tr('{refused} Return the pair (mean, std).', refused=refused.args[0]))
        (mean, mean_dtype), (std, std_dtype) = answer
        want_mean, want_std = _mean_std(groups)
        if (coarse := _coarse(answer, (want_mean, want_std), "mean_std")) is not None:
            return not_yet(coarse)
        if _close(mean, mean_dtype, want_mean) and _close(std, std_dtype, want_std):
            candidates = [(m, h) for m, h in candidates
                          if all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-15)
                                 for x, y in zip(m(groups), (want_mean, want_std), strict=True))]
            continue
        for mistake, hint in candidates:
            m_mean, m_std = mistake(groups)
            if _close(mean, mean_dtype, m_mean) and _close(std, std_dtype, m_std):
                return not_yet(hint)
        if not _close(mean, mean_dtype, want_mean):
            if _close(mean, mean_dtype, _combined(groups, weights="equal")[0]):
                return not_yet(_MEAN_STD_MISTAKES[0][1])  # the plain average, whatever the std
            return not_yet(tr('the mean is off on test case {number}: got {mean}, expected '
                              '{expected:.6g}.', number=i, mean=mean, expected=want_mean))
        return not_yet(tr('the std is off on test case {number}: got {std}, expected '
                          '{expected:.6g}.', number=i, std=std, expected=want_std))
    return correct(tr("the mean and sample standard deviation of every seed, from the batch "
                      "summaries alone: (n_g - 1) s_g² inside each batch plus n_g (m_g - m)² "
                      "between them, over N - 1."))


# --- the rule of thumb: |Δ| > 2 SE ----------------------------------------------------------------


def _se(a, b, sd=statistics.stdev):
    return math.sqrt(sd(a) ** 2 / len(a) + sd(b) ** 2 / len(b))


def _delta(a, b):
    return abs(statistics.fmean(a) - statistics.fmean(b))


def _clear(a, b):
    return _delta(a, b) > 2 * _se(a, b)


_DIFF_CASES = [
    # means 0.02 apart, spreads 0.02: standard error 0.0163, 2 SE = 0.033 -> not clear
    ([0.70, 0.72, 0.74], [0.72, 0.74, 0.76]),
    # means 0.10 apart, spreads 0.01: clear
    ([0.60, 0.61, 0.62], [0.70, 0.71, 0.72]),
    # b's mean is lower: the sign must not matter
    ([0.80, 0.81, 0.79, 0.80], [0.70, 0.69, 0.71, 0.70]),
    # means 0.03 apart, each spread 0.03 with 5 seeds: 2 SE = 0.039 -> not clear
    ([0.50, 0.53, 0.56, 0.53, 0.48], [0.53, 0.56, 0.59, 0.56, 0.51]),
    # means 0.04 apart, spreads 0.016 with 5 seeds: 2 SE = 0.020 -> clear (2 s would not be)
    ([0.60, 0.62, 0.64, 0.61, 0.63], [0.64, 0.66, 0.68, 0.65, 0.67]),
    # Unequal numbers of seeds, found by search so that every modelled mistake below answers at
    # least one case differently from the rule and from every other mistake, and no fixed
    # threshold on |Δ| gives the rule's answers (case 6 is clear at |Δ| = 0.018, case 1 is not
    # at 0.020). No case lies within 5 % of the rule's boundary.
    ([0.759, 0.762, 0.757], [0.721, 0.752, 0.776, 0.73, 0.768, 0.732, 0.71, 0.73, 0.774, 0.719]),
    ([0.615, 0.613, 0.642, 0.626, 0.633, 0.614, 0.624, 0.631, 0.619, 0.616], [0.629, 0.635, 0.657]),
    ([0.705, 0.723, 0.735], [0.693, 0.684, 0.689]),
    ([0.787, 0.774, 0.778, 0.734, 0.724, 0.755, 0.8, 0.772, 0.767, 0.775], [0.834, 0.778, 0.775]),
    ([0.657, 0.58, 0.636, 0.602, 0.624, 0.595], [0.665, 0.667, 0.699, 0.685, 0.692, 0.652]),
    ([0.666, 0.68, 0.704, 0.59], [0.647, 0.656, 0.643, 0.664, 0.678, 0.679]),
    # a network that sometimes fails to train: a huge spread, so s²/n is no longer tiny and a
    # forgotten square root shows
    ([0.10, 0.50, 0.90], [0.25, 0.65, 1.00]),
    # Near the boundary, where a standard error a few per cent too large or too small flips the
    # verdict (|Δ| / 2 SE = 1.10, 1.27, 1.04 and 0.96): the cases above leave every rule whose SE
    # is within 16 % of the right one undetected; with these, the band is 0.96 to 1.04.
    # Clear by the rule, not with s²/(n - 1) in the SE (Bessel applied twice), nor with 3 SE:
    ([0.70, 0.72, 0.74], [0.736, 0.756, 0.776]),
    # Clear by the rule and by the sum of the two SEs (±2 SE bars that do not overlap), not by 3 SE:
    ([0.60, 0.64, 0.68, 0.62, 0.66], [0.674, 0.676, 0.678, 0.675, 0.677]),
    ([0.60, 0.62, 0.64, 0.61, 0.63], [0.6394, 0.6294, 0.6444, 0.6344, 0.6314]),
    ([0.71, 0.74, 0.69, 0.73], [0.7379, 0.7439, 0.7309, 0.7469, 0.7349, 0.7409]),
    # Ten seeds each, equal spreads s, |Δ| = 1.6 s: clear by the rule and by the sum of the SEs,
    # not by whether the mean ± s bars overlap (|Δ| > s_a + s_b); with n = 4 those two coincide.
    ([0.61, 0.63, 0.65, 0.62, 0.64, 0.60, 0.66, 0.615, 0.645, 0.635],
     [0.64, 0.66, 0.68, 0.65, 0.67, 0.63, 0.69, 0.645, 0.675, 0.665]),
]

_DIFF_MISTAKES: list[tuple[Callable[[list[float], list[float]], bool], str]] = [
    (lambda a, b: statistics.fmean(a) != statistics.fmean(b),
     mark("any difference of the means counts as real here: compare it with the spread, 2 * "
          "sqrt(s_a²/n_a + s_b²/n_b).")),
    (lambda a, b: statistics.fmean(b) - statistics.fmean(a) > 2 * _se(a, b),
     mark("only an improvement of b over a is detected: use the absolute difference.")),
    (lambda a, b: _delta(a, b) > 2 * _se(a, b, statistics.pstdev),
     mark("you used the population standard deviation (divisor n), the mistake the chapter warns "
          "about: with a few seeds it underestimates the spread. Use the sample one (divisor n - "
          "1).")),
    (lambda a, b: _delta(a, b) > 2 * math.sqrt(statistics.variance(a) + statistics.variance(b)),
     mark("you compared with the standard deviations; the uncertainty of a *mean* of n seeds is s "
          "/ sqrt(n), so divide each variance by its number of seeds.")),
    (lambda a, b: _delta(a, b) > 3 * _se(a, b),
     mark("the rule of thumb is 2 standard errors, not 3.")),
    (lambda a, b: _delta(a, b) > 2 * (statistics.stdev(a) + statistics.stdev(b))
     / math.sqrt(len(a)),
     mark("standard deviations do not add: the variances do. The standard error of the difference "
          "is sqrt(s_a²/n_a + s_b²/n_b), not (s_a + s_b)/√n.")),
    (lambda a, b: _delta(a, b) > 2 * math.sqrt((statistics.variance(a) + statistics.variance(b))
                                               / len(a)),
     mark("the two variants may have different numbers of seeds: divide s_a² by n_a and s_b² by "
          "n_b.")),
    (lambda a, b: _delta(a, b) > 2 * (statistics.variance(a) / len(a)
                                      + statistics.variance(b) / len(b)),
     mark("take the square root: s_a²/n_a + s_b²/n_b is the variance of the difference, its square "
          "root is the standard error.")),
    (lambda a, b: _delta(a, b) > 2 * math.sqrt(statistics.stdev(a) / len(a)
                                               + statistics.stdev(b) / len(b)),
     mark("square the standard deviations: the standard error is sqrt(s_a²/n_a + s_b²/n_b).")),
    (lambda a, b: bool(stats.ttest_ind(a, b, equal_var=False).pvalue < 0.05),
     mark("that is Welch's test at p < 0.05, the chapter's real criterion; this exercise asks for "
          "the rule of thumb |Δ| > 2 SE, whose answers differ from Welch's for few seeds.")),
    (lambda a, b: _delta(a, b) > 2 * (statistics.stdev(a) / math.sqrt(len(a))
                                      + statistics.stdev(b) / math.sqrt(len(b))),
     mark("you compared |Δ| with 2 (SE_a + SE_b), which is asking whether the two means' ±2 SE "
          "error bars overlap: standard errors do not add, their squares do. The standard error of "
          "the difference is sqrt(s_a²/n_a + s_b²/n_b), smaller than SE_a + SE_b.")),
    (lambda a, b: _delta(a, b) > statistics.stdev(a) + statistics.stdev(b),
     mark("you asked whether the mean ± s bars of the two variants overlap (as the chapter's "
          "figures draw them): that compares |Δ| with s_a + s_b, the spread of single seeds. The "
          "rule compares it with twice the standard error of the difference, 2 sqrt(s_a²/n_a + "
          "s_b²/n_b).")),
    (lambda a, b: _delta(a, b) > 2 * math.sqrt(
        ((len(a) - 1) * statistics.variance(a) + (len(b) - 1) * statistics.variance(b))
        / (len(a) + len(b) - 2) * (1 / len(a) + 1 / len(b))),
     mark("that is Student's pooled standard error, sqrt(s_p² (1/n_a + 1/n_b)), which assumes the "
          "two variances are equal. The rule keeps them apart: sqrt(s_a²/n_a + s_b²/n_b).")),
    (lambda a, b: _delta(a, b) > 2 * math.sqrt(statistics.variance(a) / (len(a) - 1)
                                               + statistics.variance(b) / (len(b) - 1)),
     mark("you divided each sample variance by n - 1: s² already contains its n - 1 (Bessel's "
          "correction, once); the standard error of a mean divides s² by n.")),
]


def check_difference_is_clear(fn: Any) -> Feedback:
    """Check ``fn(a, b) -> bool``: is the difference of means more than 2 standard errors?"""
    if (missing := _missing(fn, "difference_is_clear")) is not None:
        return missing
    answers = []
    for i, (a, b) in enumerate(_DIFF_CASES, start=1):
        got, error = call(fn, (list(a), list(b)))
        if error is not None:
            return not_yet(tr('difference_is_clear raised {type}: {error} (on test case {number}).',
                              type=type(error).__name__, error=safe_str(error), number=i))
        if got is None:
            return not_yet(tr("difference_is_clear returned None: does it end with `return`?"))
        try:
            answers.append(as_bool(got, "difference_is_clear"))
        except _Refused as refused:
            return not_yet(str(refused))
    if answers == [_clear(a, b) for a, b in _DIFF_CASES]:
        return correct(tr("a difference inside two standard errors is not evidence either way."))
    for mistake, hint in _DIFF_MISTAKES:
        if answers == [mistake(a, b) for a, b in _DIFF_CASES]:
            return not_yet(hint)
    deltas = [_delta(a, b) for a, b in _DIFF_CASES]
    order = sorted(range(len(deltas)), key=deltas.__getitem__)
    if [answers[i] for i in order] == sorted(answers[i] for i in order):
        return not_yet(tr("your verdicts depend on |mean_a - mean_b| alone, as with a fixed "
                          "threshold: whether a difference is clear depends on the spread and the "
                          "number of seeds, 2 * sqrt(s_a²/n_a + s_b²/n_b)."))
    wrong = next(i for i, (a, b) in enumerate(_DIFF_CASES, 1) if answers[i - 1] != _clear(a, b))
    a, b = _DIFF_CASES[wrong - 1]
    return not_yet(
        tr('wrong verdict on test case {number} (n_a = {n_a}, n_b = {n_b}): compare |mean_a - '
           'mean_b| with 2 * sqrt(s_a²/n_a + s_b²/n_b), s being the sample standard deviation.',
           number=wrong, n_a=len(a), n_b=len(b))
    )


# --- seeds to add until the rule of thumb calls a difference clear --------------------------------
#
# The baseline's seeds b are fixed (a table); seeds are added to the variant a, whose mean and
# sample SD are assumed to stay as measured. The rule calls the difference clear when
# |Δ| > 2 sqrt(s_a²/(n_a + k) + s_b²/n_b). The first term vanishes as k grows, the second stays:
# when |Δ| <= 2 s_b/√n_b no k suffices (ValueError); otherwise
# k = max(0, floor(s_a²/D) + 1 - n_a) with D = (Δ/2)² - s_b²/n_b. A reader's search that never
# stops is cut off after a budget of steps.


def _exact(n: int, mean: float, sd: float) -> list[float]:
    """n values, evenly spaced, with the given mean and (to rounding) sample standard deviation."""
    centred = [i - (n - 1) / 2 for i in range(n)]
    scale = sd / statistics.stdev(centred)
    return [round(mean + scale * c, 4) for c in centred]


# (the variant's seeds a, the baseline's b): many seeds needed with b's SE mattering, already
# clear, b's SE alone too large (refuse), two more that need seeds, and a spread of 0 in a with b
# too noisy (refuse).
_CLEAR_CASES = [
    (_exact(3, 0.74, 0.03), _exact(10, 0.73, 0.01)),
    (_exact(4, 0.70, 0.02), _exact(5, 0.60, 0.02)),
    (_exact(3, 0.74, 0.02), _exact(10, 0.73, 0.02)),
    (_exact(5, 0.65, 0.04), _exact(6, 0.63, 0.015)),
    (_exact(2, 0.81, 0.05), _exact(20, 0.80, 0.01)),
    (_exact(3, 0.50, 0.0), _exact(4, 0.52, 0.03)),
]


def _seeds_to_clear(a, b, *, sd=statistics.stdev, both=False, keep_b=True, factor=2.0,
                    total=False, at_least_one=False):
    """The reference (default arguments) or a modelled mistake: the smallest k, by search."""
    n_a, n_b = len(a), len(b)
    delta = abs(statistics.fmean(a) - statistics.fmean(b))
    var_a, var_b = sd(a) ** 2, sd(b) ** 2

    def clear(k):
        se2 = var_a / (n_a + k) + (var_b / (n_b + (k if both else 0)) if keep_b else 0.0)
        return delta > factor * math.sqrt(se2)

    floor = var_b / n_b if keep_b and not both else 0.0  # what the SE tends to as k grows
    if delta <= factor * math.sqrt(floor) or (delta == 0.0):
        raise ValueError("no number of seeds makes this difference clear")
    k = 1 if at_least_one else 0
    while not clear(k):
        k += 1
    return n_a + k if total else k


def _clear_reference(a, b):
    return _seeds_to_clear(a, b)


_CLEAR_MISTAKES: list[tuple[Callable[[list[float], list[float]], int], str]] = [
    (lambda a, b: _seeds_to_clear(a, b, keep_b=False),
     mark("the baseline's standard error stays whatever you add to a: the rule needs "
          "s_a²/(n_a + k) + s_b²/n_b < (Δ/2)², so s_a²/(n_a + k) < (Δ/2)² - s_b²/n_b.")),
    (lambda a, b: _seeds_to_clear(a, b, both=True),
     mark("only the variant gets new seeds: the baseline's n_b stays as it is.")),
    (lambda a, b: _seeds_to_clear(a, b, total=True),
     mark("that is the total number of the variant's seeds, n_a + k; return the number to add, "
          "k.")),
    (lambda a, b: _seeds_to_clear(a, b, sd=statistics.pstdev),
     mark("s_a and s_b are sample standard deviations (divisor n - 1), as in the chapter.")),
    (lambda a, b: _seeds_to_clear(a, b, factor=1.0),
     mark("the rule asks for more than two standard errors, not one.")),
    (lambda a, b: _seeds_to_clear(a, b, at_least_one=True),
     mark("when the difference is already clear, no seed is needed: return 0.")),
]

#: Python line events a reader's function may use on one case before it is stopped.
_STEP_BUDGET = 200_000


class _TooLong(Exception):
    pass


def _call_with_budget(fn: Any, args: tuple[Any, ...]) -> tuple[Any, BaseException | None]:
    """:func:`call`, stopped with :class:`_TooLong` after ``_STEP_BUDGET`` lines of Python."""
    steps = 0

    def local(frame, event, arg):
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > _STEP_BUDGET:
                raise _TooLong
        return local

    previous = sys.gettrace()
    sys.settrace(lambda frame, event, arg: local)
    try:
        return call(fn, args)
    finally:
        sys.settrace(previous)


def _whole(value: float) -> bool:
    if isinstance(value, int):
        return True
    return math.isfinite(value) and value == math.floor(value)


def check_seeds_to_clear(fn: Any) -> Feedback:
    """Check ``fn(a, b) -> k``: the fewest seeds to add to ``a`` (mean and sample SD unchanged)
    for ``|mean_a - mean_b| > 2 sqrt(s_a²/(n_a + k) + s_b²/n_b)``, ``ValueError`` when none do."""
    if (missing := _missing(fn, "seeds_to_clear")) is not None:
        return missing
    candidates = list(_CLEAR_MISTAKES)
    for i, (a, b) in enumerate(_CLEAR_CASES, start=1):
        try:
            want = _clear_reference(a, b)
        except ValueError:
            want = None
        got, error = _call_with_budget(fn, (list(a), list(b)))
        if isinstance(error, _TooLong):
            return not_yet(tr("seeds_to_clear did not return on test case {number}: a search "
                              "over k must first decide whether any k works. As k grows the "
                              "standard error falls only to the baseline's s_b/√n_b, so when "
                              "|Δ| <= 2 s_b/√n_b raise ValueError instead of searching.",
                              number=i))
        if want is None:
            if isinstance(error, ValueError):
                candidates = [(m, h) for m, h in candidates if _refuses(m, a, b)]
                continue
            if error is None:
                for mistake, hint in candidates:
                    if not _refuses(mistake, a, b) and _same_k(got, mistake(a, b)):
                        return not_yet(hint)
            return not_yet(
                tr("on test case {number} the baseline's standard error alone, s_b/√n_b, is "
                   "more than half the difference: as k grows the standard error falls only to "
                   "s_b/√n_b, so no number of new seeds makes the difference clear. Raise "
                   "ValueError there.", number=i)
                + (tr(" (Yours raised {type}: {error}.)", type=type(error).__name__,
                      error=safe_str(error)) if error is not None else ""))
        if isinstance(error, ValueError):
            return not_yet(tr("you refused test case {number}, where {want} more seed(s) make "
                              "the difference clear: refuse only when |Δ| <= 2 s_b/√n_b, where "
                              "the baseline's standard error alone is too large.", number=i,
                              want=want))
        if error is not None:
            return not_yet(tr("seeds_to_clear raised {type}: {error} (on test case {number}).",
                              type=type(error).__name__, error=safe_str(error), number=i))
        if got is None:
            return not_yet(tr("seeds_to_clear returned None: does it end with `return k`?"))
        try:
            value, _ = _as_number(got, "seeds_to_clear")
        except _Refused as refused:
            return not_yet(tr("{refused} Return one whole number, k.", refused=refused.args[0]))
        if value == want:
            candidates = [(m, h) for m, h in candidates if not _refuses(m, a, b)
                          and m(a, b) == want]
            continue
        for mistake, hint in candidates:
            if not _refuses(mistake, a, b) and value == mistake(a, b):
                return not_yet(hint)
        if not _whole(value):
            return not_yet(tr("k is a whole number of seeds: on test case {number} you returned "
                              "{value}; take the smallest whole k with n_a + k > s_a² / D, "
                              "D = (Δ/2)² - s_b²/n_b.", number=i, value=value))
        return not_yet(tr("on test case {number} (n_a = {n_a}, n_b = {n_b}) you returned "
                          "{value}, expected {want}: the rule must hold with n_a + k seeds in a "
                          "and n_b in b, and fail with one seed fewer.", number=i, n_a=len(a),
                          n_b=len(b), value=safe_repr(value), want=want))
    return correct(tr("the baseline's standard error is a floor that new seeds of the variant "
                      "cannot lower; above it, k = max(0, ⌊s_a²/D⌋ + 1 - n_a)."))


def _refuses(mistake: Callable[..., Any], a: list[float], b: list[float]) -> bool:
    try:
        mistake(a, b)
    except ValueError:
        return True
    return False


def _same_k(got: Any, want: int) -> bool:
    try:
        value, _ = _as_number(got, "seeds_to_clear")
    except _Refused:
        return False
    return value == want


# --- Welch's t-test ------------------------------------------------------------------------------

_WELCH_CASES = [
    ([0.70, 0.72, 0.74, 0.71, 0.73], [0.74, 0.75, 0.77, 0.73, 0.76]),
    ([0.615, 0.613, 0.642, 0.626, 0.633, 0.614, 0.624, 0.631], [0.629, 0.635, 0.657, 0.60, 0.671]),
    ([0.80, 0.81, 0.79, 0.80, 0.83, 0.78], [0.70, 0.69, 0.71, 0.70, 0.72]),
]


def _welch(a, b):
    r = stats.ttest_ind(a, b, equal_var=False)
    return float(r.statistic), float(r.df), float(r.pvalue)


def _welch_df(a, b):
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    return (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))


def _pooled(a, b):
    r = stats.ttest_ind(a, b, equal_var=True)
    return float(r.statistic), float(len(a) + len(b) - 2), float(r.pvalue)


def _one_sided(a, b):
    t, df, p = _welch(a, b)
    return t, df, p / 2


def _df_sum(a, b):
    t, _, _ = _welch(a, b)
    df = len(a) + len(b) - 2
    return t, float(df), float(2 * stats.t.sf(abs(t), df))


def _normal_p(a, b):
    t, df, _ = _welch(a, b)
    return t, df, float(2 * stats.norm.sf(abs(t)))


def _population_sd(a, b):
    va, vb = statistics.pvariance(a) / len(a), statistics.pvariance(b) / len(b)
    t = (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return t, df, float(2 * stats.t.sf(abs(t), df))


def _flipped(a, b):
    t, df, p = _welch(a, b)
    return -t, df, p


def _one_sided_wrong_tail(a, b):
    t, df, _ = _welch(a, b)
    return t, df, float(stats.t.sf(t, df))


_WELCH_MISTAKES = [
    (_pooled, mark("that is Student's t-test with a pooled variance (equal_var=True): Welch's test "
                   "keeps the two variances apart, SE = sqrt(s_a²/n_a + s_b²/n_b), and its degrees "
                   "of freedom come from the Welch–Satterthwaite formula.")),
    (_one_sided, mark("that p-value is one-sided: the two-sided p counts both tails, p = 2 · P(T > "
                      "|t|).")),
    (_one_sided_wrong_tail, mark("that p-value is one tail only: the two-sided p is 2 · P(T > "
                                 "|t|).")),
    (_df_sum, mark("n_a + n_b - 2 degrees of freedom belong to the pooled test; Welch's df is (v_a "
                   "+ v_b)² / (v_a²/(n_a-1) + v_b²/(n_b-1)) with v = s²/n.")),
    (_normal_p, mark("that p-value comes from the normal distribution; with a few seeds use the t "
                     "distribution with Welch's degrees of freedom (scipy.stats.t.sf).")),
    (_population_sd, mark("you used the population standard deviations (divisor n); use the sample "
                          "ones (divisor n - 1).")),
    (_flipped, mark("the sign of t: SciPy's convention, followed here, is t = (mean_a - mean_b) / "
                    "SE.")),
]


#: The prompt allows SciPy for the tail only: these compute the whole test for the reader.
_WELCH_FORBIDDEN = [
    Forbidden(mark("compute t, the Welch–Satterthwaite df and p from the formulas above, and use "
                   "scipy.stats.t.sf for the tail only."),
              python_functions=((stats.ttest_ind, "scipy.stats.ttest_ind"),
                                (stats.ttest_ind_from_stats, "scipy.stats.ttest_ind_from_stats"))),
]


def check_welch(fn: Any) -> Feedback:
    """Check ``fn(a, b) -> (t, df, p)`` against ``scipy.stats.ttest_ind(a, b, equal_var=False)``,
    computed by the reader from the formulas (an answer that calls ``ttest_ind`` is refused)."""
    if (missing := _missing(fn, "welch")) is not None:
        return missing
    candidates = list(_WELCH_MISTAKES)
    for i, (a, b) in enumerate(_WELCH_CASES, start=1):
        got, error, watch = call_watched(fn, (list(a), list(b)), _WELCH_FORBIDDEN)
        if watch.seen is not None:
            rule, name = watch.seen
            return not_yet(tr('welch calls {name}, which this exercise asks you to do without: '
                              '{hint}', name=tr(name), hint=tr(rule.hint)))
        if error is not None:
            return not_yet(tr('welch raised {type}: {error} (on test case {number}).',
                              type=type(error).__name__, error=safe_str(error), number=i))
        if got is None:
            return not_yet(tr("welch returned None: does it end with `return t, df, p`?"))
        try:
            answer = _numbers(got, 3, "welch")
        except _Refused as refused:
            return not_yet(tr('{refused} Return the triple (t, df, p).', refused=refused.args[0]))
        want = _welch(a, b)
        if (coarse := _coarse(answer, want, "welch")) is not None:
            return not_yet(coarse)

        def same(values, answer=answer):
            return all(_close(v, d, w, rel=1e-4) for (v, d), w in zip(answer, values,
                                                                       strict=True))

        if same(want):
            candidates = [(m, h) for m, h in candidates
                          if all(math.isclose(x, y, rel_tol=1e-4)
                                 for x, y in zip(m(a, b), want, strict=True))]
            continue
        for mistake, hint in candidates:
            if same(mistake(a, b)):
                return not_yet(hint)
        names = ["t", "df", "p"]
        off = [n for n, (v, d), w in zip(names, answer, want, strict=True)
               if not _close(v, d, w, rel=1e-4)]
        return not_yet(tr("on test case {number}, {names} differ from Welch's test: expected t = "
                          "{t:.4g}, df = {df:.4g}, p = {p:.4g}.", number=i,
                          names=", ".join(off), t=want[0], df=want[1], p=want[2]))
    return correct(tr("Welch's t, its Welch–Satterthwaite degrees of freedom and the two-sided p, "
                      "as SciPy computes them."))


# --- the power of an "equivalent" verdict -------------------------------------------------------


def _equivalence(effect, sd, n, band, alpha, *, z_of=None, se_of=None, sides=2, clip=True,
                 centre=True, half_width=True):
    se = sd / math.sqrt(n) if se_of is None else se_of(sd, n)
    z = stats.norm.ppf(1 - alpha / 2) if z_of is None else z_of(alpha)
    w = z * se if half_width else 0.0
    theta = effect if centre else 0.0
    upper = stats.norm.cdf((band - w - theta) / se)
    lower = stats.norm.cdf((-band + w - theta) / se) if sides == 2 else 0.0
    p = float(upper - lower)
    return max(p, 0.0) if clip else p


def _equivalence_power(effect, sd, n, band, alpha):
    return _equivalence(effect, sd, n, band, alpha)


#: (effect, sd, n, band, alpha): the chapter's design, a smaller one, a band narrower than the
#: interval (probability 0), true effects inside and outside the band, of either sign.
_EQUIVALENCE_CASES = [
    (1.0, 2.0, 25, 1.5, 0.05),
    (0.0, 7.0, 40, 5.0, 0.05 / 11),
    (2.0, 7.0, 40, 5.0, 0.05 / 11),
    (-3.5, 4.0, 60, 5.0, 0.05),
    (0.0, 7.0, 10, 5.0, 0.05 / 11),
    (6.0, 7.0, 40, 5.0, 0.05 / 11),
]


def check_equivalence_power(fn: Any) -> Feedback:
    """Check ``fn(effect, sd, n, band, alpha)``: the probability that the paired design's
    two-sided ``1 - alpha`` interval (normal approximation, sd the SD of the per-seed differences)
    lies inside ``(-band, band)`` when the true effect is ``effect``."""
    return check_function(
        fn,
        _equivalence_power,
        _EQUIVALENCE_CASES,
        what="equivalence_power",
        atol=1e-6,
        rtol=1e-5,
        wrong_functions=[
            mistake_of(_equivalence, clip=False, hint=tr(
                "when the band is narrower than the interval's half-width z σ/√n, no interval fits "
                "inside it: the probability is 0, not the negative difference of the two Φ "
                "terms.")),
            mistake_of(_equivalence, z_of=lambda al: stats.norm.ppf(1 - al), hint=tr(
                "the book's interval is two-sided: its half-width uses z at 1 − α/2, not 1 − α.")),
            mistake_of(_equivalence, sides=1, hint=tr(
                "the interval must stay inside the band at both ends: subtract the probability "
                "that its lower end falls below −δ.")),
            mistake_of(_equivalence, half_width=False, hint=tr(
                "that is the probability that the estimate lies inside the band; the verdict needs "
                "the whole interval inside, so each end of the band moves in by z σ/√n.")),
            mistake_of(_equivalence, se_of=lambda sd, n: sd, hint=tr(
                "the mean of n per-seed differences has standard deviation σ/√n, not σ.")),
            mistake_of(_equivalence, se_of=lambda sd, n: sd / n, hint=tr(
                "the standard error is σ/√n, not σ/n.")),
            mistake_of(_equivalence, se_of=lambda sd, n: sd * math.sqrt(2 / n), hint=tr(
                "the design is paired: σ is already the SD of the per-seed differences, so the "
                "standard error is σ/√n, with no factor √2.")),
            mistake_of(_equivalence, centre=False, hint=tr(
                "the estimate is centred on the true effect θ: shift both ends by θ (Φ((δ − z se − "
                "θ)/se) − Φ((−δ + z se − θ)/se)).")),
            (lambda *a: 1 - _equivalence(*a), tr("that is the probability of *not* calling the "
                                                 "effect equivalent.")),
        ],
        success=tr("the power of an \"equivalent\" verdict: Φ((δ − z se − θ)/se) − Φ((−δ + z se − "
                   "θ)/se), and 0 when the band is narrower than the interval."),
    )
