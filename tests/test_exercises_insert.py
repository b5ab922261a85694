"""Chapter 8 checker: accepts the blend written several ways, names each modelled mistake."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attn_lessons.exercises import insert as ex
from attn_lessons.insert import IDENTITY_ALPHA, InsertedAttention

from ._checker_checks import assert_named, assert_passes, assert_refused_without_raising


def test_reference_is_the_library_wrapper():
    """The checker's reference computes what InsertedAttention computes, on every case."""
    for u, attended, alpha in ex._cases():
        wrapper = InsertedAttention("se", torch.nn.Identity(), u.shape[1], alpha=float(alpha))
        with torch.no_grad():
            wrapper.se.forward = lambda x, a=attended: a  # A(u) given
            torch.testing.assert_close(wrapper(u), ex._blend(u, attended, alpha))


def test_cases_cover_both_ends_and_the_identity_start():
    alphas = [float(a) for _, _, a in ex._cases()]
    assert 0.0 in alphas and 1.0 in alphas and IDENTITY_ALPHA in alphas
    assert any(isinstance(a, torch.Tensor) for _, _, a in ex._cases())


@pytest.mark.parametrize("answer", [
    lambda u, a, alpha: u + alpha * (a - u),
    lambda u, a, alpha: (1 - alpha) * u + alpha * a,
    lambda u, a, alpha: torch.lerp(u, a, torch.as_tensor(alpha, dtype=u.dtype)),
    lambda u, a, alpha: torch.from_numpy(np.asarray(u) + float(alpha) * (np.asarray(a)
                                                                         - np.asarray(u))),
])
def test_correct_answers_pass(answer):
    assert_passes(ex.check_blend, answer)


@pytest.mark.parametrize(("mistake", "hint"), ex.MISTAKES)
def test_each_modelled_mistake_gets_its_hint(mistake, hint):
    assert_named(ex.check_blend, mistake, hint)


def test_unmodelled_wrong_answer_and_errors_never_raise():
    assert_refused_without_raising(ex.check_blend, [
        lambda u, a, alpha: u * 2,
        lambda u, a, alpha: 1 / 0,
        ...,
        "u + alpha * (a - u)",
    ])
