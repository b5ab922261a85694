"""The machinery behind every code exercise: compare a reader's answer, never crash, give a hint.

A checker returns a :class:`Feedback`. It is truthy when the answer is right, and it prints as one
line, ``Correct: ...`` or ``Not yet: <hint>``, so a notebook cell that ends with a checker call
shows the verdict. Whatever the reader hands over (``None``, a string, a tensor of the wrong shape,
a function that raises) the checker answers with a hint instead of an exception.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

#: What a typical wrong answer looks like, and what to tell the reader who gives it.
WrongAnswer = tuple[Any, str]


@dataclass(frozen=True)
class Feedback:
    """The verdict of a checker: ``passed`` and a one-line ``message``."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return ("Correct: " if self.passed else "Not yet: ") + self.message

    __repr__ = __str__


def correct(message: str = "well done.") -> Feedback:
    return Feedback(True, message)


def not_yet(hint: str) -> Feedback:
    return Feedback(False, hint)


def _as_tensor(value: Any) -> torch.Tensor | None:
    """The answer as a float64 CPU tensor, or ``None`` when it cannot be one."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64)
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return torch.tensor(float(value), dtype=torch.float64)
    try:  # NumPy arrays and nested lists of numbers
        import numpy as np

        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return torch.from_numpy(array)


def _close(a: torch.Tensor, b: torch.Tensor, atol: float, rtol: float) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=atol, rtol=rtol))


def _missing_answer_hint(answer: Any, what: str) -> Feedback | None:
    if answer is None:
        return not_yet(
            f"{what} is None. Replace the `...` with your code, and check the function "
            "ends with `return`."
        )
    if answer is Ellipsis:
        return not_yet(f"{what} is still the placeholder `...`: write your answer in its place.")
    return None


def compare_tensor(
    answer: Any,
    expected: torch.Tensor,
    *,
    what: str = "your answer",
    atol: float = 1e-5,
    rtol: float = 1e-4,
    wrong_answers: Iterable[WrongAnswer] = (),
    success: str = "well done.",
) -> Feedback:
    """Compare ``answer`` with ``expected`` (a tensor) and explain any difference.

    ``wrong_answers`` lists tensors that typical mistakes produce, each with its hint; an answer
    equal to one of them gets that hint rather than a generic one.
    """
    missing = _missing_answer_hint(answer, what)
    if missing is not None:
        return missing
    got = _as_tensor(answer)
    if got is None:
        return not_yet(f"{what} should be a tensor, got a {type(answer).__name__}: {answer!r:.60}")
    want = expected.detach().to("cpu", torch.float64)
    if got.shape != want.shape:
        for wrong, hint in wrong_answers:
            w = _as_tensor(wrong)
            if w is not None and _close(got, w, atol, rtol):
                return not_yet(hint)
        return not_yet(
            f"{what} has shape {tuple(got.shape)} but should have shape {tuple(want.shape)}."
        )
    if not torch.isfinite(got).all():
        return not_yet(f"{what} contains NaN or infinite values.")
    if _close(got, want, atol, rtol):
        return correct(success)
    for wrong, hint in wrong_answers:
        w = _as_tensor(wrong)
        if w is not None and _close(got, w, atol, rtol):
            return not_yet(hint)
    err = (got - want).abs().max().item()
    return not_yet(f"{what} has the right shape but its values differ (largest error {err:.3g}).")


def compare_number(
    answer: Any,
    expected: float,
    *,
    what: str = "your answer",
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-9,
    integer: bool = False,
    wrong_answers: Iterable[WrongAnswer] = (),
    success: str = "well done.",
) -> Feedback:
    """Compare a number (a count, a kernel size, a probability) with the expected one."""
    missing = _missing_answer_hint(answer, what)
    if missing is not None:
        return missing
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        return not_yet(f"{what} should be a number, got a {type(answer).__name__}: {answer!r:.60}")
    if integer and not float(answer).is_integer():
        return not_yet(f"{what} should be a whole number, got {answer}.")
    if math.isclose(float(answer), float(expected), rel_tol=rel_tol, abs_tol=abs_tol):
        return correct(success)
    for wrong, hint in wrong_answers:
        if math.isclose(float(answer), float(wrong), rel_tol=rel_tol, abs_tol=abs_tol):
            return not_yet(hint)
    direction = "too large" if float(answer) > float(expected) else "too small"
    return not_yet(f"{what} = {answer} is {direction}.")


def compare_choice(
    answer: Any,
    expected: str,
    choices: Sequence[str],
    *,
    what: str = "your answer",
    hints: dict[str, str] | None = None,
    success: str = "well done.",
) -> Feedback:
    """Compare a multiple-choice answer (a string among ``choices``, case-insensitive)."""
    missing = _missing_answer_hint(answer, what)
    if missing is not None:
        return missing
    if not isinstance(answer, str) or answer.strip().lower() not in [c.lower() for c in choices]:
        return not_yet(f"{what} should be one of {list(choices)}, got {answer!r:.60}.")
    answer = answer.strip().lower()
    if answer == expected.lower():
        return correct(success)
    hint = (hints or {}).get(answer)
    return not_yet(hint or f"{answer!r} is not it; think again about the options.")


def check_function(
    fn: Any,
    reference: Callable[..., Any],
    cases: Sequence[tuple[Any, ...]],
    *,
    what: str = "your function",
    atol: float = 1e-5,
    rtol: float = 1e-4,
    wrong_functions: Iterable[tuple[Callable[..., Any], str]] = (),
    success: str = "well done.",
) -> Feedback:
    """Run the reader's ``fn`` on each case and compare it with ``reference``.

    ``wrong_functions`` are implementations of typical mistakes (sum instead of mean, the wrong
    axis, a missing scale); when the reader's output matches one, its hint is given.
    An exception raised by ``fn`` is caught and reported, never propagated.
    """
    missing = _missing_answer_hint(fn, what)
    if missing is not None:
        return missing
    if not callable(fn):
        return not_yet(f"{what} should be a function, got a {type(fn).__name__}: {fn!r:.60}")
    wrong_functions = list(wrong_functions)
    for i, args in enumerate(cases):
        try:
            got = fn(*args)
        except Exception as exc:
            return not_yet(f"{what} raised {type(exc).__name__}: {exc} (on test case {i + 1}).")
        want = reference(*args)
        wrong_answers = []
        for wrong_fn, hint in wrong_functions:
            try:
                wrong_answers.append((wrong_fn(*args), hint))
            except Exception:
                continue
        if isinstance(want, torch.Tensor):
            verdict = compare_tensor(
                got, want, what=f"the output on test case {i + 1}", atol=atol, rtol=rtol,
                wrong_answers=wrong_answers,
            )
        else:
            verdict = compare_number(
                got, want, what=f"the output on test case {i + 1}", rel_tol=rtol, abs_tol=atol,
                wrong_answers=wrong_answers,
            )
        if not verdict:
            if got is None:
                return not_yet(f"{what} returned None: does it end with `return`?")
            return verdict
    return correct(success)
