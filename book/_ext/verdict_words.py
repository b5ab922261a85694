"""A glued verdict shows as a word in the edition's language.

The labs glue each verdict of :func:`attn_lessons.stats.analyse` with
:func:`attn_lessons.glue.glue_verdict`, which stores a token such as ``verdict:higher``, and the
pages quote it with ``{glue:text}`lab.ipynb::name:s` ``. myst-nb pastes the token as the text of an
``inline`` node with the class ``pasted-text`` (for a glue from another document, in its
post-transform of priority 5). This post-transform runs after it and replaces each such token by
the word in the edition's language, so a verdict comes from the run, as every number does, and the
Chinese edition shows 更高 where the English shows "higher" (the words of the glossary and of the
chapters' catalogues). A token that names no known verdict is left as it is and warned about.
"""

from __future__ import annotations

from docutils import nodes
from language_switch import is_chinese
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

PREFIX = "verdict:"

#: The verdict words by edition: English, and the Chinese of the chapters' catalogues.
WORDS = {
    "en": {"higher": "higher", "lower": "lower", "equivalent": "equivalent",
           "inconclusive": "inconclusive"},
    "zh": {"higher": "更高", "lower": "更低", "equivalent": "等效", "inconclusive": "无定论"},
}


def verdict_word(token: str, language: str | None) -> str | None:
    """The word for a pasted ``verdict:<word>`` token in ``language``; None for other text."""
    if not token.startswith(PREFIX):
        return None
    return WORDS["zh" if is_chinese(language) else "en"].get(token[len(PREFIX):])


def replace_verdicts(document: nodes.Node, language: str | None) -> list[str]:
    """Replace every pasted verdict token under ``document``; return the unknown tokens."""
    unknown = []
    for node in list(document.findall(nodes.inline)):
        if "pasted-text" not in node.get("classes", []):
            continue
        text = node.astext()
        if not text.startswith(PREFIX):
            continue
        word = verdict_word(text, language)
        if word is None:
            unknown.append(text)
            continue
        node.children = [nodes.Text(word)]
    return unknown


class VerdictWords(SphinxPostTransform):
    """After myst-nb's glue references are resolved, a verdict token becomes its word."""

    default_priority = 6  # myst-nb's ReplacePendingGlueReferences is 5

    def apply(self, **kwargs) -> None:
        for token in replace_verdicts(self.document, self.config.language):
            LOGGER.warning(f"glued verdict {token!r} is not one of {sorted(WORDS['en'])}",
                           location=self.document)


def setup(app: Sphinx) -> dict:
    app.add_post_transform(VerdictWords)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
