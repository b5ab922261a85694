"""Checkers for chapter 1 (dot products and similarity).

Each checker runs the reader's function on a few fixed inputs, compares it with an independent
computation and, when the output matches a typical mistake, says which one. None of them raises.
The references are written here with plain tensor operations, never with the
:mod:`attn_lessons.similarity` functions that the chapter's lab imports: a reader who calls a
library function the lab has in scope does not thereby solve an exercise.

Where a prompt rules out a tool (``torch.logsumexp`` and ``log_softmax`` for the stable
log-softmax, autograd for the Jacobian), the checker enforces it while the reader's function runs.
"""

from __future__ import annotations

from typing import Any

import scipy.special
import torch

from ._core import Feedback, Forbidden, autograd_forbidden, check_function
from ._messages import mark, tr

__all__ = [
    "check_log_softmax_jacobian",
    "check_masked_attention",
    "check_masked_gram",
    "check_most_similar",
    "check_stable_log_softmax",
]


def _fixed(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


# --- the most similar other row (a transfer: cosine, all pairs at once, a batch, oneself out) --
#
# x is (B, n, d), n >= 2, no zero row; the answer is the (B, n) index tensor whose entry (b, i) is
# the j != i with the largest cosine similarity cos(x_bi, x_bj). The samples are built so that each
# plausible slip shows: a long row that wins every dot product, rows whose cosines with all the
# others are negative (a diagonal set to 0 instead of -inf then picks the row itself), and rows of
# different lengths where the nearest row in Euclidean distance is not the most similar one
# (exercise 1.3). With a batch, torch's fill_diagonal_ and .T no longer apply as they do to one
# matrix: the diagonal is masked with a broadcast identity.


def _unit_rows(x: torch.Tensor) -> torch.Tensor:
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)  # (B, n, d) / (B, n, 1)


def _all_cosines(x: torch.Tensor) -> torch.Tensor:
    u = _unit_rows(x)
    return u @ u.transpose(-2, -1)                       # (B, n, d) @ (B, d, n) -> (B, n, n)


def _diagonal(x: torch.Tensor) -> torch.Tensor:
    return torch.eye(x.shape[-2], dtype=torch.bool)      # (n, n), broadcast over the batch


def _most_similar_reference(x: torch.Tensor) -> torch.Tensor:
    cos = _all_cosines(x).masked_fill(_diagonal(x), float("-inf"))  # a row is not its neighbour
    return cos.argmax(dim=-1)                            # (B, n, n) -> (B, n)


def _ms_self_included(x):
    return _all_cosines(x).argmax(dim=-1)


def _ms_diagonal_zero(x):
    return _all_cosines(x).masked_fill(_diagonal(x), 0.0).argmax(dim=-1)


def _ms_dot_product(x):
    return (x @ x.transpose(-2, -1)).masked_fill(_diagonal(x), float("-inf")).argmax(dim=-1)


def _ms_euclidean(x):
    return torch.cdist(x, x).masked_fill(_diagonal(x), float("inf")).argmin(dim=-1)


def _ms_least_similar(x):
    return _all_cosines(x).masked_fill(_diagonal(x), float("inf")).argmin(dim=-1)


def _ms_column_norms(x):
    u = x / torch.linalg.vector_norm(x, dim=-2, keepdim=True)
    return (u @ u.transpose(-2, -1)).masked_fill(_diagonal(x), float("-inf")).argmax(dim=-1)


def _ms_values(x):
    return _all_cosines(x).masked_fill(_diagonal(x), float("-inf")).amax(dim=-1)


def _ms_flattened_batch(x):
    # one (B n) x (B n) matrix: a row may pick a row of another sample
    flat = x.reshape(-1, x.shape[-1])[None]
    return _most_similar_reference(flat).reshape(x.shape[:-1]) % x.shape[-2]


def _ms_diagnose(args, got, error):
    text = str(error) if error is not None else ""
    if error is not None and ("equal length" in text or "fill_diagonal" in text):
        return (tr("fill_diagonal_ fills the diagonal of one square matrix; a batch of them, shape "
                   "(B, n, n), is not one. Mask the diagonal with torch.eye(n, dtype=torch.bool), "
                   "which broadcasts over the batch."))
    if error is not None and ("batch2" in text or "mat2" in text):
        return (tr("the product of the (B, n, d) rows with their transpose failed: transpose each "
                   "sample's matrix with x.transpose(-2, -1) (or x.mT), to (B, d, n). On a batch, "
                   "x.T reverses every dimension, giving (d, n, B)."))
    return None


def _most_similar_cases() -> list[tuple[torch.Tensor]]:
    f64 = torch.float64
    long_row = torch.tensor([[1.0, 0.0], [10.0, 6.0], [0.95, 0.3], [0.0, 1.0]], dtype=f64)
    all_negative = torch.tensor([[1.0, 0.0], [-0.6, 0.8], [-0.4, -0.9]], dtype=f64)
    lengths = torch.tensor([[1.0, 0.0], [0.5, 0.5], [5.0, 1.0]], dtype=f64)
    scaled = _fixed(4, 2, seed=22) * torch.tensor([[1.0], [8.0], [0.5], [3.0]], dtype=f64)
    return [
        (torch.stack([long_row, scaled]),),                          # (2, 4, 2)
        (torch.stack([lengths, all_negative]),),                     # (2, 3, 2)
        (_fixed(1, 7, 5, seed=21) * torch.arange(1, 8, dtype=f64)[:, None],),
        (_fixed(3, 2, 3, seed=23),),                                 # n = 2: the other row
    ]


def check_most_similar(fn: Any) -> Feedback:
    """Check ``fn(x) -> index`` for ``x`` (B, n, d): entry (b, i) is the other row j != i of sample
    b with the largest cosine similarity to row i, shape (B, n)."""
    return check_function(
        fn, _most_similar_reference, _most_similar_cases(), what=tr(
            "your most_similar"),
        atol=0.0, rtol=0.0,
        wrong_functions=[
            (_ms_self_included, tr("every row is most similar to itself (cosine 1): exclude the "
                                   "diagonal before taking the arg-max.")),
            (_ms_dot_product, tr("that ranks by the dot product, where a long row wins against "
                                 "every other: divide each row by its length first, so that only "
                                 "directions count.")),
            (_ms_euclidean, tr("that is the nearest row in Euclidean distance; it ranks like the "
                               "cosine only when every row has length 1 (exercise 1.3). Normalise "
                               "the rows first.")),
            (_ms_column_norms, tr("each row (a vector) is divided by its own length: norm(dim=-1), "
                                  "not the length of each column.")),
            (_ms_least_similar, tr("that is the least similar row: take the arg-max of the "
                                   "cosines, not the arg-min.")),
            (_ms_diagonal_zero, tr("setting the diagonal to 0 does not exclude it: when a row's "
                                   "cosines with all the others are negative, 0 is still the "
                                   "largest and the row picks itself. Set the diagonal to -inf.")),
            (_ms_values, tr("those are the largest cosines; return the index j of the most similar "
                            "row (argmax, not amax).")),
            (_ms_flattened_batch, tr("the samples of the batch are separate sets: compare the rows "
                                     "of one sample only with each other, (B, n, n) cosines, not "
                                     "all B·n rows at once.")),
        ],
        diagnose=_ms_diagnose,
        success=tr("each vector's most similar other vector, set by set."),
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
        fn, _masked_gram_reference, _masked_gram_cases(), what=tr(
            "your masked Gram matrices"),
        wrong_functions=[
            (_mgram_no_mask, tr("the padding rows still enter: entries that involve a padded item "
                                "(mask False) must be 0.")),
            (_mgram_rows_only, tr("you zeroed the rows of the padded items but not their columns: "
                                  "G_ij needs both items i and j real.")),
            (_mgram_columns_only, tr("you zeroed the columns of the padded items but not their "
                                     "rows: G_ij needs both items i and j real.")),
            (_mgram_inverted, tr("the mask is inverted: True marks a real item, False padding.")),
            (_mgram_columns_of_x, tr("you computed Xᵀ X per sample (d × d, inner products of "
                                     "columns); the Gram matrix of the rows is X Xᵀ (n × n).")),
            (_mgram_columns_of_x_unmasked, tr("you computed Xᵀ X per sample (d × d, inner products "
                                              "of columns); the Gram matrix of the rows is X Xᵀ (n "
                                              "× n), padded rows zeroed.")),
            (_mgram_one_for_all, tr("you flattened the batch into one (B·n) × (B·n) matrix; each "
                                    "sample has its own Gram matrix: the answer is (B, n, n).")),
            (_mgram_minus_inf, tr("-inf is what a padded score gets before a softmax; a Gram "
                                  "matrix is no softmax, and its padded entries are 0 (the inner "
                                  "products with a zero row).")),
            (_mgram_per_count, tr("there is no division by the number of real items: G_ij is the "
                                  "plain inner product x_i · x_j.")),
        ],
        success=(
            tr("each sample's real rows, inner products x_i · x_j; padding rows and columns 0.")),
    )


# --- the stable softmax (what the log-softmax's tempting copy takes the log of) ----------------


def _stable_softmax(scores, temperature):
    t = scores / temperature
    e = torch.exp(t - t.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)


# --- stable log-softmax (the notebook's exercise: a transfer of the stable softmax) ----------
#
# log softmax(s / T)_j = (s_j - m) / T - log sum_k exp((s_k - m) / T), m = max_k s_k per row.
# The reader has the stable softmax from the notebook; taking its log is the tempting copy, and
# it returns -inf wherever a weight underflows to 0 although the log-weight is a finite number.


def _log_softmax_reference(scores, temperature):
    return torch.log_softmax(scores.double() / temperature, dim=-1).to(scores.dtype)


def _log_of_stable_softmax(scores, temperature):
    return torch.log(_stable_softmax(scores, temperature))


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


def _log_softmax_clamped_max(scores, temperature):
    t = scores / temperature
    m = t.amax(dim=-1, keepdim=True).clamp_min(0.0)
    return t - m - torch.log(torch.exp(t - m).sum(dim=-1, keepdim=True))


def _log_softmax_median_shift(scores, temperature):
    t = scores / temperature
    m = t.median(dim=-1, keepdim=True).values
    return t - m - torch.log(torch.exp(t - m).sum(dim=-1, keepdim=True))


def _log_softmax_mean_shift(scores, temperature):
    t = scores / temperature
    m = t.mean(dim=-1, keepdim=True)
    return t - m - torch.log(torch.exp(t - m).sum(dim=-1, keepdim=True))


def _log_softmax_no_temperature(scores, temperature):
    return torch.log_softmax(scores, dim=-1)


def _log_softmax_wrong_dim(scores, temperature):
    return torch.log_softmax(scores / temperature, dim=0)


def _log_softmax_dim1(scores, temperature):
    return torch.log_softmax(scores / temperature, dim=1)


def _log_softmax_diagnose(args, got, error):
    scores = args[0]
    if isinstance(error, IndexError) and scores.ndim == 1:
        return (tr("your function fails on a single row of scores, shape (n,): work over the last "
                   "dimension, dim=-1 (with keepdim=True), which exists for any number of "
                   "dimensions; dim=1 does not exist for a 1-D row."))
    return None


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
        # two rows far below 0: max(m, 0) underflows the first, the global max the second
        (torch.tensor([[-1000.0, -1001.0], [-1800.0, -1801.0]], dtype=f64), 1.0),
        # rows at very different levels: the global max underflows the lower row
        (torch.tensor([[0.0, 1.0, 2.0], [-1500.0, -1501.0, -1502.0]], dtype=f64), 1.0),
        # a temperature below 1 on large scores
        (torch.tensor([[1000.0, 999.0, 998.0], [3.0, 1.0, 2.0]], dtype=f64), 0.25),
        # the median (0) is no safe shift: exp(1000) overflows
        (torch.tensor([[0.0, 0.0, 1000.0]], dtype=f64), 1.0),
        # float32: exp overflows at 89 and the weight exp(-300) underflows
        (torch.tensor([[150.0, 149.0, -150.0]], dtype=torch.float32), 1.0),
        # a batch of attention scores (B, m, n): normalise over the keys, the last dimension
        (_fixed(2, 3, 4, seed=9, scale=300.0), 2.0),
        # a single row, shape (n,): the prompt's own scores
        (torch.tensor([0.0, 400.0, 800.0], dtype=f64), 1.0),
    ]


#: The prompt asks for the log-sum-exp trick by hand: these compute it for the reader.
_LOG_SOFTMAX_FORBIDDEN = [
    Forbidden(mark("build it from the row maximum m with torch.exp and torch.log, as the prompt "
                   "asks: (s - m) / T - log sum exp((s - m) / T)."),
              torch_functions=("logsumexp", "log_softmax", "_log_softmax", "special_logsumexp",
                               "special_log_softmax"),
              python_functions=((scipy.special.logsumexp, "scipy.special.logsumexp"),
                                (scipy.special.log_softmax, "scipy.special.log_softmax"))),
]


def check_stable_log_softmax(fn: Any) -> Feedback:
    """Check ``fn(scores, temperature)``: log softmax(scores / T) over the last dim, stable and
    finite for any finite scores of any number of dimensions (the log-sum-exp trick, e.g.
    Goodfellow et al., Deep Learning, section 4.1), without ``logsumexp`` or ``log_softmax``."""
    return check_function(
        fn, _log_softmax_reference, _log_softmax_cases(), what=tr(
            "your log-softmax"),
        wrong_functions=[
            (_log_softmax_no_lse, tr("every row must be the log of weights that sum to 1: subtract "
                                     "log sum_k exp((s_k - m) / T), not only the maximum m / T.")),
            (_log_softmax_no_temperature,
             tr("the temperature is ignored: divide the scores by it.")),
            (_log_softmax_wrong_dim, tr("normalise each row (dim=-1), not down the columns.")),
            (_log_softmax_dim1, tr("normalise over the last dimension, dim=-1: dim=1 is the last "
                                   "one only for 2-D scores, and on a (B, m, n) batch of attention "
                                   "scores it runs over the queries.")),
            (_log_of_stable_softmax, tr("the log of the softmax is -inf wherever a weight "
                                        "underflows to 0, although its log is a finite number "
                                        "(here -800): never form the weights. Compute (s - m) / T "
                                        "- log sum exp((s - m) / T) directly.")),
            (_log_softmax_naive, tr("log(sum(exp(s / T))) overflows to inf for large scores: take "
                                    "the row maximum m out first, log sum exp(t) = m + log sum "
                                    "exp(t - m).")),
            (_log_softmax_shift_not_added, tr("log sum exp(t) = m + log sum exp(t - m): you "
                                              "dropped the m that you subtracted inside, so every "
                                              "row is off by its maximum m / T.")),
            (_log_softmax_global_max, tr("you subtracted the maximum of the whole tensor: a row "
                                         "far below it underflows to log 0 = -inf. Use each row's "
                                         "own maximum.")),
            (_log_softmax_clamped_max, tr("you shifted by max(m, 0), the row maximum clamped at 0: "
                                          "a row whose scores all lie far below 0 then underflows "
                                          "to log 0 = -inf. Shift each row by its own maximum, "
                                          "whatever its sign.")),
            (_log_softmax_median_shift, tr("only the row maximum makes every exponent <= 0: "
                                           "shifted by the median, exp(1000) still overflows. "
                                           "Subtract the maximum.")),
            (_log_softmax_mean_shift, tr("only the row maximum makes every exponent <= 0: shifted "
                                         "by the mean, the largest exponent can still overflow (in "
                                         "float32 above 88). Subtract the maximum.")),
        ],
        diagnose=_log_softmax_diagnose,
        forbidden=_LOG_SOFTMAX_FORBIDDEN,
        success=tr("finite and exact: (s - m) / T minus the stable log-sum-exp, never log(0)."),
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
        what=tr("your masked attention"),
        wrong_functions=[
            (_matt_no_mask, tr("the padded keys still get weight: their scores must become -inf "
                               "(or a very negative number) before the softmax.")),
            (_matt_zero_score, tr("a score of 0 is not 'no weight': e^0 = 1, so a padded key still "
                                  "gets weight, and more than real keys with negative scores. Use "
                                  "-inf.")),
            (_matt_not_renormalised, tr("you removed the padded keys' weights (or zeroed their "
                                        "values) after the softmax without renormalising: the rest "
                                        "no longer sum to 1.")),
            (_matt_inverted, tr("the mask is inverted: True marks a real key, False padding.")),
            (_matt_added_mask, tr("you added the mask itself to the scores (+1 for a real key); an "
                                  "additive mask is 0 for a real key and -inf for padding.")),
            (_matt_column_softmax, tr("the softmax runs down the columns; each query's row of "
                                      "weights over the keys must sum to 1 (dim=-1).")),
            (_matt_query_mask, tr("the mask is along the keys (the last axis of the scores), not "
                                  "the queries: key_mask[:, None, :].")),
            (_matt_mean_of_real, tr("that is the plain mean of the real values: the weights must "
                                    "come from the scores.")),
        ],
        success=tr("padded keys get weight 0 and each row's real weights sum to 1."),
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
        (torch.tensor([2.0, -1.0, 0.5, 0.0], dtype=torch.float32),),
    ]


def check_log_softmax_jacobian(fn: Any) -> Feedback:
    """Check ``fn(scores) -> J`` with ``J[i, j] = ∂ log p_i/∂s_j`` for ``p = softmax(scores)`` and
    ``scores`` of shape (n,), against autograd's Jacobian of ``torch.log_softmax``. The reader's
    function must not use autograd itself (the prompt asks for J by hand)."""
    return check_function(
        fn, _log_jacobian_reference, _log_jacobian_cases(), what=tr(
            "your log_softmax_jacobian"),
        forbidden=[autograd_forbidden(tr("derive J on paper from log p_i = s_i - log sum_k e^{s_k} "
                                         "and build it from p with tensor operations; the checker "
                                         "runs autograd itself to compare."))],
        wrong_functions=[
            (_logjac_softmax_jacobian, tr("that is the Jacobian of p itself, diag(p) - p pᵀ; the "
                                          "log divides row i by p_i: ∂ log p_i/∂s_j = (∂p_i/∂s_j) "
                                          "/ p_i.")),
            (_logjac_transposed, tr("rows and columns are swapped: entry (i, j) is δ_ij - p_j, so "
                                    "p_j changes along each row, not down each column.")),
            (_logjac_identity, tr("log p_i = s_i - log Σ_k e^{s_k}: the second term depends on "
                                  "every score too, and adds -p_j to every entry.")),
            (_logjac_no_identity,
             tr("the first term, s_i, gives 1 on the diagonal: J = I - 1 pᵀ.")),
            (_logjac_sign_flipped, tr("the signs are flipped: raising s_i raises log p_i.")),
            (_logjac_diagonal, tr("those are the diagonal entries only: the off-diagonal ones, "
                                  "-p_j, are not zero.")),
            (_logjac_outer, tr("the normalisation term is -p_j in every row (its derivative does "
                               "not depend on i), not -p_i p_j.")),
        ],
        success=tr("J = I - 1 pᵀ, as autograd finds: row i is the i-th unit vector minus p, so J "
                   "(1, ..., 1) = 0."),
    )
