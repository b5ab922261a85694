"""The chapter 2 checkers accept the right answers, name the typical mistakes, and never raise."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.exercises import se as ex
from attn_lessons.se import SqueezeExcite, se_num_params


def _squeeze(u, mask):  # the mean over each image's real positions
    m = mask[:, None].double()
    return (u * m).sum(dim=(2, 3)) / m.sum(dim=(2, 3))


def _se_channels_last(x, w1, w2):
    s = torch.sigmoid(torch.relu(x.mean(dim=(1, 2)) @ w1.T) @ w2.T)
    return x * s[:, None, None, :]


def _reduction(channels, budget, bias):
    """The smallest r whose SE block fits: the largest width C', then C // (C' + 1) + 1."""
    hidden = min(channels, (budget - (channels if bias else 0)) // (2 * channels + bool(bias)))
    if hidden < 1:
        raise ValueError(f"one hidden unit costs more than {budget} for {channels=}")
    return channels // (hidden + 1) + 1


FUNCTION_CHECKERS = [
    (ex.check_squeeze, _squeeze),
    (ex.check_se_channels_last, _se_channels_last),
    (ex.check_se_reduction_for_budget, _reduction),
]


@pytest.mark.parametrize(("checker", "solution"), FUNCTION_CHECKERS)
def test_reference_solution_is_accepted(checker, solution):
    verdict = checker(solution)
    assert verdict.passed, str(verdict)
    assert str(verdict).startswith("Correct: ")


def test_the_library_count_is_refused_as_a_one_line_answer():
    """The lab imports SqueezeExcite: counting with it (or with se_num_params) is refused."""
    def with_count(c, budget, b):
        return min(r for r in range(1, c + 1) if se_num_params(c, r, b) <= budget)

    def with_module(c, budget, b):
        return min(r for r in range(1, c + 1)
                   if sum(p.numel() for p in SqueezeExcite(c, r, bias=b).parameters()) <= budget)

    for answer, name in ((with_count, "se_num_params"), (with_module, "SqueezeExcite")):
        verdict = ex.check_se_reduction_for_budget(answer)
        assert not verdict and name in verdict.message, str(verdict)


def test_a_search_over_r_with_the_readers_own_count_is_accepted():
    def search(c, budget, b):
        for r in range(1, c + 1):
            h = c // r
            if 2 * c * h + ((h + c) if b else 0) <= budget:
                return r
        raise ValueError("nothing fits")

    assert ex.check_se_reduction_for_budget(search).passed


def test_library_module_is_accepted_by_the_channels_last_checker():
    """The library's SqueezeExcite (bias=False), between two permutes, is what the checker wants."""

    def se_with_library(x, w1, w2):
        se = SqueezeExcite(w1.shape[1], w1.shape[1] // w1.shape[0], bias=False).double()
        with torch.no_grad():
            se.fc1.weight.copy_(w1)
            se.fc2.weight.copy_(w2)
            return se(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)  # channels-first and back

    assert ex.check_se_channels_last(se_with_library).passed


def _stub(*args):
    ...


def _raises(*args):
    raise ValueError("boom")


def _wrong_shape(*args):
    return torch.zeros(3)


@pytest.mark.parametrize(("checker", "solution"), FUNCTION_CHECKERS)
@pytest.mark.parametrize("answer", [None, "mean", ..., _stub, _raises, _wrong_shape], ids=repr)
def test_non_answers_get_not_yet_without_raising(checker, solution, answer):
    verdict = checker(answer)
    assert not verdict.passed
    assert str(verdict).startswith("Not yet: ")


@pytest.mark.parametrize(
    ("checker", "wrong", "hint"),
    [
        (ex.check_squeeze, lambda u, m: u.mean(dim=(2, 3)), "padding included"),
        (ex.check_squeeze, lambda u, m: (u * m[:, None]).sum(dim=(2, 3)), "masked sum"),
        (ex.check_squeeze, lambda u, m: (u * m[:, None]).mean(dim=(2, 3)), "divided by H·W"),
        (ex.check_squeeze, lambda u, m: _squeeze(u, m)[..., None, None], "(B, C, 1, 1)"),
        (ex.check_se_channels_last, lambda x, a, b: torch.sigmoid(torch.relu(
            x.mean((1, 2)) @ a.T) @ b.T), "returned the gates"),
        (ex.check_se_channels_last,
         lambda x, a, b: _se_channels_last(x, a, b).permute(0, 3, 1, 2), "channels-first"),
        (ex.check_se_reduction_for_budget, lambda c, p, b: _reduction(c, p, False),
         "biases count too"),
        (ex.check_se_reduction_for_budget, lambda c, p, b: -(-c // (c // _reduction(c, p, b))),
         "rounded up"),
        (ex.check_se_reduction_for_budget, lambda c, p, b: c // _reduction(c, p, b),
         "largest hidden width"),
    ],
)
def test_typical_mistakes_get_their_hint(checker, wrong, hint):
    verdict = checker(wrong)
    assert not verdict.passed
    assert hint in str(verdict), str(verdict)


def _gate_grad_by_hand(z, w1, b1, w2, b2, upstream):
    a = z @ w1.T + b1
    s = torch.sigmoid(torch.relu(a) @ w2.T + b2)
    return ((upstream * s * (1 - s)) @ w2 * (a > 0).to(z.dtype)) @ w1


def test_gate_grad_checker_accepts_the_chain_rule_and_refuses_autograd():
    assert ex.check_se_gate_grad(_gate_grad_by_hand).passed

    def by_autograd(z, w1, b1, w2, b2, upstream):
        z = z.clone().requires_grad_(True)
        s = torch.sigmoid(torch.relu(z @ w1.T + b1) @ w2.T + b2)
        (s * upstream).sum().backward()
        return z.grad

    verdict = ex.check_se_gate_grad(by_autograd)
    assert not verdict.passed and "do without" in str(verdict), str(verdict)
    for bad in [None, ..., "grad", lambda *a: None, lambda *a: torch.zeros(3, 8)]:
        verdict = ex.check_se_gate_grad(bad)
        assert not verdict.passed and str(verdict).startswith("Not yet: ")


def test_gate_grad_cases_hold_what_the_prompt_promises():
    """The cases include one hidden unit (C = 24, r = 16), a batch on which every unit is off
    (the reference gradient is then exactly 0) and a unit exactly at its kink."""
    from attn_lessons.exercises.se import _gate_grad, _gate_grad_cases

    cases = _gate_grad_cases()
    assert any(w1.shape == (1, 24) for _, w1, *_ in cases)
    off = [c for c in cases if bool(((c[0] @ c[1].T + c[2]) <= 0).all())]
    assert off and all(torch.equal(_gate_grad(*c), torch.zeros_like(c[0])) for c in off)
    assert any(bool(((c[0] @ c[1].T + c[2]) == 0).any()) for c in cases)
    for case in cases:
        torch.testing.assert_close(_gate_grad_by_hand(*case), _gate_grad(*case))


def test_the_review_cases_are_in_the_se_checkers():
    # a budget of exactly one hidden unit is a block, not a refusal; padding may sit top or left
    def too_strict(c, budget, b):
        if budget < 2 * c * 2 + ((2 + c) if b else 0):
            raise ValueError("refuses one hidden unit")
        return _reduction(c, budget, b)

    verdict = ex.check_se_reduction_for_budget(too_strict)
    assert not verdict and "one hidden unit fits" in verdict.message

    def crop(u, mask):
        return torch.stack([u[i, :, :int(mask[i].any(1).sum()), :int(mask[i].any(0).sum())]
                            .mean(dim=(1, 2)) for i in range(len(u))])

    verdict = ex.check_squeeze(crop)
    assert not verdict and "top-left" in verdict.message
