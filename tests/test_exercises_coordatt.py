"""Chapter 5's checkers accept the right answers, name the modelled mistakes, never crash."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.coordatt import CoordAtt, h_swish
from attn_lessons.exercises import coordatt as ex
from attn_lessons.exercises.coordatt import (
    check_coordinate_pool,
    check_h_swish,
    check_num_params,
)


def _from_library(channels, reduction):
    return sum(p.numel() for p in CoordAtt(channels, reduction).parameters())


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (check_coordinate_pool, ex.reference_coordinate_pool),
        (check_coordinate_pool,
         lambda x: torch.cat([x.mean(3, keepdim=True), x.mean(2, keepdim=True).transpose(2, 3)],
                             dim=2).squeeze(3)),
        (check_h_swish, ex.reference_h_swish),
        (check_h_swish, h_swish),
        (check_h_swish, torch.nn.functional.hardswish),
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
        (check_coordinate_pool, ex._pool_swapped, "wrong order"),
        (check_coordinate_pool, ex._pool_sum, "you summed"),
        (check_coordinate_pool, ex._pool_max, "maxima"),
        (check_h_swish, ex._h_sigmoid, "h-sigmoid"),
        (check_h_swish, ex._swish, "smooth swish"),
        (check_h_swish, ex._no_sixth, "divide by 6"),
        (check_h_swish, ex._relu_not_relu6, "ReLU6, not ReLU"),
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
