"""Patch tokens: the stride-p convolution against the patches cut by hand, n = HW/p², the class
token, both position schedules, the parameter and cost formulas, gradients, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from attn_lessons.patches import (
    PatchEmbedding,
    patch_attention_macs,
    patch_embedding_num_params,
    sincos_2d_positions,
)


@pytest.mark.parametrize("c,dim,p,h,w", [(3, 8, 4, 16, 12), (1, 5, 2, 6, 6), (2, 4, 3, 9, 3),
                                         (3, 6, 1, 2, 3)])
def test_conv_equals_patches_cut_by_hand(c, dim, p, h, w):
    torch.manual_seed(0)
    emb = PatchEmbedding(c, dim, p, class_token=False, positions="none").double()
    x = torch.randn(2, c, h, w, dtype=torch.float64)
    # cut by hand: (B, C, H, W) -> (B, C, H/p, p, W/p, p) -> (B, H/p, W/p, C, p, p) -> (B, n, C p²)
    patches = x.reshape(2, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
    patches = patches.reshape(2, -1, c * p * p)
    E = emb.proj.weight.reshape(dim, -1).T                    # (d, C, p, p) -> (C p², d)
    expected = patches @ E + emb.proj.bias
    tokens = emb(x)
    assert tokens.shape == (2, h * w // p**2, dim)
    torch.testing.assert_close(tokens, expected)
    # and against F.unfold, an independent cut
    torch.testing.assert_close(tokens, F.unfold(x, p, stride=p).transpose(1, 2) @ E + emb.proj.bias)


def test_class_token_first_and_positions_added():
    torch.manual_seed(0)
    emb = PatchEmbedding(3, 8, 4, image_size=(8, 12), positions="learned")
    assert emb.num_patches == 6
    x = torch.randn(2, 3, 8, 12)
    tokens = emb(x)
    assert tokens.shape == (2, 7, 8)
    torch.testing.assert_close(tokens[:, 0], (emb.cls[0, 0] + emb.pos[0, 0]).expand(2, 8))
    plain = emb.proj(x).flatten(2).transpose(1, 2)
    torch.testing.assert_close(tokens[:, 1:], plain + emb.pos[:, 1:])


def test_sincos_tokens_and_class_position_zero():
    torch.manual_seed(0)
    emb = PatchEmbedding(1, 8, 2, positions="sincos")
    x = torch.randn(1, 1, 6, 4)
    tokens = emb(x)
    pos = sincos_2d_positions(3, 2, 8)
    torch.testing.assert_close(tokens[:, 0], emb.cls[:, 0])
    torch.testing.assert_close(tokens[:, 1:], emb.proj(x).flatten(2).transpose(1, 2) + pos)


def test_sincos_geometric_schedule_and_offset_only():
    pe = sincos_2d_positions(5, 7, 16).double()
    assert pe.shape == (35, 16)
    omega = 10000.0 ** (-torch.arange(4, dtype=torch.float64) / 4)
    r, c = 3, 5
    expected = torch.cat([(omega * r).sin(), (omega * r).cos(),
                          (omega * c).sin(), (omega * c).cos()])
    torch.testing.assert_close(pe[r * 7 + c], expected, atol=1e-6, rtol=0)
    gram = pe @ pe.T
    rows, cols = torch.arange(35) // 7, torch.arange(35) % 7
    dr, dc = rows[:, None] - rows[None], cols[:, None] - cols[None]
    formula = sum(torch.cos(w * dr) + torch.cos(w * dc) for w in omega)
    torch.testing.assert_close(gram, formula, atol=1e-5, rtol=0)
    assert torch.allclose(gram.diagonal(), torch.full((35,), 8.0, dtype=torch.float64), atol=1e-5)


def test_moving_whole_patches_permutes_tokens_only_without_positions():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 4, 4)
    swapped = torch.cat([x[..., 2:], x[..., :2]], dim=-1)  # the two columns of 2 x 2 patches swap
    order = torch.tensor([1, 0, 3, 2])                      # the same swap on the row-major grid
    plain = PatchEmbedding(2, 4, 2, class_token=False, positions="none")
    torch.testing.assert_close(plain(swapped), plain(x)[:, order])
    learned = PatchEmbedding(2, 4, 2, image_size=4, class_token=False, positions="learned")
    with torch.no_grad():
        learned.proj.load_state_dict(plain.proj.state_dict())
    assert not torch.allclose(learned(swapped), learned(x)[:, order])


@pytest.mark.parametrize("class_token", [True, False])
@pytest.mark.parametrize("positions", ["learned", "sincos", "none"])
@pytest.mark.parametrize("c,dim,p,size", [(3, 8, 4, 16), (1, 12, 2, 6)])
def test_num_params_formula(c, dim, p, size, class_token, positions):
    emb = PatchEmbedding(c, dim, p, image_size=size, class_token=class_token, positions=positions)
    n = (size // p) ** 2
    assert sum(t.numel() for t in emb.parameters()) == patch_embedding_num_params(
        c, dim, p, n, class_token, positions)


def test_vit_base_numbers():
    # ViT-B/16 on 224 x 224: 196 patches, a 16 x 16 x 3 -> 768 convolution
    assert patch_embedding_num_params(3, 768, 16, 196) == 3 * 256 * 768 + 768 + 768 + 197 * 768
    macs = patch_attention_macs(224, 224, 16, 768)
    assert macs["patchify"] == 224 * 224 * 3 * 768
    assert macs["scores_and_average"] == 2 * 196**2 * 768
    # the quadratic part falls like 1/p^4, the patch embedding does not depend on p
    m8, m32 = patch_attention_macs(224, 224, 8, 768), patch_attention_macs(224, 224, 32, 768)
    assert m8["scores_and_average"] == 4**4 * m32["scores_and_average"]
    assert m8["patchify"] == m32["patchify"]


def test_every_parameter_gets_a_gradient_and_gradcheck():
    torch.manual_seed(0)
    emb = PatchEmbedding(2, 4, 2, image_size=4).double()
    emb(torch.randn(2, 2, 4, 4, dtype=torch.float64)).square().sum().backward()
    for name, t in emb.named_parameters():
        assert t.grad is not None and t.grad.abs().sum() > 0 and t.grad.isfinite().all(), name
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(emb, (x,))


def test_bad_input():
    with pytest.raises(ValueError, match="multiples of patch_size=4"):
        PatchEmbedding(3, 8, 4, positions="none")(torch.randn(1, 3, 10, 8))
    with pytest.raises(ValueError, match="needs image_size"):
        PatchEmbedding(3, 8, 4)
    with pytest.raises(ValueError, match="learned positions for 8 x 8"):
        PatchEmbedding(3, 8, 4, image_size=8)(torch.randn(1, 3, 12, 12))
    with pytest.raises(ValueError, match="multiple of 4"):
        PatchEmbedding(3, 6, 2, positions="sincos")
    with pytest.raises(ValueError, match="positions must be one of"):
        PatchEmbedding(3, 8, 2, positions="2d")
    with pytest.raises(ValueError, match="multiples of patch_size=4"):
        PatchEmbedding(3, 8, 4, image_size=(8, 10))
    with pytest.raises(ValueError, match="dim must be a multiple of 4"):
        sincos_2d_positions(2, 2, 6)
    with pytest.raises(ValueError, match="needs num_patches"):
        patch_embedding_num_params(3, 8, 4)
    with pytest.raises(ValueError, match="multiples of patch_size=16"):
        patch_attention_macs(224, 200, 16, 8)
    with pytest.raises(ValueError):
        PatchEmbedding(3, 8, 0, positions="none")
