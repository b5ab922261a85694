"""Checkers for the book's code exercises.

The generic machinery lives in :mod:`attn_lessons.exercises._core`; each chapter has a module of
checkers named after it (``attn_lessons.exercises.preface``, ...). A checker takes the reader's
answer (a value or a function), never raises, and returns a :class:`Feedback` that prints as
``Correct: ...`` or ``Not yet: <hint>``.

The checkers answer in the reader's language (:mod:`attn_lessons.exercises._messages`): English,
or Chinese (``正确：...`` / ``还不对：<提示>``) in the Chinese notebooks, which set the environment
variable ``ATTN_LESSONS_LANGUAGE``; ``set_language("zh_CN")`` (or ``"en"``) chooses by hand.
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
from ._messages import get_language, set_language

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
    "get_language",
    "not_yet",
    "safe_repr",
    "set_language",
    "tolerance",
    "too_coarse",
]
