"""Checkers for chapter 1 (dot products and similarity).

Each checker runs the reader's function on a few fixed inputs, compares it with the library's
answer and, when the output matches a typical mistake, says which one. None of them raises.
"""

from __future__ import annotations

from typing import Any

import torch

from attn_lessons import similarity

from ._core import Feedback, check_function, not_yet

__all__ = [
    "check_attention_average",
    "check_cosine_similarity",
    "check_gram_matrix",
    "check_stable_softmax",
]


def _fixed(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


# --- cosine similarity -----------------------------------------------------------------------


def _cos_reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return similarity.cosine_similarity(a, b)


def _cos_no_normalisation(a, b):
    return (a * b).sum(-1)


def _cos_one_norm(a, b):
    return (a * b).sum(-1) / a.norm(dim=-1)


def _cos_squared_norms(a, b):
    return (a * b).sum(-1) / (a.norm(dim=-1) ** 2 * b.norm(dim=-1) ** 2)


def check_cosine_similarity(fn: Any) -> Feedback:
    """Check ``fn(a, b)``: the cosine similarity of ``(..., d)`` tensors over the last dim."""
    cases = [
        (torch.tensor([3.0, 4.0], dtype=torch.float64),
         torch.tensor([4.0, 3.0], dtype=torch.float64)),
        (_fixed(5, 8, seed=1, scale=3.0), _fixed(5, 8, seed=2)),
        (_fixed(2, 3, 4, seed=3), _fixed(2, 3, 4, seed=4, scale=0.2)),
    ]
    return check_function(
        fn, _cos_reference, cases, what="your cosine_similarity",
        wrong_functions=[
            (_cos_no_normalisation, "that is the plain dot product a·b: divide by both norms "
             "‖a‖ ‖b‖ so that the result lies in [-1, 1]."),
            (_cos_one_norm, "you divided by ‖a‖ only (that is the projection of b on a): "
             "divide by ‖b‖ as well."),
            (_cos_squared_norms, "divide by the norms ‖a‖ ‖b‖, not by their squares."),
        ],
        success="cosine similarity ignores lengths and keeps only the angle.",
    )


# --- Gram matrix -----------------------------------------------------------------------------


def _gram_transposed(x):
    return x.transpose(-2, -1) @ x


def _gram_elementwise(x):
    return x * x


def check_gram_matrix(fn: Any) -> Feedback:
    """Check ``fn(x)``: the Gram matrix ``x @ x^T`` of ``x`` with shape ``(n, d)``."""
    cases = [
        (_fixed(4, 3, seed=5),),
        (_fixed(3, 5, seed=6),),
        (_fixed(1, 4, seed=7),),
    ]
    return check_function(
        fn, similarity.gram_matrix, cases, what="your gram_matrix",
        wrong_functions=[
            (_gram_transposed, "you computed Xᵀ X (d × d: inner products of columns); the Gram "
             "matrix of the rows is X Xᵀ (n × n)."),
            (_gram_elementwise, "X * X squares each entry; you want the matrix product X @ Xᵀ."),
        ],
        success="entry (i, j) is the inner product of rows i and j.",
    )


# --- stable softmax -----------------------------------------------------------------------------


def _softmax_reference(scores, temperature):
    return similarity.softmax(scores, dim=-1, temperature=temperature)


def _softmax_no_temperature(scores, temperature):
    return torch.softmax(scores, dim=-1)


def _softmax_times_temperature(scores, temperature):
    return torch.softmax(scores * temperature, dim=-1)


def _softmax_wrong_dim(scores, temperature):
    return torch.softmax(scores / temperature, dim=0)


def check_stable_softmax(fn: Any) -> Feedback:
    """Check ``fn(scores, temperature)``: softmax of ``scores / temperature`` over the last dim,
    stable for scores around 1e4."""
    cases = [
        (torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]], dtype=torch.float64), 1.0),
        (_fixed(3, 5, seed=8), 0.5),
        (_fixed(4, 4, seed=9), 3.0),
    ]
    verdict = check_function(
        fn, _softmax_reference, cases, what="your softmax",
        wrong_functions=[
            (_softmax_no_temperature, "the temperature is ignored: divide the scores by it "
             "before exponentiating."),
            (_softmax_times_temperature, "divide the scores by the temperature, do not multiply."),
            (_softmax_wrong_dim, "each row should sum to 1: normalise over the last dimension "
             "(dim=-1), not down the columns."),
        ],
    )
    if not verdict:
        return verdict
    big = torch.tensor([[1.0e4, 1.0e4 - 1.0, 1.0e4 - 2.0]], dtype=torch.float32)
    try:
        got = fn(big, 1.0)
    except Exception as exc:  # a reader's bug must never crash the checker
        return not_yet(f"your softmax raised {type(exc).__name__} on scores near 1e4: {exc}")
    if not isinstance(got, torch.Tensor) or not torch.isfinite(got).all():
        return not_yet(
            "right for small scores, but scores near 1e4 give NaN or inf: exp(1e4) overflows. "
            "Subtract each row's maximum before exponentiating."
        )
    return check_function(
        fn, _softmax_reference, [(big, 1.0)], what="your softmax on scores near 1e4",
        success="stable and exact: subtracting the maximum changes nothing but the overflow.",
    )


# --- attention as a weighted average ---------------------------------------------------------


def _attention_reference(scores, values):
    return similarity.attention_average(scores, values)[0]


def _attention_no_softmax(scores, values):
    return scores @ values


def _attention_column_softmax(scores, values):
    return torch.softmax(scores, dim=-2) @ values


def _attention_plain_mean(scores, values):
    return values.mean(dim=-2, keepdim=True).expand(*scores.shape[:-1], values.shape[-1])


def check_attention_average(fn: Any) -> Feedback:
    """Check ``fn(scores, values)``: ``softmax(scores, dim=-1) @ values``."""
    cases = [
        (_fixed(2, 3, seed=10), _fixed(3, 4, seed=11)),
        (_fixed(4, 4, seed=12, scale=2.0), _fixed(4, 2, seed=13)),
        (_fixed(2, 3, 5, seed=14), _fixed(2, 5, 3, seed=15)),
    ]
    return check_function(
        fn, _attention_reference, cases, what="your attention_average",
        wrong_functions=[
            (_attention_no_softmax, "the raw scores are used as weights: turn each row into "
             "weights with a softmax first."),
            (_attention_column_softmax, "the softmax runs down the columns; each query's row of "
             "weights must sum to 1 (dim=-1)."),
            (_attention_plain_mean, "that is the plain mean of the values: the weights must come "
             "from the scores."),
        ],
        success="each output row is a convex combination of the value rows.",
    )
