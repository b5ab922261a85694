"""Tests for attn_lessons.similarity: each primitive against PyTorch and against its properties."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_lessons.similarity import (
    attention_average,
    cosine_similarity,
    dot,
    gram_matrix,
    projection_length,
    softmax,
)

SHAPES = [(5,), (3, 4), (2, 3, 7), (1, 1, 16)]


def _randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --- dot, projection, cosine -------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dot_matches_einsum(shape, dtype):
    a, b = _randn(*shape, dtype=dtype, seed=1), _randn(*shape, dtype=dtype, seed=2)
    want = torch.einsum("...d,...d->...", a, b)
    got = dot(a, b)
    assert got.shape == shape[:-1]
    torch.testing.assert_close(got, want)


def test_dot_of_vectors_matches_torch_dot_and_broadcasts():
    a, b = _randn(6, seed=1), _randn(6, seed=2)
    torch.testing.assert_close(dot(a, b), torch.dot(a, b))
    batch = _randn(4, 6, seed=3)
    torch.testing.assert_close(dot(batch, b), batch @ b)


def test_dot_is_norm_times_norm_times_cosine():
    a, b = _randn(10, 8, seed=1), _randn(10, 8, seed=2)
    want = a.norm(dim=-1) * b.norm(dim=-1) * F.cosine_similarity(a, b, dim=-1)
    torch.testing.assert_close(dot(a, b), want)


def test_projection_length_examples():
    a = torch.tensor([3.0, 4.0])
    torch.testing.assert_close(projection_length(a, torch.tensor([2.0, 0.0])), torch.tensor(3.0))
    torch.testing.assert_close(projection_length(a, torch.tensor([0.0, -5.0])), torch.tensor(-4.0))
    # ||a|| cos(theta) written out
    b = _randn(5, 3, seed=4)
    a = _randn(5, 3, seed=5)
    torch.testing.assert_close(
        projection_length(a, b), a.norm(dim=-1) * F.cosine_similarity(a, b, dim=-1)
    )


def test_projection_onto_zero_vector_is_refused():
    with pytest.raises(ValueError, match="zero vector"):
        projection_length(torch.ones(3), torch.zeros(3))


@pytest.mark.parametrize("shape", SHAPES)
def test_cosine_matches_torch(shape):
    a, b = _randn(*shape, seed=1), _randn(*shape, seed=2)
    torch.testing.assert_close(cosine_similarity(a, b), F.cosine_similarity(a, b, dim=-1))


def test_cosine_of_zero_vector_is_zero_not_nan():
    got = cosine_similarity(torch.zeros(4), torch.ones(4))
    assert got.item() == 0.0


def test_cosine_scale_invariance_and_extremes():
    a = _randn(7, seed=3)
    torch.testing.assert_close(cosine_similarity(a, 5.0 * a), torch.tensor(1.0, dtype=a.dtype))
    torch.testing.assert_close(cosine_similarity(a, -0.1 * a), torch.tensor(-1.0, dtype=a.dtype))


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6).flatmap(lambda d: st.tuples(
    st.lists(finite, min_size=d, max_size=d), st.lists(finite, min_size=d, max_size=d))))
def test_cauchy_schwarz_and_cosine_range(pair):
    a = torch.tensor(pair[0], dtype=torch.float64)
    b = torch.tensor(pair[1], dtype=torch.float64)
    assert abs(dot(a, b).item()) <= (a.norm() * b.norm()).item() * (1 + 1e-12) + 1e-12
    c = cosine_similarity(a, b).item()
    assert -1 - 1e-12 <= c <= 1 + 1e-12


# --- Gram matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 8), (3, 2, 6, 6), (1, 1)])
def test_gram_matches_pairwise_dots(shape):
    x = _randn(*shape, seed=6)
    g = gram_matrix(x)
    assert g.shape == (*shape[:-1], shape[-2])
    want = torch.einsum("...id,...jd->...ij", x, x)
    torch.testing.assert_close(g, want)
    torch.testing.assert_close(torch.diagonal(g, dim1=-2, dim2=-1), (x * x).sum(-1))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_gram_is_symmetric_positive_semidefinite(n, d, seed):
    x = _randn(n, d, seed=seed)
    g = gram_matrix(x)
    torch.testing.assert_close(g, g.T)
    eigenvalues = torch.linalg.eigvalsh(g)
    assert eigenvalues.min().item() >= -1e-9 * max(1.0, eigenvalues.abs().max().item())
    # rank at most min(n, d): with n > d some eigenvalues are (numerically) zero
    if n > d:
        assert (eigenvalues.abs() < 1e-9 * max(1.0, eigenvalues.abs().max().item())).sum() >= n - d


def test_gram_needs_a_matrix():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        gram_matrix(torch.ones(3))


# --- softmax -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 7)])
@pytest.mark.parametrize("dim", [-1, 0])
@pytest.mark.parametrize("temperature", [0.1, 1.0, 3.0])
def test_softmax_matches_torch(shape, dim, temperature):
    s = _randn(*shape, seed=7)
    torch.testing.assert_close(
        softmax(s, dim=dim, temperature=temperature), torch.softmax(s / temperature, dim=dim)
    )


def test_softmax_rows_sum_to_one_and_are_positive():
    p = softmax(_randn(6, 9, seed=8) * 10)
    torch.testing.assert_close(p.sum(-1), torch.ones(6, dtype=p.dtype))
    assert (p > 0).all()


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(finite, min_size=1, max_size=8),
    shift=st.floats(min_value=-1e4, max_value=1e4, allow_nan=False),
    temperature=st.floats(min_value=0.05, max_value=20.0),
)
def test_softmax_shift_invariance(values, shift, temperature):
    s = torch.tensor(values, dtype=torch.float64)
    torch.testing.assert_close(
        softmax(s + shift, temperature=temperature), softmax(s, temperature=temperature),
        atol=1e-9, rtol=1e-6,
    )


def test_softmax_is_stable_for_huge_scores_where_naive_fails():
    s = torch.tensor([1.0e4, 1.0e4 - 1.0, 1.0e4 - 2.0])
    naive = torch.exp(s) / torch.exp(s).sum()
    assert torch.isnan(naive).all()  # exp(1e4) overflows float32 (and float64)
    p = softmax(s)
    assert torch.isfinite(p).all()
    e = torch.tensor([1.0, math.exp(-1.0), math.exp(-2.0)])
    torch.testing.assert_close(p, e / e.sum())


def test_softmax_temperature_limits():
    s = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    cold = softmax(s, temperature=1e-3)
    torch.testing.assert_close(cold, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    hot = softmax(s, temperature=1e9)
    torch.testing.assert_close(hot, torch.full((3,), 1 / 3, dtype=torch.float64))


@pytest.mark.parametrize("bad", [0, 0.0, -1.0, float("inf"), float("nan")])
def test_softmax_rejects_bad_temperature(bad):
    with pytest.raises(ValueError, match="temperature"):
        softmax(torch.ones(3), temperature=bad)


def test_softmax_rejects_non_number_temperature_and_bad_dim():
    with pytest.raises(TypeError, match="temperature"):
        softmax(torch.ones(3), temperature="1")
    with pytest.raises(ValueError, match="dim"):
        softmax(torch.ones(3, 2), dim=2)
    with pytest.raises(ValueError, match="at least one dimension"):
        softmax(torch.tensor(1.0))


def test_softmax_gradcheck():
    s = _randn(3, 4, seed=9).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: softmax(t, temperature=0.7), (s,))


# --- attention_average ------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
@pytest.mark.parametrize("temperature", [0.5, 1.0])
def test_attention_average_written_out(batch, temperature):
    scores = _randn(*batch, 4, 6, seed=10)
    values = _randn(*batch, 6, 5, seed=11)
    out, w = attention_average(scores, values, temperature=temperature)
    assert out.shape == (*batch, 4, 5)
    assert w.shape == (*batch, 4, 6)
    torch.testing.assert_close(w, torch.softmax(scores / temperature, dim=-1))
    torch.testing.assert_close(w.sum(-1), torch.ones(*batch, 4, dtype=w.dtype))
    # row i of the output is sum_j w_ij v_j, written as a loop
    flat_s = w.reshape(-1, 4, 6)
    flat_v = values.reshape(-1, 6, 5)
    want = torch.stack([
        torch.stack([sum(flat_s[b, i, j] * flat_v[b, j] for j in range(6)) for i in range(4)])
        for b in range(flat_s.shape[0])
    ]).reshape(*batch, 4, 5)
    torch.testing.assert_close(out, want)


def test_attention_average_outputs_lie_in_the_convex_hull_of_values():
    values = _randn(5, 2, seed=12)
    out, _ = attention_average(_randn(3, 5, seed=13) * 4, values)
    assert (out.min(0).values >= values.min(0).values - 1e-12).all()
    assert (out.max(0).values <= values.max(0).values + 1e-12).all()


def test_attention_average_gradcheck_and_gradients():
    scores = _randn(2, 3, seed=14).requires_grad_()
    values = _randn(3, 4, seed=15).requires_grad_()
    assert torch.autograd.gradcheck(lambda s, v: attention_average(s, v)[0], (scores, values))


def test_attention_average_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="columns"):
        attention_average(torch.ones(2, 3), torch.ones(4, 5))
    with pytest.raises(ValueError, match="values"):
        attention_average(torch.ones(3), torch.ones(3, 2))


# --- bad input -------------------------------------------------------------------------------


def test_bad_inputs_raise_named_errors():
    with pytest.raises(TypeError, match=r"a must be a torch\.Tensor"):
        dot([1.0, 2.0], torch.ones(2))
    with pytest.raises(TypeError, match="floating-point"):
        dot(torch.ones(2, dtype=torch.int64), torch.ones(2))
    with pytest.raises(ValueError, match="same last dimension"):
        cosine_similarity(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="at least one dimension"):
        dot(torch.tensor(1.0), torch.tensor(2.0))
    with pytest.raises(ValueError, match="eps"):
        cosine_similarity(torch.ones(3), torch.ones(3), eps=0.0)
    with pytest.raises(TypeError, match=r"scores must be a torch\.Tensor"):
        softmax([1.0, 2.0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    a, b = _randn(4, 8, seed=1, dtype=torch.float32), _randn(4, 8, seed=2, dtype=torch.float32)
    s, v = _randn(3, 4, seed=3, dtype=torch.float32), _randn(4, 8, seed=4, dtype=torch.float32)
    dev = torch.device("cuda")
    torch.testing.assert_close(
        cosine_similarity(a.to(dev), b.to(dev)).cpu(), cosine_similarity(a, b)
    )
    torch.testing.assert_close(gram_matrix(a.to(dev)).cpu(), gram_matrix(a))
    out, w = attention_average(s.to(dev), v.to(dev))
    out_cpu, w_cpu = attention_average(s, v)
    torch.testing.assert_close(out.cpu(), out_cpu)
    torch.testing.assert_close(w.cpu(), w_cpu)
