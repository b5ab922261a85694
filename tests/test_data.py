"""The generated tasks: deterministic from the seed, balanced, and built as their docstrings say."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.data import (
    CH7_TASKS,
    TASKS,
    _shape_bank,
    axis_task,
    channel_task,
    clutter_task,
    glyph_bank,
    make_task,
    relation_task,
    scale_task,
    task_info,
)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_shapes_dtypes_balance_and_determinism(name):
    info = task_info(name)
    a = make_task(name, 40, 16, seed=3)
    b = make_task(name, 40, 16, seed=3)
    c = make_task(name, 40, 16, seed=4)
    x, y = a.tensors
    assert x.shape == (40, info.in_channels, 16, 16) and x.dtype == torch.float32
    assert y.dtype == torch.int64
    assert torch.bincount(y, minlength=info.num_classes).tolist() == [40 // info.num_classes] * (
        info.num_classes
    )
    torch.testing.assert_close(x, b.tensors[0], rtol=0, atol=0)
    assert torch.equal(y, b.tensors[1])
    assert not torch.equal(x, c.tensors[0])
    assert set(info.favours) <= {"se", "eca", "cbam", "coordatt", "self_attention", "sk"}


def test_chapter_sevens_tasks_are_unchanged_and_scale_is_the_guides():
    assert CH7_TASKS == ("channel", "clutter", "axis", "relation")
    assert set(TASKS) == {*CH7_TASKS, "scale"}
    assert task_info("scale").favours == ("sk",)


def test_scale_task_label_is_the_shape_at_its_drawn_scale():
    bank = _shape_bank()
    x, y = scale_task(90, 16, seed=6, noise=1e-6).tensors
    sizes = set()
    for k in range(90):
        on = x[k, 0] > 0.5  # (S, S): the glyph's pixels
        rows, cols = torch.nonzero(on, as_tuple=True)
        side = max(int(rows.max() - rows.min()), int(cols.max() - cols.min())) + 1
        assert side in (5, 10, 15)  # the glyph's 5x5 bounding box, times 1, 2 or 3
        s = side // 5
        i, j = int(rows.min()), int(cols.min())
        # every shape touches all four sides of its 5x5 box, so the box is the pixels' span
        window = on[i : i + side, j : j + side].float()  # (5s, 5s)
        assert torch.equal(window, torch.kron(bank[int(y[k])], torch.ones(s, s)))
        assert int(on.sum()) == int(bank[int(y[k])].sum()) * s * s  # nothing else is drawn
        sizes.add(s)
    assert sizes == {1, 2, 3}


def test_scale_task_draws_the_scale_independently_of_the_label():
    x, y = scale_task(1200, 16, seed=0, noise=1e-6).tensors
    side = (x[:, 0] > 0.5).any(dim=1).float().sum(dim=1)  # (N,): columns the glyph spans
    scale = torch.div(side.long(), 5, rounding_mode="floor")  # 5, 10, 15 pixels -> 1, 2, 3
    for label in range(4):
        counts = torch.bincount(scale[y == label], minlength=4)[1:]  # 300 images per label
        assert counts.min() > 70 and counts.max() < 130  # about 100 each: independent of label


def test_scale_task_single_scale_and_its_bounds():
    x, _ = scale_task(20, 12, seed=1, scales=(2,), noise=1e-6).tensors
    spans = (x[:, 0] > 0.5).any(dim=1).float().sum(dim=1)
    assert bool((spans == 10).all())  # every shape spans its full 10-pixel box at scale 2


def test_channel_task_label_is_the_orientation_of_the_brightest_channel():
    x, y = channel_task(64, 20, seed=0, noise=1e-6).tensors
    means = x.mean(dim=(2, 3))  # (N, C): brightness (stripes average close to 0)
    brightest = means.argmax(dim=1)
    for k in range(64):
        channel = x[k, brightest[k]]
        row_spread = channel.mean(dim=1).std()  # horizontal stripes vary from row to row
        col_spread = channel.mean(dim=0).std()
        assert int(y[k]) == (0 if row_spread > col_spread else 1)
    gap = means.topk(2, dim=1).values
    assert bool(((gap[:, 0] - gap[:, 1]) > 0.45).all())  # brightness_gap=0.5 by default


def test_clutter_target_is_the_only_pure_red_shape():
    bank = _shape_bank()
    x, y = clutter_task(32, 16, seed=1, noise=1e-6).tensors
    for k in range(32):
        red_only = (x[k, 0] > 0.5) & (x[k, 1] < 0.5) & (x[k, 2] < 0.5)  # (S, S)
        rows, cols = torch.nonzero(red_only, as_tuple=True)
        glyph = red_only[rows.min() : rows.min() + 5, cols.min() : cols.min() + 5].float()
        # the target is drawn last, so it is whole: the red-only pixels are exactly its shape
        assert torch.equal(glyph, bank[int(y[k])][: glyph.shape[0], : glyph.shape[1]])


def test_axis_task_rows_agree_exactly_when_label_is_1():
    x, y = axis_task(60, 18, seed=2, noise=1e-6).tensors
    third = 18 // 3
    for k in range(60):
        left = torch.nonzero(x[k, 0, :, :third] > 0.5)[:, 0]
        right = torch.nonzero(x[k, 0, :, -third:] > 0.5)[:, 0]
        assert len(left) == len(right) == 4
        if y[k] == 1:
            assert int(left.min()) == int(right.min())
        else:
            assert abs(int(left.min()) - int(right.min())) >= 3


def test_relation_task_label_is_glyph_equality():
    bank = glyph_bank()
    assert bank.shape == (4, 4, 4)
    assert len({tuple(g.flatten().tolist()) for g in bank}) == 4
    torch.testing.assert_close(glyph_bank(), bank)  # independent of any data seed
    torch.testing.assert_close(glyph_bank(2), bank[:2])  # a smaller bank is a prefix
    x, y = relation_task(40, 16, seed=5, noise=1e-6).tensors
    on = (x[:, 0] > 0.5).float()  # (N, S, S), the glyph pixels
    windows = on.unfold(1, 4, 1).unfold(2, 4, 1)  # (N, S-3, S-3, 4, 4): every 4x4 window
    for k in range(40):
        found = []
        for half in (windows[k, :, :6], windows[k, :, 8:]):  # windows inside the left/right half
            hits = {g for g in range(4) if (half == bank[g]).flatten(2).all(-1).any()}
            assert len(hits) == 1  # exactly one glyph of the bank appears in each half
            assert hits <= {0, 1}  # the default task uses the first two glyphs only
            found.append(hits.pop())
        assert (found[0] == found[1]) == bool(y[k] == 1)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: make_task("colour", 10), ValueError, "task must be one of"),
        (lambda: channel_task(0), ValueError, "n must be a positive integer, got 0"),
        (lambda: channel_task(10, 16, -1), ValueError, "seed must be an integer >= 0"),
        (lambda: channel_task(10, 16, channels=1), ValueError, "channels must be an integer >= 2"),
        (lambda: clutter_task(10, 4), ValueError, "size must be at least 5"),
        (lambda: axis_task(10, 16, noise=0.0), ValueError, "noise must be a positive finite"),
        (lambda: relation_task(10, 12.5), TypeError, "size must be an integer"),
        (lambda: axis_task(10, 9, square=4), ValueError, "too small for square=4"),
        (lambda: scale_task(10, 14), ValueError, r"size=14 is too small for scales=\(1, 2, 3\)"),
        (lambda: scale_task(10, 16, scales=()), ValueError, "scales must be a non-empty tuple"),
        (lambda: scale_task(10, 16, scales=(1, 1)), ValueError, r"distinct, got \(1, 1\)"),
        (lambda: scale_task(10, 16, scales=(0, 2)), ValueError, "scales must be a positive int"),
        (lambda: scale_task(10, 16, scales=(1.5,)), TypeError, "scales must be an integer"),
        (lambda: scale_task(10, 16, noise=-0.1), ValueError, "noise must be a positive finite"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_channel_task_defaults_keep_the_label_in_the_channel_means():
    # At the default noise the brightest channel *by its global mean* is still the informative
    # one, and its stripes still show the label: the route an SE or ECA gate can take exists.
    x, y = channel_task(200, 16, seed=0).tensors
    brightest = x.mean(dim=(2, 3)).argmax(dim=1)  # (N, C, S, S) -> (N, C) -> (N,)
    channel = x[torch.arange(200), brightest]  # (N, S, S)
    row_spread = channel.mean(dim=2).std(dim=1)  # horizontal stripes: row means vary
    col_spread = channel.mean(dim=1).std(dim=1)
    assert torch.equal((row_spread < col_spread).long(), y)
    # ... while a 3x3 patch mean, what a first convolution sees, ranks them wrongly now and then
    patch_means = x[:, :, :3, :3].mean(dim=(2, 3))  # (N, C)
    assert float((patch_means.argmax(dim=1) != brightest).float().mean()) > 0.05


def test_relation_task_default_glyphs_differ_clearly():
    bank = glyph_bank(2)
    assert int((bank[0] != bank[1]).sum()) >= 4  # many pixels apart, far above the noise of 0.1
