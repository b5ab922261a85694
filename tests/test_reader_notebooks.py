"""Reader notebooks (notebooks/): what the Colab, Binder and download buttons deliver.

Two parts:

- the converter (book/_ext/reader_notebooks.py) on every MyST construct the book uses or may use,
  with a fake resolver, so that each rule and each loud failure is pinned down;
- the committed notebooks rendered as plain Jupyter renders markdown (CommonMark, GFM tables and
  dollar maths with markdown-it-py; no MyST plugin): no MyST role, directive or target left, every
  labelled equation of the source shown with its number, every link to the book at the published
  address; their code cells are the student edition's (scripts/make_student.py), cell for cell, in
  both languages, and each solution is a collapsed markdown block holding the book's solution code,
  so running every cell never replaces the reader's answer with the solution.

Whether the committed copy equals what the build generates, and whether each link's page and
anchor exist in the built book, is checked after the build (tests/browser/test_reader_notebooks.py).
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from .conftest import BOOK, ROOT

sys.path.insert(0, str(BOOK / "_ext"))
import importlib.util

import reader_notebooks as rn


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_student = _load_script("make_student")

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
BASEURL = CONFIG["html"]["baseurl"]
REFRESH = "run `make notebooks` to regenerate notebooks/ from the book build"


# --------------------------------------------------------------------------------------------
# The converter, construct by construct
# --------------------------------------------------------------------------------------------


class FakeResolver(rn.Resolver):
    baseurl = "https://example.org/book/"
    raw_url = "https://raw.example.org/repo/main/"

    def equation(self, label):
        numbers = {"eq-a": "2.3", "eq-b": "2.4"}
        return rn.Target("book/ch2/page", f"equation-{label}", number=numbers[label],
                         kind="equation")

    def label(self, label):
        table = {
            "ch2-se": rn.Target("book/ch2/page", "", "Squeeze-and-Excitation", "2", "section"),
            "sec-cost": rn.Target("book/ch2/page", "sec-cost", "What it costs", "2.3", "section"),
            "ex-one": rn.Target("book/ch2/lab", "ex-one", "Exercise", "2.5", "exercise"),
            "prop-a": rn.Target("book/ch2/page", "prop-a", "", "2.1", "proposition"),
            "fig-a": rn.Target("book/ch2/page", "fig-a", "", "2.1", "figure"),
            # The field guide's pages are lettered like appendices (_toc.yml, "Field guide").
            "guide-simam": rn.Target("book/guide/simam", "", "SimAM", "B", "section"),
            "sec-simam-cost": rn.Target("book/guide/simam", "sec-simam-cost", "Cost", "B.2",
                                        "section"),
        }
        return table[label]

    def document(self, docname):
        table = {"book/ch7/measuring": rn.Target("book/ch7/measuring", "", "Measuring effects",
                                                 "7.10", "section")}
        return table[docname]

    def citation(self, key):
        table = {"hu2018": ("Hu et al.", "2018"), "woo2018": ("Woo et al.", "2018")}
        return (*table[key], rn.Target("book/references", f"id-{key}", kind="citation"))

    def glue(self, docname, key):
        return {("book/ch2/lab", "ch2_gain"): 1.2345,
                ("book/ch7/measuring", "ch7_p"): 0.0312}[(docname, key)]

    def numfig_format(self, kind):
        return {"figure": "Figure %s"}.get(kind, kind.capitalize() + " %s")


def convert(text: str) -> str:
    return rn.convert_markdown(text, FakeResolver(), notebook="book/ch2/lab.ipynb", cell=7,
                               docname="book/ch2/lab")


PAGE = "https://example.org/book/book/ch2/page.html"


@pytest.mark.parametrize("source, expected", [
    ("see {eq}`eq-a`.", f"see [(2.3)]({PAGE}#equation-eq-a)."),
    ("{eq}`the gate <eq-b>`", f"[the gate]({PAGE}#equation-eq-b)"),
    ("of {ref}`ch2-se`", f"of [Chapter 2 (Squeeze-and-Excitation)]({PAGE})"),
    ("in {ref}`sec-cost`", f"in [Section 2.3 (What it costs)]({PAGE}#sec-cost)"),
    ("{ref}`the cost <sec-cost>`", f"[the cost]({PAGE}#sec-cost)"),
    ("see {ref}`guide-simam`",
     "see [Field guide B (SimAM)](https://example.org/book/book/guide/simam.html)"),
    ("{ref}`sec-simam-cost`",
     "[Section B.2 (Cost)](https://example.org/book/book/guide/simam.html#sec-simam-cost)"),
    ("{numref}`fig-a`", f"[Figure 2.1]({PAGE}#fig-a)"),
    ("{ref}`ex-one`", "[Exercise 2.5](https://example.org/book/book/ch2/lab.html#ex-one)"),
    ("{numref}`Picture {number} <fig-a>`", f"[Picture 2.1]({PAGE}#fig-a)"),
    ("{prf:ref}`prop-a`", f"[Proposition 2.1]({PAGE}#prop-a)"),
    ("{doc}`../ch7/measuring`",
     "[Section 7.10 (Measuring effects)](https://example.org/book/book/ch7/measuring.html)"),
    ("{doc}`that page <../ch7/measuring>`",
     "[that page](https://example.org/book/book/ch7/measuring.html)"),
    ("SE {cite}`hu2018`", "SE ([Hu et al., 2018](https://example.org/book/book/references.html"
                          "#id-hu2018))"),
    ("{cite:p}`hu2018,woo2018`",
     "([Hu et al., 2018](https://example.org/book/book/references.html#id-hu2018); "
     "[Woo et al., 2018](https://example.org/book/book/references.html#id-woo2018))"),
    ("{cite:t}`hu2018` showed",
     "[Hu et al. (2018)](https://example.org/book/book/references.html#id-hu2018) showed"),
    ("{math}`x^2`", "$x^2$"),
    ("gain {glue:text}`ch2_gain:.1f` points", "gain 1.2 points"),
    ("p = {glue:text}`../ch7/measuring.ipynb::ch7_p:.3f`", "p = 0.031"),
    ("a `{eq}` in code and `block{i}.pre` stay", "a `{eq}` in code and `block{i}.pre` stay"),
    ("![a diagram](diagram.svg)", "![a diagram](https://raw.example.org/repo/main/book/ch2/"
                                  "diagram.svg)"),
    ("[the page](page.md#top)", f"[the page]({PAGE}#top)"),
    ("[elsewhere](https://example.com/x)", "[elsewhere](https://example.com/x)"),
])
def test_inline_markup(source, expected):
    assert convert(source) == expected


def test_role_split_across_lines_is_still_converted():
    assert convert("as in\n{eq}`eq-a`, then") == f"as in\n[(2.3)]({PAGE}#equation-eq-a), then"


def test_targets_and_comments_disappear():
    assert convert("(sec-x)=\n## A heading\n% a note to authors\ntext") == "## A heading\ntext"


@pytest.mark.parametrize("source", [
    "$$\nz = x\n$$ (eq-a)",
    "$$ z = x $$ (eq-a)",
])
def test_labelled_equation_gets_its_number(source):
    out = convert(source)
    assert "\\tag{2.3}" in out and "(eq-a)" not in out
    assert out.startswith("$$") and out.endswith("$$")


def test_unlabelled_equation_is_unchanged_and_percent_inside_maths_stays():
    assert convert("$$\na % b\n$$") == "$$\na % b\n$$"


@pytest.mark.parametrize("fence", ["```", ":::"])
def test_exercise_and_solution_in_either_fence(fence):
    source = (f"{fence}{{exercise}} Counting\n:label: ex-one\nWrite `f` as in {{eq}}`eq-a`.\n"
              f"{fence}\n\n{fence}{{solution}} ex-one\n:class: dropdown\nIt is $x$.\n{fence}")
    out = convert(source)
    assert out.startswith(f"> **[Exercise 2.5](https://example.org/book/book/ch2/lab.html#ex-one)"
                          f"** (Counting)\n>\n> Write `f` as in [(2.3)]({PAGE}#equation-eq-a).")
    assert "<details>\n<summary>Solution to Exercise 2.5</summary>\n\nIt is $x$.\n\n</details>" \
        in out
    assert "{exercise}" not in out and ":label:" not in out


def test_exercise_without_label_fails_loudly():
    with pytest.raises(rn.ReaderNotebookError, match="has no :label:"):
        convert("```{exercise} Untitled\nbody\n```")


def test_nested_directives_with_longer_outer_fence():
    out = convert("````{note}\nOuter.\n```{tip}\nInner.\n```\n````")
    assert out == "> **Note**\n>\n> Outer.\n> > **Tip**\n> >\n> > Inner."


def test_admonition_with_title_and_yaml_options():
    out = convert(":::{admonition} Paper versus code\n---\nclass: tip\n---\nThe paper says.\n:::")
    assert out == "> **Paper versus code**\n>\n> The paper says."


def test_proposition_and_proof():
    out = convert("```{prf:proposition} Rows sum to one\n:label: prop-a\nEach row.\n```\n\n"
                  "```{prf:proof}\nSum it.\n```")
    assert out.startswith(f"> **[Proposition 2.1]({PAGE}#prop-a)** (Rows sum to one)")
    assert "*Proof.*\n\nSum it." in out


def test_figure_with_number_and_caption():
    out = convert("```{figure} diagram.svg\n:name: fig-a\n:alt: Three boxes\nThe SE block.\n```")
    assert out == ("![Three boxes](https://raw.example.org/repo/main/book/ch2/diagram.svg)\n\n"
                   f"*[Figure 2.1]({PAGE}#fig-a): The SE block.*")


def test_math_directive_with_label():
    assert convert("```{math}\n:label: eq-b\na = b\n```") == "$$\na = b\n\\tag{2.4}\n$$"


def test_list_table_becomes_a_pipe_table():
    out = convert("```{list-table} Costs\n:header-rows: 1\n* - Module\n  - Params\n"
                  "* - SE {cite}`hu2018`\n  - 544\n```")
    assert out.splitlines() == [
        "**Costs**", "", "| Module | Params |", "|---|---|",
        "| SE ([Hu et al., 2018](https://example.org/book/book/references.html#id-hu2018)) | 544 |"]


def test_plain_code_blocks_are_verbatim():
    source = "```python\nx = {eq}`not-a-role`\n```"
    assert convert(source) == source


@pytest.mark.parametrize("source, construct", [
    ("a {unknownrole}`x` b", "unknown MyST role {unknownrole}"),
    ("```{glossary}\nterm\n```", "unknown MyST directive {glossary}"),
    (":::{tab-set}\nx\n:::", "unknown MyST directive {tab-set}"),
    ("{{ version }}", "substitution"),
    ("{eq}`eq-missing`", "equation 'eq-missing' is not defined"),
    ("{cite}`nobody2020`", "citation key 'nobody2020'"),
    ("{ref}`nowhere`", "label 'nowhere'"),
])
def test_unknown_or_unresolved_constructs_fail_naming_notebook_cell_and_construct(source,
                                                                                  construct):
    with pytest.raises(rn.ReaderNotebookError) as info:
        convert(source)
    assert "book/ch2/lab.ipynb, cell 7" in str(info.value)
    assert construct in str(info.value)


def _notebook(*cells) -> dict:
    return {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def _md(source: str, id_: str) -> dict:
    return {"cell_type": "markdown", "id": id_, "metadata": {}, "source": source}


def _code(source: str, id_: str, tags=(), **metadata) -> dict:
    meta = dict(metadata, **({"tags": list(tags)} if tags else {}))
    return {"cell_type": "code", "id": id_, "metadata": meta, "source": source, "outputs": [],
            "execution_count": None}


STUB = 'def f(x):\n    """Return twice x."""\n    ...  # your code here'
SOLUTION = 'def f(x):\n    """Return twice x."""\n    return 2 * x  # ``` in a comment'
CHECK_OUTPUT = {"expected_outputs": [{"output_type": "execute_result",
                                      "data": {"text/plain": "Correct: 2 * x."}}]}


def _exercise_notebook(exercise_options: str = ":label: ex-one") -> dict:
    return _notebook(
        _md(f"```{{exercise}} Doubling\n{exercise_options}\nWrite `f`.\n```", "m1"),
        _code(STUB, "c1", tags=["exercise"]),
        _code(SOLUTION, "c2", tags=["solution", "hide-input"]),
        _code("check(f)", "c3", tags=["nbval-check-output"], nbval=CHECK_OUTPUT),
    )


def _convert_nb(nb: dict, resolver: rn.Resolver | None = None) -> dict:
    return rn.convert_notebook(nb, resolver or FakeResolver(), notebook="book/ch2/lab.ipynb",
                               docname="book/ch2/lab")


def test_a_solution_cell_becomes_a_collapsed_markdown_block_in_its_place():
    out = _convert_nb(_exercise_notebook())
    assert [c["cell_type"] for c in out["cells"]] == ["markdown", "code", "markdown", "code"]
    solution = out["cells"][2]
    assert solution["id"] == "c2" and solution["metadata"] == {"tags": ["solution"]}
    assert "outputs" not in solution and "execution_count" not in solution
    text = "".join(solution["source"])
    # The code holds three backticks: the fence is longer, so the block stays one code block.
    assert text == ("<details>\n<summary>Solution to Exercise 2.5</summary>\n\n````python\n"
                    f"{SOLUTION}\n````\n\n</details>")
    html = JUPYTER_MARKDOWN.render(text)
    assert html.count("<pre><code") == 1 and "return 2 * x" in html
    assert "Correct" not in json.dumps(out), "nbval's expected output (the answer) was kept"


def test_a_reader_notebooks_code_cells_are_the_student_editions():
    import nbformat

    nb = _exercise_notebook()
    out = _convert_nb(nb)
    student, removed = make_student.student_version(nbformat.from_dict(copy.deepcopy(nb)))
    assert removed == 1
    assert [(c["id"], _text(c), c["metadata"]) for c in out["cells"] if c["cell_type"] == "code"] \
        == [(c.id, _text(c), dict(c.metadata)) for c in student.cells if c.cell_type == "code"]


def test_the_chinese_reader_notebook_names_the_solution_in_chinese():
    class Chinese(FakeResolver):
        words = rn.WORDS["zh"]

        def numfig_format(self, kind):
            return "练习 %s" if kind == "exercise" else super().numfig_format(kind)

    text = "".join(_convert_nb(_exercise_notebook(), Chinese())["cells"][2]["source"])
    assert "<summary>练习 2.5 的解答</summary>" in text


def test_an_unnumbered_exercise_has_an_unnumbered_solution():
    out = _convert_nb(_exercise_notebook(":nonumber:"))
    assert "<summary>Solution</summary>" in "".join(out["cells"][2]["source"])
    assert "".join(out["cells"][0]["source"]).startswith("> **Exercise** (Doubling)")


def test_a_solution_with_no_exercise_before_it_fails_loudly():
    nb = _exercise_notebook()
    nb["cells"][0] = _md("Some text.", "m1")
    with pytest.raises(rn.ReaderNotebookError, match="cell 2: a solution cell with no"):
        _convert_nb(nb)


def test_the_solution_is_named_after_the_nearest_exercise_before_it():
    nb = _exercise_notebook(":label: ex-one")
    nb["cells"][0] = _md("```{exercise} First\n:nonumber:\nA.\n```\n\n"
                         "```{exercise} Second\n:label: ex-one\nB.\n```", "m1")
    assert rn.exercises_in(_text(nb["cells"][0])) == [(None, True), ("ex-one", False)]
    assert "Solution to Exercise 2.5" in "".join(_convert_nb(nb)["cells"][2]["source"])


def test_pages_address_of_a_repository():
    assert rn.pages_address("https://github.com/Org/repo") == "https://org.github.io/repo/"
    assert rn.pages_address("https://github.com/org/org.github.io") == "https://org.github.io/"
    with pytest.raises(ValueError, match="not a GitHub repository"):
        rn.pages_address("https://gitlab.com/org/repo")


def _install_notebook() -> dict:
    return _notebook(_code('import sys\n\nif "google.colab" in sys.modules:\n    pass', "c0",
                           tags=["colab-install", "remove-cell"]),
                     *_exercise_notebook()["cells"])


def test_the_chinese_reader_notebook_sets_its_checkers_language_in_the_install_cell():
    nb = _install_notebook()
    english = rn.convert_notebook(nb, FakeResolver(), notebook="x.ipynb", docname="book/ch2/lab")
    chinese = rn.convert_notebook(nb, FakeResolver(), notebook="x.ipynb", docname="book/ch2/lab",
                                  language="zh_CN")
    assert _text(english["cells"][0]) == _text(nb["cells"][0])
    text = _text(chinese["cells"][0])
    assert text.startswith(_text(nb["cells"][0]) + "\n\n#")
    assert text.endswith('os.environ["ATTN_LESSONS_LANGUAGE"] = "zh_CN"')
    assert [c["id"] for c in chinese["cells"]] == [c["id"] for c in english["cells"]]
    assert [_text(c) for c in chinese["cells"][1:]] == [_text(c) for c in english["cells"][1:]]
    # The line runs as it is in a kernel: the checkers then answer in Chinese.
    namespace: dict = {}
    saved = os.environ.get("ATTN_LESSONS_LANGUAGE")
    try:
        exec(compile(text, "install-cell", "exec"), namespace)
        from attn_lessons.exercises import get_language, preface
        assert get_language() == "zh_CN"
        assert str(preface.check_attend(None)).startswith("还不对：")
    finally:
        if saved is None:
            os.environ.pop("ATTN_LESSONS_LANGUAGE", None)
        else:
            os.environ["ATTN_LESSONS_LANGUAGE"] = saved


def test_a_chinese_notebook_without_its_install_cell_fails_loudly():
    with pytest.raises(rn.ReaderNotebookError, match="colab-install"):
        rn.convert_notebook(_exercise_notebook(), FakeResolver(), notebook="x.ipynb",
                            docname="book/ch2/lab", language="zh_CN")


# --------------------------------------------------------------------------------------------
# The committed reader notebooks, rendered as plain Jupyter renders them
# --------------------------------------------------------------------------------------------


def _toc_notebooks() -> list[str]:
    def files(node):
        if isinstance(node, dict):
            return [v for k, v in node.items() if k in ("file", "root")] + [
                f for k, v in node.items() if k not in ("file", "root") for f in files(v)]
        if isinstance(node, list):
            return [f for item in node for f in files(item)]
        return []

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return sorted(f.removesuffix(".ipynb") for f in files(toc)
                  if (ROOT / f"{f.removesuffix('.ipynb')}.ipynb").is_file())


SOURCES = _toc_notebooks()
READER = ROOT / rn.REPO_FOLDER
#: The Chinese edition's reader notebooks (notebooks/zh_CN/, from the Chinese build).
TRANSLATED = {"zh_CN": READER / "zh_CN"}
#: Each notebook of each edition: "book/ch2_se/se_lab", "zh_CN/book/ch2_se/se_lab".
EDITIONS_SOURCES = SOURCES + [f"{lang}/{d}" for lang in TRANSLATED for d in SOURCES]


def _split(key: str) -> tuple[Path, str]:
    lang, _, docname = key.partition("/")
    return (TRANSLATED[lang], docname) if lang in TRANSLATED else (READER, key)


def _reader(key: str) -> dict:
    folder, docname = _split(key)
    path = folder / rn.reader_path(docname)
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: {REFRESH}", pytrace=False)
    return json.loads(path.read_text(encoding="utf-8"))


def _source(key: str) -> dict:
    return json.loads((ROOT / f"{_split(key)[1]}.ipynb").read_text(encoding="utf-8"))


def _text(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


# allow_labels=False: plain Jupyter shows "$$ x $$ (eq-a)" with its label as text.
JUPYTER_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table").use(
    dollarmath_plugin, allow_labels=False)
_LEFTOVERS = {
    "a MyST role": re.compile(r"\{[A-Za-z][\w:.+-]*\}<code>"),
    "a MyST directive in a code fence": re.compile(r'<code class="language-\{'),
    "a MyST directive in a colon fence": re.compile(r":{3,}\s*\{"),
    "a MyST target": re.compile(r"\([^()\s]+\)=(\s|<|$)"),
    "a MyST equation label": re.compile(r"\$\$\s*\([^()\s]+\)"),
    "a MyST substitution": re.compile(r"\{\{[^}]*\}\}"),
    "a directive option": re.compile(r"(^|>)\s*:(label|class|name|alt|header-rows):\s", re.M),
}


def test_every_book_notebook_has_a_reader_notebook_and_nothing_else_is_there():
    assert SOURCES, "no notebook in _toc.yml"
    expected = {rn.reader_path(d) for d in SOURCES}
    present = {str(p.relative_to(READER)) for p in READER.rglob("*.ipynb")
               if p.relative_to(READER).parts[0] not in TRANSLATED} if READER.is_dir() else set()
    assert present == expected, f"notebooks/ differs from the book's notebooks: {REFRESH}"
    for lang, folder in TRANSLATED.items():
        present = {str(p.relative_to(folder)) for p in folder.rglob("*.ipynb")}
        assert present == expected, f"notebooks/{lang}/ differs from the book's: {REFRESH}"


def _is_solution(cell: dict) -> bool:
    return rn.SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("docname", EDITIONS_SOURCES)
def test_cells_are_the_books_and_code_cells_the_student_editions(docname):
    """Same cells and ids as the book; its code cells are exactly the student edition's.

    The student edition (scripts/make_student.py) is the book without its solution cells: every
    checker there answers "Not yet" (tests/browser/test_student_edition.py runs it), so "Run all"
    in a reader notebook runs the same code and never replaces the reader's answer.
    """
    import nbformat

    source, reader = _source(docname), _reader(docname)
    assert [c.get("id") for c in reader["cells"]] == [c.get("id") for c in source["cells"]], \
        REFRESH
    for s, r in zip(source["cells"], reader["cells"], strict=True):
        expected = "markdown" if _is_solution(s) else s["cell_type"]
        assert r["cell_type"] == expected, REFRESH
        assert not r.get("outputs"), "a reader notebook is committed without outputs"
    student, _ = make_student.student_version(nbformat.from_dict(copy.deepcopy(source)))
    language = _split(docname)[0].name if docname.partition("/")[0] in TRANSLATED else None
    # A translated edition's install cell also sets its checkers' language.
    expected = [rn.with_checker_language(dict(c), language)
                if rn.INSTALL_TAG in c.metadata.get("tags", []) else c
                for c in student.cells if c.cell_type == "code"]
    assert [(c.get("id"), _text(c), c["metadata"]) for c in reader["cells"]
            if c["cell_type"] == "code"] == \
        [(c.get("id"), _text(c), dict(c["metadata"])) for c in expected], REFRESH
    assert reader["metadata"] == source["metadata"], REFRESH


@pytest.mark.parametrize("key", [f"{lang}/{d}" for lang in TRANSLATED for d in SOURCES])
def test_a_translated_reader_notebook_sets_its_checkers_language(key):
    """Its install cell (the first code cell) sets ATTN_LESSONS_LANGUAGE, so the checkers answer
    in the edition's language in Colab, Binder or Jupyter without the reader doing anything."""
    language = _split(key)[0].name
    codes = [c for c in _reader(key)["cells"] if c["cell_type"] == "code"]
    assert rn.INSTALL_TAG in codes[0]["metadata"].get("tags", []), key
    assert f'os.environ["ATTN_LESSONS_LANGUAGE"] = "{language}"' in _text(codes[0]), REFRESH
    assert not any("ATTN_LESSONS_LANGUAGE" in _text(c) for c in codes[1:]), key


@pytest.mark.parametrize("docname", EDITIONS_SOURCES)
def test_solutions_are_shown_as_collapsed_markdown_and_never_run(docname):
    """Each solution cell of the book: a <details> block holding its code, in its place."""
    source, reader = _source(docname), _reader(docname)
    solutions = [(s, r) for s, r in zip(source["cells"], reader["cells"], strict=True)
                 if _is_solution(s)]
    code = {_text(c).strip() for c in reader["cells"] if c["cell_type"] == "code"}
    for s, r in solutions:
        text = _text(r)
        assert r["cell_type"] == "markdown" and _is_solution(r), REFRESH
        assert text.startswith("<details>\n<summary>") and text.endswith("</details>"), text[:80]
        tokens = JUPYTER_MARKDOWN.parse(text)
        fences = [t for t in tokens if t.type == "fence"]
        assert [(t.info, t.content.strip()) for t in fences] == [("python", _text(s).strip())], (
            f"{rn.reader_path(docname)}: the solution {s.get('id')} is not shown as its code")
        assert _text(s).strip() not in code, "a solution is still an executable code cell"
    summaries = [re.search(r"<summary>(.*?)</summary>", _text(r))[1] for _, r in solutions]
    lang = "zh" if docname.startswith("zh_CN/") else "en"
    numbered = re.compile(r"^Solution to Exercise (?:\d+|[A-Z])\.\d+$" if lang == "en"
                          else r"^练习 (?:\d+|[A-Z])\.\d+ 的解答$")
    for summary in summaries:
        assert numbered.match(summary) or summary == rn.WORDS[lang]["solution_unnumbered"], \
            summary


def test_every_solution_of_the_book_reaches_the_reader_notebooks_as_markdown():
    count = sum(_is_solution(c) for d in SOURCES for c in _source(d)["cells"])
    assert count > 20, "the book's notebooks have (almost) no solution cells"
    for docname in EDITIONS_SOURCES:
        assert not [c for c in _reader(docname)["cells"]
                    if c["cell_type"] == "code" and _is_solution(c)], docname


@pytest.mark.parametrize("docname", EDITIONS_SOURCES)
def test_markdown_renders_in_plain_jupyter_without_myst(docname):
    problems = []
    for index, cell in enumerate(_reader(docname)["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        html = JUPYTER_MARKDOWN.render(_text(cell))
        # A label after a display equation survives as text in Jupyter, whatever the parse.
        for match in re.finditer(r"\$\$\s*\([^()\s]+\)\s*$", _text(cell), re.M):
            problems.append(f"cell {index}: a MyST equation label: {match.group(0)!r}")
        for what, pattern in _LEFTOVERS.items():
            for match in pattern.finditer(html):
                problems.append(f"cell {index}: {what}: {match.group(0)!r}")
    assert not problems, f"{rn.reader_path(docname)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("docname", EDITIONS_SOURCES)
def test_every_labelled_equation_shows_its_number(docname):
    for index, (s, r) in enumerate(zip(_source(docname)["cells"], _reader(docname)["cells"],
                                       strict=True)):
        if s["cell_type"] != "markdown":
            continue
        source_text = _text(s)
        labelled = len(re.findall(r"\$\$\s*\([^()\s]+\)\s*$", source_text, re.M)) + len(
            re.findall(r"^[`:]{3,}\{math\}[^\n]*\n(?:\s*:\w[\w-]*:[^\n]*\n)*?\s*:label:",
                       source_text, re.M))
        tokens = JUPYTER_MARKDOWN.parse(_text(r))
        tagged = sum("\\tag{" in t.content for t in tokens if t.type in ("math_block",
                                                                         "math_block_label"))
        assert tagged == labelled, (
            f"{rn.reader_path(docname)}, cell {index}: {labelled} labelled equations in the "
            f"source, {tagged} numbered (\\tag) in the reader notebook")


def _links(cell_text: str) -> list[str]:
    hrefs = []

    def walk(tokens):
        for token in tokens:
            if token.type in ("link_open", "image"):
                hrefs.append(token.attrGet("href") or token.attrGet("src"))
            if token.children:
                walk(token.children)

    walk(JUPYTER_MARKDOWN.parse(cell_text))
    hrefs += re.findall(r'<a\s[^>]*href="([^"]+)"', cell_text)
    return hrefs


@pytest.mark.parametrize("docname", EDITIONS_SOURCES)
def test_links_work_outside_the_book(docname):
    """Colab opens one file: a relative link would lead nowhere, so links are absolute."""
    bad = []
    for index, cell in enumerate(_reader(docname)["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for href in _links(_text(cell)):
            if not re.match(r"https?://|mailto:|#", href):
                bad.append(f"cell {index}: relative link {href!r}")
            if "github.io" in href and not href.startswith(BASEURL):
                bad.append(f"cell {index}: {href!r} is not at the published address {BASEURL}")
    assert not bad, "\n".join(bad)


def test_reader_notebooks_link_to_the_book():
    """Cross-references became links to the published address (the converter ran)."""
    links = [h for d in SOURCES for c in _reader(d)["cells"] if c["cell_type"] == "markdown"
             for h in _links(_text(c))]
    assert any(h.startswith(BASEURL) for h in links)


# --------------------------------------------------------------------------------------------
# A translated edition: the MyST source translated from the page's catalogue, then converted
# --------------------------------------------------------------------------------------------

CATALOGUE = {
    "Lab: the block": "实验：模块",
    "The squeeze {eq}`eq-a` averages each channel, as in {ref}`ch2-se`.":
        "挤压 {eq}`eq-a` 对每个通道求平均，与{ref}`ch2-se`相同。",
    "first item": "第一项",
    "second item continued": "第二项（续）",
    "Squeeze": "挤压",
    "The answer.": "答案。",
}


def _gettext(msgid: str) -> str:
    return CATALOGUE.get(msgid, msgid)


def test_translation_replaces_headings_paragraphs_items_and_directive_titles():
    source = ("# Lab: the block\n\nThe squeeze {eq}`eq-a` averages each\nchannel, as in "
              "{ref}`ch2-se`.\n\n- first item\n- second item\n  continued\n\n"
              "```{exercise} Squeeze\n:label: ex-one\n\nThe answer.\n```")
    out = rn.translate_markdown(source, _gettext)
    assert out == ("# 实验：模块\n\n挤压 {eq}`eq-a` 对每个通道求平均，与{ref}`ch2-se`相同。\n\n"
                   "- 第一项\n- 第二项（续）\n\n```{exercise} 挤压\n:label: ex-one\n\n答案。\n```")
    converted = convert(out)  # then converted as any reader notebook
    assert converted.startswith("# 实验：模块") and "[(2.3)](" in converted
    assert "答案。" in converted


def test_translation_keeps_code_maths_tables_targets_and_what_is_not_translated():
    source = ("(sec-x)=\n## Not in the catalogue\n\n```python\nThe answer.\n```\n\n"
              "$$\nThe answer.\n$$ (eq-a)\n\n| The answer. |\n| --- |\n\n"
              "An English paragraph\nthat stays.")
    assert rn.translate_markdown(source, _gettext) == source


@pytest.mark.parametrize("docname", SOURCES)
def test_chinese_reader_notebooks_carry_the_translations_of_their_catalogue(docname):
    """Every heading the page's catalogue translates is translated in notebooks/zh_CN."""
    from babel.messages.pofile import read_po

    po = ROOT / "book" / "locale" / "zh_CN" / "LC_MESSAGES" / f"{docname}.po"
    with po.open("rb") as f:
        translated = {m.id: m.string for m in read_po(f) if m.id and m.string and not m.fuzzy}
    headings = [h for c in _source(docname)["cells"] if c["cell_type"] == "markdown"
                for h in re.findall(r"^#{1,6} (.+)$", _text(c), re.M) if h in translated]
    reader = "\n".join(_text(c) for c in _reader(f"zh_CN/{docname}")["cells"]
                       if c["cell_type"] == "markdown")
    missing = [h for h in headings if translated[h].split("{")[0].strip() not in reader]
    assert not missing, f"headings left in English in notebooks/zh_CN: {missing[:5]}: {REFRESH}"
