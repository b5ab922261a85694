"""The checker machinery never crashes and gives hints; the preface checker is right."""

import pytest
import torch

from attn_lessons.exercises import (
    Feedback,
    check_function,
    compare_choice,
    compare_number,
    compare_tensor,
)
from attn_lessons.exercises.preface import check_attend, reference_attend

MALFORMED = [None, ..., "a string", 3, [1, 2], object(), torch.zeros(2, 2), float("nan")]


def test_feedback_prints_its_verdict():
    assert str(Feedback(True, "fine")) == "Correct: fine"
    assert repr(Feedback(False, "try again")) == "Not yet: try again"
    assert Feedback(True, "") and not Feedback(False, "")


@pytest.mark.parametrize("answer", MALFORMED)
def test_compare_tensor_never_raises(answer):
    verdict = compare_tensor(answer, torch.ones(3))
    assert isinstance(verdict, Feedback) and not verdict


def test_compare_tensor_explains_shape_and_values():
    assert "shape (2,) but should have shape (3,)" in compare_tensor(torch.ones(2),
                                                                    torch.ones(3)).message
    assert "values differ" in compare_tensor(torch.zeros(3), torch.ones(3)).message
    assert "NaN" in compare_tensor(torch.full((3,), float("nan")), torch.ones(3)).message
    assert compare_tensor([1.0, 1.0, 1.0], torch.ones(3))
    assert "forgot" not in compare_tensor(None, torch.ones(3)).message
    assert "None" in compare_tensor(None, torch.ones(3)).message


def test_compare_tensor_recognises_a_modelled_mistake():
    verdict = compare_tensor(torch.full((3,), 2.0), torch.ones(3),
                             wrong_answers=[(torch.full((3,), 2.0), "you doubled it")])
    assert not verdict and verdict.message == "you doubled it"


@pytest.mark.parametrize("answer", MALFORMED)
def test_compare_number_never_raises(answer):
    verdict = compare_number(answer, 42, integer=True)
    assert isinstance(verdict, Feedback) and not verdict


def test_compare_number():
    assert compare_number(42, 42, integer=True)
    assert compare_number(torch.tensor(42), 42)
    assert "too large" in compare_number(50, 42).message
    assert "whole number" in compare_number(41.5, 42, integer=True).message
    assert compare_number(84, 42, wrong_answers=[(84, "counted twice")]).message == "counted twice"


@pytest.mark.parametrize("answer", MALFORMED)
def test_compare_choice_never_raises(answer):
    assert not compare_choice(answer, "sigmoid", ["sigmoid", "softmax"])


def test_compare_choice():
    assert compare_choice(" Sigmoid ", "sigmoid", ["sigmoid", "softmax"])
    verdict = compare_choice("softmax", "sigmoid", ["sigmoid", "softmax"],
                             hints={"softmax": "gates need not sum to 1"})
    assert verdict.message == "gates need not sum to 1"


def _double(x):
    return 2 * x


def test_check_function_reports_exceptions_and_none():
    def raises(x):
        raise RuntimeError("boom")

    verdict = check_function(raises, _double, [(torch.ones(2),)])
    assert not verdict and "raised RuntimeError: boom" in verdict.message
    verdict = check_function(lambda x: None, _double, [(torch.ones(2),)])
    assert not verdict and "None" in verdict.message
    assert check_function(_double, _double, [(torch.ones(2),), (torch.arange(3.0),)])


@pytest.mark.parametrize("answer", MALFORMED)
def test_check_function_never_raises_on_non_functions(answer):
    assert not check_function(answer, _double, [(torch.ones(2),)])


# The preface checker


def test_check_attend_accepts_the_reference():
    assert check_attend(reference_attend)


def test_check_attend_accepts_an_equivalent_solution():
    def attend(query, keys, values):
        scores = keys @ query
        weights = torch.exp(scores - scores.max())
        return (weights / weights.sum()) @ values

    assert check_attend(attend)


@pytest.mark.parametrize("wrong, hint", [
    (lambda q, k, v: (k @ q) @ v, "raw scores"),
    (lambda q, k, v: v.mean(dim=0), "plain average"),
    (lambda q, k, v: torch.exp(k @ q) @ v, "do not sum to 1"),
])
def test_check_attend_explains_typical_mistakes(wrong, hint):
    verdict = check_attend(wrong)
    assert not verdict and hint in verdict.message


@pytest.mark.parametrize("answer", [*MALFORMED, lambda q, k, v: v, lambda q, k, v: 1 / 0])
def test_check_attend_never_raises(answer):
    verdict = check_attend(answer)
    assert isinstance(verdict, Feedback) and not verdict
