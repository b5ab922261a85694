"""Every notebook of the book follows the conventions readers and CI rely on.

- committed without outputs or execution counts, with the standard python3 kernel;
- first code cell: the Colab-only install, pinned, built from the repository URL in _config.yml;
- second code cell: ``get_device()`` and ``seed_everything(...)``;
- every exercise solution has a stub before it (so the student edition still runs) and the cell
  that checks it right after it (the reader notebooks and the pages rely on that order);
- every cell marked for exact output checking carries its expected output;
- no path tricks: the library is imported as an installed package;
- every notebook and page under book/ is in the table of contents, and every entry exists.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import BOOK, ROOT

NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def colab_cell() -> str:
    """The one Colab install cell, derived from _config.yml's repository URL and the version."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return (
        "# Colab only: install the book's companion library (does nothing anywhere else).\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        "    subprocess.run(\n"
        '        [sys.executable, "-m", "pip", "install", "--quiet",\n'
        f'         "attn-lessons @ git+{url}@v{version}"],\n'
        "        check=True,\n"
        "    )"
    )


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebook found under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(_code_cells(_load(path)))
             if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, f"code cells {dirty} carry outputs: strip them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_saved_widget_state(path):
    # Saved widget state makes myst-nb load require.js and ipywidgets from a CDN: the book
    # must work offline (scripts/record_expected_outputs.py keeps only these two keys).
    extra = set(_load(path)["metadata"]) - {"kernelspec", "language_info"}
    assert not extra, f"notebook metadata carries {sorted(extra)}: re-record or strip it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_standard_kernel(path):
    assert _load(path)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_first_cell_installs_the_library_in_colab_only(path):
    first = _code_cells(_load(path))[0]
    assert _source(first).strip() == colab_cell()
    assert "colab-install" in _tags(first)


def test_colab_cell_runs_and_does_nothing_outside_colab():
    namespace: dict = {}
    exec(compile(colab_cell(), "colab-cell", "exec"), namespace)  # must not try to install
    assert "subprocess" not in namespace


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_second_cell_picks_the_device_and_seeds(path):
    second = _source(_code_cells(_load(path))[1])
    assert re.search(r"\bdevice\s*=\s*get_device\(\)", second), "set device = get_device()"
    assert re.search(r"\bseed_everything\(\s*\d+", second), "call seed_everything(<seed>)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_solutions_have_stubs_before_them(path):
    defined: set[str] = set()
    for cell in _code_cells(_load(path)):
        names = {node.name for node in ast.parse(_source(cell)).body
                 if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        tags = _tags(cell)
        if "exercise" in tags:
            defined |= names
        if "solution" in tags:
            missing = names - defined
            assert not missing, f"solution defines {missing} with no exercise stub before it"
            assert "hide-input" in tags, "solution cells are collapsed in the book (hide-input)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_each_solution_is_followed_by_the_cell_that_checks_it(path):
    """stub, solution, check: book/_ext/exercise_checks.py shows the check's output on the page
    only inside the collapsed solution, and the reader notebooks keep the check after it."""
    cells = _load(path)["cells"]
    for index, cell in enumerate(cells):
        if "solution" not in _tags(cell):
            continue
        after = cells[index + 1] if index + 1 < len(cells) else None
        assert after is not None and after["cell_type"] == "code", (
            f"cell {index}: a solution cell must be followed by the code cell that checks it")
        assert re.search(r"\bcheck_\w+\(", _source(after)) and "solution" not in _tags(after), (
            f"cell {index + 1} does not call a checker (check_...) after the solution")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_checked_cells_carry_expected_output(path):
    for i, cell in enumerate(_code_cells(_load(path))):
        if "nbval-check-output" in _tags(cell):
            expected = cell["metadata"].get("nbval", {}).get("expected_outputs")
            assert expected, f"code cell {i} is checked but has no recorded output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_path_tricks(path):
    for cell in _code_cells(_load(path)):
        assert "sys.path" not in _source(cell), "import attn_lessons as an installed package"


def _toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root"):
                files.append(value)
            else:
                files += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


def test_table_of_contents_matches_the_book():
    listed = {f.removesuffix(".md").removesuffix(".ipynb")
              for f in _toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text()))}
    for entry in listed:
        assert any((ROOT / f"{entry}{ext}").is_file() for ext in (".md", ".ipynb")), entry
    pages = {str(p.relative_to(ROOT).with_suffix(""))
             for p in [*BOOK.rglob("*.md"), *NOTEBOOKS]
             if ".ipynb_checkpoints" not in p.parts}
    assert not pages - listed, f"pages missing from _toc.yml: {sorted(pages - listed)}"


_GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]*)`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_markdown_quotes_glue_in_the_cross_document_form(path):
    """``{glue:text}`nb.ipynb::key:fmt``` in a notebook's own markdown, never ``{glue:text}`key```.

    The Chinese edition parses each translated message as a document of its own, after myst-nb has
    put the notebook's glue data away; only the cross-document form, resolved later from the
    notebook's ``.glue.json``, survives that (book/_ext/language_switch.py). The format is
    required too: without one, myst-nb reads ``nb.ipynb::key`` as the key ``nb.ipynb:``.
    """
    nb = _load(path)
    bad = [
        content
        for cell in nb["cells"]
        if cell["cell_type"] == "markdown"
        for content in _GLUE_ROLE.findall(_source(cell))
        if "::" not in content or ":" not in content.split("::", 1)[1]
    ]
    assert not bad, f"{path.name}: quote glue as notebook.ipynb::key:format, not {bad}"
