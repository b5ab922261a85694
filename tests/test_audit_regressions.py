"""Regression tests for the bad-input audit of issue 11: one test per finding, named for it.

Each of these failed on the library before the fix (checked by running this file against the
previous commit) and guards the fixed behaviour.
"""

from __future__ import annotations

import errno
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.data import TensorDataset

from attn_lessons import cifar
from attn_lessons.cbam import CBAM, SpatialGate, cbam_num_params, spatial_gate_num_params
from attn_lessons.coordatt import coordatt_num_params
from attn_lessons.data import axis_task, glyph_bank
from attn_lessons.se import se_macs, se_num_params
from attn_lessons.self_attention import (
    MultiHeadSelfAttention,
    SelfAttention,
    SelfAttention2d,
    multi_head_self_attention_num_params,
    scaled_dot_product_attention,
    self_attention2d_num_params,
)
from attn_lessons.similarity import cosine_similarity
from attn_lessons.sk import SelectiveKernel, sk_num_params
from attn_lessons.train import SeedResults, TrainResult, mean_std, run_seeds, train_model

FLASH = [SDPBackend.FLASH_ATTENTION]  # the CPU's fused kernel; inside sdpa_kernel no fallback


# --- NaN gradients from a fully masked query row with a float mask -----------------------------

def _float_mask_with_dead_row(n: int) -> torch.Tensor:
    mask = torch.zeros(n, n)
    mask[1] = float("-inf")  # query 1 may attend to nothing
    return mask


def test_fully_masked_row_float_mask_has_finite_gradients():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 3, generator=g, requires_grad=True) for _ in range(3))
    out, weights = scaled_dot_product_attention(q, k, v, mask=_float_mask_with_dead_row(4))
    assert (out[:, 1] == 0).all() and (weights[:, 1] == 0).all()
    out.sum().backward()
    for t in (q, k, v):
        assert torch.isfinite(t.grad).all()


def test_multi_head_self_attention_survives_an_sgd_step_with_a_dead_float_row():
    torch.manual_seed(0)
    m = MultiHeadSelfAttention(8, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x = torch.randn(3, 5, 8)
    m(x, mask=_float_mask_with_dead_row(5)).square().mean().backward()
    opt.step()
    assert all(torch.isfinite(p).all() for p in m.parameters())
    assert torch.isfinite(m(x)).all()


# --- train_model(batch_size=1) trained on one image per epoch -----------------------------------

class _Counting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        self.images_seen = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.images_seen += len(x)
        return self.net(x)


def _dataset(n: int) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, 1, 2, 2, generator=g), torch.arange(n) % 2)


@pytest.mark.parametrize("batch_size,expected", [(1, 48), (16, 48), (47, 47), (5, 48)])
def test_train_model_trains_on_every_image_of_an_epoch(batch_size, expected):
    model = _Counting()
    train_model(model, _dataset(48), epochs=1, batch_size=batch_size, device="cpu",
                progress=False)
    assert model.images_seen == expected  # 47: the final batch of one image is skipped


# --- statistics of one run; run_seeds without test data ----------------------------------------

def test_mean_std_of_one_value_has_no_standard_deviation():
    mean, std = mean_std([0.75])
    assert mean == 0.75 and math.isnan(std)
    assert "no standard deviation" in str(SeedResults([TrainResult(0, test_accuracy=[0.75])]))


def test_run_seeds_refuses_missing_test_data_before_training():
    built = []

    def build() -> nn.Module:
        built.append(1)
        return _Counting()

    with pytest.raises(TypeError, match="test_data is required"):
        run_seeds(build, _dataset(8), None, seeds=(0,), epochs=1, device="cpu", progress=False)
    assert not built  # refused before any training


# --- cosine similarity in half precision ---------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cosine_similarity_half_precision_does_not_overflow(dtype):
    g = torch.Generator().manual_seed(0)
    a = (10 + torch.rand(1024, generator=g)).to(dtype)
    got = cosine_similarity(a, a)
    assert got.dtype == dtype
    expected = F.cosine_similarity(a.float(), a.float(), dim=-1)
    torch.testing.assert_close(got.float(), expected, atol=1e-2, rtol=0)


# --- boolean options read by truthiness ----------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: se_num_params(64, bias="no"),
    lambda: se_macs(64, 8, 8, bias=0),
    lambda: coordatt_num_params(64, bias="False"),
    lambda: multi_head_self_attention_num_params(8, 2, bias=None),
    lambda: self_attention2d_num_params(8, residual=1),
    lambda: cbam_num_params(64, bias="no"),
    lambda: spatial_gate_num_params(7, batch_norm=1),
    lambda: train_model(_Counting(), _dataset(4), epochs=1, device="cpu", progress="no"),
    lambda: SelfAttention(4, 4, 4)(torch.randn(1, 3, 4), return_weights="yes"),
    lambda: sk_num_params(64, dilate="no"),
    lambda: SelectiveKernel(64, split_input=1),
])
def test_boolean_options_refuse_non_booleans(call):
    with pytest.raises(TypeError, match="must be True or False"):
        call()


# --- generators with impossible settings ---------------------------------------------------------

def test_axis_task_refuses_a_row_gap_the_middle_row_cannot_have():
    with pytest.raises(ValueError, match="min_row_gap=12"):
        axis_task(n=8, size=24, min_row_gap=12)
    assert len(axis_task(n=8, size=24, min_row_gap=11)) == 8  # the largest possible gap works


def test_glyph_bank_refuses_more_glyphs_than_can_be_drawn():
    with pytest.raises(ValueError, match="count=65537"):
        glyph_bank(65537)
    with pytest.raises(ValueError, match="count=9"):
        glyph_bank(9, glyph=2)  # 16 distinct 2x2 glyphs; at most half are drawn
    assert glyph_bank(8, glyph=2).unique(dim=0).shape[0] == 8


# --- key-padding masks ---------------------------------------------------------------------------

def test_key_mask_is_per_example_even_when_batch_equals_tokens():
    torch.manual_seed(0)
    n = 4
    x = torch.randn(n, n, 8)  # B = n: a (B, n) mask would broadcast as (queries, keys)
    keep = torch.ones(n, n, dtype=torch.bool)
    keep[0, 2:] = False  # example 0: its last two tokens are padding
    keep[3, 1] = False
    mine = MultiHeadSelfAttention(8, 2)
    torch_mha = mine.to_torch()
    expected, _ = torch_mha(x, x, x, key_padding_mask=~keep, need_weights=False)
    torch.testing.assert_close(mine(x, key_mask=keep), expected)
    with pytest.raises(ValueError, match="key_mask"):
        mine(x[:, :3], mask=keep[:, :3])  # (B, n) as mask, B != n: refused, pointing to key_mask
    single = SelfAttention(8, 8, 8)
    out = single(x, key_mask=keep)
    for b in range(n):  # each example alone, its padded keys removed
        xb = x[b : b + 1]
        q, k, v = single.q(xb), single.k(xb[:, keep[b]]), single.v(xb[:, keep[b]])
        torch.testing.assert_close(out[b : b + 1], F.scaled_dot_product_attention(q, k, v))


# --- from_torch with kdim/vdim ------------------------------------------------------------------

def test_from_torch_refuses_different_kdim_vdim_with_value_error():
    mha = nn.MultiheadAttention(8, 2, kdim=4, vdim=6, batch_first=True)
    with pytest.raises(ValueError, match="kdim = vdim = embed_dim"):
        MultiHeadSelfAttention.from_torch(mha)


# --- a full disk is not "offline" ---------------------------------------------------------------

def test_full_disk_during_download_is_not_reported_as_offline(tmp_path, monkeypatch):
    def no_space(url: str, destination: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cifar, "_download", no_space)
    with pytest.raises(OSError, match="disk full") as info:
        cifar.fetch_archive(tmp_path, download=True)
    assert not isinstance(info.value, ConnectionError)
    assert info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # no half-written file left


# --- fused=True reaches the fused kernel ---------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("make,shape", [
    (lambda: SelfAttention(6, 4, 4, fused=True), (2, 5, 6)),
    (lambda: SelfAttention(6, 4, 8, fused=True), (2, 5, 6)),   # d_k != d_v
    (lambda: SelfAttention(6, 8, 2, fused=True), (2, 5, 6)),   # d_k > d_v
    (lambda: MultiHeadSelfAttention(8, 2, fused=True), (2, 5, 8)),
    (lambda: SelfAttention2d(8, num_heads=2, fused=True), (2, 8, 3, 2)),  # d_k = C/2
])
def test_fused_modules_run_on_the_fused_kernel(make, shape, dtype):
    torch.manual_seed(0)
    module = make().to(dtype)
    if isinstance(module, SelfAttention2d):
        nn.init.ones_(module.gamma)  # open the residual branch so the attention matters
    x = torch.randn(shape, dtype=dtype)
    with sdpa_kernel(FLASH):  # raises if the call cannot use the flash kernel
        fused_out = module(x)
    module.fused = False
    written = module(x)
    tol = {torch.bfloat16: 2e-2, torch.float32: 1e-5, torch.float64: 1e-10}[dtype]
    torch.testing.assert_close(fused_out, written, atol=tol, rtol=tol)


def test_fused_modules_with_masks_run_on_the_fused_kernel():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 8)
    keep = torch.ones(2, 5, dtype=torch.bool)
    keep[1, 3:] = False
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    for module in (MultiHeadSelfAttention(8, 2, fused=True), SelfAttention(8, 4, 6, fused=True)):
        with sdpa_kernel(FLASH):
            fused_out = module(x, mask=causal, key_mask=keep)
        module.fused = False
        torch.testing.assert_close(fused_out, module(x, mask=causal, key_mask=keep))


# --- CBAM: BatchNorm momentum an option ---------------------------------------------------------

def test_cbam_batch_norm_momentum_is_an_option_defaulting_to_the_official_value():
    assert SpatialGate(batch_norm=True).norm.momentum == 0.01  # official code
    assert CBAM(32, batch_norm=True, bn_momentum=0.1).spatial.norm.momentum == 0.1  # timm's
    with pytest.raises(ValueError, match="bn_momentum must be in"):
        CBAM(32, batch_norm=True, bn_momentum=0.0)
    with pytest.raises(TypeError, match="bn_momentum"):
        SpatialGate(batch_norm=True, bn_momentum="0.1")


# --- CBAM's max pooling: amax forward, max-with-indices backward ---------------------------------

def test_cbam_max_pooling_sends_the_gradient_to_one_arg_max_like_the_official_code():
    from attn_lessons.cbam import _max_over

    x = torch.ones(1, 2, 3, 3, requires_grad=True)  # every position ties for the maximum
    _max_over(x.flatten(2), dim=2).sum().backward()
    assert (x.grad.flatten(2) != 0).sum(dim=2).tolist() == [[1, 1]]  # one arg-max per channel
    official = x.detach().clone().requires_grad_(True)
    F.max_pool2d(official, (3, 3)).sum().backward()
    assert (official.grad != 0).sum() == 2
    with torch.no_grad():  # inference takes amax: the same values
        torch.testing.assert_close(_max_over(x, dim=1), x.max(dim=1).values)
    gate = CBAM(16)
    y = torch.randn(2, 16, 5, 3)
    with torch.no_grad():
        inference = gate(y)
    torch.testing.assert_close(gate(y.requires_grad_(True)).detach(), inference)
