"""Every checker of every chapter, found by discovery: none crashes on a malformed answer.

The chapter test files check each checker's hints; this file makes the promise of the exercise
mechanism hold for any checker added later: whatever the reader hands over, the answer is a
``Feedback`` saying "Not yet", never an exception.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import torch

import attn_lessons.exercises as exercises
from attn_lessons.exercises import Feedback


def _checkers():
    found = []
    for info in pkgutil.iter_modules(exercises.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{exercises.__name__}.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("check_") and fn.__module__ == module.__name__:
                found.append(pytest.param(fn, id=f"{info.name}.{name}"))
    return found


def _returns_none(*args):
    return None


def _raises(*args):
    raise RuntimeError("the reader's bug")


def _returns_string(*args):
    return "an answer"


def _returns_wrong_shape(*args):
    return torch.zeros(7, 3, 5)


def _returns_small_matrix(*args):
    return torch.zeros(2, 2)


MALFORMED = [None, ..., "a string", 3, True, [1, 2], object(), torch.zeros(2, 2), float("nan"),
             _returns_none, _raises, _returns_string, _returns_wrong_shape, _returns_small_matrix]
MALFORMED_IDS = ["None", "Ellipsis", "str", "int", "bool", "list", "object", "tensor", "nan",
                 "fn->None", "fn raises", "fn->str", "fn->wrong shape", "fn->2x2"]

CHECKERS = _checkers()


def test_every_chapter_has_checkers():
    modules = {p.id.split(".")[0] for p in CHECKERS}
    assert {"preface", "similarity", "se", "eca", "cbam", "coordatt", "self_attention",
            "networks"} <= modules


@pytest.mark.parametrize("answer", MALFORMED, ids=MALFORMED_IDS)
@pytest.mark.parametrize("checker", CHECKERS)
def test_a_malformed_answer_gets_not_yet_never_an_exception(checker, answer):
    verdict = checker(answer)
    assert isinstance(verdict, Feedback)
    assert not verdict
    assert str(verdict).startswith("Not yet: ") and len(verdict.message) > 10
