"""Checkers for chapter 6's code exercises (self-attention)."""

from __future__ import annotations

import math
from typing import Any

import torch

from ._core import Feedback, Vectorised, check_function
from ._messages import tr

__all__ = [
    "check_attention_from_chunks",
    "check_dot_variance",
    "check_local_causal_mask",
    "check_multi_head_attention",
]


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention: the reference for each head of the exercise below.
def reference_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √d_k) v for q (B, n, d_k), k (B, m, d_k), v (B, m, d_v) -> (B, n, d_v)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, n, m)
    return torch.softmax(scores, dim=-1) @ v                  # (B, n, m) @ (B, m, d_v)


# ---------------------------------------------------------------------------------------------
# Exercise: multi-head attention without a loop over the heads (a transfer of the chapter's
# one-head attention): Vaswani et al., "Attention is all you need" (2017), section 3.2.2, without
# the projections W^Q, W^K, W^V, W^O. Head i uses the columns i*d .. (i+1)*d - 1, d = D / h.
def reference_multi_head_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                   heads: int) -> torch.Tensor:
    """q (B, n, D), k (B, m, D), v (B, m, D_v) -> (B, n, D_v), h heads of width D/h each."""
    outs = []
    d, d_v = q.shape[-1] // heads, v.shape[-1] // heads
    for i in range(heads):  # one head at a time: columns of width d (and d_v for the values)
        cols, cols_v = slice(i * d, (i + 1) * d), slice(i * d_v, (i + 1) * d_v)
        outs.append(reference_attention(q[..., cols], k[..., cols], v[..., cols_v]))  # (B, n, d_v)
    return torch.cat(outs, dim=-1)  # (B, n, h * d_v)


def _split(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, n, width = x.shape
    return x.reshape(b, n, heads, width // heads).transpose(1, 2)  # (B, h, n, width/h)


def _merge(x: torch.Tensor) -> torch.Tensor:
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)  # (B, h, n, d) -> (B, n, h*d)


def _mha_full_width_scale(q, k, v, heads):
    qs, ks, vs = _split(q, heads), _split(k, heads), _split(v, heads)
    w = torch.softmax(qs @ ks.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    return _merge(w @ vs)


def _mha_reshape_without_transpose(q, k, v, heads):
    def split(x):
        b, n, width = x.shape
        return x.reshape(b, heads, n, width // heads)  # mixes positions and heads
    qs, ks, vs = split(q), split(k), split(v)
    out = reference_attention(qs.flatten(0, 1), ks.flatten(0, 1), vs.flatten(0, 1))
    b, n = q.shape[0], q.shape[1]
    return out.reshape(b, heads, n, -1).reshape(b, n, -1)


def _mha_merge_without_transpose(q, k, v, heads):
    qs, ks, vs = _split(q, heads), _split(k, heads), _split(v, heads)
    out = torch.softmax(qs @ ks.transpose(-2, -1) / math.sqrt(qs.shape[-1]), dim=-1) @ vs
    b, h, n, d = out.shape
    return out.reshape(b, n, h * d)  # (B, h, n, d) read as (B, n, h*d): rows of the wrong heads


def _mha_one_head(q, k, v, heads):
    return reference_attention(q, k, v)


def _mha_softmax_over_queries(q, k, v, heads):
    qs, ks, vs = _split(q, heads), _split(k, heads), _split(v, heads)
    w = torch.softmax(qs @ ks.transpose(-2, -1) / math.sqrt(qs.shape[-1]), dim=-2)
    return _merge(w @ vs)


def _mha_unscaled(q, k, v, heads):
    qs, ks, vs = _split(q, heads), _split(k, heads), _split(v, heads)
    return _merge(torch.softmax(qs @ ks.transpose(-2, -1), dim=-1) @ vs)


def _mha_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]]:
    g = torch.Generator().manual_seed(67)
    cases = []
    for b, n, m, width, width_v, heads in [(2, 4, 4, 8, 6, 2), (1, 3, 5, 12, 6, 3),
                                           (2, 5, 6, 8, 4, 4), (1, 4, 3, 6, 9, 1)]:
        cases.append((*(torch.randn(b, s, w, generator=g, dtype=torch.float64)
                        for s, w in [(n, width), (m, width), (m, width_v)]), heads))
    return cases


def _heads_probe() -> Vectorised:
    """The same q, k, v split into one head and into four: a vectorised answer makes the same torch
    calls for both, a loop over the heads (or over their chunks) makes more for four."""
    g = torch.Generator().manual_seed(71)
    q, k, v = (torch.randn(2, 5, 8, generator=g, dtype=torch.float64) for _ in range(3))
    return Vectorised(
        (q, k, v, 1), (q, k, v, 4),
        tr("the values are right, but your function makes more torch calls for four heads than for "
           "one: it loops over the heads (or over their chunks). The prompt asks for no loop: "
           "reshape to (B, n, h, D/h), transpose to (B, h, n, D/h) and let one batched product "
           "serve every head."))


def check_multi_head_attention(fn: Any) -> Feedback:
    """Check ``fn(q, k, v, heads)``: h heads of softmax(q_i k_iᵀ / √(D/h)) v_i, concatenated,
    computed without a loop over the heads (the prompt's rule, enforced)."""
    return check_function(
        fn,
        reference_multi_head_attention,
        _mha_cases(),
        what="multi_head_attention",
        wrong_functions=[
            (_mha_one_head, tr("that is one head over the full width: split q, k and v into "
                               "`heads` column blocks and attend within each block.")),
            (_mha_full_width_scale, tr("each head's scores are dot products of width d = D / h: "
                                       "scale by 1/√(D/h), not by 1/√D.")),
            (_mha_reshape_without_transpose, tr("x.reshape(B, h, n, D/h) reinterprets the memory "
                                                "and mixes positions with heads: reshape to (B, n, "
                                                "h, D/h), then transpose(1, 2).")),
            (_mha_merge_without_transpose, tr("merging (B, h, n, d) with a plain reshape to (B, n, "
                                              "h*d) puts rows of different heads and positions "
                                              "together: transpose(1, 2) back first.")),
            (_mha_softmax_over_queries, tr("the softmax runs over the wrong axis: each query's "
                                           "weights over the keys should sum to 1 (dim=-1).")),
            (_mha_unscaled, tr("you forgot the scale: divide each head's scores by √(D/h).")),
        ],
        vectorised=_heads_probe(),
        success=tr("h heads of width D/h, each scaled by 1/√(D/h), concatenated in order."),
    )


# ---------------------------------------------------------------------------------------------
# Exercise: a causal mask with a window (local attention), in PyTorch's convention
# (True = may attend): query i sees key j when 0 <= i - j < window, itself included.
def reference_local_causal_mask(n: int, window: int) -> torch.Tensor:
    """(n, n) boolean, True where 0 <= i - j < window (query i, key j)."""
    gap = torch.arange(n)[:, None] - torch.arange(n)[None, :]  # (n, n): i - j
    return (gap >= 0) & (gap < window)


def _gap(n):
    return torch.arange(n)[:, None] - torch.arange(n)[None, :]


def _window_ignored(n, window):
    return _gap(n) >= 0


def _window_plus_one(n, window):
    return (_gap(n) >= 0) & (_gap(n) <= window)


def _window_both_sides(n, window):
    return _gap(n).abs() < window


def _window_upper(n, window):
    return (-_gap(n) >= 0) & (-_gap(n) < window)


def _window_strict(n, window):
    return (_gap(n) > 0) & (_gap(n) <= window)


def _window_inverted(n, window):
    return ~reference_local_causal_mask(n, window)


def _window_float(n, window):
    return reference_local_causal_mask(n, window).float()


def _window_additive(n, window):
    return torch.zeros(n, n).masked_fill(~reference_local_causal_mask(n, window), float("-inf"))


def check_local_causal_mask(local_causal_mask: Any) -> Feedback:
    """Check ``local_causal_mask(n, window)``: boolean, True where 0 <= i - j < window."""
    return check_function(
        local_causal_mask,
        reference_local_causal_mask,
        [(6, 3), (7, 2), (5, 5), (4, 10), (1, 2), (3, 1)],
        what="local_causal_mask",
        atol=0.0,
        rtol=0.0,
        wrong_functions=[
            (_window_ignored, tr("that is the plain causal mask: keys more than window - 1 "
                                 "positions back must be blocked too, so keep only 0 <= i - j < "
                                 "window.")),
            (_window_plus_one, tr("one key too many: the window holds `window` keys, the query's "
                                  "own included, so i - j < window, not <= window.")),
            (_window_both_sides, tr("the window must not reach into the future: a causal window "
                                    "keeps j <= i, so 0 <= i - j < window, not |i - j| < window.")),
            (_window_upper, tr("rows are queries and columns keys: query i looks back at keys j <= "
                               "i, so the True entries lie on and below the diagonal, not above "
                               "it.")),
            (_window_strict, tr("include the diagonal: a token may attend to itself (otherwise the "
                                "first query has no key at all), and the window counts it.")),
            (_window_inverted, tr("that is nn.MultiheadAttention's convention (True = blocked); "
                                  "F.scaled_dot_product_attention and this book use True = may "
                                  "attend.")),
            (_window_float, tr("a 0/1 mask of a number dtype (float or int) is not a mask for "
                               "F.scaled_dot_product_attention: it adds a float mask to the "
                               "scores, and adding 0 or 1 blocks nothing. Use dtype=torch.bool.")),
            (_window_additive, tr("that is the additive float mask (0 where allowed, -inf where "
                                  "blocked), which SDPA also accepts; this exercise asks for the "
                                  "boolean one, True = may attend.")),
        ],
        success=tr("each query sees itself and the window - 1 keys before it, and nothing else."),
    )


# ---------------------------------------------------------------------------------------------
# Exercise: attention from the summaries of key chunks (split-K, as fused kernels do when the keys
# are shared out among several workers). Each chunk c of the keys gives, per query, the online
# softmax's state (Milakov & Gimelshein 2018; chapter 6, eq-sa-online): m_c, the largest score in
# the chunk, l_c = sum_j exp(s_j - m_c) and o_c = sum_j exp(s_j - m_c) v_j. The reader derives
# how to combine them: m = max_c m_c, l = sum_c exp(m_c - m) l_c, o = sum_c exp(m_c - m) o_c,
# output o / l, and 0 for a query with no key in any chunk (every m_c = -inf), as the library's
# attention returns for a fully masked query.
State = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def chunk_state(scores: torch.Tensor, values: torch.Tensor) -> State:
    """One chunk's (m, l, o) for scores (n, s), -inf where masked, and values (s, d_v)."""
    m = scores.amax(dim=1)                                     # (n,), -inf where all masked
    shift = torch.where(torch.isneginf(m), torch.zeros_like(m), m)
    p = torch.exp(scores - shift[:, None])                     # (n, s), 0 where masked
    return m, p.sum(1), p @ values                             # (n,), (n,), (n, d_v)


def reference_attention_from_chunks(parts: list[State]) -> torch.Tensor:
    """The attention output (n, d_v) from the chunks' states [(m_c, l_c, o_c), ...]."""
    m = torch.stack([mc for mc, _, _ in parts]).amax(dim=0)     # (n,): the largest score of all
    empty = torch.isneginf(m)                                  # queries with no key anywhere
    m = torch.where(empty, torch.zeros_like(m), m)
    ell = sum(torch.exp(mc - m) * lc for mc, lc, _ in parts)   # (n,), each factor <= 1
    o = sum(torch.exp(mc - m)[:, None] * oc for mc, _, oc in parts)  # (n, d_v)
    ell = torch.where(empty, torch.ones_like(ell), ell)
    return torch.where(empty[:, None], torch.zeros_like(o), o / ell[:, None])


def _chunks(scores: torch.Tensor, v: torch.Tensor, sizes: list[int],
            shifts: list[float] | None = None) -> tuple[list[State]]:
    """The states of consecutive key chunks of the given sizes; ``shifts[c]`` is added to every
    score of chunk c (which moves m_c and leaves l_c and o_c as they are)."""
    parts, start = [], 0
    for c, size in enumerate(sizes):
        shift = 0.0 if shifts is None else shifts[c]
        parts.append(chunk_state(scores[:, start:start + size] + shift, v[start:start + size]))
        start += size
    return (parts,)


def _scores(n: int, s: int, d_v: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, 4, generator=g, dtype=torch.float64)
    k = torch.randn(s, 4, generator=g, dtype=torch.float64)
    return q @ k.T / 2.0, torch.randn(s, d_v, generator=g, dtype=torch.float64)  # (n, s), (s, d_v)


def chunk_cases() -> list[tuple[list[State]]]:
    """The checker's cases: ordinary chunks; scores near 800 (exp of a maximum overflows); one
    query's scores 1000 above another's (a maximum over all queries underflows); chunk maxima
    1500 apart within a query (a shift by their mean overflows); empty chunks and a query with no
    key in any chunk."""
    cases = [_chunks(*_scores(3, 5, 2, 1), [2, 3]),
             _chunks(*_scores(5, 8, 3, 2), [4, 1, 3]),
             _chunks(*_scores(2, 6, 3, 3), [6])]
    s, v = _scores(3, 6, 2, 4)
    cases.append(_chunks(s, v, [3, 3], shifts=[800.0, 805.0]))
    s, v = _scores(3, 7, 2, 5)
    s[1] += 1000.0                                             # query 1 far above the others
    cases.append(_chunks(s, v, [3, 4]))
    s, v = _scores(2, 6, 2, 6)
    cases.append(_chunks(s, v, [2, 2, 2], shifts=[0.0, 1500.0, 0.0]))
    s, v = _scores(4, 9, 3, 7)
    s[1, :4] = float("-inf")                                   # query 1: chunk 1 is empty
    s[2, 4:] = float("-inf")                                   # query 2: chunk 2 is empty
    s[3] = float("-inf")                                       # query 3: no key at all
    cases.append(_chunks(s, v, [4, 5]))
    return cases


def _stack(parts):
    m = torch.stack([mc for mc, _, _ in parts])                # (chunks, n)
    ell = torch.stack([lc for _, lc, _ in parts])              # (chunks, n)
    o = torch.stack([oc for _, _, oc in parts])                # (chunks, n, d_v)
    return m, ell, o


def _chunks_not_rescaled(parts):
    _m, ell, o = _stack(parts)
    return o.sum(0) / ell.sum(0)[:, None]


def _chunks_averaged(parts):
    _m, ell, o = _stack(parts)
    return (o / ell[..., None]).mean(0)


def _chunks_sum_rescaled_not_o(parts):
    m, ell, o = _stack(parts)
    top = m.amax(0)
    return o.sum(0) / (torch.exp(m - top) * ell).sum(0)[:, None]


def _chunks_rescaled_o_not_l(parts):
    m, ell, o = _stack(parts)
    return (torch.exp(m - m.amax(0))[..., None] * o).sum(0) / ell.sum(0)[:, None]


def _chunks_wrong_sign(parts):
    m, ell, o = _stack(parts)
    f = torch.exp(m.amax(0) - m)                               # >= 1: the factor upside down
    return (f[..., None] * o).sum(0) / (f * ell).sum(0)[:, None]


def _chunks_not_divided(parts):
    m, _ell, o = _stack(parts)
    f = torch.exp(m - m.amax(0))
    return (f[..., None] * o).sum(0)


def _chunks_exp_of_max(parts):
    m, ell, o = _stack(parts)
    f = torch.exp(m)                                           # e^{m_c}: overflows past 709
    return (f[..., None] * o).sum(0) / (f * ell).sum(0)[:, None]


def _chunks_global_max(parts):
    m, ell, o = _stack(parts)
    f = torch.exp(m - m[torch.isfinite(m)].max())              # one maximum for every query
    return (f[..., None] * o).sum(0) / (f * ell).sum(0)[:, None]


def _chunks_mean_shift(parts):
    m, ell, o = _stack(parts)
    f = torch.exp(m - m.mean(0))                               # exact, until a factor overflows
    return (f[..., None] * o).sum(0) / (f * ell).sum(0)[:, None]


def _chunks_no_empty_guard(parts):
    m, ell, o = _stack(parts)
    f = torch.exp(m - m.amax(0))                               # -inf - (-inf) = NaN
    return (f[..., None] * o).sum(0) / (f * ell).sum(0)[:, None]


def check_attention_from_chunks(fn: Any) -> Feedback:
    """Check ``fn(parts)``: the attention output (n, d_v) from the online-softmax states
    ``[(m_c, l_c, o_c), ...]`` of key chunks, finite for any scores, 0 for a query with no key."""
    return check_function(
        fn,
        reference_attention_from_chunks,
        chunk_cases(),
        what="attention_from_chunks",
        wrong_functions=[
            (_chunks_not_rescaled, tr("each chunk's l_c and o_c are sums relative to its own "
                                      "maximum m_c: adding them as they are mixes different units. "
                                      "Bring every chunk to one reference m first, multiplying "
                                      "both by e^(m_c - m).")),
            (_chunks_averaged, tr("an equal average of the chunks' outputs o_c / l_c treats a "
                                  "chunk of weak keys like one of strong keys: each chunk counts "
                                  "in proportion to its share e^(m_c - m) l_c of the total "
                                  "denominator.")),
            (_chunks_sum_rescaled_not_o, tr("you rescaled the denominators l_c but not the "
                                            "numerators o_c: both are sums relative to m_c and "
                                            "need the same factor e^(m_c - m).")),
            (_chunks_rescaled_o_not_l, tr("you rescaled the numerators o_c but not the "
                                          "denominators l_c: both are sums relative to m_c and "
                                          "need the same factor e^(m_c - m).")),
            (_chunks_wrong_sign, tr("the factor is upside down: a term e^(s - m_c) becomes e^(s - "
                                    "m) when multiplied by e^(m_c - m), which is at most 1 when m "
                                    "is the largest m_c; e^(m - m_c) goes the other way.")),
            (_chunks_not_divided, tr("o is the unnormalised sum: the attention output is o / l, "
                                     "the weights' denominator divided out at the end.")),
            (_chunks_exp_of_max, tr("e^(m_c) overflows once a score passes about 709 (inf / inf = "
                                    "NaN): factor out the largest m_c, so that every factor e^(m_c "
                                    "- m) is at most 1.")),
            (_chunks_global_max, tr("one maximum over every query is not enough: for a query whose "
                                    "scores lie far below it every factor underflows to 0 (0 / 0 = "
                                    "NaN). Take the maximum over the chunks of each query "
                                    "separately.")),
            (_chunks_mean_shift, tr("shifting by the mean of the m_c is exact in theory, but a "
                                    "chunk whose maximum lies far above the mean overflows: shift "
                                    "by the largest m_c, so that no factor exceeds 1.")),
            (_chunks_no_empty_guard, tr("a query whose keys are all masked has m_c = -inf in every "
                                        "chunk, and e^(-inf - (-inf)) is NaN: give such a query "
                                        "the output 0, as the library's attention does.")),
        ],
        success=tr("m = max_c m_c, l = sum_c e^(m_c - m) l_c, o = sum_c e^(m_c - m) o_c, output o "
                   "/ l, and 0 where no chunk has a key: the summaries merge exactly."),
    )


# ---------------------------------------------------------------------------------------------
# Exercise: the variance of a dot product. The lab no longer asks it (the page states its answer);
# the checker stays, a public name of the library, for readers' notebooks that call it.
def reference_dot_variance(d_k: int, var_q: float, var_k: float) -> float:
    """Var(q·k) for independent zero-mean entries: d_k · Var(q_i) · Var(k_i)."""
    return d_k * var_q * var_k


def _std_not_var(d_k, var_q, var_k):
    return math.sqrt(d_k * var_q * var_k)


def _sum_of_variances(d_k, var_q, var_k):
    return d_k * (var_q + var_k)


def _forgot_d(d_k, var_q, var_k):
    return var_q * var_k


def _d_squared(d_k, var_q, var_k):
    return d_k**2 * var_q * var_k


def _sqrt_d(d_k, var_q, var_k):
    return math.sqrt(d_k) * var_q * var_k


def check_dot_variance(dot_variance: Any) -> Feedback:
    """Check ``dot_variance(d_k, var_q, var_k)`` = d_k · var_q · var_k."""
    return check_function(
        dot_variance,
        reference_dot_variance,
        [(3, 4.0, 3.0), (64, 1.0, 1.0), (16, 2.0, 0.5)],
        what="dot_variance",
        wrong_functions=[
            (_std_not_var,
             tr("that is the standard deviation; the question asks for the variance.")),
            (_sum_of_variances, tr("the variance of a product of independent zero-mean variables "
                                   "is the product of their variances, not the sum.")),
            (_forgot_d, tr("q·k is a sum of d_k independent terms: their variances add up.")),
            (_d_squared, tr("the variances of d_k independent terms add up to d_k times one of "
                            "them, not d_k²: variances add, standard deviations do not.")),
            (_sqrt_d, tr("√d_k · Var(q_i) Var(k_i) mixes the two: √d_k is the standard deviation "
                         "of q·k for unit variances; the variance is d_k · Var(q_i) · Var(k_i).")),
        ],
        success="Var(q·k) = d_k · Var(q_i) · Var(k_i).",
    )
