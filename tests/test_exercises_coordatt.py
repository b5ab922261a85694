"""Chapter 5's checkers accept the right answers, name the modelled mistakes, never crash."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.coordatt import CoordAtt, h_swish
from attn_lessons.exercises import coordatt as ex
from attn_lessons.exercises.coordatt import (
    check_coordinate_pool_3d,
    check_h_swish_grad,
    check_num_params,
)


def _from_library(channels, reduction):
    return sum(p.numel() for p in CoordAtt(channels, reduction).parameters())


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (check_coordinate_pool_3d, ex.reference_coordinate_pool_3d),
        (check_coordinate_pool_3d,
         lambda x: torch.cat([x.mean(4).mean(3), x.mean(4).mean(2), x.mean(3).mean(2)], dim=2)),
        (check_h_swish_grad,
         lambda x: torch.where((x > -3) & (x < 3), (2 * x + 3) / 6, (x >= 3).to(x.dtype))),
        (check_h_swish_grad,
         lambda x: torch.where(x < -3, 0 * x, torch.where(x < 3, x / 3 + 0.5, 1 + 0 * x))),
        (check_num_params, ex.reference_num_params),
        (check_num_params, _from_library),
    ],
)
def test_accepts_right_answers(checker, right):
    verdict = checker(right)
    assert verdict, verdict
    assert str(verdict).startswith("Correct: ")


@pytest.mark.parametrize(
    ("checker", "wrong", "hint"),
    [
        (check_coordinate_pool_3d, ex._pool3_reversed, "wrong order"),
        (check_coordinate_pool_3d, ex._pool3_sum, "you summed"),
        (check_coordinate_pool_3d, ex._pool3_no_depth, "depth profile"),
        (check_h_swish_grad, ex._hsg_h_sigmoid, "h-sigmoid"),
        (check_h_swish_grad, ex._hsg_swish, "smooth swish"),
        (check_h_swish_grad, ex._hsg_flat_above, "slope is 1"),
        (check_h_swish_grad, lambda x: h_swish(x), "h-swish itself"),
        (check_num_params, ex._no_bn, "BatchNorm has learnable parameters"),
        (check_num_params, ex._no_bias, "biases"),
        (check_num_params, ex._no_floor, "max(8, C // r)"),
        (check_num_params, ex._one_output_conv, "two output convolutions"),
    ],
)
def test_names_the_modelled_mistake(checker, wrong, hint):
    verdict = checker(wrong)
    assert not verdict
    assert hint in verdict.message
    assert str(verdict).startswith("Not yet: ")


def test_the_closest_gate_to_a_diagonal_preference_is_uniform():
    """The answer of the page's exercise ex-ca-diagonal: the best rank-one approximation of
    [[0.9, 0.1], [0.1, 0.9]] is the uniform 0.5 matrix, at Frobenius distance 0.8, and no outer
    product of gates in (0, 1)^2 comes closer."""
    target = torch.tensor([[0.9, 0.1], [0.1, 0.9]], dtype=torch.float64)
    u, s, vh = torch.linalg.svd(target)
    best = s[0] * torch.outer(u[:, 0], vh[0])
    torch.testing.assert_close(best, torch.full((2, 2), 0.5, dtype=torch.float64))
    torch.testing.assert_close(torch.linalg.norm(target - best), torch.tensor(0.8,
                                                                              dtype=torch.float64))
    # the module reaches it: g^h = g^w = (1/sqrt 2, 1/sqrt 2)
    g = torch.full((2,), 2**-0.5, dtype=torch.float64)
    torch.testing.assert_close(torch.outer(g, g), best)
    # and nothing it can produce is closer: a grid over (0, 1)^4
    grid = torch.linspace(0.01, 0.99, 25, dtype=torch.float64)
    a, b, c, d = torch.meshgrid(grid, grid, grid, grid, indexing="ij")
    gates = torch.stack([a * c, a * d, b * c, b * d], dim=-1)  # entries of g^h (g^w)^T
    distance = (gates - target.flatten()).pow(2).sum(-1).sqrt()
    assert distance.min() >= 0.8 - 1e-12
