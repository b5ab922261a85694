"""Checks every exercise checker's tests make the same way, written once.

Each test file states what is particular to its checker (its reference, its cases, the right
answers written several ways, its modelled mistakes); what every checker must also do is here:
pass a right answer, give each modelled mistake its own hint, and answer "Not yet" to a wrong
answer, one that raises, a missing one (``...``) or one that is not a function, without raising.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Checker = Callable[[Any], Any]


def assert_passes(check: Checker, answer: Any) -> None:
    """``check(answer)`` passes (its message is the assertion's, when it does not)."""
    verdict = check(answer)
    assert verdict, str(verdict)


def assert_named(check: Checker, mistake: Callable[..., Any], hint: str) -> None:
    """``check(mistake)`` does not pass, and its message is the mistake's own ``hint``."""
    verdict = check(mistake)
    assert not verdict
    assert verdict.message == hint


def assert_refused_without_raising(check: Checker, answers: Iterable[Any]) -> None:
    """Each of ``answers`` gets "Not yet" from ``check``, and none makes it raise."""
    for answer in answers:
        assert not check(answer), answer
