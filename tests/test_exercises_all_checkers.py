"""Every checker of every chapter, found by discovery: none crashes on a malformed answer.

The chapter test files check each checker's hints; this file makes the promise of the exercise
mechanism hold for any checker added later: whatever the reader hands over, the answer is a
``Feedback`` saying "Not yet", never an exception.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
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


class _BadRepr:
    """An object whose repr and str fail, and which is neither a number nor an array."""

    def __repr__(self):
        raise RuntimeError("repr fails")

    __str__ = __repr__


class _BadArray:
    """Claims to be array-like, then fails."""

    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array for you")

    def __len__(self):
        raise RuntimeError("no length either")


class _BadException(Exception):
    def __str__(self):
        raise RuntimeError("str of the exception fails")


def _meta(*args):
    return torch.zeros(4, 4, device="meta")


def _complex(*args):
    return torch.zeros(2, 2, dtype=torch.complex64)


def _huge(*args):
    return torch.zeros(1).expand(10**9)  # a billion elements, no memory: refused by shape


def _overflow(*args):
    return 10**400  # a `**` typo


def _bad_repr(*args):
    return _BadRepr()


def _bad_array(*args):
    return _BadArray()


def _raises_bad_exception(*args):
    raise _BadException()


def _exits(*args):
    raise SystemExit(1)


def _grad_list(*args):
    return [torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)]


def _nan_inputs(*args):
    for a in args:
        if isinstance(a, torch.Tensor) and a.is_floating_point():
            a.fill_(float("nan"))
    return args[0] if args else None


def _returns_generator(*args):
    return (x for x in range(3))


def _returns_true_tensor(*args):
    return torch.tensor(True)


def _returns_inf(*args):
    return float("inf")


def _returns_dict(*args):
    return {"answer": 1}


def _returns_object_array(*args):
    return np.array([object(), object()], dtype=object)


def _returns_ragged(*args):
    return [[1.0, 2.0], [3.0]]


def _returns_deep(*args):
    x = [1.0]
    for _ in range(50):
        x = [x]
    return x


def _returns_self_list(*args):
    x = []
    x.append(x)
    return x


MALFORMED = {
    "None": None, "Ellipsis": ..., "str": "a string", "int": 3, "bool": True, "list": [1, 2],
    "object": object(), "tensor": torch.zeros(2, 2), "nan": float("nan"),
    "complex": 1 + 2j, "huge int": 10**400, "bad repr": _BadRepr(), "bad array": _BadArray(),
    "meta tensor": torch.zeros(3, device="meta"),
    "fn->None": _returns_none, "fn raises": _raises, "fn->str": _returns_string,
    "fn->wrong shape": _returns_wrong_shape, "fn->2x2": _returns_small_matrix,
    "fn->meta": _meta, "fn->complex": _complex, "fn->huge": _huge, "fn->10**400": _overflow,
    "fn->bad repr": _bad_repr, "fn->bad array": _bad_array,
    "fn raises, bad str": _raises_bad_exception, "fn exits": _exits,
    "fn->grad list": _grad_list, "fn NaNs its inputs": _nan_inputs,
    "fn->generator": _returns_generator, "fn->tensor(True)": _returns_true_tensor,
    "fn->inf": _returns_inf, "fn->dict": _returns_dict, "fn->object array": _returns_object_array,
    "fn->ragged": _returns_ragged, "fn->deep list": _returns_deep,
    "fn->self list": _returns_self_list,
}
MALFORMED_IDS = list(MALFORMED)

CHECKERS = _checkers()


def test_every_chapter_has_checkers():
    modules = {p.id.split(".")[0] for p in CHECKERS}
    assert {"preface", "similarity", "se", "eca", "cbam", "coordatt", "self_attention",
            "networks"} <= modules


@pytest.mark.parametrize("answer", list(MALFORMED.values()), ids=MALFORMED_IDS)
@pytest.mark.parametrize("checker", CHECKERS)
def test_a_malformed_answer_gets_not_yet_never_an_exception(checker, answer):
    verdict = checker(answer)
    assert isinstance(verdict, Feedback)
    assert not verdict
    assert str(verdict).startswith("Not yet: ") and len(verdict.message) > 10
