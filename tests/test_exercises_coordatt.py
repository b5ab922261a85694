"""Chapter 5's checkers accept the right answers, name the modelled mistakes, never crash."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attn_lessons.coordatt import CoordAtt, h_swish
from attn_lessons.exercises import coordatt as ex
from attn_lessons.exercises.coordatt import (
    check_coordinate_pool_3d,
    check_crossover_width,
    check_h_swish_grad,
)
from attn_lessons.se import SqueezeExcite


def _crossover_by_bisection(r_se, r_ca, floor):
    """The crossover found numerically from the two counts (no closed form), unrounded widths:
    the last sign change of SE - CA on a fine grid up to 10,000, refined by bisection."""
    if 3 * r_se >= 2 * r_ca:
        raise ValueError("no crossover")

    def se_minus_ca(c):
        m = np.maximum(floor, c / r_ca)
        return (2 * c * c / r_se + c / r_se + c) - (3 * c * m + 3 * m + 2 * c)

    grid = np.linspace(0.0, 10_000.0, 1_000_001)
    last = np.flatnonzero(se_minus_ca(grid) <= 0)[-1]
    low, high = grid[last], grid[last + 1]
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (low, mid) if se_minus_ca(mid) > 0 else (mid, high)
    return high


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
        (check_crossover_width, ex.reference_crossover_width),
        (check_crossover_width, _crossover_by_bisection),
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
        (check_crossover_width, ex._cx_floor_only, "floor is active"),
        (check_crossover_width, ex._cx_no_floor, "without the floor"),
        (check_crossover_width, ex._cx_edge, "stops mattering"),
        (check_crossover_width, ex._cx_no_bias, "have biases"),
        (check_crossover_width, ex._cx_no_bn, "BatchNorm"),
        (check_crossover_width, ex._cx_other_root, "negative root"),
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


def test_the_crossover_of_the_book_matches_the_library_counts():
    """With the book's settings the closed form gives about 200.5; the exact counts, with the
    hidden widths rounded down, cross at the next multiple of 16 above it, 208 (the lab's scan)."""
    c_star = ex.reference_crossover_width(16, 32, 8)
    assert 200 < c_star < 201

    def count(module):
        return sum(p.numel() for p in module.parameters())

    with torch.device("meta"):
        assert count(CoordAtt(207)) > count(SqueezeExcite(207, 16))
        assert all(count(CoordAtt(c)) < count(SqueezeExcite(c, 16)) for c in range(208, 520, 7))
