"""Exercise titles go through the translation catalogues like any other heading.

sphinx-exercise builds an exercise's title from its directive argument (``{exercise} Gates that
compete``) into an ``exercise_subtitle`` node that has neither a source nor a raw source, and
Sphinx's gettext machinery skips such nodes as "built-in messages": the Chinese edition showed
every exercise title, and every solution's reference to it, in English. This transform gives each
subtitle the source, line and raw text of its exercise before Sphinx's Locale transform runs
(priority 20), so that the title is extracted into the page's catalogue and replaced by its
translation; after it, sphinx-exercise's registry gets the translated exercise, from which each
solution's title is made.

The titles hold plain text only (no maths or code: tests/test_translations.py's catalogue check
would see a lost span), so the raw text is the subtitle's text.

In the Chinese edition the headers then take the Chinese form (:class:`ChineseExerciseHeaders`):
"练习 2.1（标题）" with full-width parentheses and no space before them, where sphinx-exercise
writes "练习 2.1  (标题)", and a solution's header "练习 2.1 的解答" (the words of the reader
notebooks and of the collapsed solution cells) instead of "解答 练习 2.1 (标题)".
"""

from __future__ import annotations

import re

from language_switch import is_chinese
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform


def _give_sources(document) -> None:
    from sphinx_exercise.nodes import exercise_subtitle

    for node in document.findall(exercise_subtitle):
        if node.source and node.rawsource:
            continue
        holder = node.parent
        while holder is not None and not holder.source:
            holder = holder.parent
        node.source = holder.source if holder is not None else document["source"]
        node.line = holder.line if holder is not None else None
        node.rawsource = node.astext().strip()
        # The title around it ("Exercise" + subtitle) is not a message of its own: Sphinx
        # would otherwise give it the subtitle's source and extract "ExerciseGates that ...".
        node.parent["translatable"] = False


class TranslatableExerciseTitles(SphinxTransform):
    default_priority = 15  # before sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs) -> None:
        _give_sources(self.document)


class TranslatedExercisesInTheRegistry(SphinxTransform):
    """A solution's title quotes its exercise's title from sphinx-exercise's registry, which holds
    a copy of the exercise node made when the directive ran, before Sphinx's Locale transform
    translated it. After the translation the copy is renewed from the translated node."""

    default_priority = 25  # after sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs) -> None:
        from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node

        registry = getattr(self.env, "sphinx_exercise_registry", None)
        if not registry:
            return
        for node in self.document.findall(
            lambda n: isinstance(n, (exercise_node, exercise_enumerable_node))
        ):
            entry = registry.get(node.get("label"))
            if entry is not None and entry.get("docname") == self.env.docname:
                entry["node"] = node.deepcopy()


class ExtractableExerciseTitles(SphinxPostTransform):
    """For the gettext builder: keep each subtitle where the extraction finds it.

    The gettext builder extracts messages from the resolved doctree, and sphinx-exercise's
    ResolveTitlesInExercises (post-transform, priority 20) folds the subtitle into a new title
    that has no source. Just before it, the exercise title is replaced here by a plain container
    holding the subtitle, which that post-transform leaves alone (the catalogue is all the
    gettext builder writes).
    """

    builders = ("gettext",)
    default_priority = 19

    def run(self, **kwargs) -> None:
        from docutils import nodes
        from sphinx_exercise.nodes import exercise_subtitle, exercise_title

        _give_sources(self.document)
        for title in list(self.document.findall(exercise_title)):
            subtitles = [c for c in title.children if isinstance(c, exercise_subtitle)]
            title.replace_self(nodes.container("", *subtitles))


def _full_width_parentheses(title) -> None:
    """sphinx-exercise's " (" and ")" around a subtitle become "（" and "）"."""
    from docutils import nodes

    texts = [child for child in title.children if isinstance(child, nodes.Text)]
    opening = next((t for t in texts if t.astext() == " ("), None)
    closing = next((t for t in reversed(texts) if t.astext() == ")"), None)
    if opening is None or closing is None:
        return
    title.replace(opening, nodes.Text("（"))
    title.replace(closing, nodes.Text("）"))


class ChineseExerciseHeaders(SphinxPostTransform):
    """The Chinese edition's exercise and solution headers in Chinese form.

    Runs after sphinx-exercise has made the titles (ResolveTitlesInExercises, priority 20, and
    ResolveTitlesInSolutions, 21). The space that Sphinx writes after a caption number
    ("练习 2.1 ") is taken out before a full-width parenthesis by :func:`_caption_number_space`.
    """

    default_priority = 22
    formats = ("html",)

    def run(self, **kwargs) -> None:
        from docutils import nodes
        from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node, solution_node

        if not is_chinese(self.config.language):
            return
        for node in self.document.findall(
            lambda n: isinstance(n, (exercise_node, exercise_enumerable_node))
        ):
            if node.children and isinstance(node.children[0], nodes.title):
                _full_width_parentheses(node.children[0])
        for node in self.document.findall(solution_node):
            title = node.children[0] if node.children else None
            if not isinstance(title, nodes.title):
                continue
            reference = next((c for c in title.children if isinstance(c, nodes.reference)), None)
            if reference is None:
                continue
            # "解答" + reference(" 练习 2.1", " (", subtitle, ")") becomes
            # reference("练习 2.1") + " 的解答"
            words = reference.children[0].astext().strip() if reference.children else ""
            if re.search(r"\d", words):
                reference.children = [nodes.Text(words)]
            else:  # an unnumbered exercise is named by its title: "练习（标题）的解答"
                _full_width_parentheses(reference)
                first = reference.children[0]
                reference.replace(first, nodes.Text(first.astext().strip()))
            title.children = [reference]
            reference.parent = title
            title += nodes.Text(" 的解答" if re.search(r"\d", words) else "的解答")
            node["title"] = title.astext()


_CAPTION_NUMBER_SPACE = re.compile(r'(<span class="caption-number">[^<]*?) (</span>)(?=（)')


def _caption_number_space(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """No space between "练习 2.1" and its full-width parenthesis (Sphinx adds one after every
    caption number)."""
    if is_chinese(app.config.language) and "body" in context:
        context["body"] = _CAPTION_NUMBER_SPACE.sub(r"\1\2", context["body"])


def setup(app: Sphinx) -> dict:
    app.add_post_transform(ChineseExerciseHeaders)
    app.connect("html-page-context", _caption_number_space)
    app.add_transform(TranslatableExerciseTitles)
    app.add_transform(TranslatedExercisesInTheRegistry)
    app.add_post_transform(ExtractableExerciseTitles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
