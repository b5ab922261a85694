"""Property-based tests (hypothesis) over the public modules and functions.

Random valid sizes (batch 1 included, H != W), dtypes float16 / bfloat16 / float32 / float64, and
masks of every kind (none, boolean, additive float, fully masked rows, per-example key masks):
outputs keep their shape and are finite where the inputs are, gradients are finite, and results
agree with an independent written-out computation in float64. Invalid inputs raise a
``ValueError`` / ``TypeError`` that names the bad argument.

The profile ``attn_lessons-ci`` keeps the suite short and reproducible: few examples,
``derandomize=True`` (the same examples on every run, so CI never flakes on a new draw) and no
per-example deadline (timings on a shared CPU mean nothing).
``HYPOTHESIS_PROFILE=attn_lessons-deep``
draws many more examples when hunting for bugs locally.
"""

from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attn_lessons.bam import BAM
from attn_lessons.cbam import CBAM
from attn_lessons.coordatt import CoordAtt
from attn_lessons.eca import ECA
from attn_lessons.ela import ELA
from attn_lessons.ema import EMA
from attn_lessons.global_context import GlobalContext
from attn_lessons.se import SqueezeExcite
from attn_lessons.self_attention import (
    MultiHeadSelfAttention,
    SelfAttention,
    SelfAttention2d,
    scaled_dot_product_attention,
)
from attn_lessons.shuffle import ShuffleAttention
from attn_lessons.simam import SimAM
from attn_lessons.similarity import cosine_similarity
from attn_lessons.sk import SelectiveKernel
from attn_lessons.triplet import TripletAttention

settings.register_profile("attn_lessons-ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("attn_lessons-deep", max_examples=300, deadline=None)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "attn_lessons-ci"))

DTYPES = st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64])
TOL = {torch.float16: 3e-2, torch.bfloat16: 8e-2, torch.float32: 1e-4, torch.float64: 1e-10}
MAPS = st.tuples(st.integers(1, 3), st.sampled_from([16, 32]), st.integers(1, 6),
                 st.integers(1, 6))  # (B, C, H, W), H and W drawn independently


def _input(shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)


def _close(got, expected, dtype):
    torch.testing.assert_close(got.double(), expected, atol=TOL[dtype], rtol=TOL[dtype])


# --- the channel and spatial modules ------------------------------------------------------------

def _se_written(m, x):
    z = x.mean(dim=(2, 3))
    s = torch.sigmoid(F.linear(F.relu(F.linear(z, m.fc1.weight.double(), m.fc1.bias.double())),
                               m.fc2.weight.double(), m.fc2.bias.double()))
    return x * s[:, :, None, None]


def _eca_written(m, x):
    z = x.mean(dim=(2, 3))                                  # (B, C)
    k = m.kernel_size
    w = m.conv.weight.double().flatten()
    zp = F.pad(z, ((k - 1) // 2, (k - 1) // 2))
    s = torch.stack([(zp[:, c : c + k] * w).sum(1) for c in range(z.shape[1])], dim=1)
    return x * torch.sigmoid(s)[:, :, None, None]


def _cbam_written(m, x):
    def mlp(z):
        return F.linear(F.relu(F.linear(z, m.channel.fc1.weight.double())),
                        m.channel.fc2.weight.double())
    mc = torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.flatten(2).max(dim=2).values))
    y = x * mc[:, :, None, None]
    pooled = torch.cat([y.mean(1, keepdim=True), y.max(1, keepdim=True).values], dim=1)
    k = m.spatial.kernel_size
    ms = torch.sigmoid(F.conv2d(pooled, m.spatial.conv.weight.double(), padding=k // 2))
    return y * ms


def _perturbed(module):
    """Random weights on top of the initialisation (GC's last convolutions start at zero)."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return module


WRITTEN = {"se": (SqueezeExcite, _se_written), "eca": (ECA, _eca_written),
           "cbam": (CBAM, _cbam_written), "coordatt": (CoordAtt, None)}
# The field guide's modules (their equations are checked in their own test files; here each is
# compared with itself in float64). Options fit C = 16.
WRITTEN["simam"] = (SimAM, None)
WRITTEN["gc"] = (lambda c: _perturbed(GlobalContext(c, 4, fusion=("channel_add", "channel_mul"))),
                 None)
WRITTEN["sk"] = (lambda c: SelectiveKernel(c, groups=8), None)
WRITTEN["bam"] = (lambda c: BAM(c, 4), None)
# The field guide's modules, checked against their own float64 forward pass (their written-out
# equations and authors' code are in their test files), with options that fit 16 and 32 channels.
WRITTEN["triplet"] = (TripletAttention, None)
WRITTEN["shuffle"] = (lambda c: ShuffleAttention(c, groups=4), None)
WRITTEN["ema"] = (lambda c: EMA(c, groups=4), None)
WRITTEN["ela"] = (lambda c: ELA(c, norm_groups=4), None)


@PROFILE
@given(kind=st.sampled_from(sorted(WRITTEN)), shape=MAPS, dtype=DTYPES, seed=st.integers(0, 99))
def test_channel_modules_keep_shape_are_finite_and_match_the_equations(kind, shape, dtype, seed):
    torch.manual_seed(seed)
    make, written = WRITTEN[kind]
    module = make(shape[1]).eval()
    x64 = _input(shape, torch.float64, seed)
    expected = written(module, x64) if written else module.double()(x64)
    module = module.to(dtype)
    x = x64.to(dtype).requires_grad_(True)
    out = module(x)
    assert out.shape == x.shape and out.dtype == dtype
    assert torch.isfinite(out).all()
    _close(out.detach(), expected.detach(), dtype)
    out.float().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in module.parameters())


@PROFILE
@given(shape=MAPS, heads=st.sampled_from([1, 2]), dtype=DTYPES, fused=st.booleans(),
       seed=st.integers(0, 99))
def test_self_attention2d_matches_the_written_out_equation(shape, heads, dtype, fused, seed):
    torch.manual_seed(seed)
    b, c, h, w = shape
    m = SelfAttention2d(c, num_heads=heads, residual=False, fused=fused)
    x64 = _input(shape, torch.float64, seed)
    t = x64.flatten(2).transpose(1, 2)                       # (B, HW, C)
    lin = {n: (getattr(m, n).weight.double(), getattr(m, n).bias.double())
           for n in ("q", "k", "v", "out_proj")}
    q, k, v = (F.linear(t, *lin[n]) for n in ("q", "k", "v"))
    heads_out = []
    for i in range(heads):
        dq, dv = q.shape[-1] // heads, c // heads
        qi, ki = q[..., i * dq:(i + 1) * dq], k[..., i * dq:(i + 1) * dq]
        a = torch.softmax(qi @ ki.transpose(1, 2) / math.sqrt(dq), dim=-1)
        heads_out.append(a @ v[..., i * dv:(i + 1) * dv])
    expected = F.linear(torch.cat(heads_out, -1), *lin["out_proj"]).transpose(1, 2)
    expected = expected.reshape(b, c, h, w)
    m = m.to(dtype)
    x = x64.to(dtype).requires_grad_(True)
    out = m(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
    _close(out.detach(), expected, dtype)
    out.float().sum().backward()
    assert torch.isfinite(x.grad).all()


# --- attention with masks of every kind ---------------------------------------------------------

@st.composite
def attention_case(draw):
    batch = draw(st.sampled_from([(), (1,), (2,), (2, 3)]))
    L, S = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    d_k, d_v = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["none", "bool", "float", "bool_dead_row", "float_dead_row"]))
    return batch, L, S, d_k, d_v, kind, draw(st.integers(0, 99))


def _mask(kind, shape, seed):
    if kind == "none":
        return None
    g = torch.Generator().manual_seed(seed)
    allowed = torch.rand(shape, generator=g) > 0.4
    allowed[..., 0] = True
    if kind.endswith("dead_row"):
        allowed[..., 0, :] = False                            # query 0 may attend to nothing
    if kind.startswith("bool"):
        return allowed
    return torch.zeros(shape, dtype=torch.float64).masked_fill(~allowed, float("-inf")) + \
        torch.randn(shape, generator=g, dtype=torch.float64).masked_fill(~allowed, 0.0)


@PROFILE
@given(case=attention_case(), dtype=DTYPES)
def test_attention_matches_a_row_by_row_softmax_with_finite_gradients(case, dtype):
    batch, L, S, d_k, d_v, kind, seed = case
    q64, k64, v64 = (_input((*batch, n, d), torch.float64, seed + i)
                     for i, (n, d) in enumerate([(L, d_k), (S, d_k), (S, d_v)]))
    mask = _mask(kind, (L, S), seed)
    # independent computation: each query's softmax over its allowed keys only, row by row
    add = torch.zeros(L, S, dtype=torch.float64) if mask is None else (
        torch.where(mask, 0.0, -math.inf) if mask.dtype == torch.bool else mask)
    expected = torch.zeros(*batch, L, d_v, dtype=torch.float64)
    scores = q64 @ k64.transpose(-2, -1) / math.sqrt(d_k) + add
    for i in range(L):
        keep = torch.isfinite(add[i])
        if keep.any():
            wts = torch.softmax(scores[..., i, keep], dim=-1)
            expected[..., i, :] = (wts[..., None] * v64[..., keep, :]).sum(-2)
    m = None if mask is None or mask.dtype == torch.bool else mask.to(dtype)
    m = mask if m is None else m
    q, k, v = (t.to(dtype).requires_grad_(True) for t in (q64, k64, v64))
    out, weights = scaled_dot_product_attention(q, k, v, mask=m)
    assert out.shape == (*batch, L, d_v) and weights.shape == (*batch, L, S)
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    _close(out.detach(), expected, dtype)
    out.float().sum().backward()
    for t in (q, k, v):
        assert torch.isfinite(t.grad).all()


@PROFILE
@given(b=st.integers(1, 3), n=st.integers(1, 6), heads=st.sampled_from([1, 2]),
       dtype=st.sampled_from([torch.bfloat16, torch.float32, torch.float64]),
       kind=st.sampled_from(["none", "bool", "float", "bool_dead_row", "float_dead_row"]),
       key_padding=st.booleans(), seed=st.integers(0, 99))
def test_modules_fused_and_written_out_agree_under_every_mask(b, n, heads, dtype, kind,
                                                             key_padding, seed):
    torch.manual_seed(seed)
    x = _input((b, n, 8), dtype, seed)
    mask = _mask(kind, (n, n), seed)
    if mask is not None and mask.is_floating_point():
        mask = mask.to(dtype)
    key_mask = None
    if key_padding:
        key_mask = torch.rand(b, n, generator=torch.Generator().manual_seed(seed)) > 0.3
        key_mask[:, 0] = True
    for module in (MultiHeadSelfAttention(8, heads), SelfAttention(8, 4, 6)):
        module = module.to(dtype)
        xg = x.clone().requires_grad_(True)
        written = module(xg, mask=mask, key_mask=key_mask)
        assert torch.isfinite(written).all()
        written.float().sum().backward()
        assert torch.isfinite(xg.grad).all()
        assert all(torch.isfinite(p.grad).all() for p in module.parameters())
        module.fused = True
        fused = module(x, mask=mask, key_mask=key_mask)
        # rows with no key: 0 from both (PyTorch's CPU flash kernel returns 0 there too)
        tol = {torch.bfloat16: 5e-2, torch.float32: 1e-5, torch.float64: 1e-10}[dtype]
        torch.testing.assert_close(fused, written.detach(), atol=tol, rtol=tol)


# --- similarity ---------------------------------------------------------------------------------

@PROFILE
@given(d=st.integers(1, 1024), scale=st.sampled_from([1e-3, 1.0, 10.0, 100.0]), dtype=DTYPES,
       seed=st.integers(0, 99))
def test_cosine_similarity_is_a_finite_cosine(d, scale, dtype, seed):
    a64, b64 = _input((3, d), torch.float64, seed) * scale, _input((3, d), torch.float64, seed + 1)
    a, b = a64.to(dtype), (b64 * scale).to(dtype)
    got = cosine_similarity(a, b)
    assert got.shape == (3,) and got.dtype == dtype and torch.isfinite(got).all()
    expected = F.cosine_similarity(a.double(), b.double(), dim=-1)
    _close(got, expected, dtype)


# --- invalid inputs name themselves -------------------------------------------------------------

BAD_INTS = st.one_of(st.integers(-5, 0), st.floats(0.5, 9.5), st.booleans(), st.text(max_size=2))


@PROFILE
@given(make=st.sampled_from([
    ("channels", lambda v: SqueezeExcite(v)), ("channels", lambda v: ECA(v)),
    ("channels", lambda v: CBAM(v)), ("channels", lambda v: CoordAtt(v)),
    ("channels", lambda v: SelfAttention2d(v)), ("dim", lambda v: MultiHeadSelfAttention(v, 1)),
    ("reduction", lambda v: SqueezeExcite(16, reduction=v)),
    ("kernel_size", lambda v: CBAM(16, kernel_size=v)),
    ("num_heads", lambda v: MultiHeadSelfAttention(8, v)),
    ("channels", lambda v: SimAM(v)), ("channels", lambda v: GlobalContext(v)),
    ("channels", lambda v: SelectiveKernel(v)), ("channels", lambda v: BAM(v)),
    ("reduction", lambda v: GlobalContext(64, reduction=v)),
    ("groups", lambda v: SelectiveKernel(64, groups=v)),
    ("dilation", lambda v: BAM(64, dilation=v)),
]), value=BAD_INTS)
def test_invalid_sizes_raise_an_error_naming_the_argument(make, value):
    name, build = make
    with pytest.raises((ValueError, TypeError), match=name):
        build(value)


@PROFILE
@given(kind=st.sampled_from(sorted(WRITTEN)), wrong=st.sampled_from([8, 24]),
       ndim=st.sampled_from([3, 4]))
def test_feature_maps_of_the_wrong_shape_are_refused(kind, wrong, ndim):
    module = WRITTEN[kind][0](16)
    x = torch.randn(1, wrong, 4, 4) if ndim == 4 else torch.randn(wrong, 4, 4)
    with pytest.raises(ValueError, match=r"x (has|must be)"):
        module(x)
    with pytest.raises(TypeError, match="floating-point"):
        module(torch.ones(1, 16, 4, 4, dtype=torch.long))


# --- the similarity functions --------------------------------------------------------------------

@PROFILE
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 8)), dtype=DTYPES,
       temperature=st.sampled_from([0.1, 1.0, 7.0]), shift=st.sampled_from([0.0, 1e4]),
       seed=st.integers(0, 99))
def test_softmax_gram_and_attention_average_match_their_definitions(shape, dtype, temperature,
                                                                   shift, seed):
    from attn_lessons.similarity import attention_average, gram_matrix, softmax

    b, n, d = shape
    s64 = _input((b, n, n), torch.float64, seed) + shift  # a large shift must not overflow
    scores = s64.to(dtype)  # the reference is the exact softmax of these (rounded) scores
    w = softmax(scores, temperature=temperature)
    assert w.shape == (b, n, n) and torch.isfinite(w).all()
    _close(w, torch.softmax(scores.double() / temperature, dim=-1), dtype)
    x64 = _input((b, n, d), torch.float64, seed + 1)
    g = gram_matrix(x64.to(dtype))
    _close(g, x64 @ x64.transpose(1, 2), dtype if dtype == torch.float64 else torch.float16)
    torch.testing.assert_close(g, g.transpose(1, 2))  # symmetric
    centred, xd = scores - shift, x64.to(dtype)
    out, weights = attention_average(centred, xd)
    _close(out, torch.softmax(centred.double(), -1) @ xd.double(), dtype)
    assert out.shape == (b, n, d) and weights.shape == (b, n, n)


# --- the data generators -------------------------------------------------------------------------

@PROFILE
@given(task=st.sampled_from(["channel", "clutter", "axis", "relation", "scale"]),
       n=st.integers(1, 12),
       size=st.integers(16, 28), seed=st.integers(0, 99))
def test_generated_tasks_are_finite_balanced_and_repeatable(task, n, size, seed):
    from attn_lessons.data import make_task, task_info

    data = make_task(task, n=n, size=size, seed=seed)
    x, y = data.tensors
    assert len(x) == len(y) == n and x.shape[-2:] == (size, size) and torch.isfinite(x).all()
    counts = torch.bincount(y, minlength=task_info(task).num_classes)
    assert counts.max() - counts.min() <= 1  # every class as often as possible
    again = make_task(task, n=n, size=size, seed=seed).tensors
    assert torch.equal(again[0], x) and torch.equal(again[1], y)


@PROFILE
@given(size=st.integers(9, 30), square=st.integers(1, 5), gap=st.integers(1, 20))
def test_axis_task_either_works_or_names_the_setting(size, square, gap):
    from attn_lessons.data import axis_task

    try:
        x, y = axis_task(n=4, size=size, square=square, min_row_gap=gap).tensors
    except ValueError as exc:
        assert f"min_row_gap={gap}" in str(exc) and f"square={square}" in str(exc)
    else:
        assert x.shape == (4, 1, size, size) and set(y.tolist()) <= {0, 1}
