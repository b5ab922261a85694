r"""Similarity primitives: the arithmetic every attention mechanism in this book is made of.

Chapter 1 of *Attention, Derived* builds attention from four facts, each a function here:

* the inner product of two vectors, and what it measures geometrically,

  .. math:: a \cdot b = \sum_{k=1}^{d} a_k b_k = \lVert a \rVert \, \lVert b \rVert \cos\theta ;

* the cosine similarity, which Cauchy-Schwarz keeps inside :math:`[-1, 1]`,

  .. math:: \cos\theta = \frac{a \cdot b}{\lVert a \rVert \, \lVert b \rVert} ;

* the Gram matrix of the rows of :math:`X \in \mathbb{R}^{n \times d}`, all pairwise inner
  products at once, symmetric and positive semi-definite,

  .. math:: G = X X^\top, \qquad G_{ij} = x_i \cdot x_j ;

* the softmax with temperature :math:`T > 0`, computed after subtracting the row maximum
  (which changes nothing, softmax being invariant to adding a constant, but keeps
  :math:`\exp` from overflowing),

  .. math:: \operatorname{softmax}_T(s)_i = \frac{e^{(s_i - m)/T}}{\sum_j e^{(s_j - m)/T}},
            \qquad m = \max_j s_j ;

and attention as a weighted average of values with those softmax weights,

.. math:: o_i = \sum_j a_{ij} v_j, \qquad a_{i\cdot} = \operatorname{softmax}_T(s_{i\cdot}).

Every function works on batches: leading dimensions are carried along unchanged. The book's
later chapters (scaled dot-product attention, self-attention) reuse :func:`softmax` and
:func:`attention_average`; the tests check each against the PyTorch built-in.
"""

from __future__ import annotations

import torch

from ._validation import check_positive_float, check_tensor

__all__ = [
    "attention_average",
    "cosine_similarity",
    "dot",
    "gram_matrix",
    "projection_length",
    "softmax",
]


def _check_pair(a: object, b: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Check ``a`` and ``b`` are float tensors of rank >= 1 with the same last dimension."""
    a = check_tensor("a", a)
    b = check_tensor("b", b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"a and b must have at least one dimension (the vector), got shapes "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"a and b must have the same last dimension d, got shapes {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )
    return a, b


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Inner product :math:`a \cdot b = \sum_k a_k b_k` over the last dimension.

    ``a`` and ``b`` have shapes ``(..., d)`` that broadcast against each other; the result has
    the broadcast leading shape ``(...)``.
    """
    a, b = _check_pair(a, b)
    return (a * b).sum(dim=-1)  # (..., d) * (..., d) -> (..., d) -> (...)


def projection_length(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Scalar projection of ``a`` onto ``b``: the signed length of its shadow on ``b``'s line.

    .. math:: \operatorname{comp}_b(a) = \frac{a \cdot b}{\lVert b \rVert}
              = \lVert a \rVert \cos\theta

    (The vector projection :math:`\operatorname{proj}_b(a)` is this number times the unit vector
    :math:`b / \lVert b \rVert`.)

    Negative when the angle between them exceeds 90 degrees. ``b`` must not be the zero vector
    (the direction is undefined): a zero ``b`` raises ``ValueError``. ``b`` is first divided by
    its largest entry (the direction is unchanged), so a tiny nonzero ``b`` such as
    ``[1e-23, 1e-23]`` in float32, whose norm underflows to 0, still has a direction.
    """
    a, b = _check_pair(a, b)
    b = _rescaled(b)
    norm_b = torch.linalg.vector_norm(b, dim=-1)  # (..., d) -> (...)
    if bool((norm_b == 0).any()):
        raise ValueError("b contains a zero vector: the projection onto it is undefined")
    return dot(a, b) / norm_b


def _rescaled(x: torch.Tensor) -> torch.Tensor:
    """``x`` divided by the largest absolute entry of each vector (zero vectors unchanged).

    The direction is the same, and every entry is in [-1, 1], so squaring entries for a norm can
    neither overflow (entries of 1e20 in float32) nor underflow (entries of 1e-23).
    """
    scale = x.abs().amax(dim=-1, keepdim=True)  # (..., d) -> (..., 1)
    return x / torch.where(scale > 0, scale, torch.ones_like(scale))


def cosine_similarity(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    r"""Cosine of the angle between ``a`` and ``b`` over the last dimension, in :math:`[-1, 1]`.

    .. math:: \cos\theta = \frac{a \cdot b}{\max(\lVert a \rVert, \epsilon)\,
              \max(\lVert b \rVert, \epsilon)}

    Each norm is floored at ``eps`` separately (as :func:`torch.nn.functional.cosine_similarity`
    does), so a zero vector gives a similarity of 0 rather than NaN. Half-precision inputs
    (float16, bfloat16) are computed in float32 and the result cast back, since their squared
    norms overflow for ordinary vectors. Vectors whose squared norm would overflow even there
    (entries of 1e20 in float32) are divided by their largest entry first, which leaves the
    cosine unchanged: parallel vectors of any size give 1, where
    :func:`torch.nn.functional.cosine_similarity` gives NaN or 0.
    """
    a, b = _check_pair(a, b)
    eps = check_positive_float("eps", eps)
    dtype = torch.promote_types(a.dtype, b.dtype)
    if dtype in (torch.float16, torch.bfloat16):
        # Squared norms and dot products overflow float16 (max 65504) for ordinary vectors
        # (d = 1024, entries near 10 give 102,400): compute in float32, return the input dtype.
        return cosine_similarity(a.float(), b.float(), eps).to(dtype)
    norm_a = torch.linalg.vector_norm(a, dim=-1)  # (..., d) -> (...)
    norm_b = torch.linalg.vector_norm(b, dim=-1)  # (..., d) -> (...)
    if bool(torch.isinf(norm_a).any() | torch.isinf(norm_b).any()) and \
            bool(torch.isfinite(a).all() & torch.isfinite(b).all()):
        # The squared norms overflowed: cos(a, b) = cos(a / s_a, b / s_b) for any s > 0, and
        # the eps floor of ||a|| becomes a floor of eps / s_a on ||a / s_a||.
        scale_a = a.abs().amax(dim=-1)  # (..., d) -> (...)
        scale_b = b.abs().amax(dim=-1)  # (..., d) -> (...)
        a_s, b_s = _rescaled(a), _rescaled(b)
        floor_a = eps / torch.where(scale_a > 0, scale_a, torch.ones_like(scale_a))
        floor_b = eps / torch.where(scale_b > 0, scale_b, torch.ones_like(scale_b))
        norm_a = torch.maximum(torch.linalg.vector_norm(a_s, dim=-1), floor_a)
        norm_b = torch.maximum(torch.linalg.vector_norm(b_s, dim=-1), floor_b)
        return dot(a_s, b_s) / (norm_a * norm_b)
    return dot(a, b) / (norm_a.clamp_min(eps) * norm_b.clamp_min(eps))


def gram_matrix(x: torch.Tensor) -> torch.Tensor:
    r"""All pairwise inner products of the rows of ``x``: :math:`G = X X^\top`.

    ``x`` has shape ``(..., n, d)`` (``n`` vectors of dimension ``d``); the result has shape
    ``(..., n, n)`` with ``G[..., i, j] = x[..., i, :] · x[..., j, :]``. It is symmetric and
    positive semi-definite; its diagonal holds the squared norms.
    """
    x = check_tensor("x", x)
    if x.ndim < 2:
        raise ValueError(
            f"x must have shape (..., n, d) with at least 2 dimensions, got shape {tuple(x.shape)}"
        )
    return x @ x.transpose(-2, -1)  # (..., n, d) @ (..., d, n) -> (..., n, n)


def softmax(scores: torch.Tensor, dim: int = -1, temperature: float = 1.0) -> torch.Tensor:
    r"""Numerically stable softmax of ``scores / temperature`` along ``dim``.

    The maximum along ``dim`` is subtracted before exponentiating. This leaves the result
    unchanged (softmax ignores a constant added to every score) and makes the largest exponent
    :math:`e^0 = 1`, so nothing overflows even for scores around :math:`10^4`, where a naive
    ``exp(s) / exp(s).sum()`` returns NaN. ``temperature`` must be a positive finite number: a
    small one sharpens the weights towards a one-hot arg-max, a large one flattens them towards
    uniform.
    """
    scores = check_tensor("scores", scores)
    temperature = check_positive_float("temperature", temperature)
    if scores.ndim == 0:
        raise ValueError("scores must have at least one dimension, got a 0-D tensor")
    if not -scores.ndim <= dim < scores.ndim:
        raise ValueError(
            f"dim must be in [{-scores.ndim}, {scores.ndim - 1}] for scores of shape "
            f"{tuple(scores.shape)}, got {dim}"
        )
    if scores.numel() == 0:  # nothing to normalise (as torch.softmax): an empty result
        return torch.empty_like(scores)
    shifted = scores - scores.amax(dim=dim, keepdim=True)  # (..., n) - (..., 1) -> (..., n)
    exp = torch.exp(shifted / temperature)
    return exp / exp.sum(dim=dim, keepdim=True)  # (..., n) / (..., 1) -> (..., n)


def attention_average(
    scores: torch.Tensor, values: torch.Tensor, temperature: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Attention as an input-dependent weighted average: ``(weights @ values, weights)``.

    ``scores`` has shape ``(..., m, n)`` (how much each of ``m`` queries likes each of ``n``
    items), ``values`` has shape ``(..., n, d_v)``. The weights are the softmax of each row of
    scores (each row sums to 1) and output row ``i`` is :math:`\sum_j a_{ij} v_j`, shape
    ``(..., m, d_v)``. Returns ``(output, weights)``.
    """
    scores = check_tensor("scores", scores)
    values = check_tensor("values", values)
    if scores.ndim < 2 or values.ndim < 2:
        raise ValueError(
            f"scores must be (..., m, n) and values (..., n, d_v), got shapes "
            f"{tuple(scores.shape)} and {tuple(values.shape)}"
        )
    if scores.dtype != values.dtype:
        raise TypeError(f"scores and values must share a dtype, got {scores.dtype} and "
                        f"{values.dtype}")
    if scores.shape[-1] != values.shape[-2]:
        raise ValueError(
            f"scores has {scores.shape[-1]} columns but values has {values.shape[-2]} rows: "
            f"each score must weight one value (shapes {tuple(scores.shape)} and "
            f"{tuple(values.shape)})"
        )
    weights = softmax(scores, dim=-1, temperature=temperature)  # (..., m, n)
    output = weights @ values  # (..., m, n) @ (..., n, d_v) -> (..., m, d_v)
    return output, weights
