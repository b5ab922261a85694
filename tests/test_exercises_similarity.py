"""The chapter 1 checkers accept the right answers, name the typical mistakes, and never raise."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.exercises import similarity as ex


def _softmax_solution(scores, temperature):
    shifted = scores - scores.amax(dim=-1, keepdim=True)
    e = torch.exp(shifted / temperature)
    return e / e.sum(dim=-1, keepdim=True)


def _log_softmax_solution(scores, temperature):
    t = (scores - scores.amax(dim=-1, keepdim=True)) / temperature
    return t - torch.log(torch.exp(t).sum(dim=-1, keepdim=True))


def _most_similar_solution(x):
    u = x / x.norm(dim=-1, keepdim=True)
    cos = u @ u.transpose(-2, -1)                        # (B, n, n)
    return cos.masked_fill(torch.eye(x.shape[1], dtype=torch.bool), float("-inf")).argmax(-1)


def _log_jacobian_solution(scores):
    p = torch.softmax(scores, dim=0)
    n = p.shape[0]
    return torch.eye(n, dtype=p.dtype, device=p.device) - p[None, :].expand(n, n)


CHECKERS = [
    (ex.check_most_similar, _most_similar_solution),
    (ex.check_masked_gram, lambda x, m: (x * m[..., None]) @ (x * m[..., None]).transpose(1, 2)),
    (ex.check_stable_log_softmax, _log_softmax_solution),
    (ex.check_masked_attention,
     lambda s, v, m: torch.softmax(s.masked_fill(~m[:, None, :], float("-inf")), -1) @ v),
    (ex.check_log_softmax_jacobian, _log_jacobian_solution),
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
        (ex.check_most_similar,
         lambda x: (x @ x.mT).masked_fill(torch.eye(x.shape[1], dtype=torch.bool), -1e30)
         .argmax(-1), "long row"),
        (ex.check_most_similar,
         lambda x: (lambda u: (u @ u.mT).masked_fill(torch.eye(x.shape[1], dtype=torch.bool), 0)
                    .argmax(-1))(x / x.norm(dim=-1, keepdim=True)), "-inf"),
        (ex.check_masked_gram, lambda x, m: x @ x.transpose(1, 2), "padding rows"),
        (ex.check_masked_gram, lambda x, m: x.transpose(1, 2) @ x, "Xᵀ X"),
        (ex.check_stable_log_softmax, lambda s, t: torch.log(_softmax_solution(s, t)),
         "never form the weights"),
        (ex.check_stable_log_softmax,
         lambda s, t: s / t - torch.log(torch.exp(s / t).sum(-1, keepdim=True)), "overflows"),
        (ex.check_stable_log_softmax,
         lambda s, t: s / t - torch.logsumexp(s / t, -1, keepdim=True), "`logsumexp`"),
        (ex.check_masked_attention, lambda s, v, m: torch.softmax(s, -1) @ v, "padded keys"),
        (ex.check_masked_attention, lambda s, v, m: torch.softmax(s * m[:, None, :], -1) @ v,
         "e^0 = 1"),
        (ex.check_log_softmax_jacobian,
         lambda s: torch.autograd.functional.jacobian(lambda t: torch.log_softmax(t, 0), s),
         "torch.autograd.grad"),
    ],
)
def test_typical_mistakes_get_their_hint(checker, wrong, hint):
    verdict = checker(wrong)
    assert not verdict.passed
    assert hint in str(verdict), str(verdict)


def test_the_log_softmax_cases_cover_one_two_and_three_dimensions():
    assert {scores.ndim for scores, _ in ex._log_softmax_cases()} == {1, 2, 3}


def test_a_log_softmax_that_fails_on_a_single_row_is_told_why():
    def batched_only(scores, temperature):  # right on 2-D and 3-D scores, IndexError on 1-D
        if scores.ndim == 1:
            return scores[:, 0]  # IndexError: too many indices
        return _log_softmax_solution(scores, temperature)

    verdict = ex.check_stable_log_softmax(batched_only)
    assert not verdict and "single row of scores" in verdict.message, str(verdict)


def test_each_most_similar_case_shows_the_mistake_it_was_built_for():
    # sample 1 of case 1: the dot product prefers the long row; case 2 holds rows whose Euclidean
    # nearest row is not the most similar one, and rows whose cosines are all negative, where a
    # diagonal of 0 picks the row itself
    (x1,), (x2,), _, _ = ex._most_similar_cases()
    ref = ex._most_similar_reference
    assert not torch.equal(ex._ms_dot_product(x1[:1]), ref(x1[:1]))
    assert not torch.equal(ex._ms_diagonal_zero(x2[1:]), ref(x2[1:]))
    assert not torch.equal(ex._ms_euclidean(x2[:1]), ref(x2[:1]))


def test_most_similar_has_no_ties():
    for (x,) in ex._most_similar_cases():
        u = x / x.norm(dim=-1, keepdim=True)
        cos = (u @ u.mT).masked_fill(torch.eye(x.shape[1], dtype=torch.bool), float("-inf"))
        if x.shape[1] > 2:
            top2 = cos.topk(2, dim=-1).values
            assert (top2[..., 0] - top2[..., 1] > 1e-3).all()
