r"""Checkers for chapter 8 (attention in a network you already have).

``check_blend(fn)``: ``fn(u, attended, alpha)`` returns the output of an inserted module under the
identity initialisation, :math:`y = u + \alpha\,(A(u) - u)` (the page's ``eq-insert-blend``), for
feature maps ``u`` and ``attended`` :math:`= A(u)` of the same shape and a blend ``alpha`` given
as a Python float or a 0-d tensor. The cases include :math:`\alpha = 0` (the network unchanged),
:math:`\alpha = 1` (the paper's module) and values between, so each mistake below shows.
"""

from __future__ import annotations

import torch

from ._core import Feedback, check_function
from ._messages import mark, tr

__all__ = ["check_blend"]


def _blend(u, attended, alpha):
    return u + alpha * (attended - u)


def _cases() -> list[tuple[torch.Tensor, torch.Tensor, object]]:
    g = torch.Generator().manual_seed(8)
    cases = []
    for alpha in (0.25, 1.0, 0.0, torch.tensor(0.7), 2.0 ** -24):
        u = torch.randn(2, 3, 4, 5, generator=g)
        gate = torch.sigmoid(torch.randn(2, 3, 1, 1, generator=g))
        cases.append((u, u * gate, alpha))  # A(u): an SE-like gate on u
    return cases


#: Typical mistakes and the hint each one gets.
MISTAKES = (
    (lambda u, a, alpha: alpha * a,
     mark("At alpha = 0 your output is 0, not u: the blend keeps u and adds alpha times the change "
          "A(u) - u.")),
    (lambda u, a, alpha: u + alpha * a,
     mark("At alpha = 1 your output is u + A(u), not A(u): add alpha times the *change* A(u) - u, "
          "not alpha times A(u).")),
    (lambda u, a, alpha: alpha * u + (1 - alpha) * a,
     mark("The weights are swapped: at alpha = 0 you return A(u), the paper's module, instead of "
          "u.")),
    (lambda u, a, alpha: u + alpha * (u - a),
     mark("The sign of the change is reversed: alpha should move the output from u towards A(u).")),
    (lambda u, a, alpha: a,
     mark("Your output ignores alpha: it is A(u) whatever the blend, so inserting it changes the "
          "network at once.")),
    (lambda u, a, alpha: u,
     mark("Your output ignores the attention: it is u whatever alpha, so the module can never act "
          "(and gets no gradient).")),
    (lambda u, a, alpha: (u + alpha * a) / (1 + alpha),
     mark("That is a normalised average: at alpha = 1 it gives (u + A(u)) / 2, not A(u).")),
)


def check_blend(fn) -> Feedback:
    """``fn(u, attended, alpha)`` against :math:`u + \\alpha (A(u) - u)` on five cases."""
    return check_function(
        fn, _blend, _cases(), what=tr("blend(u, attended, alpha)"), atol=1e-6, rtol=1e-5,
        wrong_functions=MISTAKES,
        success=tr("the blend is u at alpha = 0 and A(u) at alpha = 1, and moves linearly "
                   "between."),
    )
