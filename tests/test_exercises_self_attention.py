"""Chapter 6's checkers accept the right answers, name the modelled mistakes, never crash."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.exercises import self_attention as ex
from attn_lessons.exercises.self_attention import (
    check_dot_variance,
    check_local_causal_mask,
)
from attn_lessons.self_attention import scaled_dot_product_attention


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (check_local_causal_mask, ex.reference_local_causal_mask),
        (check_local_causal_mask, lambda n, w: torch.ones(n, n, dtype=torch.bool).tril()
         & ~torch.ones(n, n, dtype=torch.bool).tril(-w)),
        (check_dot_variance, ex.reference_dot_variance),
        (check_dot_variance, lambda d, a, b: float(d * a * b)),
    ],
)
def test_accepts_right_answers(checker, right):
    verdict = checker(right)
    assert verdict, verdict
    assert str(verdict).startswith("Correct: ")


@pytest.mark.parametrize(
    ("checker", "wrong", "hint"),
    [
        (check_local_causal_mask, ex._window_upper, "not above it"),
        (check_local_causal_mask, ex._window_strict, "include the diagonal"),
        (check_local_causal_mask, ex._window_inverted, "True = blocked"),
        (check_local_causal_mask, ex._window_ignored, "plain causal mask"),
        (check_local_causal_mask, ex._window_plus_one, "one key too many"),
        (check_dot_variance, ex._std_not_var, "standard deviation"),
        (check_dot_variance, ex._sum_of_variances, "product of their variances"),
        (check_dot_variance, ex._forgot_d, "variances add up"),
    ],
)
def test_names_the_modelled_mistake(checker, wrong, hint):
    verdict = checker(wrong)
    assert not verdict
    assert hint in verdict.message
    assert str(verdict).startswith("Not yet: ")


def test_multi_head_checker_accepts_the_library_batched_over_heads():
    def batched(q, k, v, heads):  # the library's attention, every head in one batched call
        def split(x):  # (B, n, width) -> (B, h, n, width/h)
            return x.unflatten(-1, (heads, -1)).transpose(1, 2)

        out, _ = scaled_dot_product_attention(split(q), split(k), split(v))
        return out.transpose(1, 2).flatten(2)  # (B, h, n, d_v) -> (B, n, D_v)

    assert ex.check_multi_head_attention(batched)


def test_multi_head_checker_refuses_a_loop_over_the_heads_with_right_values():
    def per_head(q, k, v, heads):  # the library's attention, one column block at a time
        outs = [scaled_dot_product_attention(qi, ki, vi)[0]
                for qi, ki, vi in zip(q.chunk(heads, -1), k.chunk(heads, -1), v.chunk(heads, -1),
                                      strict=True)]
        return torch.cat(outs, dim=-1)

    for looped in (per_head, ex.reference_multi_head_attention):  # the reference loops too
        verdict = ex.check_multi_head_attention(looped)
        assert not verdict and "loops over the heads" in verdict.message


@pytest.mark.parametrize(("wrong", "hint"), [
    (ex._mha_one_head, "one head over the full width"),
    (ex._mha_full_width_scale, "not by 1/√D"),
    (ex._mha_reshape_without_transpose, "mixes positions with heads"),
    (ex._mha_merge_without_transpose, "transpose(1, 2) back first"),
    (ex._mha_softmax_over_queries, "wrong axis"),
    (ex._mha_unscaled, "forgot the scale"),
])
def test_multi_head_checker_names_each_mistake(wrong, hint):
    verdict = ex.check_multi_head_attention(wrong)
    assert not verdict and hint in verdict.message, str(verdict)


def test_local_causal_mask_reference_matches_sdpa_with_the_window():
    """The reference mask, used by SDPA, gives what attending to the window by hand gives."""
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, 6, 4, generator=g, dtype=torch.float64) for _ in range(3))
    out = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=ex.reference_local_causal_mask(6, 3))
    for i in range(6):
        keys = slice(max(0, i - 2), i + 1)
        w = torch.softmax(q[0, i] @ k[0, keys].T / 2.0, dim=-1)
        torch.testing.assert_close(out[0, i], w @ v[0, keys])
    # the exercise's predict-first case: query 0 sees 1 key, query 5 sees 3, 15 True in all
    m = ex.reference_local_causal_mask(6, 3)
    assert m.sum(1).tolist() == [1, 2, 3, 3, 3, 3] and int(m.sum()) == 15
