"""An experiment's design, declared before it runs: arms, seeds, and the power it was sized for.

An :class:`Experiment` names what is run (the ``(task, arm)`` cells, each with every seed), how
(``runner``, a function ``run_one(arm, task, seed, settings) -> {metric: value}``), and what is
compared (the :class:`Comparison` family, corrected together). Its number of seeds is fixed in
advance by a power calculation (:func:`seeds_required`) from the smallest effect the text cares
about (``effect_of_interest``) and the spread assumed (``sd_assumed``), each with its source.
Where that number is out of reach, ``note`` says so and the design reports what it can detect
(:func:`minimum_detectable_effect`).

Every field is checked when an Experiment is made; a bad value raises a ``TypeError`` or
``ValueError`` naming the field and the value.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .. import stats

__all__ = [
    "ROLES",
    "TESTS",
    "Comparison",
    "Experiment",
    "gpu_configuration",
    "minimum_detectable_effect",
    "seeds_required",
]

#: A comparison's role: the text predicts arm > baseline; a negative control (no effect predicted,
#: judged against the equivalence band ±effect_of_interest); or a question with no prediction.
ROLES = ("prediction", "control", "question")
#: The test behind a comparison's p-value: the t-test (paired or Welch, as the design is) or a
#: permutation test (for bounded or bimodal outcomes).
TESTS = ("t", "permutation")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RUNNER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def _text(owner: str, name: str, value: object, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{owner}.{name} must be a string, got {value!r} of type "
                        f"{type(value).__name__}")
    if not empty and not value.strip():
        raise ValueError(f"{owner}.{name} must not be empty, got {value!r}")
    return value


def _number(owner: str, name: str, value: object, *, low: float, high: float = math.inf,
            closed_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}.{name} must be a number, got {value!r}")
    value = float(value)
    ok_low = value >= low if closed_low else value > low
    if not (ok_low and value < high and math.isfinite(value)):
        bound = f"{'>=' if closed_low else '>'} {low:g}" + (f" and < {high:g}"
                                                            if high != math.inf else "")
        raise ValueError(f"{owner}.{name} must be a finite number {bound}, got {value!r}")
    return value


def _strings(owner: str, name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{owner}.{name} must be a tuple of strings, got {value!r}")
    out = tuple(value)
    if not out:
        raise ValueError(f"{owner}.{name} must not be empty")
    for item in out:
        _text(owner, f"{name} item", item)
    if len(set(out)) != len(out):
        raise ValueError(f"{owner}.{name} has duplicates: {list(out)!r}")
    return out


@dataclass(frozen=True)
class Comparison:
    """One comparison of a family: the effect ``metric(arm) - metric(baseline)`` on ``task``.

    ``role`` is ``"prediction"`` (the text predicts arm > baseline), ``"control"`` (a negative
    control: no effect predicted, judged against ±effect_of_interest) or ``"question"`` (no
    prediction: estimate and report). ``test`` picks the p-value's test: ``"t"`` (paired t or
    Welch, as the design is paired or not) or ``"permutation"`` for bounded or bimodal outcomes.
    """

    task: str
    arm: str
    baseline: str
    role: str
    test: str = "t"

    def __post_init__(self) -> None:
        for name in ("task", "arm", "baseline"):
            _text("Comparison", name, getattr(self, name))
        if self.role not in ROLES:
            raise ValueError(f"Comparison.role must be one of {list(ROLES)}, got {self.role!r}")
        if self.test not in TESTS:
            raise ValueError(f"Comparison.test must be one of {list(TESTS)}, got {self.test!r}")
        if self.arm == self.baseline:
            raise ValueError(f"Comparison compares arm {self.arm!r} with itself on {self.task!r}")

    def to_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Experiment:
    """A declared experiment: what runs, what is compared, and why this many seeds.

    See the module docstring and ``CONTRIBUTING.md`` ("How to add an experiment"). ``settings``
    is stored as its JSON round trip (tuples become lists), so a run in this process sees exactly
    the settings a re-run from the result file sees.
    """

    name: str
    chapter: str
    question: str
    runner: str
    cells: tuple[tuple[str, str], ...]
    settings: Mapping[str, Any]
    metrics: tuple[str, ...]
    primary_metric: str
    seeds: tuple[int, ...]
    paired: bool
    comparisons: tuple[Comparison, ...]
    effect_of_interest: float
    effect_source: str
    sd_assumed: float
    sd_source: str
    power: float = 0.8
    alpha: float = 0.05
    min_seeds: int = 20
    note: str = ""

    def __post_init__(self) -> None:
        own = "Experiment"
        set_ = object.__setattr__
        _text(own, "name", self.name)
        if not _NAME.match(self.name):
            raise ValueError(f"Experiment.name must be lower-case letters, digits and '_' (it "
                             f"names the result file), got {self.name!r}")
        own = f"Experiment {self.name!r}"
        for name in ("chapter", "question", "effect_source", "sd_source"):
            _text(own, name, getattr(self, name))
        _text(own, "note", self.note, empty=True)
        _text(own, "runner", self.runner)
        if not _RUNNER.match(self.runner):
            raise ValueError(f"{own}: runner must be 'package.module:function', got "
                             f"{self.runner!r}")
        # cells: a non-empty tuple of distinct (task, arm) pairs of strings
        if isinstance(self.cells, (str, bytes)) or not isinstance(self.cells, (list, tuple)):
            raise TypeError(f"{own}: cells must be a tuple of (task, arm) pairs, got "
                            f"{self.cells!r}")
        cells = []
        for cell in self.cells:
            if (isinstance(cell, (str, bytes)) or not isinstance(cell, (list, tuple))
                    or len(cell) != 2 or not all(isinstance(x, str) and x for x in cell)):
                raise TypeError(f"{own}: each cell must be a (task, arm) pair of names, got "
                                f"{cell!r}")
            cells.append((cell[0], cell[1]))
        if not cells:
            raise ValueError(f"{own}: cells must not be empty")
        if len(set(cells)) != len(cells):
            raise ValueError(f"{own}: cells has duplicates: {cells!r}")
        set_(self, "cells", tuple(cells))
        # settings: JSON-able, stored as its JSON round trip
        if not isinstance(self.settings, Mapping):
            raise TypeError(f"{own}: settings must be a mapping (JSON object), got "
                            f"{type(self.settings).__name__}")
        try:
            text = json.dumps(dict(self.settings), allow_nan=False, sort_keys=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{own}: settings must be JSON-able (numbers, strings, lists, "
                             f"dicts): {error}") from None
        set_(self, "settings", json.loads(text))
        set_(self, "metrics", _strings(own, "metrics", self.metrics))
        _text(own, "primary_metric", self.primary_metric)
        if self.primary_metric not in self.metrics:
            raise ValueError(f"{own}: primary_metric {self.primary_metric!r} is not one of the "
                             f"metrics {list(self.metrics)}")
        # seeds: distinct non-negative integers
        if isinstance(self.seeds, (str, bytes)) or not isinstance(self.seeds, (list, tuple)):
            raise TypeError(f"{own}: seeds must be a tuple of integers, got {self.seeds!r}")
        for seed in self.seeds:
            if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
                raise ValueError(f"{own}: seeds must be non-negative integers, got {seed!r}")
        set_(self, "seeds", tuple(int(s) for s in self.seeds))
        if len(self.seeds) < 2:
            raise ValueError(f"{own}: seeds needs at least 2 seeds (one run has no spread), got "
                             f"{list(self.seeds)}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"{own}: seeds must be distinct, got {list(self.seeds)}")
        if not isinstance(self.paired, bool):
            raise TypeError(f"{own}: paired must be True or False, got {self.paired!r}")
        # comparisons: Comparison objects (or their dicts) over declared cells
        if isinstance(self.comparisons, (str, bytes, Mapping)) or not isinstance(
                self.comparisons, (list, tuple)):
            raise TypeError(f"{own}: comparisons must be a tuple of Comparison, got "
                            f"{self.comparisons!r}")
        comparisons = []
        for c in self.comparisons:
            if isinstance(c, Mapping):
                c = Comparison(**c)
            if not isinstance(c, Comparison):
                raise TypeError(f"{own}: comparisons must be Comparison objects, got {c!r}")
            for arm in (c.arm, c.baseline):
                if (c.task, arm) not in self.cells:
                    raise ValueError(f"{own}: comparison {c.arm!r} - {c.baseline!r} on "
                                     f"{c.task!r} needs the cell ({c.task!r}, {arm!r}), which is "
                                     f"not in cells")
            comparisons.append(c)
        keys = [(c.task, c.arm, c.baseline) for c in comparisons]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{own}: comparisons has duplicates: {keys!r}")
        set_(self, "comparisons", tuple(comparisons))
        set_(self, "effect_of_interest",
             _number(own, "effect_of_interest", self.effect_of_interest, low=0))
        set_(self, "sd_assumed", _number(own, "sd_assumed", self.sd_assumed, low=0))
        set_(self, "power", _number(own, "power", self.power, low=0, high=1))
        set_(self, "alpha", _number(own, "alpha", self.alpha, low=0, high=1))
        if (isinstance(self.min_seeds, bool) or not isinstance(self.min_seeds, numbers.Integral)
                or self.min_seeds < 2):
            raise ValueError(f"{own}: min_seeds must be an integer >= 2, got {self.min_seeds!r}")
        set_(self, "min_seeds", int(self.min_seeds))
        required = seeds_required(self)
        if len(self.seeds) < required and not self.note.strip():
            raise ValueError(
                f"{own} has {len(self.seeds)} seeds but needs {required} for "
                f"{self.power:.0%} power at effect {self.effect_of_interest:g} with SD "
                f"{self.sd_assumed:g} (alpha {self.alpha:g} over {self.family_size} "
                f"comparison(s)); add seeds, or explain the budget cap in note (the design then "
                f"reports its minimum detectable effect, "
                f"{minimum_detectable_effect(self):.3g})")

    @property
    def family_size(self) -> int:
        """The number of comparisons corrected together (at least 1 for sizing)."""
        return max(1, len(self.comparisons))

    @property
    def runs(self) -> int:
        """The number of runs: every cell with every seed."""
        return len(self.cells) * len(self.seeds)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-able, plus ``seeds_required`` and ``minimum_detectable_effect``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "cells":
                value = [list(cell) for cell in value]
            elif f.name == "comparisons":
                value = [c.to_dict() for c in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        out["seeds_required"] = seeds_required(self)
        out["minimum_detectable_effect"] = minimum_detectable_effect(self)
        return out

    @classmethod
    def from_dict(cls, design: Mapping[str, Any]) -> Experiment:
        """The Experiment a result file's ``design`` describes (validated like a declared one).

        The computed keys ``seeds_required`` and ``minimum_detectable_effect`` are ignored here;
        :func:`attn_lessons.experiments.validate` checks them against a recomputation.
        """
        missing = [name for name in field_names() if name not in design]
        if missing:
            raise ValueError(f"the design lacks the field(s) {missing}")
        return cls(**{name: design[name] for name in field_names()})


def field_names() -> tuple[str, ...]:
    """The names of an Experiment's fields, in order (what a result file's design holds)."""
    return tuple(f.name for f in fields(Experiment))


def seeds_required(exp: Experiment) -> int:
    """Seeds per arm for ``exp.power`` at ``exp.effect_of_interest`` given ``exp.sd_assumed``.

    Two-sided t-test at ``exp.alpha / m`` for a family of ``m`` comparisons (Bonferroni: a little
    conservative for the Holm correction the analysis uses), paired (one-sample t on the per-seed
    differences, ``sd_assumed`` their SD) or not (two samples, ``sd_assumed`` one arm's SD), with
    ``statsmodels.stats.power``; rounded up, and at least ``exp.min_seeds``.
    """
    needed = stats.seeds_needed(exp.effect_of_interest, exp.sd_assumed, power=exp.power,
                                alpha=exp.alpha / exp.family_size, paired=exp.paired)
    return max(needed, exp.min_seeds)


def minimum_detectable_effect(exp: Experiment, n: int | None = None) -> float:
    """The smallest effect ``exp`` detects with ``exp.power`` at ``n`` seeds (default: its own).

    Same test and family alpha as :func:`seeds_required`, with ``sd_assumed``; in metric units.
    """
    n = len(exp.seeds) if n is None else n
    return stats.minimum_detectable_effect(n, exp.sd_assumed, power=exp.power,
                                           alpha=exp.alpha / exp.family_size, paired=exp.paired)


def gpu_configuration(exp: Experiment, device: str = "cuda") -> Experiment:
    """The larger design of ``exp`` for a machine with a GPU: every seed its power calculation asks.

    An experiment whose seeds the CPU budget capped (``note``) gets the seeds
    :func:`seeds_required` asks for, continuing its own seeds (its first ``len(exp.seeds)`` runs
    are the book's), and loses the cap's note; one sized in full keeps its seeds. ``settings``
    gains ``"device": device``, which every chapter runner honours. Same name, cells, metrics and
    comparisons, so the same analysis reads either result file; a GPU's records differ from the
    CPU's in the last bits, so ``check_reruns`` prints those differences instead of asserting.
    """
    if not isinstance(exp, Experiment):
        raise TypeError(f"exp must be an Experiment, got {type(exp).__name__}")
    if not isinstance(device, str) or not device.strip():
        raise ValueError(f"device must be a device name such as 'cuda', got {device!r}")
    seeds = list(exp.seeds)
    needed = seeds_required(exp)
    candidate = max(seeds) + 1
    while len(seeds) < needed:
        if candidate not in exp.seeds:
            seeds.append(candidate)
        candidate += 1
    note = exp.note if len(seeds) < needed else ""
    return replace(exp, seeds=tuple(seeds), note=note, settings={**exp.settings, "device": device})
