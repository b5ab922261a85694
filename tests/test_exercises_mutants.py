"""The mutant catalogue: for every checker, plausible wrong answers and correct alternatives.

Each checker must answer "Not yet" to at least five wrong answers taken from its chapter's own
warnings and the common mistakes of the topic, each with a hint that names the mistake (the
substring asserted here), and "Correct" to at least two correct answers written differently from
the reference: in place, in NumPy, in float32, with an equivalent formula. The mutants are written
here independently of the checkers' own models of the mistakes.

The catalogue agrees with the prompts: an answer that uses a tool its prompt rules out (autograd
where the prompt says "by hand", ``torch.logsumexp`` for the stable log-softmax, a loop over the
queries or the heads, a ``Conv1d`` module for circular padding, ``ttest_ind`` for Welch) is a
*wrong* answer here, refused with a hint that names the tool, even when its values are right.
It also holds every case of the December 2026 checkers review
(``shared/reviews/2026-12-checkers.md``): k = 1 for the circular gate, one hidden unit for the
counts, the band near 2 SE, 1-D and 3-D log-softmax inputs, top/left padding, far taps, k = 11,
half-precision answers to small quantities.

``test_every_checker_is_catalogued`` keeps the catalogue complete: a checker added later without
its mutants fails it. The wrong answers run in both languages of the checkers' messages: in
Chinese each hint must be the translation of the English one that names the mistake, in Chinese.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as F
from scipy import stats

from attn_lessons.exercises import (
    _messages,
    cbam,
    coordatt,
    eca,
    networks,
    preface,
    se,
    self_attention,
)
from attn_lessons.exercises import heatmaps as heat
from attn_lessons.exercises import insert as ins
from attn_lessons.exercises import similarity as sim
from attn_lessons.se import SqueezeExcite, se_num_params
from attn_lessons.stats import welch

from .test_exercise_messages import CJK, english_prose
from .test_exercises_all_checkers import CHECKERS


def _np(fn):
    """``fn`` written for NumPy arrays, called on tensors (the reader who prefers NumPy)."""
    def wrapped(*args):
        return fn(*[a.numpy() if isinstance(a, torch.Tensor) else a for a in args])
    return wrapped


# --- preface --------------------------------------------------------------------------------------

def _attend_in_place(queries, keys, values):
    scores = queries @ keys.T
    scores.sub_(scores.amax(dim=1, keepdim=True)).exp_()
    scores.div_(scores.sum(dim=1, keepdim=True))
    keys.zero_()  # the reader's function may overwrite its inputs: nobody else sees them
    return scores @ values


ATTEND = dict(
    wrong=[
        (lambda q, k, v: torch.softmax(q @ k.T, 0) @ v, "over the queries"),
        (lambda q, k, v: torch.softmax(k @ q.T, 0) @ v, "one column per query"),
        (lambda q, k, v: torch.softmax((q @ k.T).flatten(), 0).reshape(len(q), -1) @ v,
         "one softmax over all"),
        (lambda q, k, v: torch.stack([torch.softmax(k @ q[0], 0) @ v] * len(q)),
         "first query's average"),
        (lambda q, k, v: (q @ k.T) @ v, "raw scores"),
        (lambda q, k, v: v.mean(dim=0).repeat(len(q), 1), "plain average"),
        (lambda q, k, v: torch.exp(q @ k.T) @ v, "do not sum to 1"),
        (lambda q, k, v: torch.softmax(q @ k.T / math.sqrt(q.shape[1]), 1) @ v, "no 1/√d scale"),
        (lambda q, k, v: torch.softmax(q @ k.T, -1), "you returned the weights"),
        # right values, but the prompt says "Use no Python loop"
        (lambda q, k, v: torch.stack([torch.softmax(k @ x, 0) @ v for x in q]),
         "loops over the queries"),
        (lambda q, k, v: torch.cat([torch.softmax(q[i:i + 1] @ k.T, 1) @ v
                                    for i in range(len(q))]), "loops over the queries"),
    ],
    right=[
        _attend_in_place,
        _np(lambda q, k, v: (np.exp(q @ k.T - (q @ k.T).max(1, keepdims=True))
                             / np.exp(q @ k.T - (q @ k.T).max(1, keepdims=True))
                             .sum(1, keepdims=True)) @ v),
        lambda q, k, v: torch.softmax((k @ q.T).float(), 0).T @ v.float(),
        lambda q, k, v: torch.vmap(lambda x: torch.softmax(k @ x, 0) @ v)(q),  # no Python loop
    ],
)


# --- chapter 1 ------------------------------------------------------------------------------------

def _unit(x):
    return x / x.norm(dim=-1, keepdim=True)


def _cos(x):  # (B, n, d) -> (B, n, n)
    return _unit(x) @ _unit(x).transpose(-2, -1)


def _eye(x):
    return torch.eye(x.shape[-2], dtype=torch.bool)


def _most_similar_by_loop(x):
    best = []
    for sample in x:
        n = len(sample)
        row = []
        for i in range(n):
            sims = [(float(F.cosine_similarity(sample[i], sample[j], dim=0)), j)
                    for j in range(n) if j != i]
            row.append(max(sims)[1])
        best.append(row)
    return best


MOST_SIMILAR = dict(
    wrong=[
        (lambda x: _cos(x).argmax(-1), "most similar to itself"),
        (lambda x: _cos(x).masked_fill(_eye(x), 0.0).argmax(-1), "setting the diagonal to 0"),
        (lambda x: (x @ x.mT).masked_fill(_eye(x), -1e30).argmax(-1), "long row wins"),
        (lambda x: torch.cdist(x, x).masked_fill(_eye(x), 1e30).argmin(-1), "Euclidean distance"),
        (lambda x: (F.normalize(x, dim=1) @ F.normalize(x, dim=1).mT).masked_fill(_eye(x), -9)
         .argmax(-1), "norm(dim=-1)"),
        (lambda x: _cos(x).masked_fill(_eye(x), 9).argmin(-1), "least similar"),
        (lambda x: _cos(x).masked_fill(_eye(x), -9).max(-1).values, "argmax, not amax"),
        (lambda x: (lambda f: _cos(f[None]).masked_fill(torch.eye(len(f), dtype=torch.bool), -9)
                    .argmax(-1).reshape(x.shape[:2]) % x.shape[1])(x.flatten(0, 1)),
         "separate sets"),
        # the review's batch slips: fill_diagonal_ and .T act on one matrix, not a batch
        (lambda x: _cos(x).fill_diagonal_(-9).argmax(-1), "fill_diagonal_ fills"),
        (lambda x: (_unit(x) @ _unit(x).T).argmax(-1), "x.transpose(-2, -1)"),
        (lambda x: torch.ones(*x.shape[:2], x.shape[1]), "should have shape"),
    ],
    right=[
        lambda x: F.cosine_similarity(x[:, :, None], x[:, None], dim=-1)
        .masked_fill(_eye(x), -2).argmax(-1),
        lambda x: _cos(x).topk(2, dim=-1).indices[..., 1],
        _most_similar_by_loop,
        _np(lambda x: np.where(np.eye(x.shape[1], dtype=bool), -np.inf,
                               np.einsum("bid,bjd->bij", x, x)
                               / np.linalg.norm(x, axis=-1)[:, :, None]
                               / np.linalg.norm(x, axis=-1)[:, None, :]).argmax(-1)),
        lambda x: (_cos(x.float()) - 3 * torch.eye(x.shape[1])).argmax(-1).to(torch.int32),
    ],
)


def _gram_in_place(x, mask):
    x.mul_(mask[..., None])  # the reader's function may overwrite its inputs
    mask.zero_()
    return x @ x.transpose(-2, -1)


def _gram_by_loop(x, mask):
    B, n, _ = x.shape
    g = torch.zeros(B, n, n, dtype=x.dtype)
    for b in range(B):
        real = mask[b].nonzero().flatten().tolist()
        for i in real:
            for j in real:
                g[b, i, j] = x[b, i] @ x[b, j]
    return g


def _pair(mask):
    return mask[:, :, None] & mask[:, None, :]


MASKED_GRAM = dict(
    wrong=[
        (lambda x, m: x @ x.transpose(1, 2), "padding rows still enter"),
        (lambda x, m: (x @ x.transpose(1, 2)) * m[:, :, None], "but not their columns"),
        (lambda x, m: (x @ x.transpose(1, 2)) * m[:, None, :], "but not their rows"),
        (lambda x, m: (x @ x.transpose(1, 2)) * _pair(~m), "mask is inverted"),
        (lambda x, m: torch.einsum("bnd,bne->bde", x * m[..., None], x * m[..., None]),
         "Xᵀ X per sample"),
        (lambda x, m: (x * m[..., None]).flatten(0, 1) @ (x * m[..., None]).flatten(0, 1).T,
         "flattened the batch"),
        (lambda x, m: (x @ x.transpose(1, 2)).masked_fill(~_pair(m), float("-inf")),
         "-inf is what a padded score gets"),
        (lambda x, m: (x @ x.transpose(1, 2)) * _pair(m) / m.sum(1)[:, None, None],
         "no division by the number"),
    ],
    right=[
        _gram_in_place,
        _gram_by_loop,
        _np(lambda x, m: np.einsum("bid,bjd->bij", x, x) * (m[:, :, None] & m[:, None, :])),
        lambda x, m: (x.float() @ x.float().transpose(-2, -1)).masked_fill(~_pair(m), 0.0),
    ],
)


def _masked_attention_in_place(s, v, m):
    s.masked_fill_(~m[:, None, :], float("-inf"))
    s.sub_(s.amax(-1, keepdim=True)).exp_()
    s.div_(s.sum(-1, keepdim=True))
    m.zero_()  # the reader's function may overwrite its inputs
    return s @ v


def _masked_attention_by_dropping(s, v, m):
    # each sample on its own, with the padded keys cut out
    return torch.stack([torch.softmax(s[b][:, m[b]], -1) @ v[b][m[b]] for b in range(len(s))])


def _km(s, m):
    return m[:, None, :].expand_as(s)


MASKED_ATTENTION = dict(
    wrong=[
        (lambda s, v, m: torch.softmax(s, -1) @ v, "padded keys still get weight"),
        (lambda s, v, m: torch.softmax(s * m[:, None, :], -1) @ v, "e^0 = 1"),
        (lambda s, v, m: torch.softmax(s, -1) @ (v * m[..., None]), "without renormalising"),
        (lambda s, v, m: (torch.softmax(s, -1) * m[:, None, :]) @ v, "without renormalising"),
        (lambda s, v, m: torch.softmax(s.masked_fill(_km(s, m), -1e9), -1) @ v, "inverted"),
        (lambda s, v, m: torch.softmax(s + m[:, None, :], -1) @ v, "added the mask itself"),
        (lambda s, v, m: torch.softmax(s.masked_fill(~m[:, :, None], float("-inf")), -1) @ v,
         "not the queries"),
        (lambda s, v, m: torch.nan_to_num(torch.softmax(
            s.masked_fill(~_km(s, m), float("-inf")), -2)) @ v, "down the columns"),
        (lambda s, v, m: (m[:, None, :] / m.sum(-1)[:, None, None]).expand_as(s).to(v) @ v,
         "plain mean of the real values"),
    ],
    right=[
        _masked_attention_in_place,
        _masked_attention_by_dropping,
        lambda s, v, m: F.scaled_dot_product_attention(
            s.new_ones(*s.shape[:2], 1), s.new_ones(s.shape[0], s.shape[2], 1), v,
            attn_mask=s.masked_fill(~_km(s, m), float("-inf")), scale=1.0),
        _np(lambda s, v, m: (lambda e: e / e.sum(-1, keepdims=True))(
            np.exp(s - s.max(-1, keepdims=True)) * m[:, None, :]) @ v),
        lambda s, v, m: torch.softmax(s.float().masked_fill(~_km(s, m), -1e4), -1) @ v.float(),
    ],
)


def _log_softmax_jacobian_by_loop(s):
    p = torch.softmax(s, 0)
    n = len(p)
    rows = [[float(i == j) - float(p[j]) for j in range(n)] for i in range(n)]
    return torch.tensor(rows, dtype=s.dtype)


def _p(s):
    return torch.softmax(s, 0)


LOG_SOFTMAX_JACOBIAN = dict(
    wrong=[
        # right values, but the prompt says "without autograd"
        (lambda s: torch.autograd.functional.jacobian(lambda t: torch.log_softmax(t, 0), s),
         "asks you to do without"),
        (lambda s: torch.func.jacrev(lambda t: torch.log_softmax(t, 0))(s),
         "asks you to do without"),
        (lambda s: torch.func.jacfwd(lambda t: torch.log_softmax(t, 0))(s),
         "asks you to do without"),
        (lambda s: torch.diag(_p(s)) - torch.outer(_p(s), _p(s)), "Jacobian of p itself"),
        (lambda s: torch.eye(len(s), dtype=s.dtype) - _p(s)[:, None], "swapped"),
        (lambda s: torch.eye(len(s), dtype=s.dtype), "depends on every score"),
        (lambda s: -_p(s).repeat(len(s), 1), "1 on the diagonal"),
        (lambda s: _p(s)[None, :] - torch.eye(len(s), dtype=s.dtype), "signs are flipped"),
        (lambda s: torch.diag(1 - _p(s)), "diagonal entries only"),
        (lambda s: torch.eye(len(s), dtype=s.dtype) - torch.outer(_p(s), _p(s)), "not -p_i p_j"),
    ],
    right=[
        _log_softmax_jacobian_by_loop,
        _np(lambda s: np.eye(len(s)) - np.ones((len(s), 1)) @ (np.exp(s) / np.exp(s).sum())[None]),
        lambda s: (torch.diag(_p(s)) - torch.outer(_p(s), _p(s))) / _p(s)[:, None],
    ],
)


# --- chapter 2 ------------------------------------------------------------------------------------

SQUEEZE = dict(
    wrong=[
        (lambda u, m: u.mean(dim=(2, 3)), "padding included"),
        (lambda u, m: (u * m[:, None]).sum(dim=(2, 3)) / (u.shape[2] * u.shape[3]),
         "divided by H·W"),
        (lambda u, m: u.sum(dim=(2, 3)) / m.sum(dim=(1, 2))[:, None], "padding holds numbers"),
        (lambda u, m: (u * m[:, None]).sum(dim=(2, 3)) / m.sum(), "whole batch"),
        (lambda u, m: (u * m[:, None]).sum(dim=(2, 3)), "masked sum"),
        (lambda u, m: torch.where(m[:, None], u, -torch.inf).amax(dim=(2, 3)), "max pooling"),
        (lambda u, m: ((u * m[:, None]).sum(dim=(2, 3)) / m.sum(dim=(1, 2))[:, None])[..., None],
         "should have shape"),
        # the review's cases: top/left padding and masks that are no rectangle
        (lambda u, m: torch.stack([u[b, :, :int(m[b].any(1).sum()), :int(m[b].any(0).sum())]
                                   .mean(dim=(1, 2)) for b in range(len(u))]), "top-left"),
        (lambda u, m: (u * m[:1, None]).sum(dim=(2, 3)) / m[:1].sum(dim=(1, 2))[:, None],
         "first image's mask"),
    ],
    right=[
        lambda u, m: torch.nanmean(u.masked_fill(~m[:, None], float("nan")), dim=(2, 3)),
        _np(lambda u, m: np.stack([[u[i, c][m[i]].mean() for c in range(u.shape[1])]
                                   for i in range(u.shape[0])])),
        lambda u, m: (u.float() * m[:, None]).sum(dim=(-2, -1)) / m.sum(dim=(-2, -1))[:, None],
    ],
)

def _se_cl_in_place(x, a, b):
    s = torch.sigmoid(torch.relu(x.mean((1, 2)) @ a.T) @ b.T)
    a.zero_()  # the reader's function may overwrite its inputs
    return x.mul_(s[:, None, None, :])


def _se_cl_via_channels_first(x, a, b):
    u = x.permute(0, 3, 1, 2)                                 # (B, H, W, C) -> (B, C, H, W)
    s = torch.sigmoid(torch.relu(u.mean((2, 3)) @ a.T) @ b.T)
    return (u * s[:, :, None, None]).permute(0, 2, 3, 1)


def _se_cl_gate(x, a, b, squeeze=None, act=torch.relu, gate=torch.sigmoid):
    z = x.mean((1, 2)) if squeeze is None else squeeze(x)
    return gate(act(z @ a.T) @ b.T)


SE_CHANNELS_LAST = dict(
    wrong=[
        (lambda x, a, b: (lambda u: (u * _se_cl_gate(u.permute(0, 2, 3, 1), a, b)[
            :, :, None, None]).reshape(x.shape))(x.reshape(x.shape[0], x.shape[3], *x.shape[1:3])),
         "reshape to (B, C, H, W) is not"),
        (lambda x, a, b: _se_cl_via_channels_first(x, a, b).permute(0, 3, 1, 2),
         "your output is channels-first"),
        (lambda x, a, b: x * _se_cl_gate(x, a, b, squeeze=lambda t: t.mean((2, 3)))[:, None, None],
         "dims (2, 3) are W and C"),
        (lambda x, a, b: _se_cl_gate(x, a, b), "you returned the gates"),
        (lambda x, a, b: x * _se_cl_gate(x, a, b, squeeze=lambda t: t.flatten(1, 2).max(1)
                                         .values)[:, None, None], "not the maximum"),
        (lambda x, a, b: x * torch.sigmoid(torch.relu(x.mean(2) @ a.T) @ b.T)[:, :, None],
         "both spatial axes"),
        (lambda x, a, b: x * _se_cl_gate(x, a, b, act=lambda t: t)[:, None, None], "ReLU δ"),
        (lambda x, a, b: x * _se_cl_gate(x, a, b, gate=lambda t: torch.softmax(t, -1))[
            :, None, None], "softmax"),
        (lambda x, a, b: x * _se_cl_gate(x, a, b, gate=lambda t: t)[:, None, None],
         "sigmoid σ is missing"),
    ],
    right=[
        _se_cl_in_place,
        _se_cl_via_channels_first,
        _np(lambda x, a, b: x / (1 + np.exp(-(np.maximum(x.mean((1, 2)) @ a.T, 0) @ b.T)))[
            :, None, None, :]),
        lambda x, a, b: x.float() * torch.sigmoid(F.linear(F.relu(F.linear(
            x.float().mean((1, 2)), a.float())), b.float()))[:, None, None],
    ],
)


def _widest(c, budget, b):
    """The largest hidden width whose SE block fits the budget (0 when none does)."""
    return max([h for h in range(1, c + 1) if 2 * c * h + ((h + c) if b else 0) <= budget],
               default=0)


def _smallest_r(c, budget, b, width=None):
    h = (width or _widest)(c, budget, b)
    if h == 0:
        raise ValueError(f"one hidden unit exceeds {budget}")
    return c // (h + 1) + 1


SE_REDUCTION = dict(
    wrong=[
        # the lab imports SqueezeExcite: the library's count answers in one line, refused
        (lambda c, p, b: min(r for r in range(1, c + 1)
                             if sum(x.numel() for x in SqueezeExcite(c, r, bias=b).parameters())
                             <= p), "SqueezeExcite"),
        (lambda c, p, b: next(r for r in range(1, c + 1) if se_num_params(c, r, b) <= p),
         "se_num_params"),
        (lambda c, p, b: math.ceil(c / _widest(c, p, b)) if _widest(c, p, b) else
         _smallest_r(c, p, b), "rounded up"),
        (lambda c, p, b: max(1, math.ceil(2 * c * c / p)) if _widest(c, p, b) else
         _smallest_r(c, p, b), "as if the width were C / r"),
        (lambda c, p, b: _smallest_r(c, p - 1, b), "upper bound"),
        (lambda c, p, b: c // _smallest_r(c, p, b), "largest hidden width"),
        (lambda c, p, b: next(r for r in (2 ** k for k in range(16)) if c // r <= _widest(c, p, b))
         if _widest(c, p, b) else _smallest_r(c, p, b), "powers of two"),
        (lambda c, p, b: _smallest_r(c, p, False), "biases count too"),
        (lambda c, p, b: _smallest_r(c, p, b, width=lambda c, p, b: max(
            [h for h in range(1, c + 1) if 2 * c * h + (2 * c if b else 0) <= p], default=0)),
         "not C."),
        # no refusal: a ratio above C "fits" with its empty hidden layer
        (lambda c, p, b: next(r for r in range(1, 10 * c)
                              if 2 * c * (c // r) + ((c // r + c) if b else 0) <= p),
         "raise ValueError"),
        # the review's refusal boundary: a budget of exactly one hidden unit is a working block
        (lambda c, p, b: _smallest_r(c, p, b, width=lambda c, p, b: _widest(c, p, b) if
                                     _widest(c, p, b) > 1 else 0),
         "one hidden unit fits"),
    ],
    right=[
        lambda c, p, b: np.int64(_smallest_r(c, p, b)),
        # a search over r with the reader's own count, from the largest ratio down
        lambda c, p, b: _raise_if_none(min((r for r in range(1, c + 1)
                                            if 2 * c * (c // r) + ((c // r + c) if b else 0) <= p),
                                           default=None)),
    ],
)


def _raise_if_none(r):
    if r is None:
        raise ValueError("no ratio fits")
    return r


def _se_logits(z, a, b1, b, b2):
    return torch.relu(z @ a.T + b1) @ b.T + b2


def _se_grad(z, a, b1, b, b2, g, relu_grad=None, sig_grad=None, scale=1.0, swap=False):
    pre = z @ a.T + b1                                   # (B, C')
    s = torch.sigmoid(torch.relu(pre) @ b.T + b2)        # (B, C)
    dlogit = g * (s * (1 - s) if sig_grad is None else sig_grad(s))
    on = (pre > 0).to(z.dtype) if relu_grad is None else relu_grad(z, a, pre)
    if swap:
        return ((dlogit @ a.T) * on) @ b.T * scale
    return ((dlogit @ b) * on) @ a * scale


def _se_grad_in_place(z, a, b1, b, b2, g):
    pre = torch.addmm(b1, z, a.T)
    s = torch.relu(pre) @ b.T + b2
    s.sigmoid_()
    g = g * s
    g.mul_(1 - s)                                        # dL/dlogit, in place
    dh = g @ b
    dh[pre <= 0] = 0                                     # the ReLU's switch
    return dh @ a


def _se_grad_einsum(z, a, b1, b, b2, g):
    pre = torch.einsum("bc,hc->bh", z, a) + b1
    s = torch.sigmoid(torch.einsum("bh,ch->bc", pre.clamp(min=0), b) + b2)
    on = torch.heaviside(pre, torch.zeros((), dtype=pre.dtype))   # ReLU'(0) = 0
    jac = torch.einsum("bc,ch,bh,hk->bck", s * (1 - s), b, on, a)
    return torch.einsum("bc,bck->bk", g, jac)           # g^T J, one Jacobian per image


def _se_grad_numpy(z, a, b1, b, b2, g):
    pre = z @ a.T + b1
    s = 1 / (1 + np.exp(-(np.maximum(pre, 0) @ b.T + b2)))
    return ((g * s * (1 - s)) @ b * (pre > 0)) @ a


def _se_grad_autograd(z, a, b1, b, b2, g):
    z = z.clone().requires_grad_(True)
    (torch.sigmoid(_se_logits(z, a, b1, b, b2)) * g).sum().backward()
    return z.grad


SE_GATE_GRAD = dict(
    wrong=[
        (lambda *x: _se_grad(*x, relu_grad=lambda z, a, pre: torch.ones_like(pre)),
         "only through the hidden units that are on"),
        (lambda *x: _se_grad(*x, relu_grad=lambda z, a, pre: (z @ a.T > 0).to(z.dtype)),
         "bias included"),
        (lambda *x: _se_grad(*x, relu_grad=lambda z, a, pre: (pre >= 0).to(z.dtype)),
         "ReLU'(0) = 0"),
        (lambda *x: _se_grad(*x, sig_grad=lambda s: torch.ones_like(s)), "through the sigmoid"),
        (lambda *x: _se_grad(*x, sig_grad=lambda s: s), "not s."),
        (lambda *x: _se_grad(*x, sig_grad=lambda s: torch.sigmoid(s) * torch.sigmoid(-s)),
         "at the gate s"),
        (lambda *x: _se_grad(*x, swap=True), "transposes in the wrong places"),
        (lambda z, a, b1, b, b2, g: _se_grad(z, a, b1, b, b2, g, scale=1 / z.shape[0]),
         "not divided by the batch size"),
        (lambda z, a, b1, b, b2, g: _se_grad(z, a, b1, b, b2, torch.ones_like(g)),
         "gradient of sum(s)"),
        # right values, but the prompt says "by hand (an answer that uses autograd is refused)"
        (_se_grad_autograd, "asks you to do without"),
        (lambda z, a, b1, b, b2, g: torch.func.vjp(
            lambda v: torch.sigmoid(_se_logits(v, a, b1, b, b2)), z)[1](g)[0],
         "asks you to do without"),
    ],
    right=[
        _se_grad,
        _se_grad_in_place,
        _se_grad_einsum,
        _np(_se_grad_numpy),
        lambda z, a, b1, b, b2, g: _se_grad(z.float(), a.float(), b1.float(), b.float(),
                                            b2.float(), g.float()),
    ],
)


# --- chapter 3 ------------------------------------------------------------------------------------


def _k_of(c):  # the authors' two lines
    t = int((math.log2(c) + 1) / 2)
    return t if t % 2 else t + 1


def _range_by_search(k, bound=2 ** 20):
    # the review's bounded search: right up to k = 9, stops inside k = 11's range
    found = [c for c in range(1, bound) if _k_of(c) == k]
    if not found:
        raise ValueError(f"no C gets {k}")
    return found[0], found[-1]


def _range_by_doubling(k):
    # a search that scales: double C past the range, then bisect each end
    if not isinstance(k, int) or k < 1 or k % 2 == 0:
        raise ValueError(f"no C gets {k}")

    def boundary(pred):  # the smallest C >= 1 with pred(C), pred monotone in C
        hi = 1
        while not pred(hi):
            hi *= 2
        lo = hi // 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if pred(mid) else (mid, hi)
        return hi

    return boundary(lambda c: _k_of(c) >= k), boundary(lambda c: _k_of(c) > k) - 1


def _range_closed(k, lo=-1, hi=3, base=2.0):
    if k < 1 or k % 2 == 0:
        raise ValueError(k)
    m = (k - 1) // 2
    return max(1, math.ceil(base ** (4 * m + lo))), math.ceil(base ** (4 * m + hi)) - 1


ECA_RANGE = dict(
    wrong=[
        (lambda k: (lambda a, b: (a + (a > 1), b + 1))(*_range_closed(k)), "ties go up"),
        (lambda k: (lambda a, b: (a, b + 1))(*_range_closed(k)), "not the first one that does not"),
        (lambda k: _range_closed(k, lo=-2, hi=2), "does not round t"),
        (lambda k: (1, 127) if k == 3 else _range_closed(k), "timm's rule"),
        (lambda k: _range_closed(k, base=math.e), "not the natural logarithm"),
        (lambda k: (lambda a, b: (a, (b + 1) // 2))(*_range_closed(k)), "not only powers of two"),
        (lambda k: _range_closed(k)[::-1], "smallest channel count first"),
        (lambda k: None if k % 2 == 0 or k < 1 else _range_closed(k), "raise ValueError"),
        (lambda k: _range_closed(abs(k) | 1), "raise ValueError"),
        (_range_by_search, "stops too early"),
        (lambda k: _range_by_search(k, bound=10 ** 5), "stops too early"),
    ],
    right=[
        _range_by_doubling,
        lambda k: np.array(_range_closed(k), dtype=np.int64),
        lambda k: [float(x) for x in _range_closed(k)],
        lambda k: torch.tensor([max(1, 2 ** (2 * k - 3)) if k > 1 else 1, 2 ** (2 * k + 1) - 1])
        if k >= 1 and k % 2 else int("even"),  # ValueError from int() is still a ValueError
    ],
)


def _conv_gate(y, w, padding=None, dilation=1):
    k = w.numel()
    p = (k - 1) // 2 if padding is None else padding
    return torch.sigmoid(F.conv1d(y[:, None, :], w.reshape(1, 1, k), padding=p)[:, 0, :])


def _grad_by_hand(y, w, g, local=lambda o: o * (1 - o), shift=1, wrap=False, batch="sum"):
    b, c = y.shape
    k = w.numel()
    h = (k - 1) // 2
    o = _conv_gate(y, w)
    d = g * local(o)
    out = torch.zeros(b, k, dtype=y.dtype)
    for j in range(k):
        for i in range(c):
            src = i + shift * (j - h)
            if wrap:
                src %= c
            if 0 <= src < c:
                out[:, j] += d[:, i] * y[:, src]
    return out.sum(0) if batch == "sum" else out.mean(0) if batch == "mean" else out


def _grad_autograd(y, w, g):
    w = w.clone().requires_grad_(True)
    (_conv_gate(y, w) * g).sum().backward()
    return w.grad


def _grad_wrt_y_by_hand(y, w, g):
    # dL/dy: the transposed convolution of dL/dz with the kernel
    k = w.numel()
    o = _conv_gate(y, w)
    d = g * o * (1 - o)
    return F.conv_transpose1d(d[:, None], w.view(1, 1, k), padding=(k - 1) // 2)[:, 0]


def _grad_unfold_in_place(y, w, g):
    k = w.numel()
    z = F.conv1d(y[:, None, :], w.view(1, 1, k), padding=(k - 1) // 2)[:, 0, :]
    z.sigmoid_()
    z.mul_(1 - z).mul_(g)  # dL/dz, in place
    windows = F.pad(y, ((k - 1) // 2,) * 2).unfold(1, k, 1)  # (B, C, k)
    return torch.einsum("bc,bck->k", z, windows)


def _grad_as_conv(y, w, g):
    # the gradient is itself a cross-correlation: of the padded y with dL/dz, one sample per channel
    k = w.numel()
    o = _conv_gate(y, w)
    d = g * o * (1 - o)
    padded = F.pad(y, ((k - 1) // 2,) * 2)
    return F.conv1d(padded[None], d[:, None, :], groups=y.shape[0])[0].sum(0)


def _grad_numpy(y, w, g):
    k, c = len(w), y.shape[1]
    h = (k - 1) // 2
    # np.correlate does not flip; mode="same" would return max(C, k) entries when C < k
    z = np.stack([np.correlate(np.pad(row, (h, h)), w, mode="valid") for row in y])
    o = 1 / (1 + np.exp(-z))
    d = g * o * (1 - o)
    pad = np.pad(y, ((0, 0), (h, h)))
    return np.array([(d * pad[:, j:j + c]).sum() for j in range(k)])


ECA_GRAD = dict(
    wrong=[
        (lambda y, w, g: _grad_by_hand(y, w, g, local=torch.ones_like), "through the sigmoid"),
        (lambda y, w, g: _grad_by_hand(y, w, g, local=lambda o: o), "not omega."),
        (lambda y, w, g: _grad_by_hand(y, w, g, local=lambda o: torch.sigmoid(o)
                                       * torch.sigmoid(-o)), "evaluates it at omega"),
        (lambda y, w, g: _grad_by_hand(y, w, g, shift=-1), "does not flip"),
        (lambda y, w, g: _grad_by_hand(y, w, g, wrap=True), "wraps around"),
        (lambda y, w, g: _grad_by_hand(y, w, g, batch="mean"), "not their mean"),
        (lambda y, w, g: _grad_by_hand(y, w, g, batch=None), "shape (k,)"),
        (lambda y, w, g: _grad_by_hand(y, w, torch.ones_like(g)), "gradient of sum(omega)"),
        (_grad_wrt_y_by_hand, "with respect to the descriptor y"),
        # right values, but the prompt says "derived by hand"
        (_grad_autograd, "asks you to do without"),
        (lambda y, w, g: torch.func.grad(lambda v: (_conv_gate(y, v) * g).sum())(w),
         "asks you to do without"),
    ],
    right=[
        _grad_unfold_in_place,
        _grad_as_conv,
        _np(_grad_numpy),
        lambda y, w, g: _grad_by_hand(y.float(), w.float(), g.float()),
    ],
)


def _dilated_ref(w, c, d):
    k = w.numel()
    h = (k - 1) // 2
    i, j = np.meshgrid(np.arange(c), np.arange(c), indexing="ij")
    off = j - i
    out = np.zeros((c, c))
    for t in range(k):
        out[off == d * (t - h)] = float(w[t])
    return out


def _dilated_by_conv(w, c, d):
    k = w.numel()
    eye = torch.eye(c, dtype=w.dtype)
    return F.conv1d(eye[:, None], w.view(1, 1, k), padding=d * (k - 1) // 2, dilation=d)[:, 0].T


def _dilated_in_place(w, c, d):
    k = w.numel()
    out = torch.zeros(c, c, dtype=w.dtype)
    for t in range(k):
        off = d * (t - (k - 1) // 2)
        if abs(off) < c:
            out.diagonal(off).add_(w[t])  # a view of the diagonal, filled in place
    return out


def _dilated_kernel(w, d):
    """The k taps with d - 1 zeros between neighbours: length d (k - 1) + 1."""
    out = torch.zeros(d * (w.numel() - 1) + 1, dtype=w.dtype)
    out[::d] = w
    return out


def _dilated_on_padded(w, c, d):  # each row: the dilated kernel, on the padded descriptor
    wd = _dilated_kernel(w, d)
    return torch.stack([F.pad(wd, (i, c - 1 - i)) for i in range(c)])  # (C, C + d (k - 1))


def _dilated_without_holes(w, c, d):  # the gaps filled with the tap before them
    wd = torch.repeat_interleave(w, d)[: d * (w.numel() - 1) + 1]
    half = (wd.numel() - 1) // 2
    out = torch.zeros(c, c, dtype=w.dtype)
    for i in range(c):
        for t in range(wd.numel()):
            if 0 <= i + t - half < c:
                out[i, i + t - half] = wd[t]
    return out


TOEPLITZ_DILATED = dict(
    wrong=[
        (lambda w, c, d: torch.from_numpy(_dilated_ref(w, c, 1)), "ordinary band"),
        (lambda w, c, d: torch.from_numpy(_dilated_ref(w, c, d)).T, "transposed"),
        (lambda w, c, d: torch.from_numpy(_dilated_ref(w.flip(0), c, d)), "reversed kernel"),
        (lambda w, c, d: torch.from_numpy(_dilated_ref(w, c, d + 1)), "not d + 1"),
        (lambda w, c, d: sum(w[t] * torch.roll(torch.eye(c), d * (t - (w.numel() - 1) // 2), 1)
                             for t in range(w.numel())), "wrap around"),
        (_dilated_on_padded, "padding columns"),
        (_dilated_without_holes, "band has holes"),
        # the review's far taps: without a guard, ones(C - |offset|) fails once |offset| > C
        (lambda w, c, d: sum(w[t] * torch.ones(c - abs(d * (t - (w.numel() - 1) // 2)),
                                               dtype=w.dtype).diag(d * (t - (w.numel() - 1) // 2))
                             for t in range(w.numel())), "beyond the other end"),
    ],
    right=[
        lambda w, c, d: _dilated_ref(w, c, d),
        _dilated_by_conv,
        _dilated_in_place,
    ],
)


def _circular_by_roll(y, w):
    k = w.numel()
    half = (k - 1) // 2
    logits = sum(w[j] * torch.roll(y, shifts=half - j, dims=1) for j in range(k))
    return torch.sigmoid(logits)


def _circular_by_module(y, w):
    k = w.numel()
    conv = torch.nn.Conv1d(1, 1, k, padding=(k - 1) // 2, padding_mode="circular", bias=False)
    with torch.no_grad():
        conv.weight.copy_(w.view(1, 1, k))
    return torch.sigmoid(conv(y[:, None].float()))[:, 0]  # requires grad: the checker detaches


def _circular_by_cat(y, w, guard=True):
    half = (w.numel() - 1) // 2
    ring = torch.cat([y[:, -half:], y, y[:, :half]], 1) if half or not guard else y
    return torch.sigmoid(F.conv1d(ring[:, None], w.view(1, 1, -1)))[:, 0]


ECA_GATE_CIRCULAR = dict(
    wrong=[
        (lambda y, w: _conv_gate(y, w), "zero-padded gate"),
        (lambda y, w: torch.sigmoid(F.conv1d(F.pad(y[:, None], (w.numel() - 1, 0),
                                                   mode="circular"), w.view(1, 1, -1))[:, 0]),
         "on each side"),
        (lambda y, w: torch.sigmoid(F.conv1d(F.pad(y[:, None], ((w.numel() - 1) // 2,) * 2,
                                                   mode="reflect"), w.view(1, 1, -1))[:, 0]),
         "reflect padding"),
        (lambda y, w: _circular_by_roll(y, w.flip(0)), "reversed"),
        (lambda y, w: torch.logit(_circular_by_roll(y, w)), "sigmoid of the convolution"),
        # the review's k = 1: y[:, -0:] is all of y
        (lambda y, w: _circular_by_cat(y, w, guard=False), "y[:, -0:] is all of y"),
        # right values, but the prompt says "without padding_mode or a Conv1d module"
        (_circular_by_module, "asks you to do without"),
    ],
    right=[
        _circular_by_roll,
        _circular_by_cat,
        lambda y, w: torch.sigmoid(F.conv1d(F.pad(y[:, None], ((w.numel() - 1) // 2,) * 2,
                                                  mode="circular"), w.view(1, 1, -1)))[:, 0],
    ],
)


# --- chapter 4 ------------------------------------------------------------------------------------

def _mlp(z, a, b):
    return F.relu(z @ a.T) @ b.T


def _pools(x):  # channels-last (B, H, W, C)
    return x.mean(dim=(1, 2)), x.amax(dim=(1, 2))


def _channel_gate_in_place(x, a, b):
    x = x.permute(0, 3, 1, 2)  # to channels-first, then as in the notebook's from-scratch cell
    avg = x.mean(dim=(2, 3))
    mx = x.amax(dim=(2, 3))
    return _mlp(avg, a, b).add_(_mlp(mx, a, b)).sigmoid_()


CHANNEL_GATE = dict(
    wrong=[
        (lambda x, a, b: torch.sigmoid(sum(_mlp(p, a, b) for p in (x.mean((2, 3)),
                                                                    x.amax((2, 3))))),
         "dim=(2, 3) are W and C"),
        (lambda x, a, b: (lambda y: torch.sigmoid(sum(_mlp(p, a, b) for p in (y.mean((2, 3)),
                                                                               y.amax((2, 3))))))(
            x.reshape(x.shape[0], x.shape[3], x.shape[1], x.shape[2])), "reshape(B, C, H, W)"),
        (lambda x, a, b: torch.sigmoid(sum(F.relu(p @ b) @ a for p in _pools(x))),
         "w1 (C/r, C) is applied first"),
        (lambda x, a, b: torch.sigmoid(_mlp(_pools(x)[0], a, b)), "SE's gate"),
        (lambda x, a, b: torch.sigmoid(_mlp(sum(_pools(x)), a, b)), "separately"),
        (lambda x, a, b: sum(torch.sigmoid(_mlp(p, a, b)) for p in _pools(x)), "one sigmoid"),
        (lambda x, a, b: torch.sigmoid(_mlp(_pools(x)[1], a, b)), "max-pooled descriptor alone"),
        (lambda x, a, b: torch.sigmoid(sum(p @ a.T @ b.T for p in _pools(x))), "ReLU"),
        (lambda x, a, b: torch.softmax(sum(_mlp(p, a, b) for p in _pools(x)), -1), "compete"),
    ],
    right=[
        _channel_gate_in_place,
        lambda x, a, b: torch.sigmoid(_mlp(torch.stack(_pools(x)), a, b).sum(0)),
        _np(lambda x, a, b: 1 / (1 + np.exp(-sum(np.maximum(p @ a.T, 0) @ b.T for p in
                                                 (x.mean((1, 2)), x.max((1, 2))))))),
        lambda x, a, b: torch.sigmoid(sum(_mlp(p, a, b) for p in (
            x.flatten(1, 2).mean(1), x.flatten(1, 2).max(1).values))),
    ],
)

def _gate_back(f, w, slope=lambda g: g * (1 - g), to_avg=None, to_max="winner", flip=True,
               swap=False):
    """d(sum g^s)/dF written out by hand, with one step changeable (the mutants below)."""
    k = w.shape[-1]
    p = torch.stack([f.mean(1), f.max(1).values], 1)                       # (B, 2, H, W)
    g = torch.sigmoid(F.conv2d(p, w, padding=k // 2))                      # (B, 1, H, W)
    kernel = w.flip(-2, -1) if flip else w
    back = F.conv2d(slope(g), kernel.transpose(0, 1), padding=k // 2)      # (B, 2, H, W)
    back = back.flip(1) if swap else back
    c = f.shape[1]
    avg = back[:, :1] / c if to_avg is None else back[:, :1] * to_avg
    if to_max == "winner":
        mx = torch.zeros_like(f).scatter(1, f.argmax(1, keepdim=True), back[:, 1:])
    elif to_max == "all":
        mx = back[:, 1:].expand_as(f)
    elif to_max == "share":
        mx = back[:, 1:].expand_as(f) / c
    else:
        mx = 0 * f
    return avg + mx


def _gate_back_by_autograd(f, w):
    x = f.clone().requires_grad_(True)
    p = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
    (g,) = torch.autograd.grad(torch.sigmoid(F.conv2d(p, w, padding=w.shape[-1] // 2)).sum(), x)
    return g


def _gate_back_by_backward(f, w):
    x = f.clone().requires_grad_(True)
    p = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
    torch.sigmoid(F.conv2d(p, w, padding=w.shape[-1] // 2)).sum().backward()
    return x.grad


def _gate_back_in_place(f, w):
    k = w.shape[-1]
    p = torch.cat([f.mean(1, keepdim=True), f.amax(1, keepdim=True)], 1)
    g = F.conv2d(p, w, padding=k // 2).sigmoid_()
    back = F.conv_transpose2d(g.mul_(1 - g), w, padding=k // 2)
    winner = f == f.amax(1, keepdim=True)
    f.zero_()  # the reader's function may overwrite its input
    return f.add_(back[:, :1] / winner.shape[1]).add_(back[:, 1:] * winner)


SPATIAL_GATE_GRAD = dict(
    wrong=[
        # right values, but the prompt says "without autograd"
        (_gate_back_by_autograd, "asks you to do without"),
        (_gate_back_by_backward, "asks you to do without"),
        (lambda f, w: _gate_back(f, w, flip=False), "kernel flipped"),
        (lambda f, w: _gate_back(f, w, slope=lambda g: g), "g(1 − g)"),
        (lambda f, w: _gate_back(f, w, to_avg=1.0), "1/C of its gradient"),
        (lambda f, w: _gate_back(f, w, to_max="all"), "not to every channel"),
        (lambda f, w: _gate_back(f, w, to_max="share"), "not a mean"),
        (lambda f, w: _gate_back(f, w, to_max="none"), "max map is missing"),
        (lambda f, w: _gate_back(f, w, to_avg=0.0), "mean map is missing"),
        (lambda f, w: _gate_back(f, w, swap=True), "swapped"),
    ],
    right=[
        _gate_back,
        _gate_back_in_place,
        lambda f, w: _gate_back(f.float(), w.float()),
    ],
)


# --- chapter 5 ------------------------------------------------------------------------------------

def _pool3_in_place(x):
    out = torch.cat([x.mean((3, 4)), x.mean((2, 4)), x.mean((2, 3))], dim=2)
    x.zero_()  # the reader's function may overwrite its input
    return out


def _pool3_by_loop(x):
    b, c, d, h, w = x.shape
    z = torch.zeros(b, c, d + h + w, dtype=x.dtype)
    for k in range(d):
        z[:, :, k] = x[:, :, k].reshape(b, c, -1).mean(-1)
    for i in range(h):
        z[:, :, d + i] = x[:, :, :, i].reshape(b, c, -1).mean(-1)
    for j in range(w):
        z[:, :, d + h + j] = x[..., j].reshape(b, c, -1).mean(-1)
    return z


COORD_POOL_3D = dict(
    wrong=[
        (lambda x: torch.cat([x.mean((2, 3)), x.mean((2, 4)), x.mean((3, 4))], 2), "wrong order"),
        (lambda x: torch.cat([x.mean((3, 4)), x.mean((2, 3)), x.mean((2, 4))], 2), "swapped"),
        (lambda x: torch.cat([x.sum((3, 4)), x.sum((2, 4)), x.sum((2, 3))], 2), "you summed"),
        (lambda x: torch.cat([x.amax((3, 4)), x.amax((2, 4)), x.amax((2, 3))], 2), "maxima"),
        (lambda x: torch.cat([x.mean((3, 4)), x.mean((2, 4)), x.mean((2, 3))], 1),
         "along the last axis"),
        (lambda x: torch.cat([x.sum((3, 4)) / x.shape[2], x.sum((2, 4)) / x.shape[3],
                              x.sum((2, 3)) / x.shape[4]], 2), "number of terms"),
        (lambda x: torch.cat([x.mean(4).mean(2), x.mean(3).mean(2)], 2), "depth profile"),
        (lambda x: (lambda f: torch.cat([f.mean(3), f.mean(2)], 2))(
            x.reshape(*x.shape[:2], -1, x.shape[4])), "folding D into H"),
    ],
    right=[
        _pool3_in_place,
        _pool3_by_loop,
        _np(lambda x: np.concatenate([x.mean((3, 4)), x.mean((2, 4)), x.mean((2, 3))], axis=-1)),
        lambda x: torch.cat([F.adaptive_avg_pool3d(x.float(), (x.shape[2], 1, 1)).flatten(2),
                             F.adaptive_avg_pool3d(x.float(), (1, x.shape[3], 1)).flatten(2),
                             F.adaptive_avg_pool3d(x.float(), (1, 1, x.shape[4])).flatten(2)],
                            dim=-1),
    ],
)


def _h_swish_grad_in_place(t):
    inside = (t > -3) & (t < 3)
    above = t >= 3
    return t.mul_(2).add_(3).div_(6).mul_(inside).add_(above)


def _h_swish_grad_by_autograd(t):
    x = t.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((x * torch.clamp(x + 3, 0, 6) / 6).sum(), x)
    return g


H_SWISH_GRAD = dict(
    wrong=[
        # right values, but the prompt says "without autograd"
        (_h_swish_grad_by_autograd, "asks you to do without"),
        (lambda t: torch.vmap(torch.func.grad(F.hardswish))(t.flatten()).reshape(t.shape),
         "asks you to do without"),
        (lambda t: torch.clamp(t + 3, 0, 6) / 6, "that is h-sigmoid"),
        (lambda t: torch.where(t.abs() < 3, t / 6, 0 * t), "add ReLU6(t + 3)/6 itself"),
        (lambda t: (2 * t + 3) / 6, "middle piece only"),
        (lambda t: torch.sigmoid(t) * (1 + t * (1 - torch.sigmoid(t))), "smooth swish"),
        (lambda t: torch.where(t.abs() < 3, (2 * t + 3) / 6, 0 * t), "slope is 1, not 0"),
        (lambda t: F.hardswish(t), "returned h-swish itself"),
        (lambda t: ((2 * t + 3) / 6).clamp(0, 1), "removes the negative slopes"),
    ],
    right=[
        _h_swish_grad_in_place,
        _np(lambda t: np.piecewise(t, [t < -3, (t > -3) & (t < 3), t > 3],
                                   [0.0, lambda u: (2 * u + 3) / 6, 1.0])),
        lambda t: torch.clamp(t.float() + 3, 0, 6) / 6 + t.float() * ((t > -3) & (t < 3)) / 6,
    ],
)

def _crossing(s, q, m0, bias=True, bn=2, floor_holds=None, sign=1.0):
    """The crossover written from the two counts; each keyword a slip (the mutants below)."""
    if 3 * s >= 2 * q:
        raise ValueError("SE is cheaper again at large widths")
    lin_se = (1 + 1 / s) if bias else 0.0
    # while the floor holds: (2/s) C^2 + (lin_se - 3 m0 - 2) C - (1 + bn) m0 = 0
    a, b = 2 / s, lin_se - 3 * m0 - (2 if bias else 0)
    c = -((1 + bn) * m0 if bias else bn * m0)
    first = (-b + sign * math.sqrt(b * b - 4 * a * c)) / (2 * a)
    if floor_holds is True or (floor_holds is None and first <= m0 * q):
        return first
    # beyond it: C [(2/s - 3/q) C + lin_se - (1 + bn)/q - 2] = 0
    return -(lin_se - ((1 + bn) / q if bias else bn / q) - (2 if bias else 0)) / (2 / s - 3 / q)


def _crossing_never_refused(s, q, m0):
    if 3 * s >= 2 * q:
        b = 3 * m0 + 1 - 1 / s
        return s / 4 * (b + math.sqrt(b * b + 24 * m0 / s))
    return _crossing(s, q, m0)


def _crossing_refused_wrong_way(s, q, m0):
    if q < 2 * s:  # should be 3s >= 2q
        raise ValueError("no crossover")
    return _crossing(s, q, m0)


def _crossing_by_scan(s, q, m0):
    if 3 * s >= 2 * q:
        raise ValueError("no crossover")
    c = np.linspace(1e-3, 20_000, 2_000_001)
    m = np.maximum(m0, c / q)
    d = (2 * c * c / s + c / s + c) - (3 * c * m + 3 * m + 2 * c)
    i = np.flatnonzero(d <= 0)[-1]
    return float(c[i] - d[i] * (c[i + 1] - c[i]) / (d[i + 1] - d[i]))  # linear interpolation


CROSSOVER = dict(
    wrong=[
        (lambda s, q, m0: _crossing(s, q, m0, floor_holds=True), "floor is active"),
        (lambda s, q, m0: _crossing(s, q, m0, floor_holds=False), "without the floor"),
        (lambda s, q, m0: float(m0 * q), "stops mattering"),
        (lambda s, q, m0: _crossing(s, q, m0, bias=False), "have biases"),
        (lambda s, q, m0: _crossing(s, q, m0, bn=0), "BatchNorm"),
        (lambda s, q, m0: _crossing(s, q, m0, sign=-1.0), "negative root"),
        # no refusal: "no crossover" answered with infinity, or with the floor's root anyway
        (lambda s, q, m0: math.inf if 3 * s >= 2 * q else _crossing(s, q, m0), "Raise ValueError"),
        (_crossing_never_refused, "Raise ValueError"),
        # refusing where a crossover exists (the inequality the wrong way round)
        (_crossing_refused_wrong_way, "refused a case"),
    ],
    right=[
        _crossing,
        _crossing_by_scan,
        lambda s, q, m0: np.float32(_crossing(s, q, m0)),
    ],
)


# --- chapter 6 ------------------------------------------------------------------------------------

def _gap(n):
    return np.subtract.outer(np.arange(n), np.arange(n))  # i - j


LOCAL_CAUSAL_MASK = dict(
    wrong=[
        (lambda n, w: torch.ones(n, n, dtype=torch.bool).tril(), "plain causal mask"),
        (lambda n, w: torch.ones(n, n, dtype=torch.bool).tril() & torch.ones(n, n, dtype=torch.bool)
         .triu(-w), "one key too many"),
        (lambda n, w: torch.from_numpy(np.abs(_gap(n)) < w), "reach into the future"),
        (lambda n, w: torch.from_numpy((_gap(n).T >= 0) & (_gap(n).T < w)), "not above it"),
        (lambda n, w: torch.from_numpy((_gap(n) > 0) & (_gap(n) <= w)), "include the diagonal"),
        (lambda n, w: torch.from_numpy((_gap(n) < 0) | (_gap(n) >= w)), "True = blocked"),
        (lambda n, w: torch.from_numpy(((_gap(n) >= 0) & (_gap(n) < w)).astype(np.float32)),
         "blocks nothing"),
        (lambda n, w: torch.from_numpy(((_gap(n) >= 0) & (_gap(n) < w)).astype(np.int64)),
         "blocks nothing"),
        (lambda n, w: torch.zeros(n, n).masked_fill(~torch.from_numpy((_gap(n) >= 0)
                                                                      & (_gap(n) < w)),
                                                    float("-inf")), "additive float mask"),
    ],
    right=[
        lambda n, w: torch.ones(n, n, dtype=torch.bool).tril() & ~torch.ones(
            n, n, dtype=torch.bool).tril(-w),
        lambda n, w: np.tril(np.ones((n, n), dtype=bool)) & ~np.tril(np.ones((n, n), dtype=bool),
                                                                      -w),
        lambda n, w: torch.tensor([[0 <= i - j < w for j in range(n)] for i in range(n)]),
    ],
)

def _merge_two(a, b):
    """Two online-softmax states merged into one (the associative step of a tree reduction)."""
    (ma, la, oa), (mb, lb, ob) = a, b
    m = torch.maximum(ma, mb)
    fin = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    fa, fb = torch.exp(ma - fin), torch.exp(mb - fin)
    return m, fa * la + fb * lb, fa[:, None] * oa + fb[:, None] * ob


def _chunks_pairwise(parts):
    state = parts[0]
    for nxt in parts[1:]:
        state = _merge_two(state, nxt)
    _, ell, o = state
    return torch.nan_to_num(o / ell[:, None])


def _chunks_lse(parts):  # each chunk as a log-sum-exp L_c = m_c + log l_c and an output o_c / l_c
    lse = torch.stack([m + torch.log(ell) for m, ell, _ in parts])          # (chunks, n)
    outs = torch.stack([o / ell[:, None] for _, ell, o in parts])           # (chunks, n, d_v)
    total = torch.logsumexp(lse, dim=0)                                     # (n,)
    w = torch.exp(lse - total).nan_to_num()                                 # each chunk's share
    return (w[..., None] * outs.nan_to_num()).sum(0)


def _chunks_float32(parts):
    m = torch.stack([p[0] for p in parts]).float()
    ell = torch.stack([p[1] for p in parts]).float()
    o = torch.stack([p[2] for p in parts]).float()
    top = m.amax(0).clamp_min(torch.finfo(torch.float32).min)               # -inf -> a finite m
    f = torch.exp(m - top)
    den = (f * ell).sum(0)
    return (f[..., None] * o).sum(0) / torch.where(den > 0, den, 1.0)[:, None]


def _chunks_stack(parts):
    return (torch.stack([p[i] for p in parts]) for i in range(3))


ATTENTION_FROM_CHUNKS = dict(
    wrong=[
        (lambda parts: sum(o for _, _, o in parts) / sum(ell for _, ell, _ in parts)[:, None],
         "mixes different units"),
        (lambda parts: torch.stack([o / ell[:, None] for _, ell, o in parts]).mean(0),
         "equal average"),
        (lambda parts: (lambda m, ell, o: (torch.exp(m - m.amax(0))[..., None] * o).sum(0)
                        / ell.sum(0)[:, None])(*_chunks_stack(parts)),
         "but not the denominators"),
        (lambda parts: (lambda m, ell, o: o.sum(0)
                        / (torch.exp(m - m.amax(0)) * ell).sum(0)[:, None])(*_chunks_stack(parts)),
         "but not the numerators"),
        (lambda parts: (lambda m, ell, o: (torch.exp(m.amax(0) - m)[..., None] * o).sum(0)
                        / (torch.exp(m.amax(0) - m) * ell).sum(0)[:, None])(*_chunks_stack(parts)),
         "upside down"),
        (lambda parts: (lambda m, ell, o: (torch.exp(m - m.amax(0))[..., None] * o).sum(0))(
            *_chunks_stack(parts)), "unnormalised sum"),
        (lambda parts: (lambda m, ell, o: (torch.exp(m)[..., None] * o).sum(0)
                        / (torch.exp(m) * ell).sum(0)[:, None])(*_chunks_stack(parts)),
         "overflows once a score passes"),
        (lambda parts: (lambda m, ell, o: (lambda f: (f[..., None] * o).sum(0)
                                           / (f * ell).sum(0)[:, None])(
            torch.exp(m - m.nan_to_num(neginf=0.0).max())))(*_chunks_stack(parts)),
         "underflows to 0"),
        (lambda parts: (lambda m, ell, o: (lambda f: (f[..., None] * o).sum(0)
                                           / (f * ell).sum(0)[:, None])(
            torch.exp(m - m.nan_to_num(neginf=0.0).mean(0))))(*_chunks_stack(parts)),
         "mean of the m_c"),
        # the right merge, without a guard for a query that has no key in any chunk
        (lambda parts: (lambda s: s[2] / s[1][:, None])(
            __import__("functools").reduce(
                lambda a, b: (torch.maximum(a[0], b[0]),
                              torch.exp(a[0] - torch.maximum(a[0], b[0])) * a[1]
                              + torch.exp(b[0] - torch.maximum(a[0], b[0])) * b[1],
                              torch.exp(a[0] - torch.maximum(a[0], b[0]))[:, None] * a[2]
                              + torch.exp(b[0] - torch.maximum(a[0], b[0]))[:, None] * b[2]),
                parts)), "output 0"),
    ],
    right=[_chunks_pairwise, _chunks_lse, _chunks_float32],
)


DOT_VARIANCE = dict(
    wrong=[
        (lambda d, a, b: math.sqrt(d * a * b), "standard deviation"),
        (lambda d, a, b: d * (a + b), "not the sum"),
        (lambda d, a, b: a * b, "variances add up"),
        (lambda d, a, b: d * d * a * b, "not d_k²"),
        (lambda d, a, b: math.sqrt(d) * a * b, "mixes the two"),
    ],
    right=[
        lambda d, a, b: float(np.float32(d) * np.float32(a) * np.float32(b)),
        lambda d, a, b: torch.tensor(d * a * b),
        lambda d, a, b: sum(a * b for _ in range(d)),
    ],
)


# --- chapter 7 ------------------------------------------------------------------------------------

def _pooled_seeds(groups, within=1, between=True, divisor=1, weights=True):
    """Mean and SD of all seeds from (n, mean, s) summaries, written independently of the checker:
    the sum of squares is sum (n - within) s² (+ sum n (m_g - m)²), over N - divisor."""
    n = np.array([g[0] for g in groups], dtype=float)
    m = np.array([g[1] for g in groups])
    s = np.array([g[2] for g in groups])
    mean = float((n * m).sum() / n.sum()) if weights else float(m.mean())
    squares = ((n - within) * s**2).sum() + ((n * (m - mean) ** 2).sum() if between else 0.0)
    return mean, float(np.sqrt(squares / (n.sum() - divisor)))


MEAN_STD = dict(
    wrong=[
        (lambda g: _pooled_seeds(g, weights=False), "not the plain average"),
        (lambda g: (_pooled_seeds(g)[0], sum(n * s for n, _, s in g) / sum(n for n, _, _ in g)),
         "do not average"),
        (lambda g: _pooled_seeds(g, between=False, divisor=len(g)), "pooled standard deviation"),
        (lambda g: _pooled_seeds(g, between=False), "only the spread inside each batch"),
        (lambda g: (_pooled_seeds(g)[0], float(np.std([m for _, m, _ in g], ddof=1))
                    if len(g) > 1 else 0.0), "standard deviation of the batch means"),
        (lambda g: _pooled_seeds(g, divisor=0), "divided it by N"),
        (lambda g: _pooled_seeds(g, within=0), "(n_g - 1) s_g², not n_g s_g²"),
        (lambda g: (lambda m, s: (m, s**2))(*_pooled_seeds(g)), "variance of the seeds"),
        # the review's minor hints and its bfloat16 answer
        (lambda g: dict(zip(("mean", "std"), _pooled_seeds(g), strict=True)), "returned a dict"),
        (lambda g: _pooled_seeds(g)[::-1], "wrong order"),
        (lambda g: tuple(torch.tensor(_pooled_seeds(g), dtype=torch.bfloat16)), "bfloat16"),
        # the library and statistics want the raw seeds, which the exercise does not give
        (lambda g: (statistics.fmean(m for _, m, _ in g), statistics.stdev(m for _, m, _ in g)),
         "not the plain average"),
    ],
    right=[
        _pooled_seeds,
        lambda g: tuple(np.array(_pooled_seeds(g), dtype=np.float32)),
        # from the raw-seed view: the total sum of squares is sum x² - N m², each batch giving
        # sum x² = (n - 1) s² + n m_g²
        lambda g: (lambda big_n, m, sq: (m, math.sqrt((sq - big_n * m * m) / (big_n - 1))))(
            sum(n for n, _, _ in g), sum(n * x for n, x, _ in g) / sum(n for n, _, _ in g),
            sum((n - 1) * s * s + n * x * x for n, x, s in g)),
    ],
)


def _m(x):
    return statistics.fmean(x)


def _d(a, b):
    return abs(_m(a) - _m(b))


def _se(a, b, ddof=1):
    return math.sqrt(np.var(a, ddof=ddof) / len(a) + np.var(b, ddof=ddof) / len(b))


DIFFERENCE = dict(
    wrong=[
        (lambda a, b: _m(a) != _m(b), "any difference"),
        (lambda a, b: _m(b) - _m(a) > 2 * _se(a, b), "only an improvement"),
        (lambda a, b: _d(a, b) > 2 * _se(a, b, ddof=0), "population standard deviation"),
        (lambda a, b: _d(a, b) > 2 * math.sqrt(np.var(a, ddof=1) + np.var(b, ddof=1)),
         "compared with the standard deviations"),
        (lambda a, b: _d(a, b) > 3 * _se(a, b), "not 3"),
        (lambda a, b: _d(a, b) > 2 * (np.std(a, ddof=1) + np.std(b, ddof=1)) / math.sqrt(len(a)),
         "standard deviations do not add"),
        (lambda a, b: _d(a, b) > 2 * math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / len(a)),
         "different numbers of seeds"),
        (lambda a, b: _d(a, b) > 2 * (np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b)),
         "take the square root"),
        (lambda a, b: _d(a, b) > 0.02, "fixed threshold"),
        (lambda a, b: _d(a, b) > 0.03, "fixed threshold"),
        (lambda a, b: stats.ttest_ind(a, b, equal_var=False).pvalue < 0.05, "Welch's test"),
        # the review's unmodelled rules, each with its own hint
        (lambda a, b: _d(a, b) > 2 * (stats.sem(a) + stats.sem(b)), "error bars overlap"),
        (lambda a, b: _d(a, b) > np.std(a, ddof=1) + np.std(b, ddof=1), "mean ± s bars"),
        (lambda a, b: abs(stats.ttest_ind(a, b).statistic) > 2, "pooled standard error"),
        (lambda a, b: _d(a, b) > 2 * math.sqrt(np.var(a, ddof=1) / (len(a) - 1)
                                               + np.var(b, ddof=1) / (len(b) - 1)),
         "Bessel's correction"),
    ],
    right=[
        lambda a, b: _d(a, b) > 2 * math.hypot(stats.sem(a), stats.sem(b)),
        lambda a, b: torch.tensor(_d(a, b) > 2 * _se(a, b)),
        lambda a, b: np.abs(np.mean(a) - np.mean(b)) > 2 * _se(a, b),
    ],
)


def _extra_seeds(a, b, mode="right"):
    """Seeds to add to a until |Δ| > 2 SE, by closed form, written independently of the checker."""
    a, b = np.asarray(a), np.asarray(b)
    ddof = 0 if mode == "population" else 1
    va, vb = np.var(a, ddof=ddof), np.var(b, ddof=ddof)
    delta = abs(a.mean() - b.mean())
    room = (delta / 2) ** 2 - (0.0 if mode == "no floor" else vb / len(b))
    if room <= 0:
        raise ValueError("the baseline's standard error alone is too large")
    k = max(0, math.floor(va / room) + 1 - len(a))
    return {"total": len(a) + k, "at least one": max(k, 1)}.get(mode, k)


def _extra_seeds_both(a, b):
    k = 0
    while abs(np.mean(a) - np.mean(b)) <= 2 * math.sqrt(np.var(a, ddof=1) / (len(a) + k)
                                                         + np.var(b, ddof=1) / (len(b) + k)):
        k += 1
    return k


def _extra_seeds_forever(a, b):
    # a search with no stopping rule: never returns where no k works
    k = 0
    while abs(np.mean(a) - np.mean(b)) <= 2 * math.sqrt(np.var(a, ddof=1) / (len(a) + k)
                                                         + np.var(b, ddof=1) / len(b)):
        k += 1
    return k


SEEDS_TO_CLEAR = dict(
    wrong=[
        (lambda a, b: _extra_seeds(a, b, "no floor"), "baseline's standard error stays"),
        (_extra_seeds_both, "only the variant gets new seeds"),
        (lambda a, b: _extra_seeds(a, b, "total"), "n_a + k"),
        (lambda a, b: _extra_seeds(a, b, "population"), "sample standard deviations"),
        (lambda a, b: _extra_seeds(a, b, "at least one"), "return 0"),
        (lambda a, b: max(0, math.floor(np.var(a, ddof=1) / (abs(np.mean(a) - np.mean(b)) ** 2
                                                            - np.var(b, ddof=1) / len(b)))
                          + 1 - len(a)), "two standard errors, not one"),
        (_extra_seeds_forever, "did not return"),
        (lambda a, b: _extra_seeds(a, b) + 0.5, "whole number"),
        # refuses whenever the difference is not clear now
        (lambda a, b: _extra_seeds(a, b) if _extra_seeds(a, b) == 0 else
         (_ for _ in ()).throw(ValueError("not clear")), "you refused"),
    ],
    right=[
        _extra_seeds,
        lambda a, b: torch.tensor(_extra_seeds(a, b)),
        lambda a, b: float(_extra_seeds(a, b)),
    ],
)


def _welch_by_hand(a, b):
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    t = (np.mean(a) - np.mean(b)) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return t, df, 2 * stats.t.sf(abs(t), df)


def _welch_pooled(a, b):
    # Student's test by hand: one pooled variance, n_a + n_b - 2 degrees of freedom
    df = len(a) + len(b) - 2
    pooled = ((len(a) - 1) * np.var(a, ddof=1) + (len(b) - 1) * np.var(b, ddof=1)) / df
    t = (np.mean(a) - np.mean(b)) / np.sqrt(pooled * (1 / len(a) + 1 / len(b)))
    return t, df, 2 * stats.t.sf(abs(t), df)


WELCH = dict(
    wrong=[
        # right values, but the prompt says "scipy.stats.t.sf for the tail only"
        (lambda a, b: (lambda r: np.array([r.statistic, r.df, r.pvalue]))(
            stats.ttest_ind(a, b, equal_var=False)), "asks you to do without"),
        (lambda a, b: (lambda c: (c.t, c.df, c.p))(welch(a, b)), "asks you to do without"),
        (_welch_pooled, "pooled variance"),
        (lambda a, b: (lambda t, df, p: (t, df, p / 2))(*_welch_by_hand(a, b)), "one-sided"),
        (lambda a, b: (lambda t, df, p: (t, len(a) + len(b) - 2,
                                         2 * stats.t.sf(abs(t), len(a) + len(b) - 2)))(
            *_welch_by_hand(a, b)), "n_a + n_b - 2"),
        (lambda a, b: (lambda t, df, p: (t, df, 2 * stats.norm.sf(abs(t))))(
            *_welch_by_hand(a, b)), "normal distribution"),
        (lambda a, b: (lambda t, df, p: (-t, df, p))(*_welch_by_hand(a, b)), "sign of t"),
        (lambda a, b: (lambda va, vb: ((np.mean(a) - np.mean(b)) / np.sqrt(va + vb),
                                       (va + vb) ** 2 / (va**2 / (len(a) - 1)
                                                         + vb**2 / (len(b) - 1)),
                                       2 * stats.t.sf(abs((np.mean(a) - np.mean(b))
                                                          / np.sqrt(va + vb)),
                                                      (va + vb) ** 2 / (va**2 / (len(a) - 1)
                                                                        + vb**2 / (len(b) - 1)))))(
            np.var(a) / len(a), np.var(b) / len(b)), "population standard deviations"),
    ],
    right=[
        _welch_by_hand,
        lambda a, b: [torch.tensor(x, dtype=torch.float32) for x in _welch_by_hand(a, b)],
    ],
)


def _eq_power(theta, sd, n, band, alpha, z=None, se=None, both=True, inner=True, clip=True):
    se = sd / math.sqrt(n) if se is None else se
    z = stats.norm.ppf(1 - alpha / 2) if z is None else z
    hw = z * se if inner else 0.0
    p = stats.norm.cdf((band - hw - theta) / se) - (stats.norm.cdf((hw - band - theta) / se)
                                                    if both else 0.0)
    return max(p, 0.0) if clip else p


def _eq_power_erf(theta, sd, n, band, alpha):
    phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    se = sd / math.sqrt(n)
    hw = statistics.NormalDist().inv_cdf(1 - alpha / 2) * se
    if band <= hw:
        return 0.0                      # no interval of this width fits inside the band
    return phi((band - hw - theta) / se) - phi((-band + hw - theta) / se)


def _eq_power_symmetric(theta, sd, n, band, alpha):
    # P(-band + hw < mean < band - hw) for mean ~ N(theta, se), written with survival functions
    se = sd / np.sqrt(n)
    hw = stats.norm.isf(alpha / 2) * se
    return float(np.clip(stats.norm.sf((hw - band - theta) / se)
                         - stats.norm.sf((band - hw - theta) / se), 0, 1))


EQUIVALENCE_POWER = dict(
    wrong=[
        (lambda *a: _eq_power(*a, clip=False), "probability is 0"),
        (lambda t, s, n, d, al: _eq_power(t, s, n, d, al, z=stats.norm.ppf(1 - al)),
         "not 1 − α."),
        (lambda *a: _eq_power(*a, both=False), "at both ends"),
        (lambda *a: _eq_power(*a, inner=False), "the whole interval inside"),
        (lambda t, s, n, d, al: _eq_power(t, s, n, d, al, se=s), "σ/√n, not σ."),
        (lambda t, s, n, d, al: _eq_power(t, s, n, d, al, se=s / n), "not σ/n"),
        (lambda t, s, n, d, al: _eq_power(t, s, n, d, al, se=s * math.sqrt(2 / n)),
         "no factor √2"),
        (lambda t, s, n, d, al: _eq_power(0.0, s, n, d, al), "centred on the true effect"),
        (lambda *a: 1 - _eq_power(*a), "*not* calling"),
    ],
    right=[
        _eq_power,
        _eq_power_erf,
        _eq_power_symmetric,
        lambda *a: np.float32(_eq_power(*a)),
    ],
)


def _lsm(s, t, dim=-1, shift=None):
    """log softmax(s / t) by the log-sum-exp trick; ``shift`` replaces the row maximum."""
    u = s / t
    m = u.amax(dim, keepdim=True) if shift is None else shift(u)
    return u - m - torch.log(torch.exp(u - m).sum(dim, keepdim=True))


LOG_SOFTMAX = dict(
    wrong=[
        (lambda s, t: torch.log(torch.softmax(s / t, -1)), "underflows to 0"),
        (lambda s, t: s / t - torch.log(torch.exp(s / t).sum(-1, keepdim=True)), "overflows"),
        (lambda s, t: s / t - (s / t).amax(-1, keepdim=True), "sum to 1"),
        (lambda s, t: (lambda u: u - torch.log(torch.exp(u - u.amax(-1, keepdim=True))
                                               .sum(-1, keepdim=True)))(s / t),
         "off by its maximum"),
        (lambda s, t: _lsm(s, t, shift=lambda u: u.max()), "whole tensor"),
        (lambda s, t: _lsm(s, 1.0), "temperature is ignored"),
        (lambda s, t: _lsm(s, t, dim=0), "not down the columns"),
        # the review's cases: 3-D scores, a shift by max(m, 0), the median or the mean
        (lambda s, t: _lsm(s, t, dim=1), "dim=1 is the last one only for 2-D"),
        (lambda s, t: _lsm(s, t, shift=lambda u: u.amax(-1, keepdim=True).clamp_min(0)),
         "max(m, 0)"),
        (lambda s, t: _lsm(s, t, shift=lambda u: u.median(-1, keepdim=True).values),
         "shifted by the median"),
        (lambda s, t: _lsm(s, t, shift=lambda u: u.mean(-1, keepdim=True)),
         "shifted by the mean"),
        # right values, but the prompt says "without calling torch.log_softmax, torch.logsumexp"
        (lambda s, t: s / t - torch.logsumexp(s / t, -1, keepdim=True), "asks you to do without"),
        (lambda s, t: F.log_softmax(s.float() / t, dim=-1), "asks you to do without"),
        (lambda s, t: torch.nn.LogSoftmax(dim=-1)(s / t), "asks you to do without"),
        (_np(lambda s, t: scipy.special.log_softmax(s / t, axis=-1)), "asks you to do without"),
    ],
    right=[
        _np(lambda s, t: (lambda u: u - np.log(np.exp(u).sum(-1, keepdims=True)))(
            (s - s.max(-1, keepdims=True)) / t)),
        lambda s, t: _lsm(s.float(), t),
        lambda s, t: (lambda u: u - u.max(-1, keepdim=True).values
                      - torch.log1p(torch.exp(u - u.max(-1, keepdim=True).values).sum(-1, True)
                                    - 1))(s / t),
    ],
)


def _heads(x, h):  # (B, n, D) -> (B, h, n, D/h)
    return x.unflatten(-1, (h, -1)).transpose(1, 2)


def _mha(q, k, v, h, scale=None, dim=-1):
    qs, ks, vs = _heads(q, h), _heads(k, h), _heads(v, h)
    scale = math.sqrt(qs.shape[-1]) if scale is None else scale
    return (torch.softmax(qs @ ks.transpose(-2, -1) / scale, dim) @ vs).transpose(1, 2).flatten(2)


MULTI_HEAD = dict(
    wrong=[
        (lambda q, k, v, h: torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), -1)
         @ v, "one head over the full width"),
        (lambda q, k, v, h: _mha(q, k, v, h, scale=math.sqrt(q.shape[-1])), "not by 1/√D"),
        (lambda q, k, v, h: _mha(q, k, v, h, scale=1.0), "forgot the scale"),
        (lambda q, k, v, h: _mha(q, k, v, h, dim=-2), "wrong axis"),
        (lambda q, k, v, h: (lambda o: o.reshape(q.shape[0], q.shape[1], -1))(
            torch.softmax(_heads(q, h) @ _heads(k, h).transpose(-2, -1)
                          / math.sqrt(q.shape[-1] // h), -1) @ _heads(v, h)),
         "transpose(1, 2) back first"),
        (lambda q, k, v, h: (lambda r: (torch.softmax(r(q) @ r(k).transpose(-2, -1)
                                                      / math.sqrt(q.shape[-1] // h), -1)
                                        @ r(v)).reshape(q.shape[0], q.shape[1], -1))(
            lambda x: x.reshape(x.shape[0], h, x.shape[1], -1)), "mixes positions with heads"),
        # right values, but the prompt says "Use no loop over the heads"
        (lambda q, k, v, h: torch.cat([F.scaled_dot_product_attention(qi, ki, vi) for qi, ki, vi
                                       in zip(q.chunk(h, -1), k.chunk(h, -1), v.chunk(h, -1),
                                              strict=True)], -1), "loops over the heads"),
        (lambda q, k, v, h: torch.cat([_mha(*(x.unflatten(-1, (h, -1))[..., i, :]
                                              for x in (q, k, v)), 1) for i in range(h)], -1),
         "loops over the heads"),
    ],
    right=[
        lambda q, k, v, h: F.scaled_dot_product_attention(_heads(q, h), _heads(k, h),
                                                          _heads(v, h)).transpose(1, 2).flatten(2),
        lambda q, k, v, h: torch.einsum(
            "bhnm,bmhd->bnhd",
            torch.softmax(torch.einsum("bnhd,bmhd->bhnm", q.unflatten(-1, (h, -1)).float(),
                                       k.unflatten(-1, (h, -1)).float())
                          / math.sqrt(q.shape[-1] // h), -1),
            v.unflatten(-1, (h, -1)).float()).flatten(2),
    ],
)


# --- chapter 8: the blended gate's logit gradient, written independently of the checker ---------

def _sig_prime(z):
    return torch.sigmoid(z) * (1 - torch.sigmoid(z))


def _blend_grad_in_place(u, z, alpha, g):
    s = z.sigmoid_()  # the reader's own copy of z, overwritten
    return g.mul_(u).sum(dim=(2, 3)).mul_(s * (1 - s)).mul_(alpha)


BLEND_LOGIT_GRAD = dict(
    wrong=[
        (lambda u, z, a, g: torch.einsum("nchw,nchw->nc", g, u) * _sig_prime(z), "ignores alpha"),
        (lambda u, z, a, g: (1 - a) * torch.einsum("nchw,nchw->nc", g, u) * _sig_prime(z),
         "not 1 − alpha"),
        (lambda u, z, a, g: a * torch.einsum("nchw,nchw->nc", g, u), "go on through the sigmoid"),
        (lambda u, z, a, g: a * torch.einsum("nchw,nchw->nc", g, u) * torch.sigmoid(z),
         "s (1 − s), not s"),
        (lambda u, z, a, g: a * (g * u).sum(dim=(2, 3)) * _sig_prime(torch.sigmoid(z)),
         "evaluates σ' at the gate"),
        (lambda u, z, a, g: a * g * u * _sig_prime(z).unsqueeze(-1).unsqueeze(-1),
         "one value per position"),
        (lambda u, z, a, g: a * (g * u).mean(dim=(3, 2)) * _sig_prime(z), "do not average"),
        (lambda u, z, a, g: torch.einsum("nchw,nchw->c", g, u * a * _sig_prime(z)[..., None, None]),
         "sums over the images"),
        (lambda u, z, a, g: a * (g * u * (torch.sigmoid(z)[..., None, None] - 1)).sum(dim=(2, 3))
         * _sig_prime(z), "dy/ds = alpha u"),
        (lambda u, z, a, g: (g * u * (torch.sigmoid(z)[..., None, None] - 1)).sum(dim=(2, 3)),
         "alpha's gradient"),
        (lambda u, z, a, g: torch.autograd.grad(
            (g * (u + a * (torch.sigmoid(z := z.requires_grad_())[..., None, None] * u - u))).sum(),
            z)[0], "torch.autograd.grad"),
    ],
    right=[
        lambda u, z, a, g: a * torch.einsum("nchw,nchw->nc", g, u) * _sig_prime(z),
        _np(lambda u, z, a, g: a * (g * u).sum(axis=(2, 3)) * np.exp(-z) / (1 + np.exp(-z)) ** 2),
        _blend_grad_in_place,
        lambda u, z, a, g: (a * (g.float() * u.float()).sum(dim=(2, 3))
                            * _sig_prime(z.float())),  # in float32
    ],
)


# --- chapter 8: heat maps -------------------------------------------------------------------------

LAYER_CAM = dict(
    wrong=[
        (lambda a, g: torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1)), "Grad-CAM"),
        (lambda a, g: torch.relu((g * a).sum(1)), "negative part is kept"),
        (lambda a, g: (torch.relu(g) * a).sum(1), "negative values"),
        (lambda a, g: torch.relu(g * a).sum(1), "rectified each product"),
        (lambda a, g: torch.relu((torch.relu(g) * a).mean(1)), "K times too small"),
        (lambda a, g: torch.relu((g.abs() * a).sum(1)), "absolute value"),
        (lambda a, g: torch.relu((torch.relu(g) * torch.relu(a)).sum(1)), "activation too"),
    ],
    right=[
        lambda a, g: torch.einsum("bkhw,bkhw->bhw", torch.relu(g), a).clamp(min=0),
        _np(lambda a, g: np.maximum((np.maximum(g, 0) * a).sum(axis=1), 0)),
        lambda a, g: g.clamp_(min=0).mul_(a).sum(1).clamp_(min=0),  # in place, on its own copy
    ],
)


CATALOGUE = {
    "preface.check_attend": (preface.check_attend, ATTEND),
    "similarity.check_most_similar": (sim.check_most_similar, MOST_SIMILAR),
    "similarity.check_masked_gram": (sim.check_masked_gram, MASKED_GRAM),
    "similarity.check_stable_log_softmax": (sim.check_stable_log_softmax, LOG_SOFTMAX),
    "similarity.check_masked_attention": (sim.check_masked_attention, MASKED_ATTENTION),
    "similarity.check_log_softmax_jacobian": (sim.check_log_softmax_jacobian,
                                              LOG_SOFTMAX_JACOBIAN),
    "se.check_squeeze": (se.check_squeeze, SQUEEZE),
    "se.check_se_channels_last": (se.check_se_channels_last, SE_CHANNELS_LAST),
    "se.check_se_reduction_for_budget": (se.check_se_reduction_for_budget, SE_REDUCTION),
    "se.check_se_gate_grad": (se.check_se_gate_grad, SE_GATE_GRAD),
    "eca.check_eca_channel_range": (eca.check_eca_channel_range, ECA_RANGE),
    "eca.check_eca_kernel_grad": (eca.check_eca_kernel_grad, ECA_GRAD),
    "eca.check_eca_toeplitz_dilated": (eca.check_eca_toeplitz_dilated, TOEPLITZ_DILATED),
    "eca.check_eca_gate_circular": (eca.check_eca_gate_circular, ECA_GATE_CIRCULAR),
    "cbam.check_channel_gate": (cbam.check_channel_gate, CHANNEL_GATE),
    "cbam.check_spatial_gate_grad": (cbam.check_spatial_gate_grad, SPATIAL_GATE_GRAD),
    "coordatt.check_coordinate_pool_3d": (coordatt.check_coordinate_pool_3d, COORD_POOL_3D),
    "coordatt.check_h_swish_grad": (coordatt.check_h_swish_grad, H_SWISH_GRAD),
    "coordatt.check_crossover_width": (coordatt.check_crossover_width, CROSSOVER),
    "self_attention.check_multi_head_attention": (self_attention.check_multi_head_attention,
                                                  MULTI_HEAD),
    "self_attention.check_local_causal_mask": (self_attention.check_local_causal_mask,
                                                LOCAL_CAUSAL_MASK),
    "self_attention.check_dot_variance": (self_attention.check_dot_variance, DOT_VARIANCE),
    "self_attention.check_attention_from_chunks": (self_attention.check_attention_from_chunks,
                                                   ATTENTION_FROM_CHUNKS),
    "networks.check_mean_std": (networks.check_mean_std, MEAN_STD),
    "networks.check_difference_is_clear": (networks.check_difference_is_clear, DIFFERENCE),
    "networks.check_seeds_to_clear": (networks.check_seeds_to_clear, SEEDS_TO_CLEAR),
    "networks.check_welch": (networks.check_welch, WELCH),
    "networks.check_equivalence_power": (networks.check_equivalence_power, EQUIVALENCE_POWER),
    "insert.check_blend_logit_grad": (ins.check_blend_logit_grad, BLEND_LOGIT_GRAD),
    "heatmaps.check_layer_cam": (heat.check_layer_cam, LAYER_CAM),
}

WRONG = [pytest.param(checker, answer, hint, id=f"{name}-{i}")
         for name, (checker, entry) in CATALOGUE.items()
         for i, (answer, hint) in enumerate(entry["wrong"])]
RIGHT = [pytest.param(checker, answer, id=f"{name}-{i}")
         for name, (checker, entry) in CATALOGUE.items()
         for i, answer in enumerate(entry["right"])]


def test_every_checker_is_catalogued():
    assert {p.id for p in CHECKERS} == set(CATALOGUE)
    for name, (_, entry) in CATALOGUE.items():
        assert len(entry["wrong"]) >= 5, f"{name}: fewer than five mutants"
        assert len(entry["right"]) >= 2, f"{name}: fewer than two correct alternatives"


@pytest.mark.parametrize("language", _messages.LANGUAGES)
@pytest.mark.parametrize(("checker", "answer", "hint"), WRONG)
def test_a_mutant_gets_not_yet_and_the_hint_that_names_it(checker, answer, hint, language):
    """In English the hint names the mistake (the substring); in Chinese the hint is the
    catalogue's translation of that same English hint: Chinese, with no English prose."""
    with _messages.language(language):
        verdict = checker(answer)
    assert not verdict, f"a wrong answer passed: {verdict}"
    assert verdict.language == language
    if language == "en":
        assert hint in verdict.message, str(verdict)
        return
    assert hint in verdict.english, f"{verdict.english} ({verdict})"
    assert str(verdict).startswith("还不对："), str(verdict)
    assert verdict.message != verdict.english and CJK.search(verdict.message), str(verdict)
    assert not english_prose(verdict.message), (
        f"English prose {english_prose(verdict.message)} in the Chinese hint: {verdict}")


@pytest.mark.parametrize(("checker", "answer"), RIGHT)
def test_a_correct_alternative_passes(checker, answer):
    verdict = checker(answer)
    assert verdict, str(verdict)
