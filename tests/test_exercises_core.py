"""The checker machinery never crashes and gives hints; the preface checker is right."""

import numpy as np
import pytest
import torch

from attn_lessons.exercises import (
    Feedback,
    Forbidden,
    Vectorised,
    autograd_forbidden,
    check_function,
    compare_choice,
    compare_number,
    compare_tensor,
    too_coarse,
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
    def attend(queries, keys, values):  # the softmax written out, all queries at once
        scores = torch.einsum("md,nd->mn", queries, keys)
        weights = torch.exp(scores - scores.amax(dim=1, keepdim=True))
        return (weights / weights.sum(dim=1, keepdim=True)) @ values

    assert check_attend(attend)


def test_check_attend_refuses_the_loop_its_prompt_rules_out():
    def attend(queries, keys, values):  # one query at a time, the notebook's cell in a loop
        rows = []
        for query in queries:
            scores = keys @ query
            weights = torch.exp(scores - scores.max())
            rows.append((weights / weights.sum()) @ values)
        return torch.stack(rows)

    verdict = check_attend(attend)
    assert not verdict and "loops over the queries" in verdict.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda q, k, v: torch.softmax(q @ k.T, 0) @ v, "over the queries"),
    (lambda q, k, v: (q @ k.T) @ v, "raw scores"),
    (lambda q, k, v: v.mean(dim=0).expand(len(q), -1), "plain average"),
    (lambda q, k, v: torch.exp(q @ k.T) @ v, "do not sum to 1"),
])
def test_check_attend_explains_typical_mistakes(wrong, hint):
    verdict = check_attend(wrong)
    assert not verdict and hint in verdict.message


@pytest.mark.parametrize("answer", [*MALFORMED, lambda q, k, v: v, lambda q, k, v: 1 / 0])
def test_check_attend_never_raises(answer):
    verdict = check_attend(answer)
    assert isinstance(verdict, Feedback) and not verdict


# Every call gets its own copy of the arguments


def _mean_rows(x):
    return x.mean(dim=-1)


def test_a_correct_function_that_works_in_place_passes():
    def in_place(x):
        return x.sub_(0).mean(dim=-1) if x.mul_(1) is x else None

    def destroys_then_answers(x):
        out = x.mean(dim=-1)
        x.fill_(float("nan"))  # the reference and the mistakes never see this
        return out

    cases = [(torch.randn(3, 4, dtype=torch.float64),), (torch.randn(2, 5, dtype=torch.float64),)]
    assert check_function(in_place, _mean_rows, cases)
    assert check_function(destroys_then_answers, _mean_rows, cases)


def test_a_wrong_function_that_zeroes_its_inputs_is_not_told_correct():
    def zeroes(x):
        x.zero_()
        return x.sum(dim=-1)  # right for zeros, wrong for the case

    verdict = check_function(zeroes, _mean_rows, [(torch.randn(3, 4, dtype=torch.float64),)])
    assert not verdict


def test_the_cases_survive_a_reader_who_overwrites_them():
    case = torch.arange(6.0, dtype=torch.float64).reshape(2, 3)
    check_function(lambda x: x.zero_(), _mean_rows, [(case,)])
    assert torch.equal(case, torch.arange(6.0, dtype=torch.float64).reshape(2, 3))


# Answers of any real type, with a tolerance that suits their dtype


@pytest.mark.parametrize("answer", [
    torch.full((3,), 1 / 3, dtype=torch.float32),
    torch.full((3,), 1 / 3, dtype=torch.float16),
    torch.full((3,), 1 / 3, dtype=torch.bfloat16),
    np.full(3, 1 / 3, dtype=np.float32),
    [1 / 3, 1 / 3, 1 / 3],
    [torch.tensor(1 / 3, requires_grad=True)] * 3,
    torch.full((3,), 1 / 3, requires_grad=True),
])
def test_any_real_type_is_compared_within_its_rounding(answer):
    assert compare_tensor(answer, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0, rtol=0)


def test_float64_answers_are_held_to_float64_precision():
    want = torch.full((3,), 1 / 3, dtype=torch.float64)
    assert not compare_tensor(want.float().double(), want, atol=0, rtol=0)
    assert compare_tensor(want.float(), want, atol=0, rtol=0)  # the same numbers, as float32


@pytest.mark.parametrize("answer", [42, np.int64(42), torch.tensor(42), torch.tensor([42]),
                                    np.array(42), 42.0, np.float32(42.0),
                                    torch.tensor(42.0, dtype=torch.float16)])
def test_compare_number_accepts_any_real_scalar(answer):
    assert compare_number(answer, 42, integer=True)


def test_integer_counts_are_exact_even_beyond_float_precision():
    assert compare_number(2**60 + 1, 2**60 + 1, integer=True)
    assert not compare_number(2**60, 2**60 + 1, integer=True)


# Refusals with a hint, never an exception


class _BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


@pytest.mark.parametrize(("answer", "hint"), [
    (torch.ones(3, dtype=torch.complex64), "complex"),
    (np.ones(3, dtype=complex), "complex"),
    (1 + 0j, "complex"),
    (torch.full((3,), float("nan")), "NaN"),
    (torch.ones(4), "shape (4,)"),
    (torch.ones(3, device="meta"), "meta tensor"),
    (torch.zeros(1).expand(10**9), "shape (1000000000,)"),
    (torch.ones(3, dtype=torch.bool), "booleans"),
    ([[1.0], [2.0, 3.0]], "ragged"),
    (_BadRepr(), "_BadRepr"),
    (10**400, "too large"),
    ("1, 1, 1", "str"),
])
def test_compare_tensor_refuses_with_a_hint(answer, hint):
    verdict = compare_tensor(answer, torch.ones(3))
    assert not verdict and hint in verdict.message, str(verdict)


@pytest.mark.parametrize(("answer", "hint"), [
    (10**400, "`**`"),
    (float("inf"), "infinite"),
    (1 + 2j, "complex"),
    (True, "boolean"),
    (torch.ones(2), "single number"),
    (torch.tensor(1.0, device="meta"), "meta tensor"),
    (41.5, "whole number"),
    (_BadRepr(), "_BadRepr"),
])
def test_compare_number_refuses_with_a_hint(answer, hint):
    verdict = compare_number(answer, 42, integer=True)
    assert not verdict and hint in verdict.message, str(verdict)


def test_a_boolean_expected_answer_needs_a_boolean_tensor():
    mask = torch.ones(3, 3, dtype=torch.bool).tril()
    assert compare_tensor(mask, mask)
    assert compare_tensor(mask.numpy(), mask)
    assert not compare_tensor(mask.float(), mask)
    assert "dtype torch.bool" in compare_tensor(mask.int(), mask).message


def test_check_function_survives_a_function_whose_exception_cannot_be_printed():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no str")

    def raises(x):
        raise Unprintable()

    verdict = check_function(raises, _mean_rows, [(torch.ones(2, 2),)])
    assert not verdict and "Unprintable" in verdict.message


def test_a_mistake_hint_needs_the_mistake_to_explain_every_earlier_case():
    cases = [(torch.tensor([1.0, 2.0], dtype=torch.float64),),
             (torch.tensor([3.0, 5.0], dtype=torch.float64),)]

    def first(x):  # right on the first case, like the reader
        return x.mean() if x[0] == 1 else x.sum()

    verdict = check_function(lambda x: x.sum() if x[0] == 3 else x.mean(),
                             lambda x: x.mean(), cases,
                             wrong_functions=[(lambda x: x.sum(), "summed"), (first, "first")])
    assert verdict.message == "first"


def test_mistake_of_calls_the_function_with_its_option_and_names_the_mistake():
    from attn_lessons.exercises._core import mistake_of

    def mean(x, *, scale=1.0):  # right by default, a mistake with another scale
        return x.mean() * scale

    wrong, hint = mistake_of(mean, scale=2.0, hint="doubled")
    x = torch.tensor([1.0, 3.0], dtype=torch.float64)
    assert hint == "doubled" and wrong(x) == 4.0 and mean(x) == 2.0
    verdict = check_function(lambda x: 2 * x.mean(), mean, [(x,)],
                             wrong_functions=[mistake_of(mean, scale=2.0, hint="doubled")])
    assert not verdict and verdict.message == "doubled"

def test_a_case_the_reference_refuses_must_be_refused():
    def reference(n):
        if n < 1:
            raise ValueError("n must be positive")
        return n

    assert check_function(reference, reference, [(2,), (0,)])
    verdict = check_function(lambda n: n, reference, [(2,), (0,)], refusal_hint="refuse 0")
    assert verdict.message == "refuse 0"
    assert "raise ValueError" in check_function(lambda n: 1 // n if n else [][1], reference,
                                                [(0,)]).message


# Tools a prompt rules out, loops, diagnoses, and answers too coarse for their dtype


def _square_rows(x):
    return (x * x).sum(dim=-1)


_ROWS = [(torch.arange(6.0, dtype=torch.float64).reshape(2, 3),)]


def test_a_forbidden_torch_function_is_refused_whatever_its_name_or_form():
    rule = Forbidden("square it yourself", torch_functions=("square", "pow"))
    for answer in (lambda x: x.square().sum(-1), lambda x: torch.pow(x, 2).sum(-1),
                   lambda x: (x ** 2).sum(-1)):
        verdict = check_function(answer, _square_rows, _ROWS, forbidden=[rule])
        assert not verdict and "square it yourself" in verdict.message, str(verdict)
    assert check_function(_square_rows, _square_rows, _ROWS, forbidden=[rule])


def test_a_forbidden_tool_can_depend_on_its_arguments():
    rule = Forbidden("no circular padding", torch_functions=("pad",),
                     when=lambda args, kwargs: "circular" in (*args[2:3], kwargs.get("mode")))
    x = torch.arange(6.0, dtype=torch.float64).reshape(1, 1, 6)

    def ref(t):
        return torch.cat([t[..., -1:], t, t[..., :1]], -1)

    assert check_function(lambda t: torch.nn.functional.pad(t, (1, 1), mode="replicate")
                          .index_copy(-1, torch.tensor([0, 7]), t[..., [-1, 0]]), ref, [(x,)],
                          forbidden=[rule])
    verdict = check_function(lambda t: torch.nn.functional.pad(t, (1, 1), mode="circular"), ref,
                             [(x,)], forbidden=[rule])
    assert not verdict and "no circular padding" in verdict.message


@pytest.mark.parametrize("answer", [
    lambda x: torch.func.grad(lambda t: (t ** 2).sum() / 2)(x),
    lambda x: torch.autograd.functional.jacobian(lambda t: (t ** 2).sum() / 2, x),
    lambda x: torch.func.jacfwd(lambda t: (t ** 2).sum() / 2)(x),
    lambda x: (lambda t: ((t ** 2).sum() / 2).backward() or t.grad)(x.clone().requires_grad_()),
])
def test_autograd_in_every_form_is_recognised(answer):
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    rule = autograd_forbidden("by hand, please")
    verdict = check_function(answer, lambda t: t.clone(), [(x,)], forbidden=[rule])
    assert not verdict and "by hand, please" in verdict.message, str(verdict)
    assert check_function(lambda t: t * 1, lambda t: t.clone(), [(x,)], forbidden=[rule])


def test_a_loop_the_prompt_rules_out_is_seen_by_counting_torch_calls():
    small, large = (torch.ones(1, 3, dtype=torch.float64),), (torch.ones(5, 3,
                                                                          dtype=torch.float64),)
    probe = Vectorised(small, large, "no loop over the rows")
    looped = check_function(lambda x: torch.stack([r.sum() for r in x]), lambda x: x.sum(-1),
                            _ROWS, vectorised=probe)
    assert not looped and looped.message == "no loop over the rows"
    assert check_function(lambda x: x.sum(-1), lambda x: x.sum(-1), _ROWS, vectorised=probe)


def test_a_diagnosis_names_what_no_model_reproduces():
    def diagnose(args, got, error):
        return "stopped early" if error is None and float(got) < float(args[0]) else None

    verdict = check_function(lambda n: n - 3, lambda n: n, [(10,)], diagnose=diagnose)
    assert verdict.message == "stopped early"
    verdict = check_function(lambda n: n + 3, lambda n: n, [(10,)], diagnose=diagnose)
    assert "too large" in verdict.message


def test_a_valid_case_refused_gets_its_own_hint():
    def reference(n):
        if n < 1:
            raise ValueError("n must be positive")
        return n

    def too_strict(n):
        if n < 2:
            raise ValueError("n must be at least 2")
        return n

    verdict = check_function(too_strict, reference, [(3,), (1,), (0,)],
                             valid_refused_hint="1 is fine")
    assert verdict.message == "1 is fine"


def test_half_precision_is_refused_where_it_cannot_hold_the_answer():
    assert too_coarse(torch.bfloat16, 0.02) and too_coarse(torch.float16, 0.005)
    assert too_coarse(torch.bfloat16, 1.0) is None and too_coarse(torch.float32, 1e-6) is None
    small = torch.tensor([0.020, 0.031], dtype=torch.float64)
    verdict = compare_tensor(small.to(torch.bfloat16), small)
    assert not verdict and "float32 or float64" in verdict.message
    assert compare_tensor(small.float(), small)
    assert "bfloat16" in compare_number(torch.tensor(0.02, dtype=torch.bfloat16), 0.02).message
