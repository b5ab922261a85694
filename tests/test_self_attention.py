"""Self-attention: written out vs PyTorch's fused kernel and nn.MultiheadAttention, and its
properties (rows sum to 1, permutation equivariance), gradients, parameter counts, bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attn_lessons.self_attention import (
    MultiHeadCrossAttention,
    MultiHeadSelfAttention,
    SelfAttention,
    SelfAttention2d,
    multi_head_cross_attention_num_params,
    multi_head_self_attention_num_params,
    scaled_dot_product_attention,
    self_attention2d_num_params,
    self_attention_num_params,
)

DTYPES = [torch.float32, torch.float64]


def qkv(shape_q, s, dv, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(*shape_q, generator=g, dtype=dtype)
    k = torch.randn(*shape_q[:-2], s, shape_q[-1], generator=g, dtype=dtype)
    v = torch.randn(*shape_q[:-2], s, dv, generator=g, dtype=dtype)
    return q, k, v


@pytest.mark.parametrize("shape_q,s,dv", [((5, 3), 4, 2), ((2, 7, 8), 7, 8), ((2, 3, 6, 4), 9, 5),
                                          ((1, 1, 1), 1, 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_written_out_equals_formula_and_fused(shape_q, s, dv, dtype):
    q, k, v = qkv(shape_q, s, dv, dtype)
    out, weights = scaled_dot_product_attention(q, k, v)
    d_k = q.shape[-1]
    by_hand = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d_k), dim=-1)
    torch.testing.assert_close(weights, by_hand)
    torch.testing.assert_close(out, by_hand @ v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1], dtype=dtype))
    assert (weights >= 0).all()


def test_custom_scale():
    q, k, v = qkv((2, 4, 3), 5, 2)
    out, _ = scaled_dot_product_attention(q, k, v, scale=0.3)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, scale=0.3))


@pytest.mark.parametrize("mask_shape", [(4, 6), (2, 4, 6), (2, 1, 4, 6), (1, 6)])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_masks_match_torch(mask_shape, kind):
    q, k, v = qkv((2, 3, 4, 5), 6, 3)
    g = torch.Generator().manual_seed(3)
    if kind == "bool":
        mask = torch.rand(mask_shape, generator=g) > 0.3
        mask[..., 0] = True  # every query may attend somewhere
    else:
        mask = torch.randn(mask_shape, generator=g, dtype=torch.float64)
    if len(mask_shape) == 3:
        mask = mask[:, None]  # torch aligns from the right: give the head axis explicitly
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    if kind == "bool":
        assert (weights.masked_select(~mask.expand_as(weights)) == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 4, dtype=torch.float64))


def test_causal_mask_and_fully_masked_row():
    q, k, v = qkv((1, 4, 3), 4, 2)
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    out, weights = scaled_dot_product_attention(q, k, v, mask=causal)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert torch.equal(weights[0, 0], torch.tensor([1.0, 0, 0, 0], dtype=torch.float64))
    # A query that may attend to nothing: zeros, not NaN (as the fused kernel does).
    mask = causal.clone()
    mask[2] = False
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert torch.isfinite(out).all()
    assert (weights[0, 2] == 0).all() and (out[0, 2] == 0).all()
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fused", [False, True])
def test_single_head_class(dtype, fused):
    torch.manual_seed(0)
    m = SelfAttention(6, 4, 5, fused=fused).to(dtype)
    x = torch.randn(3, 7, 6, dtype=dtype)
    q, k, v = x @ m.q.weight.T, x @ m.k.weight.T, x @ m.v.weight.T
    a = torch.softmax(q @ k.transpose(1, 2) / 2.0, dim=-1)  # √d_k = √4 = 2
    torch.testing.assert_close(m(x), a @ v)
    if not fused:
        _, weights = m(x, return_weights=True)
        torch.testing.assert_close(weights, a)
    assert all(lin.bias is None for lin in (m.q, m.k, m.v))


@pytest.mark.parametrize("dim,heads", [(8, 1), (8, 2), (12, 3), (16, 4)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("fused", [False, True])
def test_multi_head_equals_torch(dim, heads, bias, fused):
    torch.manual_seed(dim + heads)
    mha = nn.MultiheadAttention(dim, heads, bias=bias, batch_first=True).double()
    with torch.no_grad():  # torch zero-initialises the biases; make them count
        if bias:
            mha.in_proj_bias.normal_()
            mha.out_proj.bias.normal_()
    mine = MultiHeadSelfAttention.from_torch(mha, fused=fused)
    x = torch.randn(2, 5, dim, dtype=torch.float64)
    expected, avg_weights = mha(x, x, x)
    torch.testing.assert_close(mine(x), expected)
    if not fused:
        _, weights = mine(x, return_weights=True)
        assert weights.shape == (2, heads, 5, 5)
        torch.testing.assert_close(weights.mean(1), avg_weights)
    # Masks: ours says True = may attend, nn.MultiheadAttention says True = may not.
    allowed = torch.ones(5, 5, dtype=torch.bool).tril()
    expected, _ = mha(x, x, x, attn_mask=~allowed)
    torch.testing.assert_close(mine(x, mask=allowed), expected)
    # And back: to_torch gives the same function.
    torch.testing.assert_close(mine.to_torch()(x, x, x)[0], mine(x))


def test_multi_head_batch_mask_applies_to_every_head():
    torch.manual_seed(0)
    m = MultiHeadSelfAttention(8, 2).double()
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    mask = torch.rand(2, 4, 4) > 0.4
    mask[..., 0] = True
    _, weights = m(x, mask=mask, return_weights=True)
    assert (weights.masked_select(~mask[:, None].expand_as(weights)) == 0).all()


@pytest.mark.parametrize("shape", [(2, 8, 3, 5), (1, 4, 1, 1), (3, 6, 4, 4)])
@pytest.mark.parametrize("heads", [1, 2])
@pytest.mark.parametrize("fused", [False, True])
def test_self_attention2d_written_out(shape, heads, fused):
    torch.manual_seed(0)
    b, c, h, w = shape
    m = SelfAttention2d(c, dim_k=4, num_heads=heads, fused=fused).double()
    with torch.no_grad():
        m.gamma.fill_(0.7)
    x = torch.randn(*shape, dtype=torch.float64)
    t = x.reshape(b, c, h * w).transpose(1, 2)                  # (B, n, C)
    q, k, v = m.q(t), m.k(t), m.v(t)
    outs = []
    for i in range(heads):
        sq, sk, sv = (slice(i * 4 // heads, (i + 1) * 4 // heads),) * 2 + (
            slice(i * c // heads, (i + 1) * c // heads),)
        a = torch.softmax(q[..., sq] @ k[..., sk].transpose(1, 2) / math.sqrt(4 // heads), -1)
        outs.append(a @ v[..., sv])
    o = m.out_proj(torch.cat(outs, -1)).transpose(1, 2).reshape(b, c, h, w)
    torch.testing.assert_close(m(x), x + 0.7 * o)


def test_self_attention2d_starts_as_identity_and_residual_off():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 3, 4)
    m = SelfAttention2d(8)
    assert m.dim_k == 4
    torch.testing.assert_close(m(x), x)
    plain = SelfAttention2d(8, residual=False)
    assert plain.gamma is None and not torch.allclose(plain(x), x)
    _, weights = plain(x, return_weights=True)
    assert weights.shape == (2, 1, 12, 12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 8), heads=st.sampled_from([1, 2]), seed=st.integers(0, 10_000))
def test_permutation_equivariance(n, heads, seed):
    torch.manual_seed(seed)
    m = MultiHeadSelfAttention(4, heads).double()
    x = torch.randn(2, n, 4, dtype=torch.float64)
    perm = torch.randperm(n)
    torch.testing.assert_close(m(x[:, perm]), m(x)[:, perm])
    s = SelfAttention(4, 3, 2).double()
    torch.testing.assert_close(s(x[:, perm]), s(x)[:, perm])


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 4), w=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_self_attention2d_equivariant_to_pixel_permutation(h, w, seed):
    torch.manual_seed(seed)
    m = SelfAttention2d(4, num_heads=2).double()
    with torch.no_grad():
        m.gamma.fill_(1.3)
    x = torch.randn(1, 4, h, w, dtype=torch.float64)
    perm = torch.randperm(h * w)
    shuffle = lambda t: t.flatten(2)[:, :, perm].reshape(t.shape)  # noqa: E731
    torch.testing.assert_close(m(shuffle(x)), shuffle(m(x)))


def test_gradcheck():
    torch.manual_seed(0)
    q, k, v = (t.requires_grad_() for t in qkv((2, 3, 4), 5, 2))
    assert torch.autograd.gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c)[0],
                                    (q, k, v))
    mask = torch.ones(3, 5, dtype=torch.bool).tril()
    assert torch.autograd.gradcheck(
        lambda a, b, c: scaled_dot_product_attention(a, b, c, mask=mask)[0], (q, k, v))
    for module in (MultiHeadSelfAttention(4, 2).double(), SelfAttention(4, 3, 2).double()):
        x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(module, (x,))
    m2 = SelfAttention2d(4, num_heads=2).double()
    with torch.no_grad():
        m2.gamma.fill_(0.5)
    x = torch.randn(1, 4, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m2, (x,))


@pytest.mark.parametrize("module,x", [
    (SelfAttention(4, 3, 2), torch.randn(2, 5, 4)),
    (MultiHeadSelfAttention(4, 2), torch.randn(2, 5, 4)),
    (SelfAttention2d(4, num_heads=2, residual=True), torch.randn(2, 4, 3, 2)),
])
def test_every_parameter_gets_a_gradient(module, x):
    if isinstance(module, SelfAttention2d):
        with torch.no_grad():
            module.gamma.fill_(0.5)
    module(x).square().sum().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("dim_in,dim_k,dim_v", [(1, 1, 1), (4, 3, 2), (64, 16, 64)])
def test_single_head_params(dim_in, dim_k, dim_v):
    m = SelfAttention(dim_in, dim_k, dim_v)
    assert self_attention_num_params(dim_in, dim_k, dim_v) == sum(
        p.numel() for p in m.parameters())


@pytest.mark.parametrize("dim,heads", [(4, 1), (4, 4), (12, 3), (64, 8)])
@pytest.mark.parametrize("bias", [True, False])
def test_multi_head_params(dim, heads, bias):
    m = MultiHeadSelfAttention(dim, heads, bias=bias)
    n = sum(p.numel() for p in m.parameters())
    assert multi_head_self_attention_num_params(dim, heads, bias) == n
    torch_n = sum(p.numel() for p in nn.MultiheadAttention(dim, heads, bias=bias).parameters())
    assert n == torch_n


@pytest.mark.parametrize("channels,dim_k,heads", [(1, None, 1), (8, None, 2), (16, 4, 4),
                                                  (6, 3, 3)])
@pytest.mark.parametrize("residual", [True, False])
def test_self_attention2d_params(channels, dim_k, heads, residual):
    m = SelfAttention2d(channels, dim_k=dim_k, num_heads=heads, residual=residual)
    assert self_attention2d_num_params(channels, dim_k, heads, residual) == sum(
        p.numel() for p in m.parameters())


@pytest.mark.parametrize("args,error,match", [
    ((torch.randn(2, 3, 4), torch.randn(2, 5, 3), torch.randn(2, 5, 2)), ValueError,
     "same feature size d_k"),
    ((torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 6, 2)), ValueError,
     "same number of tokens"),
    ((torch.randn(2, 3, 4), torch.randn(3, 5, 4), torch.randn(3, 5, 2)), ValueError,
     "same batch dimensions"),
    ((torch.randn(4), torch.randn(5, 4), torch.randn(5, 2)), ValueError, "at least 2 dimensions"),
    (("q", torch.randn(5, 4), torch.randn(5, 2)), TypeError, "q must be a torch.Tensor"),
    ((torch.randn(3, 4), torch.randn(5, 4).double(), torch.randn(5, 2)), TypeError,
     "share a dtype"),
])
def test_bad_qkv(args, error, match):
    with pytest.raises(error, match=match):
        scaled_dot_product_attention(*args)


@pytest.mark.parametrize("mask,error,match", [
    (torch.ones(3, 4, dtype=torch.bool), ValueError, r"does not broadcast to the scores' shape"),
    (torch.ones(5, 3, dtype=torch.bool), ValueError, r"mask of shape \(5, 3\)"),
    (torch.ones(3, 5, dtype=torch.long), TypeError, "mask must be boolean"),
    ([[True] * 5] * 3, TypeError, "mask must be a torch.Tensor"),
])
def test_bad_mask(mask, error, match):
    q, k, v = qkv((2, 3, 4), 5, 2, dtype=torch.float32)
    with pytest.raises(error, match=match):
        scaled_dot_product_attention(q, k, v, mask=mask)
    m = SelfAttention(4, 4, 2, fused=True)
    module_match = r"mask must have shape \(L, S\)" if error is ValueError else match
    with pytest.raises(error, match=module_match):
        m(torch.randn(2, 3, 4), mask=mask)


@pytest.mark.parametrize("make,error,match", [
    (lambda: MultiHeadSelfAttention(10, 3), ValueError, "dim=10 is not divisible by num_heads=3"),
    (lambda: MultiHeadSelfAttention(8, 0), ValueError, "num_heads must be a positive"),
    (lambda: MultiHeadSelfAttention(8, 2, bias=1), TypeError, "bias must be True or False"),
    (lambda: SelfAttention(0, 3, 2), ValueError, "dim_in must be a positive integer, got 0"),
    (lambda: SelfAttention(4, 3.0, 2), TypeError, "dim_k must be an integer"),
    (lambda: SelfAttention2d(6, num_heads=4), ValueError, "channels=6 is not divisible"),
    (lambda: SelfAttention2d(8, dim_k=3, num_heads=2), ValueError, "dim_k=3 is not divisible"),
    (lambda: SelfAttention2d(8, residual=None), TypeError, "residual must be True or False"),
    (lambda: scaled_dot_product_attention(*qkv((3, 4), 5, 2), scale=-1.0), ValueError, "scale"),
])
def test_bad_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_forward_input():
    with pytest.raises(ValueError, match="feature size 5 but the module was built for 4"):
        MultiHeadSelfAttention(4, 2)(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="3-D tensor"):
        SelfAttention(4, 3, 2)(torch.randn(3, 4))
    with pytest.raises(ValueError, match="has 3 channels but the module was built for 4"):
        SelfAttention2d(4)(torch.randn(1, 3, 2, 2))
    with pytest.raises(ValueError, match="return_weights=True needs the written-out path"):
        MultiHeadSelfAttention(4, 2, fused=True)(torch.randn(1, 3, 4), return_weights=True)
    with pytest.raises(ValueError, match="num_heads=2"):
        MultiHeadSelfAttention(4, 2).load_from_torch(nn.MultiheadAttention(4, 1))
    with pytest.raises(TypeError, match="nn.MultiheadAttention"):
        MultiHeadSelfAttention.from_torch(nn.Linear(4, 4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_written_out_equals_fused():
    q, k, v = (t.cuda().float() for t in qkv((2, 4, 64, 16), 64, 16))
    out, _ = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=2e-3, rtol=2e-3)
    m = SelfAttention2d(16, num_heads=2, residual=False).cuda()
    fused = SelfAttention2d(16, num_heads=2, residual=False, fused=True).cuda()
    fused.load_state_dict(m.state_dict())
    x = torch.randn(2, 16, 8, 8, device="cuda")
    torch.testing.assert_close(m(x), fused(x), atol=2e-3, rtol=2e-3)


# --- cross-attention ------------------------------------------------------------------------------


@pytest.mark.parametrize("dim,context_dim,heads", [(8, 8, 2), (12, 5, 3), (4, 6, 1)])
@pytest.mark.parametrize("bias", [True, False])
def test_cross_attention_equals_torch(dim, context_dim, heads, bias):
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(dim, heads, bias=bias, kdim=context_dim, vdim=context_dim,
                                batch_first=True).double()
    ours = MultiHeadCrossAttention.from_torch(mha)
    x = torch.randn(2, 5, dim, dtype=torch.float64)
    ctx = torch.randn(2, 7, context_dim, dtype=torch.float64)
    expected, expected_w = mha(x, ctx, ctx, average_attn_weights=False)
    got, w = ours(x, ctx, return_weights=True)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(w, expected_w)
    assert w.shape == (2, heads, 5, 7)
    keep = torch.rand(2, 7, generator=torch.Generator().manual_seed(1)) > 0.3
    keep[:, 0] = True
    masked, _ = mha(x, ctx, ctx, key_padding_mask=~keep)
    torch.testing.assert_close(ours(x, ctx, key_mask=keep), masked)
    assert sum(p.numel() for p in ours.parameters()) == multi_head_cross_attention_num_params(
        dim, context_dim, heads, bias)


def test_cross_attention_written_out():
    torch.manual_seed(0)
    ca = MultiHeadCrossAttention(6, 4, num_heads=1).double()
    x, ctx = torch.randn(1, 3, 6, dtype=torch.float64), torch.randn(1, 5, 4, dtype=torch.float64)
    q, k, v = ca.q_proj(x), ca.k_proj(ctx), ca.v_proj(ctx)
    a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(6), -1)      # (1, 3, 5)
    torch.testing.assert_close(ca(x, ctx), ca.out_proj(a @ v))


def test_cross_attention_context_order_does_not_matter_query_order_does():
    torch.manual_seed(0)
    ca = MultiHeadCrossAttention(8, 3, num_heads=2).double()
    x, ctx = torch.randn(2, 4, 8, dtype=torch.float64), torch.randn(2, 9, 3, dtype=torch.float64)
    perm_c, perm_q = torch.randperm(9), torch.randperm(4)
    torch.testing.assert_close(ca(x, ctx[:, perm_c]), ca(x, ctx))
    torch.testing.assert_close(ca(x[:, perm_q], ctx), ca(x, ctx)[:, perm_q])
    # one query at a time gives the same rows: queries do not see each other
    torch.testing.assert_close(torch.cat([ca(x[:, i:i + 1], ctx) for i in range(4)], 1), ca(x, ctx))


def test_cross_attention_same_width_copies_stacked_torch_weights():
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    ours = MultiHeadCrossAttention.from_torch(mha)
    x, ctx = torch.randn(1, 3, 8), torch.randn(1, 6, 8)
    torch.testing.assert_close(ours(x, ctx), mha(x, ctx, ctx)[0])


def test_cross_attention_gradients_and_gradcheck():
    torch.manual_seed(0)
    ca = MultiHeadCrossAttention(4, 2, num_heads=2).double()
    x = torch.randn(1, 3, 4, dtype=torch.float64, requires_grad=True)
    ctx = torch.randn(1, 5, 2, dtype=torch.float64, requires_grad=True)
    ca(x, ctx).square().sum().backward()
    for name, p in ca.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert torch.autograd.gradcheck(lambda a, b: ca(a, b), (x, ctx))


def test_cross_attention_bad_input():
    ca = MultiHeadCrossAttention(8, 3, num_heads=2)
    with pytest.raises(ValueError, match="context_dim=3"):
        ca(torch.randn(1, 2, 8), torch.randn(1, 4, 5))
    with pytest.raises(ValueError, match="same batch size"):
        ca(torch.randn(2, 2, 8), torch.randn(1, 4, 3))
    with pytest.raises(ValueError, match="built for 8"):
        ca(torch.randn(1, 2, 7), torch.randn(1, 4, 3))
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        MultiHeadCrossAttention(8, 3, num_heads=3)
    with pytest.raises(TypeError, match="nn.MultiheadAttention"):
        MultiHeadCrossAttention.from_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="mask must have shape"):
        ca(torch.randn(1, 2, 8), torch.randn(1, 4, 3), mask=torch.ones(4, 2, dtype=torch.bool))
