"""Chapter 8 checker: the blended gate's logit gradient, accepted written several ways, each
modelled mistake named, autograd refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attn_lessons.exercises import insert as ex
from attn_lessons.insert import IDENTITY_ALPHA, InsertedAttention


def _by_hand(u, z, alpha, g):
    s = torch.sigmoid(z)
    return alpha * (g * u).sum(dim=(2, 3)) * s * (1 - s)


def test_reference_is_the_gradient_through_the_library_wrapper():
    """The checker's reference is the gradient that reaches the gate's logits through
    InsertedAttention, the library's blend, with the gate sigma(z) applied by its module."""
    for u, z, alpha, g in ex._cases():
        logits = z.clone().requires_grad_(True)

        class Gate(torch.nn.Module):
            def __init__(self, logits):
                super().__init__()
                self.logits = logits

            def forward(self, x):
                return torch.sigmoid(self.logits)[:, :, None, None] * x

        wrapper = InsertedAttention("se", Gate(logits), u.shape[1], alpha=float(alpha)).double()
        (wrapper(u) * g).sum().backward()
        stored = wrapper.alpha.item()  # alpha held as a float32 parameter, then in float64
        torch.testing.assert_close(logits.grad, ex._blend_logit_grad(u, z, stored, g),
                                   rtol=1e-12, atol=1e-300)


def test_cases_cover_the_dead_start_the_identity_start_the_paper_and_a_saturated_gate():
    alphas = [a for _, _, a, _ in ex._cases()]
    assert 0.0 in alphas and 1.0 in alphas and IDENTITY_ALPHA in alphas
    dead = [ex._blend_logit_grad(*c) for c in ex._cases() if c[2] == 0.0]
    assert all(not d.any() for d in dead)  # alpha = 0: exactly nothing reaches z
    saturated = [c for c in ex._cases() if c[1].min() > 9]
    assert saturated and all(torch.sigmoid(c[1]).min() > 1 - 1e-4 for c in saturated)
    # each case has N != C and H != W somewhere, so a transposed or unsummed answer shows
    assert any(u.shape[2] != u.shape[3] for u, *_ in ex._cases())


def test_alpha_0_scales_the_gradient_by_exactly_alpha_0():
    # the exercise's "predict first": at alpha_0 the logits get 2^-24 of what they get at 1
    u, z, _, g = ex._cases()[0]
    full = ex._blend_logit_grad(u, z, 1.0, g)
    torch.testing.assert_close(ex._blend_logit_grad(u, z, IDENTITY_ALPHA, g),
                               IDENTITY_ALPHA * full, rtol=1e-12, atol=0)


@pytest.mark.parametrize("answer", [
    _by_hand,
    lambda u, z, alpha, g: torch.einsum("nchw,nchw->nc", g, u) * alpha * torch.exp(-z)
    / (1 + torch.exp(-z)) ** 2,
    lambda u, z, alpha, g: _by_hand(u.float(), z.float(), alpha, g.float()),
    lambda u, z, alpha, g: torch.from_numpy(
        alpha * (np.asarray(g) * np.asarray(u)).sum(axis=(2, 3))
        / (2 + 2 * np.cosh(np.asarray(z)))),  # sigma' = 1 / (2 + 2 cosh z)
])
def test_correct_answers_pass(answer):
    verdict = ex.check_blend_logit_grad(answer)
    assert verdict, str(verdict)


@pytest.mark.parametrize(("mistake", "hint"), ex.MISTAKES)
def test_each_modelled_mistake_gets_its_hint(mistake, hint):
    verdict = ex.check_blend_logit_grad(mistake)
    assert not verdict
    assert verdict.message == hint


def test_autograd_is_refused_even_when_right():
    def with_autograd(u, z, alpha, g):
        z = z.requires_grad_(True)
        y = u + alpha * (torch.sigmoid(z)[:, :, None, None] * u - u)
        return torch.autograd.grad((y * g).sum(), z)[0]

    verdict = ex.check_blend_logit_grad(with_autograd)
    assert not verdict and "autograd" in verdict.message


def test_unmodelled_wrong_answer_and_errors_never_raise():
    assert not ex.check_blend_logit_grad(lambda u, z, alpha, g: 2 * _by_hand(u, z, alpha, g))
    assert not ex.check_blend_logit_grad(lambda u, z, alpha, g: 1 / 0)
    assert not ex.check_blend_logit_grad(...)
    assert not ex.check_blend_logit_grad("alpha * s * (1 - s) * (g * u).sum()")
