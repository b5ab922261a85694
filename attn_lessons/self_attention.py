r"""Scaled dot-product self-attention (Vaswani et al., NeurIPS 2017, arXiv:1706.03762), and its
use on feature maps (non-local block: Wang et al., CVPR 2018, arXiv:1711.07971).

For a sequence of n tokens :math:`X \in \mathbb{R}^{n \times d}`:

.. math::

    Q = X W_q, \quad K = X W_k, \quad V = X W_v                      (projections)

    A = \mathrm{softmax}\Big(\frac{Q K^\top}{\sqrt{d_k}}\Big) \in \mathbb{R}^{n \times n}
                                                          (weights, each row sums to 1)

    \mathrm{Attention}(Q, K, V) = A V                                    (output)

with :math:`W_q, W_k \in \mathbb{R}^{d \times d_k}` and :math:`W_v \in \mathbb{R}^{d \times d_v}`.
Multi-head attention runs h such attentions on slices of width d / h side by side and mixes their
concatenated outputs with :math:`W_o`. Cross-attention (:class:`MultiHeadCrossAttention`) takes the
queries from one set of tokens and the keys and values from another.

Masks follow ``torch.nn.functional.scaled_dot_product_attention``: a boolean mask is ``True``
where a query *may* attend to a key; a float mask is *added* to the scores (``-inf`` forbids).
``torch.nn.MultiheadAttention`` uses the opposite boolean convention (``True`` = *may not*);
:meth:`MultiHeadSelfAttention.from_torch` copies weights, not masks, so invert a boolean mask
when moving between the two.

A float mask of another floating dtype than the queries (a float64 mask with float32 q, a float32
mask on a half-precision module) is cast to the dtype the scores are computed in.

A query whose keys are all masked has no distribution to take; the written-out path then returns
weights 0 and output 0 for that query, as PyTorch's fused kernels do (a plain softmax over only
``-inf`` would give NaN).

In float16 and bfloat16 the written-out path computes the scores and the softmax in float32, as
the fused kernels do: a half-precision score overflows to ``inf`` beyond 65504 (q and k entries
near 100 at d = 64 get there), and the softmax of ``inf`` is NaN. The weights are then cast back
to the inputs' dtype.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import (
    check_bool,
    check_feature_map,
    check_int,
    check_positive_float,
    check_tensor,
)

__all__ = [
    "MultiHeadCrossAttention",
    "MultiHeadSelfAttention",
    "SelfAttention",
    "SelfAttention2d",
    "multi_head_cross_attention_num_params",
    "multi_head_self_attention_num_params",
    "scaled_dot_product_attention",
    "self_attention2d_num_params",
    "self_attention_num_params",
]


def _check_mask_type(mask: object) -> None:
    """A mask is a boolean tensor (True = may attend) or a floating one (added to the scores)."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor or None, got {type(mask).__name__}")
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise TypeError(
            f"mask must be boolean (True = may attend) or floating point (added to the "
            f"scores), got dtype {mask.dtype}"
        )


def _check_qkv_mask(
    q: object, k: object, v: object, mask: object
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    q = check_tensor("q", q)
    k = check_tensor("k", k)
    v = check_tensor("v", v)
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim < 2:
            raise ValueError(
                f"{name} must have at least 2 dimensions (..., tokens, features), got shape "
                f"{tuple(t.shape)}"
            )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same feature size d_k to be compared, got q {tuple(q.shape)} "
            f"and k {tuple(k.shape)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k and v must have the same number of tokens (one value per key), got k "
            f"{tuple(k.shape)} and v {tuple(v.shape)}"
        )
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ValueError(
            f"q, k and v must have the same batch dimensions, got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if not (q.dtype == k.dtype == v.dtype):
        raise TypeError(f"q, k and v must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if mask is not None:
        _check_mask_type(mask)
        scores_shape = (*q.shape[:-1], k.shape[-2])
        try:
            broadcast = torch.broadcast_shapes(mask.shape, scores_shape)
        except RuntimeError:
            broadcast = None
        if broadcast != torch.Size(scores_shape):
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape "
                f"{scores_shape} (..., queries, keys)"
            )
    return q, k, v, mask


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Attention written out: ``softmax(q kᵀ * scale + mask) v``, returning ``(output, weights)``.

    Shapes: ``q`` (..., L, d_k), ``k`` (..., S, d_k), ``v`` (..., S, d_v) with the same leading
    dimensions; output (..., L, d_v); weights (..., L, S), each row a probability distribution
    over the S keys (or all zeros for a query with every key masked). ``scale`` defaults to
    :math:`1/\sqrt{d_k}`. ``mask`` must broadcast to (..., L, S): boolean ``True`` = may attend,
    or floating point (of any floating dtype: it is cast to the scores' dtype), added to the
    scores. Raises ``ValueError``/``TypeError`` naming the offending argument for mismatched
    sizes, a mask of the wrong shape or of a dtype neither boolean nor floating. In float16 and
    bfloat16 the scores and softmax are computed in float32 (module docstring).
    """
    q, k, v, mask = _check_qkv_mask(q, k, v, mask)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else check_positive_float("scale", scale)
    dtype = q.dtype
    if dtype in (torch.float16, torch.bfloat16):  # half-precision scores overflow past 65504
        q, k = q.float(), k.float()
    # Scaling q (L x d_k numbers) rather than the scores (L x S) is the same product, cheaper.
    scores = (q * scale) @ k.transpose(-2, -1)  # (..., L, d_k) @ (..., d_k, S) -> (..., L, S)
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))  # mask broadcast to (..., L, S)
        else:
            scores = scores + mask.to(scores.dtype)           # mask broadcast to (..., L, S)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)               # (..., L, S), rows sum to 1
    else:
        # A row whose keys are all forbidden would give softmax(-inf, ..., -inf) = NaN, and its
        # backward NaN too (masking the forward alone leaves NaN gradients). Such a row's scores
        # are replaced by 0 *before* the softmax, so both directions stay finite; its weights
        # are then set to 0 and no gradient flows through it.
        nothing_allowed = torch.isneginf(scores).all(dim=-1, keepdim=True)  # (..., L, 1)
        scores = scores.masked_fill(nothing_allowed, 0.0)
        weights = torch.softmax(scores, dim=-1)               # (..., L, S), rows sum to 1
        weights = weights.masked_fill(nothing_allowed, 0.0)   # ... or 0 where nothing is allowed
    weights = weights.to(dtype)
    out = weights @ v                          # (..., L, S) @ (..., S, d_v) -> (..., L, d_v)
    return out, weights


def _attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None,
    fused: bool,
    return_weights: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""Written-out attention, or PyTorch's fused kernel (which never forms the weights).

    The fused path gives PyTorch's kernels what they need to fuse (otherwise
    ``F.scaled_dot_product_attention`` silently runs its unfused fallback, slower than the
    written-out path): 4-D (B, heads, n, d) tensors, and the same width for queries, keys and
    values. 3-D inputs get a head axis of size 1. Where the query/key width d_k differs from the
    value width d_v, the narrower side is padded with zero columns and the scale
    :math:`1/\sqrt{d_k}` passed explicitly: zero columns add nothing to :math:`q \cdot k`, and
    zero value columns are sliced off the output, so the result is exactly the same attention.
    """
    return_weights = check_bool("return_weights", return_weights)
    if not fused:
        return scaled_dot_product_attention(q, k, v, mask=mask)
    if return_weights:
        raise ValueError(
            "return_weights=True needs the written-out path: the fused kernel never "
            "materialises the attention weights; build the module with fused=False"
        )
    q, k, v, mask = _check_qkv_mask(q, k, v, mask)
    squeeze = q.ndim == 3
    if squeeze:                                       # (B, n, d) -> (B, 1, n, d)
        q, k, v = q[:, None], k[:, None], v[:, None]
        if mask is not None and mask.ndim == 3:
            mask = mask[:, None]                      # (B, L, S) -> (B, 1, L, S)
    d_k, d_v = q.shape[-1], v.shape[-1]
    scale = 1.0 / math.sqrt(d_k)
    if d_k < d_v:                                     # (..., n, d_k) -> (..., n, d_v)
        q, k = F.pad(q, (0, d_v - d_k)), F.pad(k, (0, d_v - d_k))
    elif d_v < d_k:                                   # (..., S, d_v) -> (..., S, d_k)
        v = F.pad(v, (0, d_k - d_v))
    if mask is not None and mask.is_floating_point():
        mask = mask.to(q.dtype)  # the fused kernels take a float mask of the queries' dtype only
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    out = out[..., :d_v]                              # (..., L, max(d_k, d_v)) -> (..., L, d_v)
    return (out[:, 0] if squeeze else out), None      # (B, 1, n, d_v) -> (B, n, d_v)


def _with_key_mask(
    mask: object, key_mask: object, batch: int, queries: int, keys: int, heads: bool
) -> torch.Tensor | None:
    """Fold a per-example key mask (B, S) into ``mask``, returned broadcastable to the scores.

    ``mask`` of a module must be (L, S), (B, L, S) or, for the multi-head modules, (B, h, L, S);
    any other shape is refused here, because broadcasting would read a (B, S) key-padding mask as
    a query-by-key mask whenever B equals L. ``key_mask`` is boolean (B, S), ``True`` where the
    key may be attended (the library's convention; ``nn.MultiheadAttention``'s
    ``key_padding_mask`` is its negation).
    """
    if mask is not None:
        _check_mask_type(mask)
        allowed = ((queries, keys), (batch, queries, keys))
        if mask.ndim == 4 and heads:
            pass  # checked against (B, h, L, S) with the scores by _check_qkv_mask
        elif tuple(mask.shape) not in allowed:
            raise ValueError(
                f"mask must have shape (L, S) = {(queries, keys)} or (B, L, S) = "
                f"{(batch, queries, keys)}{' or (B, h, L, S)' if heads else ''}, got "
                f"{tuple(mask.shape)}; for a per-example mask over the keys (key padding), pass "
                f"key_mask of shape (B, S) = {(batch, keys)} instead"
            )
        if mask.ndim == 3:
            mask = mask[:, None] if heads else mask   # (B, L, S) -> (B, 1, L, S)
    if key_mask is None:
        return mask
    if not isinstance(key_mask, torch.Tensor):
        raise TypeError(f"key_mask must be a torch.Tensor or None, got {type(key_mask).__name__}")
    if key_mask.dtype != torch.bool:
        raise TypeError(f"key_mask must be boolean (True = the key may be attended), got "
                        f"dtype {key_mask.dtype}")
    if tuple(key_mask.shape) != (batch, keys):
        raise ValueError(f"key_mask must have shape (B, S) = {(batch, keys)}, got "
                         f"{tuple(key_mask.shape)}")
    # (B, S) -> (B, 1, 1, S) with heads, (B, 1, S) without: the same keys for every query
    km = key_mask[:, None, None, :] if heads else key_mask[:, None, :]
    if mask is None:
        return km
    if mask.dtype == torch.bool:
        return mask & km
    return mask.masked_fill(~km, float("-inf"))


def _check_tokens(x: object, dim: int) -> torch.Tensor:
    x = check_tensor("x", x, ndim=3)
    if x.shape[-1] != dim:
        raise ValueError(
            f"x has feature size {x.shape[-1]} but the module was built for {dim} "
            f"(shape {tuple(x.shape)}, expected (B, n, {dim}))"
        )
    return x


class SelfAttention(nn.Module):
    r"""The classic single-head self-attention: three bias-free linear maps, scale 1/√d_k.

    ``x`` (B, n, dim_in) -> (B, n, dim_v). ``forward(x, mask=None, return_weights=False,
    key_mask=None)`` returns the output, or ``(output, weights)`` with weights (B, n, n).
    ``mask`` (True = may attend, or additive float) has shape (n, n) or (B, n, n); ``key_mask``,
    boolean (B, n), marks for each example the keys that may be attended (``True``; the negation
    of ``nn.MultiheadAttention``'s ``key_padding_mask``). A (B, n) mask passed as ``mask`` is
    refused: broadcasting would read it as (queries, keys) whenever B = n.

    ``fused=True`` runs PyTorch's fused kernel on (B, 1, n, d) views; where ``dim_k != dim_v``
    the narrower of q/k and v is zero-padded first, because the CPU's fused (flash) kernel needs
    one width for all three (see ``_attend``); the result is the same attention.
    """

    def __init__(self, dim_in: int, dim_k: int, dim_v: int, fused: bool = False) -> None:
        super().__init__()
        self.dim_in = check_int("dim_in", dim_in)
        self.dim_k = check_int("dim_k", dim_k)
        self.dim_v = check_int("dim_v", dim_v)
        self.fused = check_bool("fused", fused)
        self.q = nn.Linear(self.dim_in, self.dim_k, bias=False)
        self.k = nn.Linear(self.dim_in, self.dim_k, bias=False)
        self.v = nn.Linear(self.dim_in, self.dim_v, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        return_weights: bool = False,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = _check_tokens(x, self.dim_in)
        b, n, _ = x.shape
        mask = _with_key_mask(mask, key_mask, b, n, n, heads=False)
        q, k, v = self.q(x), self.k(x), self.v(x)         # (B, n, dim_in) -> (B, n, d_k|d_k|d_v)
        out, weights = _attend(q, k, v, mask, self.fused, return_weights)
        return (out, weights) if return_weights else out

    def extra_repr(self) -> str:
        return f"dim_in={self.dim_in}, dim_k={self.dim_k}, dim_v={self.dim_v}, fused={self.fused}"


def self_attention_num_params(dim_in: int, dim_k: int, dim_v: int) -> int:
    """Parameters of :class:`SelfAttention`: ``dim_in * (2 dim_k + dim_v)`` (no biases)."""
    dim_in, dim_k, dim_v = (check_int(n, v) for n, v in
                            (("dim_in", dim_in), ("dim_k", dim_k), ("dim_v", dim_v)))
    return dim_in * (2 * dim_k + dim_v)


def _split_heads(t: torch.Tensor, num_heads: int) -> torch.Tensor:
    b, n, d = t.shape
    return t.view(b, n, num_heads, d // num_heads).transpose(1, 2)  # (B, n, d) -> (B, h, n, d/h)


def _merge_heads(t: torch.Tensor) -> torch.Tensor:
    b, h, n, dh = t.shape
    return t.transpose(1, 2).reshape(b, n, h * dh)                  # (B, h, n, d/h) -> (B, n, d)


def _check_heads(num_heads: object, **widths: int) -> int:
    num_heads = check_int("num_heads", num_heads)
    for name, width in widths.items():
        if width % num_heads != 0:
            raise ValueError(
                f"{name}={width} is not divisible by num_heads={num_heads}: each head takes "
                f"an equal slice of width {name} / num_heads"
            )
    return num_heads


class MultiHeadSelfAttention(nn.Module):
    r"""Multi-head self-attention with ``nn.MultiheadAttention``'s weight layout.

    ``in_proj`` is one ``nn.Linear(dim, 3 dim)`` whose weight is ``[W_qᵀ; W_kᵀ; W_vᵀ]`` (the
    transposes stacked, since ``nn.Linear`` stores (out, in) and the chapter writes
    :math:`W_q \in \mathbb{R}^{d \times d}` acting as :math:`X W_q`; as ``in_proj_weight``),
    ``out_proj`` is ``nn.Linear(dim, dim)`` (as ``out_proj``), so
    :meth:`from_torch` / :meth:`load_from_torch` / :meth:`to_torch` copy weights both ways.
    Head i uses the slice ``[i d/h, (i+1) d/h)`` of each projection and scale
    :math:`1/\sqrt{d/h}`.

    ``x`` (B, n, dim) -> (B, n, dim) (batch first). With ``return_weights=True`` also returns the
    per-head weights (B, h, n, n); ``nn.MultiheadAttention`` averages them over heads by default.
    ``mask`` (True = may attend, or additive float) has shape (n, n), (B, n, n) (same for every
    head) or (B, h, n, n); ``key_mask`` (B, n), boolean, ``True`` where a key may be attended
    (``nn.MultiheadAttention``'s ``key_padding_mask`` is its negation: pass ``~key_padding_mask``).
    ``fused=True`` calls PyTorch's fused kernel on the (B, h, n, dim/h) heads.
    """

    def __init__(self, dim: int, num_heads: int, bias: bool = True, fused: bool = False) -> None:
        super().__init__()
        self.dim = check_int("dim", dim)
        self.num_heads = _check_heads(num_heads, dim=self.dim)
        self.bias = check_bool("bias", bias)
        self.fused = check_bool("fused", fused)
        self.in_proj = nn.Linear(self.dim, 3 * self.dim, bias=bias)
        self.out_proj = nn.Linear(self.dim, self.dim, bias=bias)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        return_weights: bool = False,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = _check_tokens(x, self.dim)
        b, n, _ = x.shape
        mask = _with_key_mask(mask, key_mask, b, n, n, heads=True)
        q, k, v = self.in_proj(x).chunk(3, dim=-1)          # (B, n, dim) -> 3 x (B, n, dim)
        q, k, v = (_split_heads(t, self.num_heads) for t in (q, k, v))  # -> (B, h, n, dim/h)
        out, weights = _attend(q, k, v, mask, self.fused, return_weights)
        out = self.out_proj(_merge_heads(out))             # (B, h, n, dim/h) -> (B, n, dim)
        return (out, weights) if return_weights else out

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> MultiHeadSelfAttention:
        """Copy the weights of a ``nn.MultiheadAttention`` of the same size into this module."""
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"mha must be an nn.MultiheadAttention, got {type(mha).__name__}")
        if mha.embed_dim != self.dim or mha.num_heads != self.num_heads:
            raise ValueError(
                f"mha has embed_dim={mha.embed_dim}, num_heads={mha.num_heads}; this module has "
                f"dim={self.dim}, num_heads={self.num_heads}"
            )
        if not mha._qkv_same_embed_dim or mha.bias_k is not None or mha.in_proj_weight is None:
            raise ValueError("only nn.MultiheadAttention with kdim = vdim = embed_dim and no "
                             "add_bias_kv can be copied")
        if (mha.in_proj_bias is not None) != self.bias:
            raise ValueError(f"bias mismatch: mha has bias={mha.in_proj_bias is not None}, "
                             f"this module has bias={self.bias}")
        self.in_proj.weight.copy_(mha.in_proj_weight)
        self.out_proj.weight.copy_(mha.out_proj.weight)
        if self.bias:
            self.in_proj.bias.copy_(mha.in_proj_bias)
            self.out_proj.bias.copy_(mha.out_proj.bias)
        return self

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention, fused: bool = False) -> MultiHeadSelfAttention:
        """A new module holding a copy of ``mha``'s weights."""
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"mha must be an nn.MultiheadAttention, got {type(mha).__name__}")
        if not mha._qkv_same_embed_dim or mha.in_proj_weight is None:
            raise ValueError(
                f"only nn.MultiheadAttention with kdim = vdim = embed_dim can be copied, got "
                f"embed_dim={mha.embed_dim}, kdim={mha.kdim}, vdim={mha.vdim}"
            )
        module = cls(mha.embed_dim, mha.num_heads, bias=mha.in_proj_bias is not None, fused=fused)
        module = module.to(mha.in_proj_weight.device, mha.in_proj_weight.dtype)
        return module.load_from_torch(mha)

    @torch.no_grad()
    def to_torch(self) -> nn.MultiheadAttention:
        """A new ``nn.MultiheadAttention(dim, num_heads, batch_first=True)`` with these weights."""
        w = self.in_proj.weight
        mha = nn.MultiheadAttention(self.dim, self.num_heads, bias=self.bias, batch_first=True,
                                    device=w.device, dtype=w.dtype)
        mha.in_proj_weight.copy_(w)
        mha.out_proj.weight.copy_(self.out_proj.weight)
        if self.bias:
            mha.in_proj_bias.copy_(self.in_proj.bias)
            mha.out_proj.bias.copy_(self.out_proj.bias)
        return mha

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, bias={self.bias}, fused={self.fused}"


def multi_head_self_attention_num_params(dim: int, num_heads: int = 1, bias: bool = True) -> int:
    """Parameters of :class:`MultiHeadSelfAttention`: ``4 dim²`` weights (+ ``4 dim`` biases).

    The count does not depend on the number of heads: the heads share out the same projections.
    """
    dim = check_int("dim", dim)
    _check_heads(num_heads, dim=dim)
    bias = check_bool("bias", bias)
    return 4 * dim * dim + (4 * dim if bias else 0)


class MultiHeadCrossAttention(nn.Module):
    r"""Multi-head cross-attention: queries from one set of tokens, keys and values from another.

    .. math::

        Q = X W_q, \quad K = Y W_k, \quad V = Y W_v, \qquad
        \mathrm{CA}(X, Y) = [\mathrm{head}_1, \dots, \mathrm{head}_h] W_o

    for ``x`` (B, L, dim), the tokens that ask, and ``context`` (B, S, context_dim), the tokens
    that answer; output (B, L, dim), one row per query, whatever S. The weights (B, h, L, S)
    are rectangular; each row is a distribution over the S context tokens. Permuting the context
    tokens leaves the output unchanged; permuting the queries permutes the output rows.

    The weight layout is ``nn.MultiheadAttention``'s with ``kdim = vdim = context_dim``
    (``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``, one ``in_proj_bias``,
    ``out_proj``): :meth:`from_torch` copies one, including one whose context width equals
    ``dim`` (then PyTorch stores the three input projections stacked in ``in_proj_weight``).
    ``mask`` (True = may attend, or additive float) has shape (L, S), (B, L, S) or (B, h, L, S);
    ``key_mask`` (B, S), boolean, ``True`` where a context token may be attended.
    """

    def __init__(self, dim: int, context_dim: int | None = None, num_heads: int = 1,
                 bias: bool = True) -> None:
        super().__init__()
        self.dim = check_int("dim", dim)
        self.context_dim = self.dim if context_dim is None else check_int("context_dim",
                                                                            context_dim)
        self.num_heads = _check_heads(num_heads, dim=self.dim)
        self.bias = check_bool("bias", bias)
        self.q_proj = nn.Linear(self.dim, self.dim, bias=bias)
        self.k_proj = nn.Linear(self.context_dim, self.dim, bias=bias)
        self.v_proj = nn.Linear(self.context_dim, self.dim, bias=bias)
        self.out_proj = nn.Linear(self.dim, self.dim, bias=bias)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor,
        mask: torch.Tensor | None = None,
        return_weights: bool = False,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = _check_tokens(x, self.dim)
        context = check_tensor("context", context, ndim=3)
        if context.shape[-1] != self.context_dim:
            raise ValueError(
                f"context has feature size {context.shape[-1]} but the module was built for "
                f"context_dim={self.context_dim} (shape {tuple(context.shape)})"
            )
        if context.shape[0] != x.shape[0]:
            raise ValueError(f"x and context must have the same batch size, got x "
                             f"{tuple(x.shape)} and context {tuple(context.shape)}")
        b, n_q, _ = x.shape
        n_k = context.shape[1]
        mask = _with_key_mask(mask, key_mask, b, n_q, n_k, heads=True)
        q = _split_heads(self.q_proj(x), self.num_heads)        # (B, L, dim) -> (B, h, L, dim/h)
        k = _split_heads(self.k_proj(context), self.num_heads)  # (B, S, c) -> (B, h, S, dim/h)
        v = _split_heads(self.v_proj(context), self.num_heads)  # (B, S, c) -> (B, h, S, dim/h)
        out, weights = _attend(q, k, v, mask, False, return_weights)  # weights (B, h, L, S)
        out = self.out_proj(_merge_heads(out))                  # (B, h, L, dim/h) -> (B, L, dim)
        return (out, weights) if return_weights else out

    @classmethod
    @torch.no_grad()
    def from_torch(cls, mha: nn.MultiheadAttention) -> MultiHeadCrossAttention:
        """A new module holding a copy of ``mha``'s weights (``kdim`` must equal ``vdim``)."""
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"mha must be an nn.MultiheadAttention, got {type(mha).__name__}")
        if mha.kdim != mha.vdim or mha.bias_k is not None:
            raise ValueError(f"only nn.MultiheadAttention with kdim = vdim and no add_bias_kv "
                             f"can be copied, got kdim={mha.kdim}, vdim={mha.vdim}")
        has_bias = mha.in_proj_bias is not None
        module = cls(mha.embed_dim, mha.kdim, mha.num_heads, bias=has_bias)
        if mha._qkv_same_embed_dim:
            wq, wk, wv = mha.in_proj_weight.chunk(3)            # (3 dim, dim) -> 3 x (dim, dim)
        else:
            wq, wk, wv = mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
        module = module.to(wq.device, wq.dtype)
        for proj, weight in ((module.q_proj, wq), (module.k_proj, wk), (module.v_proj, wv)):
            proj.weight.copy_(weight)
        module.out_proj.weight.copy_(mha.out_proj.weight)
        if has_bias:
            for proj, b in zip((module.q_proj, module.k_proj, module.v_proj),
                               mha.in_proj_bias.chunk(3), strict=True):
                proj.bias.copy_(b)
            module.out_proj.bias.copy_(mha.out_proj.bias)
        return module

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, context_dim={self.context_dim}, num_heads={self.num_heads}, "
                f"bias={self.bias}")


def multi_head_cross_attention_num_params(dim: int, context_dim: int | None = None,
                                          num_heads: int = 1, bias: bool = True) -> int:
    """Parameters of :class:`MultiHeadCrossAttention`: ``2 dim² + 2 dim · context_dim`` weights
    (+ ``4 dim`` biases), independent of the number of heads."""
    dim = check_int("dim", dim)
    context_dim = dim if context_dim is None else check_int("context_dim", context_dim)
    _check_heads(num_heads, dim=dim)
    bias = check_bool("bias", bias)
    return 2 * dim * dim + 2 * dim * context_dim + (4 * dim if bias else 0)


class SelfAttention2d(nn.Module):
    r"""Self-attention over the H·W positions of a feature map (non-local style).

    ``x`` (B, C, H, W) is read as n = H·W tokens of C features. Queries and keys have width
    ``dim_k`` (default ``max(1, C // 2)``, the non-local block's embedding width), values width C;
    ``num_heads`` heads split both. An output projection (a 1x1 convolution, written as a linear
    map on tokens) mixes the heads. All four projections have biases, as the non-local block's
    1x1 convolutions do.

    With ``residual=True`` the block returns :math:`x + \gamma \, W_o(\mathrm{attention})` where
    :math:`\gamma` is a learnable scalar **initialised to 0**: a freshly inserted block is the
    identity, so it can be added to a trained network without changing its output, and training
    opens the attention branch gradually. (The non-local paper gets the same effect by
    initialising a BatchNorm after :math:`W_o` to zero; a scalar avoids depending on the batch.)
    With ``residual=False`` it returns :math:`W_o(\mathrm{attention})` alone. Cost: the n x n
    weights take O((HW)²) memory per head and image.

    ``mask`` has shape (HW, HW), (B, HW, HW) or (B, h, HW, HW); ``key_mask`` (B, HW), boolean,
    ``True`` where a position may be attended. ``fused=True`` calls PyTorch's fused kernel; the
    query/key head width ``dim_k / h`` and the value head width ``C / h`` differ (C/2 against C
    by default), and on the CPU no fused kernel accepts different widths (the flash kernel wants
    q, k and v of one width), so q and k are zero-padded to the value width first: zero columns
    leave every score unchanged, and the scale ``1/sqrt(dim_k / h)`` is passed explicitly.

    Differences from the non-local block's embedded-Gaussian form: the scores are scaled by
    :math:`1/\sqrt{d_k / h}` as in the Transformer (the paper's equation writes
    :math:`\theta(x_i)^\top \phi(x_j)` unscaled, but the authors' released code,
    facebookresearch/video-nonlocal-net, scales by ``dim_inner ** -0.5`` under its default
    ``NONLOCAL.USE_SCALE = True``, so the two agree), values keep all C channels (the non-local
    block halves them and :math:`W_o` restores C), keys and values are computed at every position
    (the released code max-pools them by 2 first, ``USE_MAXPOOL``), and heads are offered.
    """

    def __init__(
        self,
        channels: int,
        dim_k: int | None = None,
        num_heads: int = 1,
        residual: bool = True,
        fused: bool = False,
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.dim_k = max(1, self.channels // 2) if dim_k is None else check_int("dim_k", dim_k)
        self.num_heads = _check_heads(num_heads, channels=self.channels, dim_k=self.dim_k)
        self.residual = check_bool("residual", residual)
        self.fused = check_bool("fused", fused)
        self.q = nn.Linear(self.channels, self.dim_k)
        self.k = nn.Linear(self.channels, self.dim_k)
        self.v = nn.Linear(self.channels, self.channels)
        self.out_proj = nn.Linear(self.channels, self.channels)
        self.gamma = nn.Parameter(torch.zeros(())) if self.residual else None

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        return_weights: bool = False,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = check_feature_map(x, self.channels)
        b, c, h, w = x.shape
        mask = _with_key_mask(mask, key_mask, b, h * w, h * w, heads=True)
        tokens = x.flatten(2).transpose(1, 2)              # (B, C, H, W) -> (B, HW, C)
        q, k, v = self.q(tokens), self.k(tokens), self.v(tokens)  # -> (B, HW, d_k|d_k|C)
        q, k, v = (_split_heads(t, self.num_heads) for t in (q, k, v))  # -> (B, h, HW, ./h)
        out, weights = _attend(q, k, v, mask, self.fused, return_weights)
        out = self.out_proj(_merge_heads(out))             # (B, h, HW, C/h) -> (B, HW, C)
        out = out.transpose(1, 2).reshape(b, c, h, w)      # (B, HW, C) -> (B, C, H, W)
        if self.residual:
            out = x + self.gamma * out
        return (out, weights) if return_weights else out

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, dim_k={self.dim_k}, num_heads={self.num_heads}, "
                f"residual={self.residual}, fused={self.fused}")


def self_attention2d_num_params(
    channels: int, dim_k: int | None = None, num_heads: int = 1, residual: bool = True
) -> int:
    """Parameters of :class:`SelfAttention2d`: ``2 (C d_k + d_k) + 2 (C² + C)`` (+1 for γ)."""
    channels = check_int("channels", channels)
    dim_k = max(1, channels // 2) if dim_k is None else check_int("dim_k", dim_k)
    _check_heads(num_heads, channels=channels, dim_k=dim_k)
    residual = check_bool("residual", residual)
    return 2 * (channels * dim_k + dim_k) + 2 * (channels * channels + channels) + int(residual)
