"""Grad-CAM, LayerCAM and the target-over-elsewhere score (attn_lessons.heatmaps), and the
shuffled-label control networks of chapter 8 (attn_lessons.checkpoints.controls)."""

import io

import pytest
import torch
from torch import nn

from attn_lessons import checkpoints
from attn_lessons.checkpoints import controls
from attn_lessons.heatmaps import (
    MapScore,
    grad_cam,
    layer_cam,
    score_maps,
    target_cells,
    target_over_elsewhere,
)
from attn_lessons.interactive._trained import ratio_on_target
from attn_lessons.small_cnn import SmallCNN, capture
from attn_lessons.train import evaluate
from attn_lessons.visualize import attention_heatmap, spatial_maps

# A hand-computed case: the layer is the input itself (A = x, 2 channels of 2 x 2) and the
# class score is linear in it, y^c = sum_kij W[c, k, i, j] A[k, i, j], so dy^c/dA = W[c].
A = torch.tensor([[[1.0, 2.0], [3.0, -1.0]], [[0.5, -2.0], [1.0, 1.0]]])
W0 = torch.tensor([[[1.0, -1.0], [0.5, 2.0]], [[-3.0, 1.0], [2.0, 0.0]]])
# LayerCAM: ReLU(W0) = [[1, 0], [.5, 2]], [[0, 1], [2, 0]]; times A: [[1, 0], [1.5, -2]] and
# [[0, -2], [2, 0]]; summed over channels [[1, -2], [3.5, -2]]; ReLU:
LAYER_CAM_BY_HAND = torch.tensor([[1.0, 0.0], [3.5, 0.0]])
# Grad-CAM: alpha_0 = (1 - 1 + .5 + 2) / 4 = .625, alpha_1 = (-3 + 1 + 2 + 0) / 4 = 0;
# ReLU(.625 A_0):
GRAD_CAM_BY_HAND = torch.tensor([[0.625, 1.25], [1.875, 0.0]])


def linear_model():
    model = nn.Sequential(nn.Identity(), nn.Flatten(), nn.Linear(8, 2))
    with torch.no_grad():
        model[2].weight.copy_(torch.stack([W0.flatten(), -W0.flatten()]))
        model[2].bias.fill_(0.3)
    return model


def test_layer_cam_matches_its_formula_by_hand():
    model = linear_model()
    torch.testing.assert_close(layer_cam(model, model[0], A[None], 0)[0], LAYER_CAM_BY_HAND)


def test_grad_cam_matches_its_formula_by_hand():
    model = linear_model()
    torch.testing.assert_close(grad_cam(model, model[0], A[None], 0)[0], GRAD_CAM_BY_HAND)


def test_class_one_uses_the_other_row_of_weights():
    # dy^1/dA = -W0: LayerCAM keeps the positive part of -W0
    model = linear_model()
    expected = ((-W0).clamp(min=0) * A).sum(0).clamp(min=0)
    torch.testing.assert_close(layer_cam(model, model[0], A[None], 1)[0], expected)


def tiny_cnn(kind="none", seed=0):
    torch.manual_seed(seed)
    return SmallCNN(3, 4, widths=(4, 6, 8), attention=kind, attention_blocks=(1, 2),
                    **({"reduction": 2} if kind in ("se", "cbam") else {})).double()


def by_formula(model, layer, x, target, kind):
    """Grad-CAM or LayerCAM written out with a hook and torch.autograd.grad."""
    kept = {}
    handle = layer.register_forward_hook(lambda m, i, o: kept.setdefault("A", o))
    model.eval()
    logits = model(x)
    handle.remove()
    act = kept["A"]
    (grad,) = torch.autograd.grad(logits[torch.arange(len(x)), target].sum(), act)
    if kind == "grad_cam":
        alpha = grad.mean(dim=(2, 3), keepdim=True)  # (B, K, h, w) -> (B, K, 1, 1)
        return (alpha * act).sum(1).clamp(min=0).detach()
    return (grad.clamp(min=0) * act).sum(1).clamp(min=0).detach()


@pytest.mark.parametrize("kind", ["none", "cbam", "coordatt"])
@pytest.mark.parametrize("block", [1, 2])
def test_grad_cam_from_captum_agrees_with_the_formula_on_a_small_cnn(kind, block):
    model = tiny_cnn(kind)
    x = torch.randn(5, 3, 16, 16, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 3, 1])
    layer = model.blocks[block].attention
    got = grad_cam(model, layer, x, target)
    torch.testing.assert_close(got, by_formula(model, layer, x, target, "grad_cam"))
    assert got.shape == (5, 8 // block, 8 // block)
    assert got.abs().sum() > 0  # not a trivially zero map


@pytest.mark.parametrize("kind", ["none", "cbam", "coordatt"])
def test_layer_cam_agrees_with_the_formula_on_a_small_cnn(kind):
    model = tiny_cnn(kind)
    x = torch.randn(5, 3, 16, 16, dtype=torch.float64)
    target = torch.tensor([3, 1, 2, 0, 0])
    layer = model.blocks[1].attention
    got = layer_cam(model, layer, x, target)
    torch.testing.assert_close(got, by_formula(model, layer, x, target, "layer_cam"))
    assert got.abs().sum() > 0


def test_each_image_gets_its_own_map_and_the_mode_is_restored():
    model = tiny_cnn("cbam")
    model.train()
    x = torch.randn(4, 3, 16, 16, dtype=torch.float64)
    layer = model.blocks[2].attention
    batch = layer_cam(model, layer, x, 2)
    single = torch.cat([layer_cam(model, layer, x[i:i + 1], 2) for i in range(4)])
    torch.testing.assert_close(batch, single)
    assert model.training  # restored after the eval-mode pass
    assert not any(p.grad is not None for p in model.parameters())  # no gradient left behind


def test_layer_cam_and_grad_cam_agree_when_the_gradient_is_constant_and_positive():
    # A global average pool and a linear head right after the layer: dy/dA_ij = W_k / hw at every
    # position, so Grad-CAM's alpha_k = W_k / hw, and for W > 0 both maps are ReLU(sum_k alpha_k A).
    model = nn.Sequential(nn.Identity(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    with torch.no_grad():
        model[3].weight.copy_(torch.tensor([[0.5, 1.0, 2.0], [-1.0, 0.0, 1.0]]))
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(layer_cam(model, model[0], x, 0), grad_cam(model, model[0], x, 0))


@pytest.mark.parametrize("make", [layer_cam, grad_cam])
def test_bad_input_is_refused_with_the_value(make):
    model = tiny_cnn()
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    with pytest.raises(ValueError, match="outside 0..3"):
        make(model, model.blocks[1].attention, x, 4)
    with pytest.raises(ValueError, match="class index -1"):
        make(model, model.blocks[1].attention, x, torch.tensor([0, -1]))
    with pytest.raises(TypeError, match="dtype torch.float32"):
        make(model, model.blocks[1].attention, x, torch.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="got bool"):
        make(model, model.blocks[1].attention, x, True)
    with pytest.raises(ValueError, match="3 class indices for 2 images"):
        make(model, model.blocks[1].attention, x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="not a submodule"):
        make(model, nn.Identity(), x, 0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        make("net", model.blocks[1].attention, x, 0)
    with pytest.raises(ValueError, match="4-D"):
        make(model, model.blocks[1].attention, x[0], 0)
    with pytest.raises(ValueError, match="feature map"):
        make(model, model.head, x, 0)  # the head outputs (B, classes), not a map


# ------------------------------------------------------------------------------------------------
# The score
# ------------------------------------------------------------------------------------------------


def test_target_cells_are_max_pooled():
    mask = torch.zeros(1, 4, 4, dtype=torch.bool)
    mask[0, 0, 1] = True  # one pixel in the top-left 2 x 2 cell
    mask[0, 3, 3] = True  # one in the bottom-right cell
    assert target_cells(mask, (2, 2))[0].tolist() == [[True, False], [False, True]]
    with pytest.raises(ValueError, match="divide evenly"):
        target_cells(mask, (3, 3))


def test_score_by_hand():
    # two images, 2 x 2 maps, target in the top-left cell of each
    maps = torch.tensor([[[4.0, 1.0], [1.0, 2.0]], [[2.0, 0.0], [1.0, 1.0]]])
    masks = torch.zeros(2, 2, 2, dtype=torch.bool)
    masks[:, 0, 0] = True
    # divided by their maxima: [[1, .25], [.25, .5]] and [[1, 0], [.5, .5]]
    on = (1 + 1) / 2
    off = (0.25 + 0.25 + 0.5 + 0 + 0.5 + 0.5) / 6
    assert target_over_elsewhere(maps, masks) == pytest.approx(on / off)
    assert target_over_elsewhere(7 * maps, masks) == pytest.approx(on / off)  # scale-free
    flat = torch.ones(2, 2, 2)
    assert target_over_elsewhere(flat, masks) == pytest.approx(1.0)  # no preference


def test_one_image_is_the_ratio_chapters_4_and_5_show():
    torch.manual_seed(0)
    gate = torch.rand(8, 8)
    mask = torch.zeros(16, 16, dtype=torch.bool)
    mask[4:9, 6:10] = True
    cells = target_cells(mask[None], (8, 8))[0]
    assert ratio_on_target(gate, mask) == pytest.approx(
        float(gate[cells].mean() / gate[~cells].mean()))


def test_empty_maps_are_left_out_and_counted():
    maps = torch.tensor([[[4.0, 1.0], [1.0, 2.0]], [[0.0, 0.0], [0.0, 0.0]]])
    masks = torch.zeros(2, 2, 2, dtype=torch.bool)
    masks[:, 0, 0] = True
    result = score_maps(maps, masks, resamples=200)
    assert (result.images, result.empty) == (1, 1)
    assert result.score == pytest.approx(target_over_elsewhere(maps[:1], masks[:1]))
    with pytest.raises(ValueError, match="all 1 maps are zero"):
        target_over_elsewhere(maps[1:], masks[1:])


def test_bootstrap_interval_holds_the_score_is_seeded_and_narrows_with_more_images():
    torch.manual_seed(0)
    masks = torch.zeros(400, 16, 16, dtype=torch.bool)
    masks[:, 4:8, 4:8] = True
    maps = torch.rand(400, 8, 8)
    maps[:, 2:4, 2:4] += 0.5  # the target's cells are higher on average
    few, many = score_maps(maps[:40], masks[:40]), score_maps(maps, masks)
    assert isinstance(many, MapScore)
    assert many.low < many.score < many.high and many.low > 1
    assert many.high - many.low < few.high - few.low
    assert score_maps(maps, masks, seed=3) == score_maps(maps, masks, seed=3)
    assert "400 images, 0 empty" in str(many)


def test_a_map_that_prefers_nothing_gets_an_interval_around_one_about_95_in_100_times():
    masks = torch.zeros(200, 16, 16, dtype=torch.bool)
    masks[:, 2:6, 8:12] = True
    generator = torch.Generator().manual_seed(1)
    hits = 0
    for _ in range(40):
        result = score_maps(torch.rand(200, 4, 4, generator=generator), masks, resamples=500)
        hits += result.low < 1 < result.high
    assert 32 <= hits <= 40  # 95 % coverage: 38 expected, 32 is 3 SD below


def test_score_bad_input():
    maps, masks = torch.rand(2, 4, 4), torch.zeros(2, 8, 8, dtype=torch.bool)
    masks[:, 0, 0] = True
    with pytest.raises(TypeError, match="bool tensor"):
        score_maps(maps, masks.float())
    with pytest.raises(ValueError, match="2 maps and 1 masks"):
        score_maps(maps, masks[:1])
    with pytest.raises(ValueError, match="minimum of -1"):
        score_maps(maps - 1 - maps, masks)
    with pytest.raises(ValueError, match="NaN"):
        score_maps(maps * float("nan"), masks)
    with pytest.raises(ValueError, match="mask 0 covers no cell"):
        score_maps(maps, torch.zeros(2, 8, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="level"):
        score_maps(maps, masks, level=1.0)
    with pytest.raises(ValueError, match="resamples"):
        score_maps(maps, masks, resamples=10)
    with pytest.raises(ValueError, match="3-D"):
        score_maps(maps, masks[0])


# ------------------------------------------------------------------------------------------------
# The gate maps, shared with chapter 7's figures
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cbam", "coordatt", "self_attention"])
def test_spatial_maps_are_the_modules_own_maps(kind):
    torch.manual_seed(0)
    options = {"reduction": 2} if kind == "cbam" else {}
    model = SmallCNN(3, 4, widths=(4, 8, 8), attention=kind, attention_blocks=(1,), **options)
    x = torch.randn(3, 3, 16, 16)
    cap = capture(model, x)
    maps = spatial_maps(kind, cap, 1)
    assert maps.shape == (3, 8, 8)  # block 2 works at 16 / 2
    if kind == "cbam":
        torch.testing.assert_close(maps, cap["block1.spatial.gate"][:, 0])
    elif kind == "coordatt":
        a_h, a_w = cap["block1.gate_h"][1], cap["block1.gate_w"][1]  # (C, h, 1), (C, 1, w)
        torch.testing.assert_close(maps[1, 2, 3], (a_h[:, 2, 0] * a_w[:, 0, 3]).mean())
    # the figure helper draws the same map, resized and scaled to [0, 1]
    heat = attention_heatmap(kind, cap, 1, 0, (8, 8))
    span = maps[0].max() - maps[0].min()
    torch.testing.assert_close(heat, (maps[0] - maps[0].min()) / span)


def test_spatial_maps_bad_input():
    net = SmallCNN(3, 4, widths=(4, 8, 8), attention="se", reduction=2)
    cap = capture(net, torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="'se' has no spatial map"):
        spatial_maps("se", cap, 1)
    with pytest.raises(ValueError, match="'block5.pre'"):
        spatial_maps("cbam", cap, 5)


# ------------------------------------------------------------------------------------------------
# The shuffled-label controls
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", controls.KINDS)
def test_each_control_is_recorded_and_at_chance(kind):
    data = controls.shuffled_path(kind).read_bytes()
    entry = controls.manifest()["files"][kind]
    assert checkpoints.sha256(data) == entry["sha256"] and len(data) == entry["bytes"] < 100_000
    model = controls.load_shuffled(kind)
    accuracy = evaluate(model, checkpoints.test_set(), device="cpu")["accuracy"]
    assert accuracy < 0.35  # four classes: chance is 0.25
    assert abs(accuracy - entry["test_accuracy"]) <= 0.002
    assert entry["train_accuracy"] > 0.4  # it fitted its shuffled labels: it did train
    state = torch.load(io.BytesIO(data), weights_only=True)
    assert state.keys() == checkpoints.build_network(kind).state_dict().keys()


def test_controls_share_the_shipped_settings_and_shuffle_only_the_labels():
    manifest = controls.manifest()
    assert manifest["settings"]["epochs"] == checkpoints.SETTINGS["epochs"]
    assert manifest["kinds"] == list(controls.KINDS)
    x, y = controls.shuffled_train_set()
    x0, y0 = checkpoints.train_set().tensors[:2]
    assert torch.equal(x, x0) and not torch.equal(y, y0)
    assert torch.equal(torch.bincount(y), torch.bincount(y0))  # the same class counts


def test_a_tampered_control_and_an_unknown_kind_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="expected one of"):
        controls.load_shuffled("se")
    fake = tmp_path / "shuffled_cbam.pt"
    fake.write_bytes(controls.shuffled_path("cbam").read_bytes() + b"\0")
    monkeypatch.setattr(controls, "shuffled_path", lambda kind: fake)
    with pytest.raises(ValueError, match="SHA-256"):
        controls.load_shuffled("cbam")
