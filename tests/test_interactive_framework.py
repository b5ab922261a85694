"""The interactive figures' framework: the registry and the Sphinx directive.

The directive is exercised in a tiny Sphinx project built in a temporary folder (HTML, text and
gettext builders), so these tests need no book build.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import attn_lessons.interactive as interactive

from .conftest import figure_data_once

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "book" / "_ext"
STATIC = EXT / "static" / "interactive"
CHAPTERS = ["ch1_similarity", "ch2_se", "ch3_eca", "ch4_cbam", "ch5_coordatt",
            "ch6_self_attention", "ch7_networks"]


def test_every_figure_has_data_a_fallback_and_a_script():
    assert interactive.FIGURES, "no figure is registered"
    assert sorted(interactive.FIGURES) == sorted(interactive.FALLBACKS)
    missing = [name for name in interactive.FIGURES if not (STATIC / f"{name}.js").is_file()]
    assert not missing, f"figures without book/_ext/static/interactive/NAME.js: {missing}"


_figure_data = figure_data_once  # computed once per test process, a copy for each test


@pytest.mark.parametrize("name", sorted(interactive.FIGURES))
def test_figure_data_is_small_finite_json(name):
    data = _figure_data(name)
    text = interactive.to_json(data)
    assert json.loads(text) == data
    assert len(text.encode()) <= interactive.MAX_DATA_BYTES
    assert "<" not in text, "the embedded JSON must not be able to close its <script>"


@pytest.mark.parametrize("name", sorted(interactive.FIGURES))
def test_fallback_is_a_png(name, tmp_path):
    path = interactive.draw_fallback(name, _figure_data(name), tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_names_and_data_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown interactive figure 'no-such'"):
        interactive.figure_data("no-such")
    with pytest.raises(TypeError, match="must be a string"):
        interactive.figure_data(3)
    with pytest.raises(ValueError, match="lower-case"):
        interactive.register("Bad Name")
    with pytest.raises(ValueError, match="registered twice"):
        interactive.register("softmax-temperature")(lambda: {})
    with pytest.raises(ValueError, match="PNG"):
        interactive.draw_fallback("softmax-temperature", {}, tmp_path / "f.svg")


def test_non_finite_and_oversized_data_are_refused(monkeypatch):
    monkeypatch.setitem(interactive.FIGURES, "test-nan", lambda: {"x": [1.0, float("nan")]})
    with pytest.raises(ValueError, match=r"finite numbers, got nan at test-nan.x\[1\]"):
        interactive.figure_data("test-nan")
    monkeypatch.setitem(interactive.FIGURES, "test-big", lambda: {"x": [0.123456789] * 30000})
    with pytest.raises(ValueError, match="over 200000"):
        interactive.figure_data("test-big")
    monkeypatch.setitem(interactive.FIGURES, "test-list", lambda: [1, 2])
    with pytest.raises(TypeError, match="must return a dict"):
        interactive.figure_data("test-list")


def test_every_chapter_page_has_an_interactive_figure():
    """Issue 18: one interactive figure per chapter, in the chapter's page (.md)."""
    missing = [ch for ch in CHAPTERS
               if not any("{interactive-figure}" in p.read_text(encoding="utf-8")
                          for p in (ROOT / "book" / ch).glob("*.md"))]
    assert not missing, f"chapters without an interactive-figure directive: {missing}"


def test_directives_name_registered_figures():
    used = [m for p in (ROOT / "book").rglob("*.md")
            for m in re.findall(r"\{interactive-figure\}\s+(\S+)", p.read_text(encoding="utf-8"))]
    assert used
    unknown = sorted(set(used) - set(interactive.FIGURES))
    assert not unknown, f"directives naming no registered figure: {unknown}"


PAGE = """\
Test
====

See :numref:`fig-a`.

.. interactive-figure:: softmax-temperature
   :alt: The picture.
   :name: fig-a

   The caption with :math:`T`.

   A legend paragraph.

   - ``temperature`` Temperature :math:`T`
   - ``weight`` weight
"""


def _build(tmp_path: Path, builder: str, page: str = PAGE) -> Path:
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXT)!r})\n"
        "extensions = ['interactive_figures']\nnumfig = True\n", encoding="utf-8")
    (src / "index.rst").write_text(page, encoding="utf-8")
    out = tmp_path / f"out-{builder}"
    with docutils_namespace():  # each build registers its nodes and directives afresh
        app = Sphinx(str(src), str(src), str(out), str(src / "_doctrees"), builder,
                     status=None, warning=sys.stderr, freshenv=True, warningiserror=True)
        app.build()
    return out


def test_directive_renders_the_contracts_html(tmp_path):
    out = _build(tmp_path, "html")
    page = (out / "index.html").read_text(encoding="utf-8")
    figure = re.search(r'<figure class="attn-interactive" data-figure="softmax-temperature" '
                       r'id="fig-a">(.*?)</figure>', page, re.DOTALL)
    assert figure, page
    body = figure.group(1)
    order = [body.index(s) for s in ('class="attn-fallback"', 'class="attn-stage"',
                                     'class="attn-data"', 'class="attn-labels" hidden',
                                     "<figcaption>")]
    assert order == sorted(order)
    assert re.search(r'<img alt="The picture." class="attn-fallback" '
                     r'src="_images/interactive-softmax-temperature.png"', body)
    assert (out / "_images" / "interactive-softmax-temperature.png").is_file()
    data = re.search(r'<script type="application/json" class="attn-data">(.*?)</script>',
                     body).group(1)
    assert json.loads(data) == interactive.figure_data("softmax-temperature")
    assert '<li data-key="temperature">Temperature <span class="math' in body
    assert '<li data-key="weight">weight</li>' in body
    assert "Fig. 1" in body and 'href="#fig-a"><span class="std std-numref">Fig. 1' in page
    assert body.count("<figcaption>") == 1 and body.count("</figcaption>") == 1
    assert '<div class="legend">\n<p>A legend paragraph.</p>' in body
    for script in ("interactive/core.js", "interactive/softmax-temperature.js"):
        assert f'src="_static/{script}' in page
        assert (out / "_static" / script).is_file()
    assert page.index("interactive/core.js") < page.index("interactive/softmax-temperature.js")
    assert 'href="_static/interactive/interactive.css' in page


def test_other_builders_get_the_picture_and_gettext_the_labels(tmp_path, monkeypatch):
    text = (_build(tmp_path, "text") / "index.txt").read_text(encoding="utf-8")
    assert "[image: The picture.]" in text and "The caption with T." in text
    assert "temperature" not in text.lower().replace("the caption", "")

    def computed(*args, **kwargs):
        raise AssertionError("the gettext builder computed a figure's data or drew its picture")

    import attn_lessons.interactive as library

    monkeypatch.setattr(library, "figure_data", computed)
    monkeypatch.setattr(library, "draw_fallback", computed)
    pot = (_build(tmp_path, "gettext") / "index.pot").read_text(encoding="utf-8")
    for message in ("``temperature`` Temperature :math:`T`", "``weight`` weight",
                    "The caption with :math:`T`.", "A legend paragraph."):
        assert f'msgid "{message}"' in pot


@pytest.mark.parametrize("body, message", [
    ("   :alt: A.\n   :name: f\n\n   Caption.\n", "ONE bullet list"),
    ("   :alt: A.\n   :name: f\n\n   Caption.\n\n   - no key here\n", "does not start with"),
    ("   :alt: A.\n   :name: f\n\n   Caption.\n\n   - ``a`` one\n   - ``a`` two\n", "used twice"),
    ("   :name: f\n\n   Caption.\n\n   - ``a`` one\n", "alt"),
    ("   :alt: A.\n\n   Caption.\n\n   - ``a`` one\n", "name"),
    ("   :alt: A.\n   :name: f\n\n   - ``a`` one\n", "caption paragraphs"),
])
def test_directive_refuses_a_malformed_body(tmp_path, body, message):
    from sphinx.errors import SphinxWarning

    page = "T\n=\n\n.. interactive-figure:: softmax-temperature\n" + body
    with pytest.raises(SphinxWarning, match=message):
        _build(tmp_path, "html", page)


def test_directive_refuses_an_unknown_figure(tmp_path):
    from sphinx.errors import SphinxWarning

    page = "T\n=\n\n.. interactive-figure:: no-such\n   :alt: A.\n   :name: f\n\n   C.\n\n" \
           "   - ``a`` one\n"
    with pytest.raises(SphinxWarning, match="unknown figure"):
        _build(tmp_path, "html", page)


def test_the_pages_say_where_their_figures_are():
    """Each figure on a page is introduced by the prose: its label is referenced by {numref}."""
    for source in (ROOT / "book").rglob("*.md"):
        text = source.read_text(encoding="utf-8")
        for name in re.findall(r"\{interactive-figure\}[^\n]*\n(?::[^\n]*\n)*?:name: (\S+)", text):
            assert f"{{numref}}`{name}`" in text, f"{source.name}: {name} is never referenced"
