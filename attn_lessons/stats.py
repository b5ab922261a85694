r"""Comparing two variants over seeds: Welch's t-test, its interval, and the 2-SE rule of thumb.

Chapter 7 compares a network with a module against the same network without it, each trained
from several seeds. With :math:`n_a, n_b` seeds, means :math:`\bar a, \bar b` and *sample*
standard deviations :math:`s_a, s_b` (divisor :math:`n - 1`):

.. math::

    \mathrm{SE} = \sqrt{s_a^2 / n_a + s_b^2 / n_b}, \qquad t = (\bar a - \bar b) / \mathrm{SE},

    \nu = \frac{(s_a^2/n_a + s_b^2/n_b)^2}
               {\frac{(s_a^2/n_a)^2}{n_a - 1} + \frac{(s_b^2/n_b)^2}{n_b - 1}}
    \quad \text{(Welch--Satterthwaite degrees of freedom)},

and the 95 % interval of the difference is :math:`\bar a - \bar b \pm t_{0.975, \nu}\,\mathrm{SE}`
(Welch, Biometrika 1947). The two-sided p-value is that of ``scipy.stats.ttest_ind(a, b,
equal_var=False)``, which :func:`welch` calls and checks against its own formulas. The book calls a
difference *clear* when p < 0.05. The older rule of thumb :math:`|\bar a - \bar b| > 2\,\mathrm{SE}`
(:func:`two_se_rule`) ignores that SE is itself estimated from a few numbers; its false-positive
rate under no effect is measured by :func:`false_positive_rate`.

**Seed-paired designs.** When a seed gives every arm the same data and batch order, arm ``a`` and
arm ``b`` of seed :math:`i` share everything but the arm, and the comparison is made on the
per-seed differences :math:`d_i = a_i - b_i` (:func:`paired`): a one-sample t-test with
:math:`n - 1` degrees of freedom, :math:`t = \bar d / (s_d/\sqrt n)`. What the seed does to both
arms cancels in :math:`d_i`, so :math:`s_d` is usually much smaller than either arm's spread.

**Bounded or bimodal outcomes** (a baseline that sometimes stalls at chance) break the t-test's
normal approximation; :func:`permutation` asks instead how often relabelling the runs (swapping
the two arms within a seed, when paired) gives a difference as large as the one observed
(``scipy.stats.permutation_test``), which assumes nothing about the shape of the distribution.

**Families of comparisons.** A chapter that makes :math:`m` comparisons at level
:math:`\alpha` each calls at least one null effect clear far more often than :math:`\alpha`.
:func:`holm` adjusts the p-values (Holm 1979, through ``statsmodels``), which keeps the chance
of *any* false call at most :math:`\alpha`; :func:`analyse` gives each comparison an interval at
the Bonferroni level :math:`1 - \alpha/m`, so an interval that excludes 0 is a call the family
can afford.

**Power and the minimum detectable effect.** The *power* of a design is the probability that it
calls a true effect of a given size clear: :math:`1 - \beta`, where :math:`\beta` is the chance
of missing it. It grows with the number of seeds :math:`n` and with the effect :math:`\delta`
relative to the spread :math:`\sigma` (of one arm, or of the per-seed differences when paired).
For a two-sided test at level :math:`\alpha`, approximately

.. math::

    n \approx k\,(z_{1-\alpha/2} + z_{1-\beta})^2\,\sigma^2/\delta^2
    \qquad (k = 1 \text{ paired, per pair}; \; k = 2 \text{ unpaired, per arm}),

and :func:`seeds_needed` solves the exact version (the noncentral t distribution, with
``statsmodels.stats.power``) for :math:`n`. The rule :math:`n > 8\sigma^2/\delta^2` puts the
*true* difference at 2 SE, so the observed one clears the bar only about half the time: 50 %
power, not 80 %. Turned around, the *minimum detectable effect* (:func:`minimum_detectable_effect`)
is the smallest true effect a design with :math:`n` seeds detects with the stated power: a
"not distinguishable" verdict says only that the effect is probably smaller than that.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy_stats

__all__ = [
    "Analysis",
    "AnalysisRow",
    "Comparison",
    "PermutationResult",
    "analyse",
    "false_positive_rate",
    "holm",
    "minimum_detectable_effect",
    "paired",
    "permutation",
    "power_of",
    "seeds_needed",
    "two_se_rule",
    "welch",
]

#: The verdicts :func:`analyse` gives, from the interval (never from a p-value alone).
VERDICTS = ("higher", "lower", "equivalent", "inconclusive")


def _values(name: str, values: Sequence[float]) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__}")
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or len(array) < 2:
        raise ValueError(f"{name} needs at least 2 values (one run has no spread), got {values!r}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {values!r}")
    return array


@dataclass(frozen=True)
class Comparison:
    """A comparison of ``a`` against ``b``: the difference of means ``a - b``, its test, interval.

    Made by :func:`welch` (``paired=False``, ``test="welch"``) or :func:`paired` (``paired=True``,
    ``test="paired t"``; then ``se`` is ``sd_difference / sqrt(n)`` and ``df`` is ``n - 1``).
    """

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    std_a: float
    std_b: float
    difference: float
    se: float
    t: float
    df: float
    p: float
    ci_low: float
    ci_high: float
    level: float = 0.95
    paired: bool = False
    test: str = "welch"
    sd_difference: float = math.nan  # SD of the per-seed differences (paired only)

    @property
    def clear(self) -> bool:
        """The older verdict: the difference is clear when the two-sided p < 0.05.

        Kept for the pages that still use it; :func:`analyse` decides from intervals instead.
        """
        return self.p < 0.05

    @property
    def two_se(self) -> bool:
        """The rule of thumb |difference| > 2 SE (see :func:`false_positive_rate`)."""
        return abs(self.difference) > 2 * self.se

    @property
    def verdict(self) -> str:
        """``"clearly better"``, ``"clearly worse"`` (a against b) or ``"not distinguishable"``."""
        if not self.clear:
            return "not distinguishable"
        return "clearly better" if self.difference > 0 else "clearly worse"


def welch(a: Sequence[float], b: Sequence[float], *, level: float = 0.95) -> Comparison:
    """Welch's two-sided t-test of mean(a) = mean(b), and the ``level`` interval of the difference.

    ``a`` and ``b`` hold one value per seed (at least 2 each). When both spreads are zero the
    difference is either exactly 0 (p = 1) or infinitely significant (p = 0), and ``df`` is nan.
    """
    level = _level(level)
    x, y = _values("a", a), _values("b", b)
    scale = float(max(np.abs(x).max(), np.abs(y).max()))
    if scale > 1e100:  # squares would overflow; t, df and p do not change with the unit
        c = welch(x / scale, y / scale, level=level)
        return dataclasses.replace(
            c, mean_a=c.mean_a * scale, mean_b=c.mean_b * scale, std_a=c.std_a * scale,
            std_b=c.std_b * scale, difference=c.difference * scale, se=c.se * scale,
            ci_low=c.ci_low * scale, ci_high=c.ci_high * scale)
    n_a, n_b = len(x), len(y)
    var_a, var_b = x.var(ddof=1) / n_a, y.var(ddof=1) / n_b  # squared standard errors
    diff = float(x.mean() - y.mean())
    se = math.sqrt(var_a + var_b)
    if se == 0:
        p = 1.0 if diff == 0 else 0.0
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return Comparison(n_a, n_b, float(x.mean()), float(y.mean()), 0.0, 0.0, diff, 0.0, t,
                          math.nan, p, diff, diff, level)
    df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    t = diff / se
    p = float(2 * _scipy_stats.t.sf(abs(t), df))
    reference = _scipy_stats.ttest_ind(x, y, equal_var=False)
    if not math.isclose(p, float(reference.pvalue), rel_tol=1e-6, abs_tol=1e-12):
        raise RuntimeError(f"Welch p {p} disagrees with scipy's {reference.pvalue}")
    half = float(_scipy_stats.t.ppf(0.5 + level / 2, df)) * se
    return Comparison(n_a, n_b, float(x.mean()), float(y.mean()), float(x.std(ddof=1)),
                      float(y.std(ddof=1)), diff, se, float(t), float(df), p, diff - half,
                      diff + half, level)


def two_se_rule(a: Sequence[float], b: Sequence[float]) -> bool:
    """The rule of thumb: True when |mean(a) - mean(b)| > 2 sqrt(s_a^2/n_a + s_b^2/n_b)."""
    return welch(a, b).two_se


def false_positive_rate(
    n: int, *, rule: str = "two_se", trials: int = 20_000, seed: int = 0
) -> float:
    """How often a rule calls two variants with *no* true difference "clear", by simulation.

    Each trial draws ``n`` values for each of two variants from the same normal distribution (the
    spread is irrelevant: both rules are scale-free) and applies ``rule``: ``"two_se"`` for
    |Δ| > 2 SE, ``"welch"`` for Welch's p < 0.05. Returns the fraction of trials called clear; for
    ``"welch"`` it is at most about 0.05 at every ``n`` (a little below it at few seeds, where
    Welch's test is conservative for equal spreads). This checks the tests only where their
    assumptions hold (normal values, equal spreads); bounded or bimodal outcomes, such as a
    baseline that sometimes stalls, call for :func:`permutation`.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (seeds per variant), got {n!r}")
    if isinstance(trials, bool) or not isinstance(trials, numbers.Integral) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    n, trials = int(n), int(trials)
    if rule not in ("two_se", "welch"):
        raise ValueError(f"rule must be 'two_se' or 'welch', got {rule!r}")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((trials, n))
    b = rng.standard_normal((trials, n))
    var_a, var_b = a.var(axis=1, ddof=1) / n, b.var(axis=1, ddof=1) / n
    diff = a.mean(axis=1) - b.mean(axis=1)
    se = np.sqrt(var_a + var_b)  # (trials,)
    if rule == "two_se":
        called = np.abs(diff) > 2 * se
    else:
        df = (var_a + var_b) ** 2 / ((var_a**2 + var_b**2) / (n - 1))
        called = 2 * _scipy_stats.t.sf(np.abs(diff / se), df) < 0.05
    return float(called.mean())


# --- paired t, permutation test, Holm -------------------------------------------------------------


def _level(level: object) -> float:
    if (isinstance(level, bool) or not isinstance(level, numbers.Real)
            or not 0 < float(level) < 1):
        raise ValueError(f"level must be a number between 0 and 1, got {level!r}")
    return float(level)


def paired(a: Sequence[float], b: Sequence[float], *, level: float = 0.95) -> Comparison:
    """The paired t-test of ``a`` against ``b``: a one-sample t-test on ``d = a - b``, seed by seed.

    ``a[i]`` and ``b[i]`` must come from the same seed (same data, same batch order). Returns a
    :class:`Comparison` with ``paired=True``: ``difference`` is the mean of ``d``, ``sd_difference``
    its sample SD, ``se = sd_difference / sqrt(n)``, ``df = n - 1`` and the ``level`` interval
    ``difference ± t_{(1+level)/2, n-1} se``. The p-value is checked against
    ``scipy.stats.ttest_rel``. When every difference is the same, ``se`` is 0 and p is 1 (all
    differences 0) or 0.
    """
    level = _level(level)
    x, y = _values("a", a), _values("b", b)
    if len(x) != len(y):
        raise ValueError(
            f"paired comparison needs one value of a and of b per seed, got {len(x)} and {len(y)}"
        )
    n = len(x)
    d = x - y  # (n,) per-seed differences
    diff, sd = float(d.mean()), float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    common = dict(n_a=n, n_b=n, mean_a=float(x.mean()), mean_b=float(y.mean()),
                  std_a=float(x.std(ddof=1)), std_b=float(y.std(ddof=1)), difference=diff,
                  level=level, paired=True, test="paired t", sd_difference=sd)
    if se == 0:
        p = 1.0 if diff == 0 else 0.0
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return Comparison(se=0.0, t=t, df=float(n - 1), p=p, ci_low=diff, ci_high=diff, **common)
    t = diff / se
    p = float(2 * _scipy_stats.t.sf(abs(t), n - 1))
    reference = _scipy_stats.ttest_rel(x, y)
    if not math.isclose(p, float(reference.pvalue), rel_tol=1e-6, abs_tol=1e-12):
        raise RuntimeError(f"paired t p {p} disagrees with scipy's {reference.pvalue}")
    half = float(_scipy_stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return Comparison(se=se, t=float(t), df=float(n - 1), p=p, ci_low=diff - half,
                      ci_high=diff + half, **common)


@dataclass(frozen=True)
class PermutationResult:
    """A permutation test of mean(a) - mean(b) = 0 (two-sided)."""

    difference: float  # mean(a) - mean(b) (the mean of the per-seed differences when paired)
    p: float
    paired: bool
    n_resamples: int  # relabellings drawn (or, when exact, all of them)
    exact: bool  # every relabelling was enumerated


def permutation(
    a: Sequence[float],
    b: Sequence[float],
    *,
    paired: bool = False,
    n_resamples: int = 9999,
    seed: int = 0,
) -> PermutationResult:
    """Two-sided permutation test of the difference of means, for bounded or bimodal outcomes.

    Unpaired: the runs of both arms are pooled and re-split at random into groups of the original
    sizes; paired: within each seed the two arms' values are swapped at random (a sign flip of the
    per-seed difference). The p-value is the share of relabellings whose difference of means is
    at least as far from 0 as the observed one (``scipy.stats.permutation_test``, which enumerates
    every relabelling when there are at most ``n_resamples`` of them: ``exact=True``).
    """
    if not isinstance(paired, bool):
        raise TypeError(f"paired must be True or False, got {paired!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    x, y = _values("a", a), _values("b", b)
    if paired:
        if len(x) != len(y):
            raise ValueError(f"paired test needs as many a as b, got {len(x)} and {len(y)}")
        count = 2 ** len(x)

        def statistic(u, v, axis=-1):
            return np.mean(u - v, axis=axis)

        kind = "samples"
    else:
        count = math.comb(len(x) + len(y), len(x))

        def statistic(u, v, axis=-1):
            return np.mean(u, axis=axis) - np.mean(v, axis=axis)

        kind = "independent"
    result = _scipy_stats.permutation_test(
        (x, y), statistic, permutation_type=kind, vectorized=True, n_resamples=n_resamples,
        alternative="two-sided", rng=np.random.default_rng(seed))
    exact = count <= n_resamples
    return PermutationResult(float(statistic(x, y)), float(result.pvalue), paired,
                             count if exact else n_resamples, exact)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values of a family (``multipletests(method="holm")``).

    Calling every comparison whose adjusted p is below alpha keeps the chance of any false call
    in the family at most alpha, whatever the dependence between the tests (Holm 1979).
    """
    from statsmodels.stats.multitest import multipletests

    if isinstance(pvalues, (str, bytes)) or not hasattr(pvalues, "__len__"):
        raise TypeError(f"pvalues must be a sequence of numbers, got {type(pvalues).__name__}")
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be a flat sequence, got shape {p.shape}")
    if len(p) == 0:
        return []
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"pvalues must lie in [0, 1], got {list(pvalues)!r}")
    return [float(v) for v in multipletests(p, alpha=0.05, method="holm")[1]]


# --- power ---------------------------------------------------------------------------------------


def _power_args(sd: object, power: object, alpha: object, paired: object) -> None:
    for name, value in (("sd", sd),):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not (0 < value < math.inf):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    for name, value in (("power", power), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not 0 < value < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    if not isinstance(paired, bool):
        raise TypeError(f"paired must be True or False, got {paired!r}")


def _solver(paired: bool):
    from statsmodels.stats.power import TTestIndPower, TTestPower

    return TTestPower() if paired else TTestIndPower()


def _check_effect(effect: object) -> float:
    if isinstance(effect, bool) or not isinstance(effect, (int, float)):
        raise TypeError(f"effect must be a number, got {effect!r}")
    if not (0 < effect < math.inf):
        raise ValueError(
            f"effect must be a positive finite number (the smallest difference that matters, in "
            f"the metric's units), got {effect!r}")
    return float(effect)


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer (seeds per arm, or pairs), got {n!r}")
    if n < 2:
        raise ValueError(f"n must be at least 2 (seeds per arm, or pairs), got {n}")
    return int(n)


def seeds_needed(
    effect: float, sd: float, *, power: float = 0.8, alpha: float = 0.05, paired: bool = True
) -> int:
    """Seeds (pairs when ``paired``, else per arm) to detect ``effect`` with probability ``power``.

    ``sd`` is the SD of the per-seed differences (paired) or of one arm's values (unpaired), in
    the units of ``effect``. Two-sided test at level ``alpha``: the one-sample t-test on the
    differences (``TTestPower``) or the two-sample t-test with equal arms (``TTestIndPower``),
    solved exactly with the noncentral t distribution and rounded up; at least 2. For example,
    an effect of half an SD, paired, needs 34 pairs for 80 % power at alpha 0.05.
    """
    effect = _check_effect(effect)
    _power_args(sd, power, alpha, paired)
    n = _solver(paired).solve_power(effect_size=effect / sd, power=power, alpha=alpha,
                                    alternative="two-sided")
    return max(2, math.ceil(float(np.squeeze(n)) - 1e-9))


def power_of(
    n: int, effect: float, sd: float, *, alpha: float = 0.05, paired: bool = True
) -> float:
    """The power of a design with ``n`` seeds (pairs, or per arm): P(two-sided p < alpha).

    The probability that the t-test calls a true difference ``effect`` clear, when the per-seed
    differences (paired) or each arm's values (unpaired) have SD ``sd``.
    """
    n = _check_n(n)
    effect = _check_effect(effect)
    _power_args(sd, 0.5, alpha, paired)
    sizes = {"nobs" if paired else "nobs1": n}
    return float(np.squeeze(_solver(paired).power(effect_size=effect / sd, alpha=alpha,
                                                  alternative="two-sided", **sizes)))


def minimum_detectable_effect(
    n: int, sd: float, *, power: float = 0.8, alpha: float = 0.05, paired: bool = True
) -> float:
    """The smallest true effect a design with ``n`` seeds detects with probability ``power``.

    In the units of ``sd`` (the SD of the per-seed differences when paired, of one arm's values
    otherwise). A verdict "not distinguishable" from such a design means the effect is probably
    smaller than this, not that it is zero.
    """
    n = _check_n(n)
    _power_args(sd, power, alpha, paired)
    sizes = {"nobs" if paired else "nobs1": n}
    size = _solver(paired).solve_power(effect_size=None, power=power, alpha=alpha,
                                       alternative="two-sided", **sizes)
    return float(np.squeeze(size)) * float(sd)


# --- the analysis of an experiment's result file --------------------------------------------------


@dataclass(frozen=True)
class AnalysisRow:
    """One comparison of an experiment's family: the effect of ``arm`` over ``baseline``."""

    task: str
    arm: str
    baseline: str
    role: str  # "prediction", "control" or "question"
    metric: str
    paired: bool
    n_arm: int
    n_baseline: int
    mean_arm: float
    mean_baseline: float
    effect: float  # mean(arm) - mean(baseline), metric units
    ci_low: float
    ci_high: float
    interval_level: float  # 1 - (1 - level) / m: Bonferroni over the family of m comparisons
    test: str  # "paired t", "welch" or "permutation (paired)" / "permutation"
    p: float
    p_holm: float
    mde: float  # minimum detectable effect at this n and the observed SD, family alpha, power
    effect_of_interest: float
    verdict: str  # "higher", "lower", "equivalent" or "inconclusive" (see analyse)

    @property
    def equivalent(self) -> bool:
        """The interval lies inside ±effect_of_interest (true also for some "higher"/"lower")."""
        return -self.effect_of_interest < self.ci_low and self.ci_high < self.effect_of_interest

    @property
    def outcome(self) -> str | None:
        """"held", "failed" or "unsettled" for a prediction (arm higher) or a control (no
        effect: equivalent); None for a question."""
        if self.role == "question":
            return None
        if self.verdict == "inconclusive":
            return "unsettled"
        wanted = "higher" if self.role == "prediction" else "equivalent"
        return "held" if self.verdict == wanted else "failed"


_COLUMNS = (("task", "{}"), ("arm", "{}"), ("baseline", "{}"), ("role", "{}"), ("n_arm", "{}"),
            ("effect", "{:+.4g}"), ("ci_low", "{:+.4g}"), ("ci_high", "{:+.4g}"), ("test", "{}"),
            ("p", "{:.2g}"), ("p_holm", "{:.2g}"), ("mde", "{:.3g}"), ("verdict", "{}"))


class Analysis:
    """The rows of :func:`analyse`, one per comparison; indexable by position or (task, arm[,
    baseline]); displays as a table in Jupyter."""

    def __init__(self, rows: Sequence[AnalysisRow], *, level: float) -> None:
        self.rows = tuple(rows)
        self.level = level

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key: int | tuple[str, ...]) -> AnalysisRow:
        if isinstance(key, int):
            return self.rows[key]
        if not isinstance(key, tuple) or len(key) not in (2, 3):
            raise TypeError(f"index by position or (task, arm[, baseline]), got {key!r}")
        found = [r for r in self.rows if (r.task, r.arm, r.baseline)[: len(key)] == key]
        if len(found) != 1:
            known = [(r.task, r.arm, r.baseline) for r in self.rows]
            what = "no comparison" if not found else "several comparisons"
            raise KeyError(f"{what} {key!r} in this analysis; it has {known}")
        return found[0]

    def frame(self) -> list[dict]:
        """The rows as dicts (e.g. for ``pandas.DataFrame``)."""
        return [dict(vars(r), equivalent=r.equivalent, outcome=r.outcome) for r in self.rows]

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        pct = f"{100 * self.level:g} %"
        header = [name if name not in ("ci_low", "ci_high") else f"{name} ({pct} family)"
                  for name, _ in _COLUMNS]
        body = [[fmt.format(getattr(r, name)) for name, fmt in _COLUMNS] for r in self.rows]
        return header, body

    def __repr__(self) -> str:
        header, body = self._cells()
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h)
                  for i, h in enumerate(header)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                 for line in [header, *body]]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        header, body = self._cells()
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        header, body = self._cells()
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in body)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _field(obj: object, name: str):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def analyse(results, comparisons=None, *, level: float = 0.95, test: str | None = None) -> Analysis:
    """Analyse the family of comparisons of an experiment's results, verdicts from intervals.

    ``results`` is a :class:`~attn_lessons.experiments.results.Results` (from ``load_results``):
    its design gives the comparisons, whether arms are paired by seed, the primary metric, the
    effect of interest and the power. ``comparisons`` replaces the design's family (a sequence of
    ``attn_lessons.experiments.Comparison`` or of dicts with the same keys). For each of the
    ``m`` comparisons: the effect ``mean(arm) - mean(baseline)`` on the primary metric, its
    interval at the Bonferroni level ``1 - (1 - level)/m`` from the paired t (paired designs) or
    Welch's t, the p-value of the comparison's test (``"t"``: that t-test; ``"permutation"``:
    :func:`permutation`; ``test=`` overrides every comparison's), Holm's adjusted p over the
    family, and the minimum detectable effect at the run's n, the observed SD, the design's power
    and the family alpha. The verdict comes from the interval, never from a p-value alone:

    - ``"higher"`` / ``"lower"``: the interval excludes 0 (arm above / below baseline);
    - ``"equivalent"``: the interval lies inside ``±effect_of_interest``;
    - ``"inconclusive"``: neither; the design could only have detected effects of about ``mde``.

    An interval that excludes 0 at the Bonferroni level agrees with a Holm call at the family
    level (Holm calls at least what Bonferroni calls). The interval is always the t interval,
    also for a ``"permutation"`` comparison, whose p-value may then disagree with it (a bimodal
    outcome): report both, and the failure rates, in the text.
    """
    level = _level(level)
    design = results.design
    chosen = design["comparisons"] if comparisons is None else list(comparisons)
    if not chosen:
        raise ValueError(f"experiment {design['name']!r} declares no comparisons to analyse")
    if test is not None and test not in ("t", "permutation"):
        raise ValueError(f"test must be 't', 'permutation' or None, got {test!r}")
    is_paired = bool(design["paired"])
    metric = design["primary_metric"]
    m = len(chosen)
    family_level = 1 - (1 - level) / m
    family_alpha = (1 - level) / m
    rows, pvalues = [], []
    for c in chosen:
        task, arm, baseline = _field(c, "task"), _field(c, "arm"), _field(c, "baseline")
        role = _field(c, "role")
        kind = test or (_field(c, "test") if _has(c, "test") else "t")
        a, b = results.values(task, arm, metric), results.values(task, baseline, metric)
        t_result = (paired if is_paired else welch)(a, b, level=family_level)
        if kind == "permutation":
            p = permutation(a, b, paired=is_paired).p
            name = "permutation (paired)" if is_paired else "permutation"
        else:
            p, name = t_result.p, t_result.test
        if is_paired:
            sd, n = t_result.sd_difference, t_result.n_a
        else:
            sd = math.sqrt((t_result.std_a**2 + t_result.std_b**2) / 2)
            n = min(t_result.n_a, t_result.n_b)
        mde = (minimum_detectable_effect(n, sd, power=float(design["power"]), alpha=family_alpha,
                                         paired=is_paired) if sd > 0 else 0.0)
        lo, hi = t_result.ci_low, t_result.ci_high
        eoi = float(design["effect_of_interest"])
        if lo > 0:
            verdict = "higher"
        elif hi < 0:
            verdict = "lower"
        elif -eoi < lo and hi < eoi:
            verdict = "equivalent"
        else:
            verdict = "inconclusive"
        pvalues.append(p)
        rows.append(dict(task=task, arm=arm, baseline=baseline, role=role, metric=metric,
                         paired=is_paired, n_arm=t_result.n_a, n_baseline=t_result.n_b,
                         mean_arm=t_result.mean_a, mean_baseline=t_result.mean_b,
                         effect=t_result.difference, ci_low=lo, ci_high=hi,
                         interval_level=family_level, test=name, p=p, mde=mde,
                         effect_of_interest=eoi, verdict=verdict))
    adjusted = holm(pvalues)
    return Analysis([AnalysisRow(p_holm=q, **row) for row, q in zip(rows, adjusted, strict=True)],
                    level=level)


def _has(obj: object, name: str) -> bool:
    return name in obj if isinstance(obj, dict) else hasattr(obj, name)
