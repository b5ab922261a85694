"""Interactive figures: values computed by ``attn_lessons`` at build time, drawn in the browser.

A chapter page places a figure with the ``interactive-figure`` directive::

    :::{interactive-figure} softmax-temperature
    :alt: What the static picture shows.
    :name: fig-ch1-softmax-temperature

    Caption paragraph (more paragraphs become the figure's legend).

    - `temperature` Temperature $T$
    - `argmax` arg-max limit
    :::

The argument names a figure of :mod:`attn_lessons.interactive`. The body is the caption, then
ONE bullet list of labels for the figure's controls and drawing: each item starts with an
inline-code key, the rest is the label (a translation keeps the inline code, so the key survives
it). At build time the directive computes the figure's data (once per build and figure), draws the
static picture (a PNG that Sphinx copies into ``_images``) and emits a numbered figure (numfig
and ``{numref}`` work). The HTML is::

    <figure class="attn-interactive" id="NAME" data-figure="FIGURE">
      <img class="attn-fallback" src="..." alt="ALT">
      <div class="attn-stage"></div>
      <script type="application/json" class="attn-data">{...}</script>
      <ul class="attn-labels" hidden><li data-key="KEY">label</li>...</ul>
      <figcaption>...</figcaption>
    </figure>

``static/interactive/core.js`` finds each such figure, and the figure's own script
(``static/interactive/FIGURE.js``) draws into the stage; ``interactive.css`` shows the picture
only until the script has drawn, and always in print. Builders other than HTML get the picture
and the caption only. The gettext builder sees the caption, the legend and every label as
ordinary paragraphs, so they are translated like the rest of the page, and the picture's alt
text; it gets neither the data nor the picture (they hold no message: an empty file stands in
for the picture in its throwaway doctrees folder), so extracting the messages computes nothing.
"""

from __future__ import annotations

import html
import os
import sys
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
#: The Chinese edition's figure text (its static pictures are drawn from it).
FIGURE_CATALOGUE = HERE / "locale" / "zh_CN" / "LC_MESSAGES" / "figures.po"
#: The framework's files under ``_static/interactive/``, loaded on every page (they are small).
CORE_JS = "interactive/core.js"
CSS = "interactive/interactive.css"


def _library():
    """``attn_lessons.interactive``, importable from the source tree as well as installed."""
    root = str(HERE.parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    import attn_lessons.interactive as library

    return library


class interactive_figure(nodes.figure):  # docutils names nodes in lower case
    """A numbered figure whose HTML carries the data and the name of its script."""


class interactive_labels(nodes.General, nodes.Element):
    """The figure's labels: one paragraph per label, starting with its inline-code key."""


class interactive_legend(nodes.legend):
    """The caption's further paragraphs (docutils' HTML legend expects the caption second)."""


def _cache(app: Sphinx) -> dict:
    """Figure data computed in this build (one computation per figure and build)."""
    if not hasattr(app, "_attn_interactive_data"):
        app._attn_interactive_data = {}
    return app._attn_interactive_data


def picture_dir(app: Sphinx) -> Path:
    """Where the static pictures are drawn: beside the doctrees, so Sphinx copies them."""
    return Path(app.doctreedir) / "interactive"


def _draw_chinese_fallback(library, name: str, data: dict, png: Path) -> list[str]:
    """Draw the Chinese static picture; returns the strings the catalogue does not translate."""
    from attn_lessons.figure_translation import load_catalogue, needs_translation

    catalogue = load_catalogue(FIGURE_CATALOGUE)
    missing: list[str] = []

    def translate(text: str) -> str:
        if needs_translation(text) and text not in catalogue:
            missing.append(text)
        return catalogue.get(text, text)

    library.draw_fallback(name, data, png, translate=translate)
    return sorted(set(missing))


class InteractiveFigure(SphinxDirective):
    """``interactive-figure NAME``: see the module docstring."""

    required_arguments = 1
    optional_arguments = 0
    final_argument_whitespace = False
    has_content = True
    option_spec: ClassVar[dict] = {
        "alt": directives.unchanged_required,
        "name": directives.unchanged,
        "width": directives.length_or_percentage_or_unitless,
    }

    def _error(self, message: str) -> Exception:
        return self.error(f"interactive-figure {self.arguments[0]!r}: {message}")

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        library = _library()
        if name not in library.FIGURES or name not in library.FALLBACKS:
            raise self._error(f"unknown figure; known: {sorted(library.FIGURES)}")
        alt = (self.options.get("alt") or "").strip()
        if not alt:
            raise self._error("the :alt: option (what the static picture shows) is required")
        if "name" not in self.options:
            raise self._error("the :name: option (the figure's label) is required")

        # Re-read this page when what the figure is made of changes: the library (its data),
        # the figure's script or the framework (else an incremental build would keep the old).
        library_dir = Path(library.__file__).resolve().parent.parent
        for path in sorted(library_dir.glob("*.py")) + sorted(library_dir.glob("interactive/*.py")):
            self.env.note_dependency(str(path))
        for script in (f"{name}.js", "core.js", "interactive.css"):
            self.env.note_dependency(str(STATIC / "interactive" / script))

        # The gettext builder extracts messages: the caption, the legend and the labels. The
        # figure's data and picture carry none, and computing them was half of the extraction's
        # time (make catalogues; the catalogues' test in make test).
        messages_only = self.env.app.builder.name == "gettext"
        cache = _cache(self.env.app)
        if name not in cache and not messages_only:
            data = library.figure_data(name)
            if (self.config.language or "").replace("-", "_") == "zh_CN":
                # the Chinese edition's picture: its text from the figure-text catalogue
                self.env.note_dependency(str(FIGURE_CATALOGUE))
                png = picture_dir(self.env.app) / f"interactive-{name}.zh_CN.png"
                missing = _draw_chinese_fallback(library, name, data, png)
                if missing:
                    raise self._error("its static picture draws text the figure-text catalogue "
                                      "(locale/zh_CN/LC_MESSAGES/figures.po) does not translate "
                                      f"(scripts/figure_catalogue.py adds it): {missing}")
            else:
                png = picture_dir(self.env.app) / f"interactive-{name}.png"
                library.draw_fallback(name, data, png)
            cache[name] = (library.to_json(data), png)
        body = nodes.Element()
        self.state.nested_parse(self.content, self.content_offset, body)
        lists = [child for child in body.children if isinstance(child, nodes.bullet_list)]
        paragraphs = [child for child in body.children if isinstance(child, nodes.paragraph)]
        others = [child for child in body.children
                  if not isinstance(child, (nodes.bullet_list, nodes.paragraph))]
        if len(lists) != 1 or body.children[-1] is not lists[0]:
            raise self._error("the body must end with ONE bullet list of labels")
        if not paragraphs or others:
            raise self._error("the body is caption paragraphs, then the list of labels")

        figure = interactive_figure("", figure=name)
        figure["classes"].append("attn-interactive")
        if "width" in self.options:
            figure["width"] = self.options["width"]
        self.set_source_info(figure)
        self.add_name(figure)

        if messages_only:  # the alt text is a message: an empty file where the picture would be
            png = picture_dir(self.env.app) / f"interactive-{name}.png"
            png.parent.mkdir(parents=True, exist_ok=True)
            png.touch()
        else:
            data_json, png = cache[name]
        # The picture's path relative to the source folder, as an image directive would give it.
        uri = "/" + os.path.relpath(png, self.env.srcdir).replace(os.sep, "/")
        image = nodes.image(uri=uri, alt=alt, classes=["attn-fallback"])
        self.set_source_info(image)
        figure += image
        if not messages_only:
            figure += nodes.raw(
                "", '<div class="attn-stage"></div>\n<script type="application/json" '
                f'class="attn-data">{data_json}</script>\n', format="html")

        labels = interactive_labels()
        self.set_source_info(labels)
        keys = []
        for item in lists[0].children:
            if len(item.children) != 1 or not isinstance(item[0], nodes.paragraph):
                raise self._error("each label is one paragraph: `key` label text")
            paragraph = item[0]
            if not paragraph.children or not isinstance(paragraph[0], nodes.literal):
                raise self._error(f"label {paragraph.astext()!r} does not start with a `key`")
            key = paragraph[0].astext()
            if key in keys:
                raise self._error(f"the label key {key!r} is used twice")
            keys.append(key)
            labels += paragraph
        figure += labels

        first = paragraphs[0]
        caption = nodes.caption(first.rawsource, "", *first.children)
        caption.source, caption.line = first.source, first.line
        figure += caption
        if len(paragraphs) > 1:
            figure += interactive_legend("", *paragraphs[1:])
        return [figure]


def _label_key(paragraph: nodes.paragraph) -> str:
    if not paragraph.children or not isinstance(paragraph[0], nodes.literal):
        raise ExtensionError(
            f"interactive-figure label {paragraph.astext()!r} (line {paragraph.line}) lost its "
            "inline-code key: a translation must keep the `key` at the start")
    return paragraph[0].astext()


class CheckTranslatedLabels(SphinxPostTransform):
    """After translation every label still starts with its key (else the figure has no label)."""

    default_priority = 200

    def run(self, **kwargs) -> None:
        for labels in self.document.findall(interactive_labels):
            for paragraph in labels.children:
                _label_key(paragraph)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

def visit_figure_html(self, node: interactive_figure) -> None:
    atts = {"data-figure": node["figure"]}
    if node.get("width"):
        atts["style"] = f"width: {node['width']}"
    self.body.append(self.starttag(node, "figure", **atts))


def depart_figure_html(self, node: interactive_figure) -> None:
    self.body.append("</figcaption>\n</figure>\n")  # the caption's <figcaption>, left open


def visit_legend_html(self, node: interactive_legend) -> None:
    self.body.append(self.starttag(node, "div", CLASS="legend"))


def depart_legend_html(self, node: interactive_legend) -> None:
    self.body.append("</div>\n")


def visit_labels_html(self, node: interactive_labels) -> None:
    self.body.append('<ul class="attn-labels" hidden>\n')
    for paragraph in node.children:
        key = _label_key(paragraph)
        self.body.append(f'<li data-key="{html.escape(key, quote=True)}">')
        rest = list(paragraph.children[1:])
        if rest and isinstance(rest[0], nodes.Text):
            rest[0] = nodes.Text(rest[0].astext().lstrip())
        for child in rest:
            child.walkabout(self)
        self.body.append("</li>\n")
    self.body.append("</ul>\n")
    raise nodes.SkipNode


# ---------------------------------------------------------------------------------------------
# Other builders: the picture and the caption, as a plain figure
# ---------------------------------------------------------------------------------------------

def visit_figure_plain(self, node: interactive_figure) -> None:
    self.visit_figure(node)


def depart_figure_plain(self, node: interactive_figure) -> None:
    self.depart_figure(node)


def visit_legend_plain(self, node: interactive_legend) -> None:
    self.visit_legend(node)


def depart_legend_plain(self, node: interactive_legend) -> None:
    self.depart_legend(node)


def skip(self, node: nodes.Node) -> None:
    raise nodes.SkipNode


def _add_static_path(app: Sphinx, config) -> None:
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def _add_figure_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                        doctree) -> None:
    """Each page loads the scripts of the figures it shows, after core.js."""
    if doctree is None:
        return
    names = sorted({node["figure"] for node in doctree.findall(interactive_figure)})
    for name in names:
        if not (STATIC / "interactive" / f"{name}.js").is_file():
            raise ExtensionError(f"interactive figure {name!r} has no script "
                                 f"{STATIC / 'interactive' / (name + '.js')}")
        # The builder restores its list of scripts before each page: this page only.
        app.builder.add_js_file(f"interactive/{name}.js", priority=510)


def setup(app: Sphinx) -> dict:
    plain = (visit_figure_plain, depart_figure_plain)
    app.add_enumerable_node(interactive_figure, "figure", None,
                            html=(visit_figure_html, depart_figure_html),
                            latex=plain, text=plain, man=plain, texinfo=plain)
    app.add_node(interactive_labels, html=(visit_labels_html, None),
                 latex=(skip, None), text=(skip, None), man=(skip, None), texinfo=(skip, None))
    legend = (visit_legend_plain, depart_legend_plain)
    app.add_node(interactive_legend, html=(visit_legend_html, depart_legend_html),
                 latex=legend, text=legend, man=legend, texinfo=legend)
    app.add_directive("interactive-figure", InteractiveFigure)
    app.add_post_transform(CheckTranslatedLabels)
    app.connect("config-inited", _add_static_path)
    app.add_js_file(CORE_JS, priority=500)
    app.add_css_file(CSS)
    app.connect("html-page-context", _add_figure_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
