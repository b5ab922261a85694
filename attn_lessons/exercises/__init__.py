"""Checkers for the book's code exercises.

The generic machinery lives in :mod:`attn_lessons.exercises._core`; each chapter has a module of
checkers named after it (``attn_lessons.exercises.preface``, ...). A checker takes the reader's
answer (a value or a function), never raises, and returns a :class:`Feedback` that prints as
``Correct: ...`` or ``Not yet: <hint>``.
"""

from ._core import (
    Feedback,
    Forbidden,
    Vectorised,
    as_bool,
    as_float64,
    autograd_forbidden,
    call,
    call_watched,
    check_function,
    compare_choice,
    compare_number,
    compare_tensor,
    copy_args,
    correct,
    not_yet,
    safe_repr,
    tolerance,
    too_coarse,
)

__all__ = [
    "Feedback",
    "Forbidden",
    "Vectorised",
    "as_bool",
    "as_float64",
    "autograd_forbidden",
    "call",
    "call_watched",
    "check_function",
    "compare_choice",
    "compare_number",
    "compare_tensor",
    "copy_args",
    "correct",
    "not_yet",
    "safe_repr",
    "tolerance",
    "too_coarse",
]
