"""The chapter 1 checkers accept the right answers, name the typical mistakes, and never raise."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.exercises import similarity as ex
from attn_lessons.similarity import cosine_similarity


def _softmax_solution(scores, temperature):
    shifted = scores - scores.amax(dim=-1, keepdim=True)
    e = torch.exp(shifted / temperature)
    return e / e.sum(dim=-1, keepdim=True)


def _log_softmax_solution(scores, temperature):
    t = (scores - scores.amax(dim=-1, keepdim=True)) / temperature
    return t - torch.log(torch.exp(t).sum(dim=-1, keepdim=True))


CHECKERS = [
    (ex.check_cosine_similarity, cosine_similarity),
    (ex.check_masked_gram, lambda x, m: (x * m[..., None]) @ (x * m[..., None]).transpose(1, 2)),
    (ex.check_stable_log_softmax, _log_softmax_solution),
    (ex.check_masked_attention,
     lambda s, v, m: torch.softmax(s.masked_fill(~m[:, None, :], float("-inf")), -1) @ v),
]


@pytest.mark.parametrize(("checker", "solution"), CHECKERS)
def test_reference_solution_is_accepted(checker, solution):
    verdict = checker(solution)
    assert verdict.passed, str(verdict)
    assert str(verdict).startswith("Correct: ")


def _stub(*args):
    ...  # the student edition's stub: returns None


def _raises(*args):
    raise RuntimeError("boom")


def _wrong_shape(*args):
    return torch.zeros(7, 7, 7)


@pytest.mark.parametrize(("checker", "solution"), CHECKERS)
@pytest.mark.parametrize(
    "answer", [None, "cosine", ..., _stub, _raises, _wrong_shape], ids=repr
)
def test_non_answers_get_not_yet_without_raising(checker, solution, answer):
    verdict = checker(answer)
    assert not verdict.passed
    assert str(verdict).startswith("Not yet: ")


@pytest.mark.parametrize(
    ("checker", "wrong", "hint"),
    [
        (ex.check_cosine_similarity, lambda a, b: (a * b).sum(-1), "plain dot product"),
        (ex.check_cosine_similarity, lambda a, b: (a * b).sum(-1) / a.norm(dim=-1),
         "divided by ‖a‖ only"),
        (ex.check_cosine_similarity,
         lambda a, b: (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)) ** 2, "squares"),
        (ex.check_masked_gram, lambda x, m: x @ x.transpose(1, 2), "padding rows"),
        (ex.check_masked_gram, lambda x, m: x.transpose(1, 2) @ x, "Xᵀ X"),
        (ex.check_stable_log_softmax, lambda s, t: torch.log(_softmax_solution(s, t)),
         "never form the weights"),
        (ex.check_stable_log_softmax,
         lambda s, t: s / t - torch.log(torch.exp(s / t).sum(-1, keepdim=True)), "overflows"),
        (ex.check_masked_attention, lambda s, v, m: torch.softmax(s, -1) @ v, "padded keys"),
        (ex.check_masked_attention, lambda s, v, m: torch.softmax(s * m[:, None, :], -1) @ v,
         "e^0 = 1"),
    ],
)
def test_typical_mistakes_get_their_hint(checker, wrong, hint):
    verdict = checker(wrong)
    assert not verdict.passed
    assert hint in str(verdict), str(verdict)
