"""Chapter 6's checkers accept the right answers, name the modelled mistakes, never crash."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.exercises import self_attention as ex
from attn_lessons.exercises.self_attention import (
    check_attention_from_chunks,
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
        (check_attention_from_chunks, ex.reference_attention_from_chunks),
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
        (check_attention_from_chunks, ex._chunks_not_rescaled, "mixes different units"),
        (check_attention_from_chunks, ex._chunks_averaged, "equal average"),
        (check_attention_from_chunks, ex._chunks_sum_rescaled_not_o, "but not the numerators"),
        (check_attention_from_chunks, ex._chunks_rescaled_o_not_l, "but not the denominators"),
        (check_attention_from_chunks, ex._chunks_wrong_sign, "upside down"),
        (check_attention_from_chunks, ex._chunks_not_divided, "unnormalised sum"),
        (check_attention_from_chunks, ex._chunks_exp_of_max, "overflows once a score passes"),
        (check_attention_from_chunks, ex._chunks_global_max, "underflows to 0"),
        (check_attention_from_chunks, ex._chunks_mean_shift, "mean of the m_c"),
        (check_attention_from_chunks, ex._chunks_no_empty_guard, "output 0"),
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


def test_chunk_reference_equals_attention_over_all_keys():
    """The checker's reference, on its own cases, is the attention over the chunks' keys put
    together: computed independently, by the library, from the scores and values."""
    for seed, sizes in ((1, [2, 3]), (2, [4, 1, 3]), (3, [6]), (9, [1, 1, 1, 1])):
        s, v = ex._scores(3, sum(sizes), 2, seed)
        (parts,) = ex._chunks(s, v, sizes)
        weights = torch.softmax(s, dim=-1)
        torch.testing.assert_close(ex.reference_attention_from_chunks(parts), weights @ v)
    # shifted chunks: the scores of chunk c raised by shifts[c], and masked keys
    s, v = ex._scores(4, 9, 3, 7)
    s[1, :4] = float("-inf")
    s[3] = float("-inf")
    shifts = [700.0, 690.0]
    (parts,) = ex._chunks(s, v, [4, 5], shifts)
    full = torch.cat([s[:, :4] + shifts[0], s[:, 4:] + shifts[1]], dim=1)
    out, _ = scaled_dot_product_attention(torch.eye(4, dtype=torch.float64),
                                          torch.eye(4, dtype=torch.float64)[:1].expand(9, 4), v,
                                          mask=full, scale=1.0)
    torch.testing.assert_close(ex.reference_attention_from_chunks(parts), out)
    assert out[3].abs().max() == 0


def test_every_chunk_case_exercises_its_mistake():
    """Each case the docstring names really is hard for its mistake: the overflow, underflow and
    empty cases give NaN for the modelled answers and finite values for the reference."""
    cases = ex.chunk_cases()
    finite = [bool(ex.reference_attention_from_chunks(*c).isfinite().all()) for c in cases]
    assert all(finite)
    assert not ex._chunks_exp_of_max(*cases[3]).isfinite().all()
    assert not ex._chunks_global_max(*cases[4]).isfinite().all()
    assert not ex._chunks_mean_shift(*cases[5]).isfinite().all()
    assert not ex._chunks_no_empty_guard(*cases[6]).isfinite().all()
