"""No exercise notebook imports a function that solves one of its exercises.

A lab that has ``se_num_params`` in scope cannot ask its reader to count an SE block's parameters:
the answer is one import away. For every notebook with exercise cells, this test collects

- the library functions the notebook imports (``from attn_lessons.x import f``, a module imported
  whole counts with every function it defines), and
- the library functions each imported checker uses as its reference: the ``reference`` that the
  checker hands to ``check_function`` is captured and run on the checker's own cases under
  ``sys.setprofile``, and every function of ``attn_lessons`` (outside ``attn_lessons.exercises``)
  that it calls is recorded;

and fails if the two sets meet. Checkers that do not go through ``check_function`` compute their
answer with NumPy, SciPy or ``statistics``; the library functions that solve them anyway are
listed in ``LIBRARY_SOLUTIONS``, and a test checks that each listed function really passes its
checker (so the list cannot claim more than is true).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import sys
import types
from pathlib import Path

import pytest

import attn_lessons

from .conftest import BOOK

LIBRARY = Path(attn_lessons.__file__).resolve().parent
EXERCISES = LIBRARY / "exercises"

#: Library functions that solve a checker without being its reference (the checker computes its
#: answer another way): importing them in the exercise's notebook gives the answer away too.
LIBRARY_SOLUTIONS: dict = {
}

#: Notebooks that other branches of issue 26 are rewriting, and that still import a solution.
#: Each mark is strict: once the notebook is fixed the test passes, the mark fails, and it must go.
PENDING = {
}


def _code_sources(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
            and "colab-install" not in c.get("metadata", {}).get("tags", [])]


def _has_exercises(nb: dict) -> bool:
    return any("exercise" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])


EXERCISE_NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb")
                            if "_build" not in p.parts
                            and _has_exercises(json.loads(p.read_text())))


def _imported(nb: dict) -> tuple[dict[str, object], list[object]]:
    """``({qualified name: library object}, [checker functions])`` imported by a notebook."""
    library, checkers = {}, []
    for source in _code_sources(nb):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("attn_lessons"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    try:
                        obj = getattr(module, alias.name)
                    except AttributeError:  # a submodule: from attn_lessons import checkpoints
                        obj = importlib.import_module(f"{node.module}.{alias.name}")
                    if node.module.startswith("attn_lessons.exercises"):
                        checkers.append(obj)
                    else:
                        library[f"{node.module}.{alias.name}"] = obj
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("attn_lessons") and "exercises" not in alias.name:
                        library[alias.name] = importlib.import_module(alias.name)
    return library, [c for c in checkers if callable(c) and c.__name__.startswith("check_")]


def _codes(obj: object) -> dict[types.CodeType, str]:
    """The code objects of a library function, of a class's methods, or of a module's functions."""
    if isinstance(obj, types.ModuleType):
        members = [m for _, m in inspect.getmembers(obj, inspect.isfunction)
                   if m.__module__ == obj.__name__]
    elif inspect.isclass(obj):
        members = [m for m in vars(obj).values() if inspect.isfunction(m)]
    elif inspect.isfunction(obj):
        members = [obj]
    else:
        return {}
    return {inspect.unwrap(m).__code__: f"{m.__module__}.{m.__qualname__}" for m in members}


class _Captured(Exception):
    pass


def _reference_and_cases(checker):
    """The ``reference`` and ``cases`` a checker passes to ``check_function`` (or ``None``)."""
    module = sys.modules[checker.__module__]
    if not hasattr(module, "check_function"):
        return None
    seen = {}

    def spy(fn, reference, cases, **kwargs):
        seen.update(reference=reference, cases=list(cases))
        raise _Captured

    original = module.check_function
    module.check_function = spy
    try:
        checker(lambda *args: None)
    except _Captured:
        pass
    finally:
        module.check_function = original
    return (seen["reference"], seen["cases"]) if seen else None


def _library_calls(checker) -> set[types.CodeType]:
    """Code objects of the ``attn_lessons`` functions the checker's reference calls."""
    captured = _reference_and_cases(checker)
    if captured is None:
        return set()
    reference, cases = captured
    called = set()

    def profile(frame, event, arg):
        if event == "call":
            path = Path(frame.f_code.co_filename)
            if path.is_relative_to(LIBRARY) and not path.is_relative_to(EXERCISES):
                called.add(frame.f_code)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        for args in cases:
            try:
                reference(*args)
            except ValueError:
                pass  # a case the reader must refuse
    finally:
        sys.setprofile(previous)
    return called


def _solutions(checker) -> set[types.CodeType]:
    codes = set(_library_calls(checker))
    for name in LIBRARY_SOLUTIONS.get(checker, []):
        module, _, attr = name.rpartition(".")
        codes |= set(_codes(getattr(importlib.import_module(module), attr)))
    return codes


def _param(path: Path):
    rel = path.relative_to(BOOK).as_posix()
    marks = ([pytest.mark.xfail(reason=PENDING[rel], raises=AssertionError, strict=True)]
             if rel in PENDING else [])
    return pytest.param(path, id=rel, marks=marks)


def test_there_are_exercise_notebooks():
    assert len(EXERCISE_NOTEBOOKS) >= 8
    assert all(name in {p.relative_to(BOOK).as_posix() for p in EXERCISE_NOTEBOOKS}
               for name in PENDING), "a PENDING entry names no exercise notebook"


@pytest.mark.parametrize("path", [_param(p) for p in EXERCISE_NOTEBOOKS])
def test_no_exercise_notebook_imports_what_solves_its_exercises(path):
    nb = json.loads(path.read_text())
    library, checkers = _imported(nb)
    assert checkers, f"{path.name} has exercises but imports no checker"
    imported = {}
    for obj in library.values():
        imported.update(_codes(obj))
    leaks = sorted(f"{imported[code]} (solves {checker.__name__})"
                   for checker in checkers for code in _solutions(checker) if code in imported)
    assert not leaks, f"{path.relative_to(BOOK)} imports the answers: {leaks}"


def test_each_listed_library_solution_really_passes_its_checker():
    # empty since exercise 7.8 asks for the mean and SD from batch summaries, which
    # attn_lessons.train.mean_std (raw values) cannot answer
    for checker, names in LIBRARY_SOLUTIONS.items():
        for name in names:
            module, _, attr = name.rpartition(".")
            assert checker(getattr(importlib.import_module(module), attr)), name


def test_the_reference_tracing_sees_a_library_reference():
    # the SE budget checker's reference searches with the library's se_num_params: the tracing
    # must find it
    from attn_lessons.exercises.se import check_se_reduction_for_budget
    from attn_lessons.se import se_num_params

    assert se_num_params.__code__ in _library_calls(check_se_reduction_for_budget)
