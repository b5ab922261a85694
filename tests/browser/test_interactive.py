"""The interactive figures in the built book, as a reader with a keyboard meets them.

Generic tests loop over every ``figure.attn-interactive`` of the chapter pages: the script drew
the figure (the static picture is hidden), no console error, no request leaves the machine, and
each control moved from the keyboard changes the drawing. Per-figure tests set a control and
compare the numbers shown (``[data-value]`` elements, exact in ``data-number``) with the library,
computed here in the test process. (Chapters 4 to 7 have theirs in test_interactive_b.py.)
"""

from __future__ import annotations

import math

import pytest

from .conftest import html_dir

CHAPTERS = ["ch1_similarity", "ch2_se", "ch3_eca", "ch4_cbam", "ch5_coordatt",
            "ch6_self_attention", "ch7_networks"]


def _figure_pages() -> list[str]:
    """Chapter pages of the built book that hold an interactive figure."""
    root = html_dir() / "book"
    if not root.is_dir():
        return []
    return sorted(str(p.relative_to(html_dir())) for p in root.rglob("*.html")
                  if 'class="attn-interactive"' in p.read_text(encoding="utf-8", errors="replace"))


FIGURE_PAGES = _figure_pages()


def test_every_chapter_has_an_interactive_figure_in_the_built_book():
    pages = {p.split("/")[1] for p in FIGURE_PAGES}
    missing = [ch for ch in CHAPTERS if ch not in pages]
    assert not missing, f"chapters whose built pages show no interactive figure: {missing}"


@pytest.mark.parametrize("page", FIGURE_PAGES)
def test_figures_draw_without_errors_or_requests(open_page, page):
    tab = open_page(page)
    figures = tab.page.locator("figure.attn-interactive")
    assert figures.count() > 0
    for i in range(figures.count()):
        figure = figures.nth(i)
        name = figure.get_attribute("data-figure")
        assert figure.get_attribute("data-state") == "live", f"{name} did not start"
        assert "attn-live" in (figure.get_attribute("class") or "")
        assert not figure.locator("img.attn-fallback").is_visible(), f"{name}: picture shown"
        assert figure.locator(".attn-stage").is_visible(), f"{name}: stage hidden"
        assert figure.locator(".attn-stage svg").count() > 0, f"{name} drew no SVG"
        alt = figure.locator("img.attn-fallback").get_attribute("alt") or ""
        assert alt.strip(), f"{name}: the static picture has no alt text"
        assert figure.locator("[data-key]").count() > 0, f"{name} has no control"
    assert not tab.console_errors, tab.console_errors
    assert not tab.foreign_requests, tab.foreign_requests


def _controls(figure):
    return figure.locator(".attn-stage [data-key]")


@pytest.mark.parametrize("page", FIGURE_PAGES)
def test_every_control_moved_by_keyboard_changes_the_drawing(open_page, page):
    tab = open_page(page)
    figures = tab.page.locator("figure.attn-interactive")
    for i in range(figures.count()):
        figure = figures.nth(i)
        name = figure.get_attribute("data-figure")
        stage = figure.locator(".attn-stage")
        controls = _controls(figure)
        assert controls.count() > 0
        for j in range(controls.count()):
            control = controls.nth(j)
            key = control.get_attribute("data-key")
            tag = control.evaluate("el => el.tagName.toLowerCase()")
            control.focus()
            assert control.evaluate("el => el === document.activeElement"), (
                f"{name}: control {key} cannot take the keyboard focus")
            before = stage.inner_html()
            if tag == "input":
                # Home then End: the control's two ends, whatever its starting value.
                control.press("Home")
                at_home = stage.inner_html()
                control.press("End")
                changed = len({before, at_home, stage.inner_html()}) > 1
            elif tag == "select":
                control.press("ArrowDown")
                changed = stage.inner_html() != before
                if not changed:  # the last option was selected: go the other way
                    control.press("ArrowUp")
                    changed = stage.inner_html() != before
            else:
                control.press("ArrowRight")
                changed = stage.inner_html() != before
            assert changed, f"{name}: moving {key} from the keyboard changed nothing drawn"
    assert not tab.console_errors, tab.console_errors


# ---------------------------------------------------------------------------------------------
# Per-figure values against the library
# ---------------------------------------------------------------------------------------------

def _figure(tab, name):
    figure = tab.page.locator(f'figure.attn-interactive[data-figure="{name}"]')
    assert figure.count() == 1, f"no single figure {name} on the page"
    return figure


def _control(figure, key: str):
    """The figure's control for ``key`` (not its label, which carries the same data-key)."""
    return figure.locator(f'.attn-stage [data-key="{key}"]')


def _number(figure, value: str) -> float:
    return float(figure.locator(f'[data-value="{value}"]').get_attribute("data-number"))


def _set_range(control, index: int) -> None:
    """Put a range input at ``index`` (its step is 1) from the keyboard: Home, then arrows."""
    control.focus()
    control.press("Home")
    for _ in range(index - int(control.get_attribute("min") or 0)):
        control.press("ArrowRight")


def _page_of(chapter: str) -> str:
    pages = [p for p in FIGURE_PAGES if p.split("/")[1] == chapter]
    if not pages:
        pytest.fail(f"no built page of {chapter} shows an interactive figure", pytrace=False)
    return pages[0]


@pytest.mark.parametrize("index", [0, 14, 26, 38, 52])
def test_softmax_figure_shows_the_librarys_weights(open_page, index):
    import torch

    from attn_lessons.interactive.similarity import SCORES, TEMPERATURES
    from attn_lessons.similarity import softmax

    tab = open_page(_page_of("ch1_similarity"))
    figure = _figure(tab, "softmax-temperature")
    _set_range(_control(figure, "temperature"), index)
    t = TEMPERATURES[index]
    assert _number(figure, "temperature") == t
    expected = softmax(torch.tensor(SCORES, dtype=torch.float64), temperature=t).tolist()
    shown = [_number(figure, f"weight-{i}") for i in range(len(SCORES))]
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
               for a, b in zip(shown, expected, strict=True)), (shown, expected)
    heights = [float(h) for h in figure.locator("rect[data-weight]").evaluate_all(
        "els => els.map(e => e.getAttribute('height'))")]
    order = sorted(range(len(SCORES)), key=SCORES.__getitem__)
    assert [heights[i] for i in order] == sorted(heights), "bars out of the scores' order"



@pytest.mark.parametrize("channels, reduction, size", [(256, 16, 56), (16, 2, 7), (2048, 64, 112),
                                                       (64, 32, 14)])
def test_se_figure_shows_the_librarys_counts(open_page, channels, reduction, size):
    from attn_lessons.interactive.se import CHANNELS, REDUCTIONS, SIZES
    from attn_lessons.se import se_macs, se_num_params

    tab = open_page(_page_of("ch2_se"))
    figure = _figure(tab, "se-cost")
    _set_range(_control(figure, "channels"), CHANNELS.index(channels))
    _set_range(_control(figure, "reduction"), REDUCTIONS.index(reduction))
    _control(figure, "size").select_option(str(SIZES.index(size)))
    params = se_num_params(channels, reduction)
    ops = se_macs(channels, size, size, reduction)
    assert _number(figure, "params") == params
    assert _number(figure, "hidden") == channels // reduction
    assert _number(figure, "fc_macs") == ops["fc_macs"]
    touched = ops["pool_adds"] + channels + 2 * ops["scale_muls"]  # read, read again, write
    assert _number(figure, "map_bytes") == 4 * touched == 4 * 3 * channels * size * size
    assert _number(figure, "bytes") == 4 * (touched + params)
    assert not tab.console_errors, tab.console_errors


def test_se_figure_refuses_a_reduction_above_the_channels(open_page):
    from attn_lessons.interactive.se import CHANNELS, REDUCTIONS
    from attn_lessons.se import se_num_params

    with pytest.raises(ValueError, match="larger than channels"):
        se_num_params(16, 32)
    tab = open_page(_page_of("ch2_se"))
    figure = _figure(tab, "se-cost")
    _set_range(_control(figure, "channels"), CHANNELS.index(16))
    _set_range(_control(figure, "reduction"), REDUCTIONS.index(32))
    assert math.isnan(_number(figure, "params"))
    assert figure.locator(".attn-refused").count() == 1


@pytest.mark.parametrize("channels, rule", [(64, "paper"), (5, "at_least_3"), (127, "round_odd"),
                                            (128, "paper"), (2048, "round_odd"), (1023, "paper")])
def test_eca_figure_shows_the_librarys_kernel_sizes(open_page, channels, rule):
    import torch

    from attn_lessons.eca import ECA, eca_kernel_size
    from attn_lessons.interactive.eca import CHOICES, RULES

    tab = open_page(_page_of("ch3_eca"))
    figure = _figure(tab, "eca-kernel-size")
    _set_range(_control(figure, "channels"), CHOICES.index(channels))
    _control(figure, "rule").select_option(rule)
    assert _number(figure, "t") == pytest.approx((math.log2(channels) + 1) / 2, rel=1e-15)
    for r in RULES:
        assert _number(figure, f"k-{r}") == eca_kernel_size(channels, rule=r)
    module = ECA(channels, rule=rule)
    with torch.no_grad():
        module.conv.weight.fill_(1.0)
        matrix = module.conv(torch.eye(channels)[:, None, :])[:, 0, :]  # (C, 1, C) -> (C, C)
    assert _number(figure, "band") == int((matrix != 0).sum())
    assert not tab.console_errors, tab.console_errors


# ---------------------------------------------------------------------------------------------
# Print and the PDF: the static picture only
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", FIGURE_PAGES)
def test_print_shows_the_picture_and_not_the_stage(open_page, page):
    tab = open_page(page)
    tab.page.emulate_media(media="print")
    figures = tab.page.locator("figure.attn-interactive")
    for i in range(figures.count()):
        figure = figures.nth(i)
        name = figure.get_attribute("data-figure")
        assert figure.locator("img.attn-fallback").is_visible(), f"{name}: no picture in print"
        assert not figure.locator(".attn-stage").is_visible(), f"{name}: the stage is printed"
