"""A translated page's doctree is pickled without the build environment inside it.

Sphinx's Locale transform parses each translation (with the page's parser, MyST here) into a small
document of its own and moves the parsed nodes into the page. The nodes keep a reference to that
small document (docutils' ``node.document``), whose settings hold the whole build environment:
sphinx-exercise's registry with every page's exercises and solutions, the titles, the toctrees.
Sphinx strips the environment from the page's own document before it pickles the doctree, but not
from these, so each Chinese doctree carried a copy of the entire book: 55 MB of doctrees against
the English 5 MB, and the Chinese single-page build of `make pdf` spent half a minute unpickling
them.

After the transforms have run (``doctree-read``), every node is pointed back at the page's own
document, which is what the nodes of an untranslated page point at. Nothing else changes: the
same nodes, the same output. tests/test_translated_doctrees.py builds a small translated project
with and without it; the browser stage compares the two editions' doctree sizes.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def own_document(app: Sphinx, doctree) -> None:
    """Point every node of the page's doctree at the page's document."""
    for node in doctree.findall():
        if node.document is not doctree:
            node.document = doctree


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", own_document)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
