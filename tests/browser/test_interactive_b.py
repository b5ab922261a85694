"""The interactive figures of chapters 4 to 7 in the built book: set a control, read the numbers
the figure shows (``[data-value]``, exact in ``data-number``) and compare them with the library,
computed here in the test process from the shipped networks and the counting functions. The
generic checks (drawn, no console error, no request, every control works from the keyboard) are
in test_interactive.py and cover these figures too."""

from __future__ import annotations

import math

import pytest

from .test_interactive import _figure, _number, _page_of, _set_range

torch = pytest.importorskip("torch")

@pytest.fixture(scope="module")
def captured():
    """What the shipped networks compute on the test images: ``{kind: (capture, predictions)}``."""
    from attn_lessons import checkpoints
    from attn_lessons.small_cnn import capture

    x, y = checkpoints.test_set().tensors
    out = {}
    for kind in ("cbam", "coordatt", "self_attention"):
        model = checkpoints.load_checkpoint(kind)
        with torch.no_grad():
            predictions = model(x).argmax(dim=1)
        out[kind] = (capture(model, x[:8]), predictions, int((predictions == y).sum()) / len(y))
    return out


def _image_index(figure, option: int) -> int:
    """The test-set index of the image offered as ``option`` (the figure's data say it)."""
    import json

    data = json.loads(figure.locator("script.attn-data").text_content())
    return data["images"][option]["index"]


def _hover(figure, row: int, col: int) -> None:
    figure.locator(f'rect.attn-cell[data-row="{row}"][data-col="{col}"]').hover()


@pytest.mark.parametrize(("option", "block"), [(0, 1), (3, 1), (3, 2)])
def test_cbam_gate_under_the_pointer_is_the_networks(open_page, captured, option, block):
    cap, predictions, accuracy = captured["cbam"]
    tab = open_page(_page_of("ch4_cbam"))
    figure = _figure(tab, "cbam-spatial-gate")
    figure.locator('select[data-key="image"]').select_option(str(option))
    figure.locator('select[data-key="block"]').select_option(str(block))
    index = _image_index(figure, option)
    assert index == option  # the first five offered images are the first five test images
    gate = cap[f"block{block}.spatial.gate"][index, 0]  # (1, h, w) -> (h, w)
    n = gate.shape[0]
    for row, col in [(0, 0), (n - 1, n // 2), (n // 2, n - 1)]:
        _hover(figure, row, col)
        assert _number(figure, "cell") == row * n + col
        assert math.isclose(_number(figure, "gate-value"), float(gate[row, col]), abs_tol=1e-6)
    assert _number(figure, "accuracy") == accuracy
    assert _number(figure, "prediction") == int(predictions[index])


def test_cbam_gate_cells_move_with_the_arrow_keys(open_page, captured):
    cap = captured["cbam"][0]
    tab = open_page(_page_of("ch4_cbam"))
    figure = _figure(tab, "cbam-spatial-gate")
    first = figure.locator('rect.attn-cell[tabindex="0"]')
    assert first.count() == 1
    first.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowDown"):
        tab.page.keyboard.press(key)
    assert _number(figure, "cell") == 1 * 8 + 2
    assert math.isclose(_number(figure, "gate-value"),
                        float(cap["block1.spatial.gate"][0, 0, 1, 2]), abs_tol=1e-6)
    focused = tab.page.evaluate("() => [document.activeElement.getAttribute('data-row'), "
                                "document.activeElement.getAttribute('data-col')]")
    assert focused == ["1", "2"]


@pytest.mark.parametrize(("option", "block", "channel"), [(1, 1, 3), (4, 2, 17), (0, 1, -1)])
def test_coordatt_gates_and_their_product(open_page, captured, option, block, channel):
    cap, _, accuracy = captured["coordatt"]
    tab = open_page(_page_of("ch5_coordatt"))
    figure = _figure(tab, "coordatt-gates")
    figure.locator('select[data-key="image"]').select_option(str(option))
    figure.locator('select[data-key="block"]').select_option(str(block))
    _set_range(figure.locator('input[data-key="channel"]'), channel)
    index = _image_index(figure, option)
    g_h = cap[f"block{block}.gate_h"][index, :, :, 0].double()  # (C, H, 1) -> (C, H)
    g_w = cap[f"block{block}.gate_w"][index, :, 0, :].double()  # (C, 1, W) -> (C, W)
    n = g_h.shape[1]
    row, col = n - 1, 1
    _hover(figure, row, col)
    if channel >= 0:
        h, w = float(g_h[channel, row]), float(g_w[channel, col])
        product = h * w
    else:
        h, w = float(g_h[:, row].mean()), float(g_w[:, col].mean())
        product = float((g_h[:, row] * g_w[:, col]).mean())
    assert math.isclose(_number(figure, "g-h"), h, abs_tol=1e-5)
    assert math.isclose(_number(figure, "g-w"), w, abs_tol=1e-5)
    assert math.isclose(_number(figure, "product"), product, abs_tol=2e-5)
    assert _number(figure, "accuracy") == accuracy
    # the target ratio readout is the ratio of the map shown: the picked channel's, or the mean's
    import json

    held = json.loads(figure.locator("script.attn-data").text_content())
    held = held["images"][option]["blocks"][str(block)]
    ratio = held["target_ratio"] if channel < 0 else held["target_ratio_channels"][channel]
    assert math.isclose(_number(figure, "target-ratio"), ratio, abs_tol=5e-3)


@pytest.mark.parametrize(("chapter", "name"), [("ch4_cbam", "cbam-spatial-gate"),
                                            ("ch5_coordatt", "coordatt-gates")])
def test_the_target_is_outlined_on_the_input_and_on_the_map(open_page, chapter, name):
    """Figures 4.2 and 5.2: one white outline over the input picture, one over the gate map, the
    same shape (the target's pixels), the first left of the second."""
    figure = _figure(open_page(_page_of(chapter)), name)
    outlines = figure.locator(".attn-stage path.attn-target")
    assert outlines.count() == 2, f"{name}: {outlines.count()} target outlines, expected 2"
    boxes = [outlines.nth(k).bounding_box() for k in range(2)]
    assert boxes[0]["x"] < boxes[1]["x"]
    assert math.isclose(boxes[0]["width"], boxes[1]["width"], rel_tol=0.05)
    assert math.isclose(boxes[0]["height"], boxes[1]["height"], rel_tol=0.05)


@pytest.mark.parametrize(("option", "block", "moves"), [
    (0, 1, ["ArrowRight"] * 5),
    (0, 1, ["ArrowDown"] * 5),
    (2, 2, ["ArrowDown", "ArrowRight", "ArrowRight"]),
])
def test_self_attention_row_of_the_query(open_page, captured, option, block, moves):
    from attn_lessons import checkpoints
    from attn_lessons.interactive.self_attention import DECIMALS

    cap, _, accuracy = captured["self_attention"]
    tab = open_page(_page_of("ch6_self_attention"))
    figure = _figure(tab, "self-attention-row")
    figure.locator('select[data-key="image"]').select_option(str(option))
    figure.locator('select[data-key="block"]').select_option(str(block))
    figure.locator('rect.attn-cell[tabindex="0"]').focus()
    for key in moves:
        tab.page.keyboard.press(key)
    index = _image_index(figure, option)
    weights = cap[f"block{block}.weights"][index].mean(dim=0).double()  # (HW, HW)
    w = math.isqrt(weights.shape[0])
    qi = sum(m == "ArrowDown" for m in moves)
    qj = sum(m == "ArrowRight" for m in moves)
    assert _number(figure, "query") == qi * w + qj
    row = weights[qi * w + qj]
    assert math.isclose(float(row.sum()), 1.0, abs_tol=1e-6)
    # the page holds each weight times HW rounded to DECIMALS: that is the precision to expect
    tol = 0.5 * 10 ** -DECIMALS / w**2 + 1e-9
    assert math.isclose(_number(figure, "row-max"), float(row.max()), abs_tol=tol)
    shown = int(_number(figure, "row-argmax"))
    assert math.isclose(float(row[shown]), float(row.max()), abs_tol=2 * tol)
    # weight on the target's cells (max-pooled target mask), from the noise-free images
    from attn_lessons.data import make_task

    s = checkpoints.SETTINGS
    clean = make_task("clutter", n=s["test_images"], size=s["size"], seed=s["test_seed"],
                      noise=1e-9).tensors[0][index]
    target = (clean[0] > 0.5) & (clean[1] < 0.5) & (clean[2] < 0.5)
    f = 16 // w
    cells = target.reshape(w, f, w, f).any(dim=3).any(dim=1).flatten()
    assert math.isclose(_number(figure, "on-target"), float(row[cells].sum()),
                        abs_tol=int(cells.sum()) * tol)
    assert _number(figure, "accuracy") == accuracy


@pytest.mark.parametrize(("network", "kind", "reduction"), [
    ("resnet50", "se", 16), ("resnet50", "cbam", 4), ("mobilenetv2", "coordatt", 32),
    ("mobilenetv2", "eca", None), ("resnet50", "self_attention", None),
])
def test_attention_cost_totals_are_the_librarys(open_page, network, kind, reduction):
    from attn_lessons.cost import count_flops, count_parameters
    from attn_lessons.mobilenetv2 import MobileNetV2
    from attn_lessons.resnet import ResNet50

    tab = open_page(_page_of("ch7_networks"))
    figure = _figure(tab, "attention-cost")
    figure.locator('select[data-key="network"]').select_option(network)
    figure.locator('select[data-key="module"]').select_option(kind)
    box = figure.locator('select[data-key="reduction"]')
    if reduction is None:
        assert box.is_disabled()
    else:
        box.select_option(str(reduction))
    kwargs = {"reduction": reduction} if reduction else None
    build = ResNet50 if network == "resnet50" else MobileNetV2
    with torch.device("meta"):
        plain, gated = build("none"), build(kind, attention_kwargs=kwargs)
        x = torch.empty(1, 3, 224, 224)
    params, gated_params = count_parameters(plain), count_parameters(gated)
    macs, gated_macs = count_flops(plain, x).macs, count_flops(gated, x).macs
    assert _number(figure, "network-params") == params
    assert _number(figure, "network-macs") == macs
    assert _number(figure, "added-params") == gated_params - params
    assert _number(figure, "added-macs") == gated_macs - macs
    assert math.isclose(_number(figure, "added-params-percent"),
                        100 * (gated_params - params) / params, rel_tol=1e-12)
    assert math.isclose(_number(figure, "added-macs-percent"),
                        100 * (gated_macs - macs) / macs, rel_tol=1e-12)
    stages = figure.locator('[data-value^="stage-params-"]')
    assert sum(int(float(stages.nth(i).get_attribute("data-number")))
               for i in range(stages.count())) == gated_params - params
