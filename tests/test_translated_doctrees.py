"""book/_ext/translated_doctrees.py: a translated page's doctree does not carry the environment.

A two-message MyST project (a heading, a paragraph with maths) is built in Chinese from a catalogue
(Sphinx compiles the .po itself), with and without the extension, and its pickled doctree is read
back. Without the extension the nodes MyST parsed from a translation still point at the documents
Sphinx's Locale transform parsed them in, whose settings hold the build environment: this is what
made the Chinese doctrees ten times the size of the English ones. Should a later Sphinx stop doing
that, the second test fails and says the extension can go.
"""

from __future__ import annotations

import pickle
import sys
from io import StringIO
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

SOURCE = """\
# A heading

The gate is $\\sigma(z)$, a *number* between 0 and 1.
"""

CATALOGUE = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "A heading"
msgstr "一个标题"

msgid "The gate is $\\\\sigma(z)$, a *number* between 0 and 1."
msgstr "门控是 $\\\\sigma(z)$，一个介于 0 和 1 之间的*数*。"
"""


def _build(tmp_path: Path, extensions: list[str]):
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    src = tmp_path / "src"
    (src / "locale" / "zh_CN" / "LC_MESSAGES").mkdir(parents=True)
    (src / "conf.py").write_text(
        f"extensions = {['myst_parser', *extensions]!r}\nlanguage = 'zh_CN'\n"
        "locale_dirs = ['locale']\ngettext_compact = False\n"
        "myst_enable_extensions = ['dollarmath']\n", encoding="utf-8")
    (src / "index.md").write_text(SOURCE, encoding="utf-8")
    (src / "locale" / "zh_CN" / "LC_MESSAGES" / "index.po").write_text(CATALOGUE,
                                                                       encoding="utf-8")
    with docutils_namespace():  # the nodes and directives this build registers go after it
        app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"),
                     "html", status=StringIO(), warning=StringIO(), freshenv=True)
        app.build()
    doctree = pickle.loads((tmp_path / "doctrees" / "index.doctree").read_bytes())
    return doctree


def _foreign(doctree) -> list[str]:
    return [node.astext()[:40] for node in doctree.findall() if node.document is not doctree]


def test_the_translated_doctree_points_only_at_its_own_document(tmp_path):
    doctree = _build(tmp_path, ["translated_doctrees"])
    assert "门控是" in doctree.astext(), "the page was not translated: the test proves nothing"
    assert _foreign(doctree) == []


@pytest.mark.filterwarnings("ignore")
def test_without_the_extension_sphinx_leaves_the_parse_documents_in(tmp_path):
    doctree = _build(tmp_path, [])
    assert "门控是" in doctree.astext()
    assert _foreign(doctree), ("Sphinx and MyST no longer leave translated nodes pointing at their "
                               "parse documents: book/_ext/translated_doctrees.py can go")
