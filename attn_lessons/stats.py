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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy_stats

__all__ = ["Comparison", "false_positive_rate", "two_se_rule", "welch"]


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
    """Welch's comparison of ``a`` against ``b``: the difference of means ``a - b``, its tests."""

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

    @property
    def clear(self) -> bool:
        """The book's verdict: the difference is clear when Welch's two-sided p < 0.05."""
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
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    x, y = _values("a", a), _values("b", b)
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
    Welch's test is conservative for equal spreads).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (seeds per variant), got {n!r}")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
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
