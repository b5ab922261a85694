r"""Checkers for chapter 8 (attention in a network you already have).

``check_blend_logit_grad(fn)``: an SE-like gate inserted by the identity blend (the page's
``eq-insert-blend``), :math:`y = u + \alpha\,(s \odot u - u)` with :math:`s = \sigma(z)` one value
per image and channel, broadcast over the :math:`H \times W` positions. ``fn(u, z, alpha, g)``
returns :math:`\partial L / \partial z`, shape ``(N, C)``, for ``u`` and the upstream gradient
``g`` :math:`= \partial L / \partial y` of shape ``(N, C, H, W)``, logits ``z`` of shape ``(N, C)``
and a Python float ``alpha``, by the chain rule (autograd is refused: the reference is autograd's):

.. math:: \frac{\partial L}{\partial z_{nc}} = \alpha\, s_{nc} (1 - s_{nc})
          \sum_{h, w} g_{nchw}\, u_{nchw}.

The cases include :math:`\alpha = 0` (the dead start: exactly 0), :math:`\alpha_0 = 2^{-24}`,
:math:`\alpha = 1` (the paper's module) and logits far from 0 (a saturating gate), so each
mistake below shows.
"""

from __future__ import annotations

from typing import Any

import torch

from ._core import Feedback, autograd_forbidden, check_function
from ._messages import mark, tr

__all__ = ["check_blend_logit_grad"]


def _blend_logit_grad(u, z, alpha, g):
    """The reference: autograd through the blend, in float64."""
    z = z.detach().clone().requires_grad_(True)
    s = torch.sigmoid(z)[:, :, None, None]  # (N, C) -> (N, C, 1, 1), broadcast over H x W
    y = u + alpha * (s * u - u)
    (grad,) = torch.autograd.grad((y * g).sum(), z)  # L = <g, y>: dL/dy = g
    return grad


def _fixed(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=gen, dtype=torch.float64)


def _cases() -> list[tuple[torch.Tensor, torch.Tensor, float, torch.Tensor]]:
    cases = []
    # (N, C, H, W), alpha, the logits' spread and offset; 0.5 is avoided (alpha = 1 - alpha)
    for seed, (n, c, h, w), alpha, spread, offset in (
        (1, (2, 3, 4, 5), 0.3, 1.5, 0.0),
        (2, (3, 4, 2, 6), 1.0, 1.0, 0.5),
        (3, (2, 5, 3, 3), 0.0, 1.0, 0.0),       # the exact identity: nothing reaches z
        (4, (2, 3, 5, 4), 2.0 ** -24, 1.0, 0.0),  # the identity start alpha_0
        (5, (4, 2, 3, 2), 0.8, 2.0, -1.0),
        (6, (2, 4, 3, 5), 1.0, 1.0, 12.0),       # a saturating gate: sigma' about e^-12
    ):
        u = _fixed(n, c, h, w, seed=seed)
        z = _fixed(n, c, seed=seed + 10, scale=spread) + offset
        g = _fixed(n, c, h, w, seed=seed + 20, scale=1e3 if alpha == 2.0 ** -24 else 1.0)
        cases.append((u, z, alpha, g))
    return cases


def _sigma_prime(z):
    s = torch.sigmoid(z)
    return s * (1 - s)


#: Typical mistakes and the hint each one gets.
MISTAKES = (
    (lambda u, z, alpha, g: (g * u).sum(dim=(2, 3)) * _sigma_prime(z),
     mark("Your gradient ignores alpha (at alpha = 0 it is not 0): the gate reaches y only through "
          "alpha s ⊙ u, so everything behind it gets alpha times its usual gradient.")),
    (lambda u, z, alpha, g: (1 - alpha) * (g * u).sum(dim=(2, 3)) * _sigma_prime(z),
     mark("The gate enters y through alpha s ⊙ u: its factor is alpha, not 1 − alpha (the 1 − "
          "alpha multiplies u alone).")),
    (lambda u, z, alpha, g: alpha * (g * u).sum(dim=(2, 3)),
     mark("That is dL/ds, the gradient at the gate; go on through the sigmoid: ds/dz = s "
          "(1 − s).")),
    (lambda u, z, alpha, g: alpha * (g * u).sum(dim=(2, 3)) * torch.sigmoid(z),
     mark("The sigmoid's derivative is s (1 − s), not s.")),
    (lambda u, z, alpha, g: alpha * (g * u).sum(dim=(2, 3)) * _sigma_prime(torch.sigmoid(z)),
     mark("σ' is taken at the logit z, where it equals s (1 − s); yours evaluates σ' at the gate "
          "s.")),
    (lambda u, z, alpha, g: alpha * g * u * _sigma_prime(z)[:, :, None, None],
     mark("z_nc is one number for all H × W positions of its channel, so every position adds its "
          "term: sum g ⊙ u over h and w (yours keeps one value per position).")),
    (lambda u, z, alpha, g: alpha * (g * u).mean(dim=(2, 3)) * _sigma_prime(z),
     mark("Sum over the positions, do not average: each of the H W outputs that the gate "
          "multiplies adds its own term to dL/dz.")),
    (lambda u, z, alpha, g: alpha * ((g * u).sum(dim=(2, 3)) * _sigma_prime(z)).sum(dim=0),
     mark("Each image has its own logits: dL/dz has shape (N, C), one row per image; yours sums "
          "over the images.")),
    (lambda u, z, alpha, g: alpha * (g * (torch.sigmoid(z)[:, :, None, None] * u - u)).sum(
        dim=(2, 3)) * _sigma_prime(z),
     mark("You used A(u) − u, the factor in alpha's own gradient <g, A(u) − u>; the gate "
          "multiplies u, so dy/ds = alpha u.")),
    (lambda u, z, alpha, g: (g * (torch.sigmoid(z)[:, :, None, None] * u - u)).sum(dim=(2, 3)),
     mark("That is alpha's gradient, <g, A(u) − u>, split by channel, not the logits' gradient.")),
)


def check_blend_logit_grad(fn: Any) -> Feedback:
    """Check ``fn(u, z, alpha, g) -> dL/dz`` for the blended gate
    :math:`y = u + \\alpha (\\sigma(z) \\odot u - u)` on six cases, against autograd; the reader's
    function must not use autograd (the prompt asks for the chain rule)."""
    return check_function(
        fn, _blend_logit_grad, _cases(), what=tr("blend_logit_grad(u, z, alpha, g)"),
        atol=1e-12, rtol=1e-6,
        forbidden=[autograd_forbidden(tr("write y as a function of z and apply the chain rule "
                                         "through the blend, the broadcast and the sigmoid with "
                                         "tensor operations; the checker runs autograd itself to "
                                         "compare."))],
        wrong_functions=MISTAKES,
        success=tr("alpha times σ'(z) times the sum of g ⊙ u over each channel's positions: "
                   "exactly 0 at alpha = 0, and tiny for a saturated logit even at alpha = 1."),
    )
