"""The Chinese edition's figures: each notebook figure drawn a second time with its text translated
(attn_lessons.figure_translation), shown with Chinese alt text by the Chinese build
(book/_ext/translated_figures.py); the figure-text catalogue complete; every SVG diagram with a
Chinese copy of the same drawing."""

from __future__ import annotations

import base64
import io
import re
import sys
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.backends.backend_agg import RendererAgg

from attn_lessons import figure_translation as ft
from attn_lessons.visualize import _recording, recorded_text_size

from .conftest import BOOK, ROOT

sys.path.insert(0, str(BOOK / "_ext"))
import translated_figures

CATALOGUE = translated_figures.CATALOGUE
requires_font = pytest.mark.skipif(
    not any(f.name == ft.FONT_FAMILY for f in matplotlib.font_manager.fontManager.ttflist),
    reason=f"{ft.FONT_FAMILY} is not installed (Debian: fonts-noto-cjk)")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _drawn_strings(fig) -> list[str]:
    """Every string drawing ``fig`` puts on the canvas."""
    drawn = []

    class Noting(RendererAgg):
        def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
            if str(s).strip():
                drawn.append(str(s))

    fig.draw(Noting(*(int(v) + 1 for v in fig.bbox.size), fig.dpi))
    return drawn


def _every_kind_of_text():
    """A figure with a title, axis labels, word tick labels, a legend, a colour bar's label, an
    annotation, a figure title and numbers."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(6, 3))
    ax.bar(["none", "gate"], [1, 2], label="accuracy")
    ax.set_title("Two bars")
    ax.set_xlabel("kind")
    ax.set_ylabel("value of $x$")
    ax.legend()
    ax.annotate("higher", (1, 2))
    image = bx.imshow([[0, 1], [1, 0]])
    fig.colorbar(image, ax=bx, label="weight")
    fig.suptitle("A figure")
    return fig


CATALOGUE_OF_TEST = {"none": "无", "gate": "门控", "accuracy": "准确率", "Two bars": "两根柱",
                     "kind": "种类", "value of $x$": "$x$ 的值", "higher": "更高",
                     "weight": "权重", "A figure": "一幅图"}


# ------------------------------------------------------------------------------------------------
# Which strings are words, and the catalogue as read
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "words"), [
    ("0.5", False), ("−1", False), ("$10^{2}$", False), ("$d_k$", False), ("(3, 1)", False),
    ("", False), ("k = 3", False), ("d_k", False), ("round_odd", False), ("a", False),
    ("channel", True), ("$q \\cdot k$ variance", True), ("SE", True), ("se_input gate", True)])
def test_a_string_needs_a_translation_when_it_has_a_word_outside_maths_and_code(text, words):
    assert ft.needs_translation(text) is words


def test_needs_translation_refuses_what_is_not_a_string():
    with pytest.raises(TypeError, match="int"):
        ft.needs_translation(3)


def test_the_catalogue_is_read_without_fuzzy_or_empty_entries(tmp_path):
    po = tmp_path / "f.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "a"\nmsgstr "甲"\n\n#, fuzzy\nmsgid "b"\nmsgstr "乙"\n\n'
                  'msgid "c"\nmsgstr ""\n', encoding="utf-8")
    assert ft.load_catalogue(po) == {"a": "甲"}
    with pytest.raises(FileNotFoundError, match="no figure-text catalogue"):
        ft.load_catalogue(tmp_path / "absent.po")


# ------------------------------------------------------------------------------------------------
# A figure's text translated while it is drawn, and only then
# ------------------------------------------------------------------------------------------------

@requires_font
def test_every_kind_of_figure_text_is_translated_while_drawn_and_only_then():
    fig = _every_kind_of_text()
    english_before = _png(fig)
    english_strings = _drawn_strings(fig)
    assert {"none", "gate", "accuracy", "Two bars", "kind", "higher", "weight",
            "A figure"} <= set(english_strings)
    with ft.translated_text(lambda s: CATALOGUE_OF_TEST.get(s, s)):
        chinese_strings = _drawn_strings(fig)
        assert matplotlib.font_manager.fontManager._find_fonts_by_props(
            fig.axes[0].title.get_fontproperties())[0] == ft.cjk_font_path()
    words = [s for s in chinese_strings if ft.needs_translation(s)]
    assert not words, f"left in English: {words}"
    assert set(CATALOGUE_OF_TEST.values()) - {"$x$ 的值"} <= set(chinese_strings)
    # tick values are numbers, drawn as they are
    assert [s for s in english_strings if not ft.needs_translation(s)] == \
        [s for s in chinese_strings if not ft.needs_translation(s) and not ft.has_cjk(s)]
    # the figure itself is unchanged: the English picture after is the one before
    assert _drawn_strings(fig) == english_strings
    assert _png(fig) == english_before
    plt.close(fig)


@requires_font
def test_a_translated_copy_records_its_language_text_size_and_what_it_missed():
    fig = _every_kind_of_text()
    catalogue = dict(CATALOGUE_OF_TEST)
    del catalogue["higher"]
    record = ft.draw_translated(fig, _png, catalogue)
    png = base64.b64decode(record["png"])
    assert ft.recorded_language(png) == "zh_CN"
    assert recorded_text_size(png) == pytest.approx(10 * 100 / 72, abs=0.01)
    assert record["missing"] == ["higher"]
    assert record["translations"]["value of $x$"] == "$x$ 的值"
    assert record["problems"] == []  # no glyph fell back to boxes
    # a glyph the CJK font lacks comes from the text's own font (DejaVu Sans), not a box
    fig.axes[0].set_title("Gram matrix X Xᵀ")
    assert ft.draw_translated(fig, _png, {"Gram matrix X Xᵀ": "Gram 矩阵 X Xᵀ"})["problems"] == []
    # a glyph no font has is a box: the record says so, and the Chinese build fails on it
    problems = ft.draw_translated(fig, _png, {"Gram matrix X Xᵀ": "矩阵 \ue000"})["problems"]
    assert len(problems) == 1 and "missing from font" in problems[0]
    fig.axes[0].set_title("Two bars")
    assert ft.stale_reasons(record, catalogue) == [
        "no translation of 'higher' in the figure-text catalogue"]
    assert ft.stale_reasons(record, {**catalogue, "higher": "更高"}) == [
        "drawn before the catalogue translated some of its strings"]
    assert ft.stale_reasons(record, {**catalogue, "kind": "类别", "higher": "更高"})[-1] == \
        "drawn with translations the catalogue has since changed"
    assert ft.recorded_language(_png(fig)) is None  # the English picture names no language
    # scripts/execute_notebooks.py executes a notebook again when its copies are out of date
    full = {**catalogue, "higher": "更高"}
    fresh = ft.draw_translated(fig, _png, full)
    assert not ft.redraw_needed(fresh, full)
    assert ft.redraw_needed(fresh, {**full, "kind": "类别"})  # a translation changed
    assert ft.redraw_needed(record, full)  # a string translated since
    assert not ft.redraw_needed(record, catalogue)  # still missing: the Chinese build says so
    assert ft.redraw_needed({**fresh, "problems": ["Glyph 7488 missing"]}, full)
    assert ft.redraw_needed(None, full)
    plt.close(fig)


def test_without_the_font_the_copy_is_not_drawn_and_the_build_is_told(monkeypatch):
    monkeypatch.setattr(ft, "FONT_FAMILY", "No Such Font CJK")
    monkeypatch.setattr(ft.cjk_font_path, "__defaults__", ("No Such Font CJK",))
    fig, ax = plt.subplots()
    ax.set_title("title")
    record = ft.draw_translated(fig, _png, {"title": "标题"})
    assert set(record) == {"error"} and "fonts-noto-cjk" in record["error"]
    assert ft.stale_reasons(record, {"title": "标题"}) == [record["error"]]
    assert ft.stale_reasons(None, {})[0].startswith("the figure has no Chinese copy")
    plt.close(fig)


def test_draw_translated_refuses_what_is_not_a_figure():
    with pytest.raises(TypeError, match="str"):
        ft.draw_translated("figure", _png, {})


@requires_font
def test_the_shown_png_is_unchanged_and_carries_its_copy_in_the_metadata():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_title("title", fontsize=8)
    plain = _recording(lambda f: base64.b64encode(_png(f)).decode("ascii"))(fig)
    data, metadata = _recording(lambda f: base64.b64encode(_png(f)).decode("ascii"),
                                {"title": "标题"})(fig)
    assert data == plain  # the English output, byte for byte
    record = ft.translations_of_output({"metadata": {"image/png": metadata}})
    assert record["translations"] == {"title": "标题"} and record["missing"] == []
    assert ft.recorded_language(base64.b64decode(record["png"])) == "zh_CN"
    # the retina formatter's (data, metadata) keeps its metadata
    data, metadata = _recording(lambda f: (_png(f), {"width": 100}), {"title": "标题"})(fig)
    assert metadata["width"] == 100 and ft.METADATA_KEY in metadata
    plt.close(fig)


# ------------------------------------------------------------------------------------------------
# The Chinese build: the copy and the alt text in place of the English ones
# ------------------------------------------------------------------------------------------------

def _render(language: str, output_metadata: dict, alt: str, catalogue: dict, monkeypatch):
    from docutils import nodes
    from myst_nb.core.render import MimeData

    monkeypatch.setattr(translated_figures, "catalogue", lambda: catalogue)
    warnings = []
    monkeypatch.setattr(translated_figures.logger, "warning",
                        lambda msg, *args, **kw: warnings.append(msg % args))
    seen = []

    def original(self, data):
        seen.append(data.content)
        return [nodes.image(uri="x.png", alt=alt)]

    render = translated_figures.chinese_render_image(original)
    env = SimpleNamespace(config=SimpleNamespace(language=language), docname="page")
    fake = SimpleNamespace(renderer=SimpleNamespace(sphinx_env=env))
    data = MimeData("image/png", "ENGLISH", output_metadata=output_metadata, cell_index=3, line=1)
    [image] = render(fake, data)
    return seen[0], image["alt"], warnings


def test_the_chinese_build_writes_the_copy_and_translates_the_alt_text(monkeypatch):
    record = {"png": "CHINESE", "translations": {"t": "标"}, "missing": [], "problems": []}
    metadata = {"image/png": {ft.METADATA_KEY: {"zh_CN": record}}}
    catalogue = {"t": "标", "A bar chart": "一幅柱状图"}
    assert _render("zh_CN", metadata, "A bar chart", catalogue, monkeypatch) == (
        "CHINESE", "一幅柱状图", [])
    assert _render("en", metadata, "A bar chart", catalogue, monkeypatch) == (
        "ENGLISH", "A bar chart", [])


def test_the_chinese_build_warns_on_a_missing_copy_or_alt_text(monkeypatch):
    shown, alt, warnings = _render("zh_CN", {}, "A bar chart", {}, monkeypatch)
    assert shown == "ENGLISH" and alt == "A bar chart"
    assert "has no Chinese copy" in warnings[0] and "'A bar chart'" in warnings[1]


# ------------------------------------------------------------------------------------------------
# The catalogue: complete and Chinese
# ------------------------------------------------------------------------------------------------

#: Latin-script words a Chinese figure may show: names of modules, layers, functions and
#: libraries (a word of one or two letters is a symbol: k, d, x, sj).
NAMES = {"SE", "ECA", "CBAM", "CoordAtt", "SelfAttention", "SmallCNN", "ResNet", "MLP", "ReLU",
         "BN", "softmax", "conv", "swish", "sigmoid", "Grad", "CAM", "LayerCAM", "SimAM", "GC",
         "SK", "BAM", "EMA", "ELA", "Triplet", "Shuffle", "MobileNet", "PyTorch", "torch", "timm",
         # the attention kinds as the code names them (attn_lessons.factory)
         "se", "eca", "cbam", "coordatt", "none", "self_attention", "simam", "gc", "sk", "bam",
         "triplet", "shuffle", "ema", "ela",
         # the tasks of chapter 7 and the field guide's, as the code and the prose name them
         "clutter", "axis", "relation", "scale",
         # units, number formats, names in maths and the functions of maths
         "MACs", "FLOP", "CPU", "MiB", "float", "Gram", "Frobenius", "sqrt", "min", "max", "cos",
         "std", "Var", "exp", "log", "arg", "MobileNetV"}


def _foreign_words(text: str) -> list[str]:
    """The Latin-script words of ``text`` outside maths, code identifiers and quoted literals
    (``'attention maps'``, a string the code is given) that are neither symbols nor names."""
    text = re.sub(r"'[^'\n]*'", "", ft._IDENTIFIER.sub("", ft._MATHS.sub("", text)))
    return [w for w in re.findall(r"[A-Za-z]+", text) if len(w) > 2 and w not in NAMES]


def _numbers(text: str) -> list[str]:
    """The numbers of ``text`` outside maths (``2-D`` is a word: 二维)."""
    return sorted(re.findall(r"\d+(?:\.\d+)?", re.sub(r"\d-D\b", "", ft._MATHS.sub("", text))))


def _catalogue_entries():
    from babel.messages.pofile import read_po

    with CATALOGUE.open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


def test_every_entry_of_the_figure_catalogue_is_translated_into_chinese():
    entries = _catalogue_entries()
    assert entries, "the figure-text catalogue is empty"
    problems = []
    for m in entries:
        if not m.string or m.fuzzy:
            problems.append(f"untranslated or fuzzy: {m.id!r}")
        elif _foreign_words(m.string):
            problems.append(f"not Chinese: {m.id!r} -> {m.string!r}")
        else:
            maths = ft._MATHS.findall(m.id)
            if sorted(maths) != sorted(ft._MATHS.findall(m.string)):
                problems.append(f"maths changed: {m.id!r} -> {m.string!r}")
            if _numbers(m.id) != _numbers(m.string):
                problems.append(f"numbers changed: {m.id!r} -> {m.string!r}")
    assert not problems, "\n".join(problems)


def test_every_notebook_figures_alt_text_is_in_the_catalogue():
    sys.path.insert(0, str(ROOT))
    from scripts.execute_notebooks import read_notebook, toc_notebooks
    from scripts.figure_catalogue import alt_texts

    have = ft.load_catalogue(CATALOGUE)
    missing = [(p.name, alt) for p in toc_notebooks() for alt in alt_texts(read_notebook(p))
               if alt not in have]
    assert not missing, f"alt text without a translation: {missing}"


# ------------------------------------------------------------------------------------------------
# The SVG diagrams: a Chinese copy of each, the same drawing
# ------------------------------------------------------------------------------------------------

_NS = "{http://www.w3.org/2000/svg}"
#: The book's diagrams (book/_ext holds the site's own files, its icon among them: not figures).
DIAGRAMS = sorted(p for p in BOOK.rglob("*.svg") if not p.name.endswith(".zh_CN.svg")
                  and "_ext" not in p.relative_to(BOOK).parts)


def _texts(root: ET.Element) -> list[tuple[str, dict, str]]:
    return [(el.tag, {k: v for k, v in el.attrib.items()}, "".join(el.itertext()).strip())
            for el in root.iter() if el.tag in (f"{_NS}text", f"{_NS}tspan", f"{_NS}title",
                                                f"{_NS}desc")]


def test_the_book_has_diagrams():
    assert len(DIAGRAMS) >= 6


@pytest.mark.parametrize("english", DIAGRAMS, ids=lambda p: str(p.relative_to(BOOK)))
def test_every_diagram_has_a_chinese_copy_of_the_same_drawing(english):
    chinese = english.with_name(english.stem + ".zh_CN.svg")
    assert chinese.is_file(), f"no Chinese copy {chinese.name} (Sphinx's figure_language_filename)"
    en, zh = ET.parse(english).getroot(), ET.parse(chinese).getroot()
    # the same drawing: every element but the text the same, in the same order
    assert [e.tag for e in en.iter()] == [e.tag for e in zh.iter()]
    assert [(e.tag, e.attrib) for e in en.iter() if e.tag not in (f"{_NS}svg",)
            and not e.tag.endswith(("text", "tspan"))] == \
        [(e.tag, e.attrib) for e in zh.iter() if e.tag not in (f"{_NS}svg",)
         and not e.tag.endswith(("text", "tspan"))]
    en_texts, zh_texts = _texts(en), _texts(zh)
    assert len(en_texts) == len(zh_texts)
    translated = 0
    for (tag, attrs, text), (tag2, attrs2, text2) in zip(en_texts, zh_texts, strict=True):
        assert (tag, attrs) == (tag2, attrs2), f"{text!r} moved or restyled in the copy"
        assert not _foreign_words(text2), f"English left in {chinese.name}: {text2!r}"
        if ft.has_cjk(text2):
            translated += 1
        else:
            assert text2 == text, \
                f"English left in {chinese.name}: {text2!r}"
    assert translated >= 3


@pytest.mark.parametrize("english", DIAGRAMS, ids=lambda p: str(p.relative_to(BOOK)))
def test_a_chinese_diagram_is_set_in_the_cjk_font(english):
    chinese = english.with_name(english.stem + ".zh_CN.svg")
    assert ft.FONT_FAMILY in ET.parse(chinese).getroot().get("font-family", "")


# ------------------------------------------------------------------------------------------------
# The interactive figures' static pictures (the printed book shows them)
# ------------------------------------------------------------------------------------------------

@requires_font
def test_an_interactive_figures_chinese_picture_is_drawn_from_the_catalogue(tmp_path):
    from attn_lessons import interactive

    catalogue, asked = ft.load_catalogue(CATALOGUE), []

    def translate(text):
        asked.append(text)
        return catalogue.get(text, text)

    name = "softmax-temperature"
    data = interactive.figure_data(name)
    english = interactive.draw_fallback(name, data, tmp_path / "en.png")
    chinese = interactive.draw_fallback(name, data, tmp_path / "zh.png", translate=translate)
    assert ft.recorded_language(chinese) == "zh_CN" and ft.recorded_language(english) is None
    words = [s for s in asked if ft.needs_translation(s)]
    assert words and all(s in catalogue for s in words)
