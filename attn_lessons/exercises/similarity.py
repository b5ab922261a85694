"""Checkers for chapter 1 (dot products and similarity).

Each checker runs the reader's function on a few fixed inputs, compares it with the library's
answer and, when the output matches a typical mistake, says which one. None of them raises.
"""

from __future__ import annotations

from typing import Any

import torch

from attn_lessons import similarity

from ._core import Feedback, check_function

__all__ = [
    "check_cosine_similarity",
    "check_log_softmax_jacobian",
    "check_masked_attention",
    "check_masked_gram",
    "check_stable_log_softmax",
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


def _cos_global_norms(a, b):
    return (a * b).sum(-1) / (a.norm() * b.norm())


def _cos_distance(a, b):
    return 1 - similarity.cosine_similarity(a, b)


def _cos_first_dim(a, b):
    return (a * b).sum(0) / (a.norm(dim=0) * b.norm(dim=0))


def check_cosine_similarity(fn: Any) -> Feedback:
    """Check ``fn(a, b)``: the cosine similarity of ``(..., d)`` tensors over the last dim."""
    cases = [
        (torch.tensor([3.0, 4.0], dtype=torch.float64),
         torch.tensor([4.0, 3.0], dtype=torch.float64)),
        (_fixed(5, 8, seed=1, scale=3.0), _fixed(5, 8, seed=2)),
        (_fixed(2, 3, 4, seed=3), _fixed(2, 3, 4, seed=4, scale=0.2)),
        (_fixed(3, 3, seed=16, scale=5.0), _fixed(3, 3, seed=17, scale=0.1)),
    ]
    return check_function(
        fn, _cos_reference, cases, what="your cosine_similarity",
        wrong_functions=[
            (_cos_no_normalisation, "that is the plain dot product a·b: divide by both norms "
             "‖a‖ ‖b‖ so that the result lies in [-1, 1]."),
            (_cos_one_norm, "you divided by ‖a‖ only (that is the projection of b on a): "
             "divide by ‖b‖ as well."),
            (_cos_squared_norms, "divide by the norms ‖a‖ ‖b‖, not by their squares."),
            (_cos_global_norms, "you divided by the norms of the whole tensors; each pair of "
             "vectors is normalised by its own lengths: norm(dim=-1)."),
            (_cos_distance, "that is the cosine distance 1 − cos θ; return cos θ itself."),
            (_cos_first_dim, "the vectors run along the last dimension: sum and take norms "
             "over dim=-1, not dim=0."),
        ],
        success="cosine similarity ignores lengths and keeps only the angle.",
    )


# --- the Gram matrices of a padded batch (a transfer: batch dimension and a mask) -------------
#
# x is (B, n, d): B samples of up to n items each, padded to n; mask (B, n) is True for a real
# item. G[b, i, j] = x_bi · x_bj when items i and j of sample b are both real, 0 otherwise: the
# Gram matrix of each sample's real rows, with the padded rows and columns zero (still PSD).


def _masked_gram_reference(x, mask):
    xm = x * mask[..., None].to(x.dtype)                         # padded rows -> 0
    return xm @ xm.transpose(-2, -1)                             # (B, n, d) (B, d, n) -> (B, n, n)


def _mgram_no_mask(x, mask):
    return x @ x.transpose(-2, -1)


def _mgram_rows_only(x, mask):
    return (x @ x.transpose(-2, -1)) * mask[:, :, None].to(x.dtype)


def _mgram_columns_only(x, mask):
    return (x @ x.transpose(-2, -1)) * mask[:, None, :].to(x.dtype)


def _mgram_inverted(x, mask):
    return _masked_gram_reference(x, ~mask)


def _mgram_columns_of_x(x, mask):
    xm = x * mask[..., None].to(x.dtype)
    return xm.transpose(-2, -1) @ xm


def _mgram_columns_of_x_unmasked(x, mask):
    return x.transpose(-2, -1) @ x


def _mgram_one_for_all(x, mask):
    xm = (x * mask[..., None].to(x.dtype)).reshape(-1, x.shape[-1])   # (B, n, d) -> (B n, d)
    return xm @ xm.T


def _mgram_minus_inf(x, mask):
    pair = mask[:, :, None] & mask[:, None, :]
    return (x @ x.transpose(-2, -1)).masked_fill(~pair, float("-inf"))


def _mgram_per_count(x, mask):
    count = mask.sum(-1).to(x.dtype)[:, None, None]
    return _masked_gram_reference(x, mask) / count


def _masked_gram_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    t, f = True, False
    return [
        (_fixed(2, 4, 3, seed=5), torch.tensor([[t, t, t, f], [t, t, f, f]])),
        (_fixed(3, 3, 5, seed=6), torch.tensor([[t, t, t], [t, f, f], [f, t, t]])),
        (_fixed(1, 5, 2, seed=7) + 2.0, torch.tensor([[f, t, t, f, t]])),
    ]


def check_masked_gram(fn: Any) -> Feedback:
    """Check ``fn(x, mask)``: each sample's Gram matrix with the padded rows and columns 0.

    ``x`` has shape ``(B, n, d)``, ``mask`` shape ``(B, n)`` (True for a real item); the answer
    has shape ``(B, n, n)``.
    """
    return check_function(
        fn, _masked_gram_reference, _masked_gram_cases(), what="your masked Gram matrices",
        wrong_functions=[
            (_mgram_no_mask, "the padding rows still enter: entries that involve a padded item "
             "(mask False) must be 0."),
            (_mgram_rows_only, "you zeroed the rows of the padded items but not their columns: "
             "G_ij needs both items i and j real."),
            (_mgram_columns_only, "you zeroed the columns of the padded items but not their "
             "rows: G_ij needs both items i and j real."),
            (_mgram_inverted, "the mask is inverted: True marks a real item, False padding."),
            (_mgram_columns_of_x, "you computed Xᵀ X per sample (d × d, inner products of "
             "columns); the Gram matrix of the rows is X Xᵀ (n × n)."),
            (_mgram_columns_of_x_unmasked, "you computed Xᵀ X per sample (d × d, inner products "
             "of columns); the Gram matrix of the rows is X Xᵀ (n × n), padded rows zeroed."),
            (_mgram_one_for_all, "you flattened the batch into one (B·n) × (B·n) matrix; each "
             "sample has its own Gram matrix: the answer is (B, n, n)."),
            (_mgram_minus_inf, "-inf is what a padded score gets before a softmax; a Gram matrix "
             "is no softmax, and its padded entries are 0 (the inner products with a zero row)."),
            (_mgram_per_count, "there is no division by the number of real items: G_ij is the "
             "plain inner product x_i · x_j."),
        ],
        success="each sample's real rows, inner products x_i · x_j; padding rows and columns 0.",
    )


# --- the softmax (the reference the log-softmax's tempting copy takes the log of) -----------


def _softmax_reference(scores, temperature):
    return similarity.softmax(scores, dim=-1, temperature=temperature)


# --- stable log-softmax (the notebook's exercise: a transfer of the stable softmax) ----------
#
# log softmax(s / T)_j = (s_j - m) / T - log sum_k exp((s_k - m) / T), m = max_k s_k per row.
# The reader has the stable softmax from the notebook; taking its log is the tempting copy, and
# it returns -inf wherever a weight underflows to 0 although the log-weight is a finite number.


def _log_softmax_reference(scores, temperature):
    return torch.log_softmax(scores.double() / temperature, dim=-1).to(scores.dtype)


def _log_of_stable_softmax(scores, temperature):
    return torch.log(_softmax_reference(scores, temperature))


def _log_softmax_naive(scores, temperature):
    t = scores / temperature
    return t - torch.log(torch.exp(t).sum(dim=-1, keepdim=True))


def _log_softmax_no_lse(scores, temperature):
    t = scores / temperature
    return t - t.amax(dim=-1, keepdim=True)


def _log_softmax_shift_not_added(scores, temperature):
    # log sum exp computed stably, but its shift m/T was not added back
    t = scores / temperature
    m = t.amax(dim=-1, keepdim=True)
    return t - torch.log(torch.exp(t - m).sum(dim=-1, keepdim=True))


def _log_softmax_global_max(scores, temperature):
    t = scores / temperature
    m = t.max()
    return t - m - torch.log(torch.exp(t - m).sum(dim=-1, keepdim=True))


def _log_softmax_no_temperature(scores, temperature):
    return torch.log_softmax(scores, dim=-1)


def _log_softmax_wrong_dim(scores, temperature):
    return torch.log_softmax(scores / temperature, dim=0)


def _log_softmax_cases() -> list[tuple[torch.Tensor, float]]:
    f64 = torch.float64
    return [
        # small scores: every formula that is right on paper agrees here
        (torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]], dtype=f64), 1.0),
        (_fixed(3, 5, seed=8), 0.5),
        # a spread of 800: the smallest weight underflows to 0, its log is -800, not -inf
        (torch.tensor([[0.0, 400.0, 800.0]], dtype=f64), 1.0),
        # large scores close together: exp(s) overflows
        (torch.tensor([[800.0, 801.0, 802.0]], dtype=f64), 1.0),
        # rows at very different levels: the global max underflows the lower row
        (torch.tensor([[0.0, 1.0, 2.0], [-1500.0, -1501.0, -1502.0]], dtype=f64), 1.0),
        # a temperature below 1 on large scores
        (torch.tensor([[1000.0, 999.0, 998.0], [3.0, 1.0, 2.0]], dtype=f64), 0.25),
        # float32: exp overflows at 89 and the weight exp(-300) underflows
        (torch.tensor([[150.0, 149.0, -150.0]], dtype=torch.float32), 1.0),
    ]


def check_stable_log_softmax(fn: Any) -> Feedback:
    """Check ``fn(scores, temperature)``: log softmax(scores / T) over the last dim, stable and
    finite for any finite scores (the log-sum-exp trick, e.g. Goodfellow et al., Deep Learning,
    section 4.1)."""
    return check_function(
        fn, _log_softmax_reference, _log_softmax_cases(), what="your log-softmax",
        wrong_functions=[
            (_log_softmax_no_lse, "every row must be the log of weights that sum to 1: subtract "
             "log sum_k exp((s_k - m) / T), not only the maximum m / T."),
            (_log_softmax_no_temperature, "the temperature is ignored: divide the scores by it."),
            (_log_softmax_wrong_dim, "normalise each row (dim=-1), not down the columns."),
            (_log_of_stable_softmax, "the log of the softmax is -inf wherever a weight underflows "
             "to 0, although its log is a finite number (here -800): never form the weights. "
             "Compute (s - m) / T - log sum exp((s - m) / T) directly."),
            (_log_softmax_naive, "log(sum(exp(s / T))) overflows to inf for large scores: take "
             "the row maximum m out first, log sum exp(t) = m + log sum exp(t - m)."),
            (_log_softmax_shift_not_added, "log sum exp(t) = m + log sum exp(t - m): you dropped "
             "the m that you subtracted inside, so every row is off by its maximum m / T."),
            (_log_softmax_global_max, "you subtracted the maximum of the whole tensor: a row far "
             "below it underflows to log 0 = -inf. Use each row's own maximum."),
        ],
        success="finite and exact: (s - m) / T minus the stable log-sum-exp, never log(0).",
    )


# --- attention over a padded batch (a transfer: the key mask) --------------------------------
#
# scores (B, m, n), values (B, n, d_v), key_mask (B, n) True for a real key. A padded key gets
# weight exactly 0 and the real keys' weights of each row sum to 1: its score becomes -inf
# before the softmax. Every sample has at least one real key, so no row is all -inf.


def _masked_attention_reference(scores, values, key_mask):
    s = scores.masked_fill(~key_mask[:, None, :], float("-inf"))     # (B, n) -> (B, 1, n)
    return torch.softmax(s, dim=-1) @ values                         # (B, m, n) (B, n, d_v)


def _matt_no_mask(scores, values, key_mask):
    return torch.softmax(scores, dim=-1) @ values


def _matt_zero_score(scores, values, key_mask):
    s = scores.masked_fill(~key_mask[:, None, :], 0.0)
    return torch.softmax(s, dim=-1) @ values


def _matt_not_renormalised(scores, values, key_mask):
    w = torch.softmax(scores, dim=-1) * key_mask[:, None, :].to(scores.dtype)
    return w @ values


def _matt_inverted(scores, values, key_mask):
    return _masked_attention_reference(scores, values, ~key_mask)


def _matt_added_mask(scores, values, key_mask):
    return torch.softmax(scores + key_mask[:, None, :].to(scores.dtype), dim=-1) @ values


def _matt_column_softmax(scores, values, key_mask):
    s = scores.masked_fill(~key_mask[:, None, :], float("-inf"))
    return torch.nan_to_num(torch.softmax(s, dim=-2)) @ values


def _matt_query_mask(scores, values, key_mask):
    # the mask laid along the queries (possible when m == n): whole rows of -inf give NaN
    s = scores.masked_fill(~key_mask[:, :, None], float("-inf"))
    return torch.softmax(s, dim=-1) @ values


def _matt_mean_of_real(scores, values, key_mask):
    w = key_mask[:, None, :].to(scores.dtype).expand_as(scores)
    return (w / w.sum(-1, keepdim=True)) @ values


def _masked_attention_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    t, f = True, False
    return [
        (_fixed(2, 3, 3, seed=10), _fixed(2, 3, 4, seed=11),
         torch.tensor([[t, t, f], [t, f, f]])),
        (_fixed(2, 2, 5, seed=12, scale=2.0) - 3.0, _fixed(2, 5, 2, seed=13),
         torch.tensor([[f, t, t, f, t], [t, t, t, t, f]])),
        (_fixed(1, 4, 4, seed=14), _fixed(1, 4, 3, seed=15), torch.tensor([[t, t, t, t]])),
    ]


def check_masked_attention(fn: Any) -> Feedback:
    """Check ``fn(scores, values, key_mask)``: attention that gives padded keys weight 0.

    ``scores`` is ``(B, m, n)``, ``values`` ``(B, n, d_v)``, ``key_mask`` ``(B, n)`` (True for a
    real key); the answer is ``(B, m, d_v)``.
    """
    return check_function(
        fn, _masked_attention_reference, _masked_attention_cases(),
        what="your masked attention",
        wrong_functions=[
            (_matt_no_mask, "the padded keys still get weight: their scores must become -inf "
             "(or a very negative number) before the softmax."),
            (_matt_zero_score, "a score of 0 is not 'no weight': e^0 = 1, so a padded key "
             "still gets weight, and more than real keys with negative scores. Use -inf."),
            (_matt_not_renormalised, "you removed the padded keys' weights (or zeroed their "
             "values) after the softmax without renormalising: the rest no longer sum to 1."),
            (_matt_inverted, "the mask is inverted: True marks a real key, False padding."),
            (_matt_added_mask, "you added the mask itself to the scores (+1 for a real key); an "
             "additive mask is 0 for a real key and -inf for padding."),
            (_matt_column_softmax, "the softmax runs down the columns; each query's row of "
             "weights over the keys must sum to 1 (dim=-1)."),
            (_matt_query_mask, "the mask is along the keys (the last axis of the scores), not "
             "the queries: key_mask[:, None, :]."),
            (_matt_mean_of_real, "that is the plain mean of the real values: the weights must "
             "come from the scores."),
        ],
        success="padded keys get weight 0 and each row's real weights sum to 1.",
    )


# --- the Jacobian of the log-softmax, by hand ------------------------------------------------


def _log_jacobian_reference(scores):
    """∂ log p_i/∂s_j of p = softmax(s), by autograd: the checker never trusts the formula it
    tests."""
    return torch.autograd.functional.jacobian(lambda s: torch.log_softmax(s, dim=0), scores)


def _p(scores):
    return torch.softmax(scores, dim=0)


def _logjac_softmax_jacobian(scores):
    p = _p(scores)
    return torch.diag(p) - torch.outer(p, p)


def _logjac_transposed(scores):
    p = _p(scores)
    return torch.eye(len(p), dtype=p.dtype) - p[:, None]


def _logjac_identity(scores):
    return torch.eye(len(scores), dtype=scores.dtype)


def _logjac_no_identity(scores):
    p = _p(scores)
    return -p[None, :].expand(len(p), len(p))


def _logjac_sign_flipped(scores):
    p = _p(scores)
    return p[None, :] - torch.eye(len(p), dtype=p.dtype)


def _logjac_diagonal(scores):
    return torch.diag(1 - _p(scores))


def _logjac_outer(scores):
    p = _p(scores)
    return torch.eye(len(p), dtype=p.dtype) - torch.outer(p, p)


def _log_jacobian_cases() -> list[tuple[torch.Tensor]]:
    return [
        (torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),),
        (_fixed(5, seed=19, scale=2.0),),
        (torch.tensor([0.0, 0.0], dtype=torch.float64),),
    ]


def check_log_softmax_jacobian(fn: Any) -> Feedback:
    """Check ``fn(scores) -> J`` with ``J[i, j] = ∂ log p_i/∂s_j`` for ``p = softmax(scores)`` and
    ``scores`` of shape (n,), against autograd's Jacobian of ``torch.log_softmax``."""
    return check_function(
        fn, _log_jacobian_reference, _log_jacobian_cases(), what="your log_softmax_jacobian",
        wrong_functions=[
            (_logjac_softmax_jacobian, "that is the Jacobian of p itself, diag(p) - p pᵀ; the log "
             "divides row i by p_i: ∂ log p_i/∂s_j = (∂p_i/∂s_j) / p_i."),
            (_logjac_transposed, "rows and columns are swapped: entry (i, j) is δ_ij - p_j, so p_j "
             "changes along each row, not down each column."),
            (_logjac_identity, "log p_i = s_i - log Σ_k e^{s_k}: the second term depends on every "
             "score too, and adds -p_j to every entry."),
            (_logjac_no_identity, "the first term, s_i, gives 1 on the diagonal: J = I - 1 pᵀ."),
            (_logjac_sign_flipped, "the signs are flipped: raising s_i raises log p_i."),
            (_logjac_diagonal, "those are the diagonal entries only: the off-diagonal ones, -p_j, "
             "are not zero."),
            (_logjac_outer, "the normalisation term is -p_j in every row (its derivative does not "
             "depend on i), not -p_i p_j."),
        ],
        success="J = I - 1 pᵀ, as autograd finds: row i is the i-th unit vector minus p, so "
        "J (1, ..., 1) = 0.",
    )
