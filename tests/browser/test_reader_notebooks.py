"""The reader notebooks after the build: the committed notebooks/ is what the build generates, and
every link they make to the book lands on a page and an anchor that exist.

book/_ext/reader_notebooks.py writes the reader notebooks into `_build/html/_notebooks/` at the end
of `make book`; Colab and Binder open the committed copy in `notebooks/`, so the two must be equal.
The rendering checks that need no build (no MyST left, equation numbers, absolute links) are in
tests/test_reader_notebooks.py.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, notebook_kernels, run_notebook

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import reader_notebooks as rn  # book/_ext is not a package

REFRESH = ("run `make notebooks` (it rebuilds the book and copies _build/html/_notebooks to "
           "notebooks/, _build/html/zh_CN/_notebooks to notebooks/zh_CN/) and commit notebooks/")
COMMITTED = ROOT / rn.REPO_FOLDER
BASEURL = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"]


def _notebooks(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*.ipynb"))} \
        if folder.is_dir() else {}


def test_committed_reader_notebooks_equal_the_build(book_html):
    """notebooks/ is the English build's, notebooks/zh_CN/ the Chinese build's."""
    built = _notebooks(book_html / rn.HTML_FOLDER)
    assert built, f"the build wrote no reader notebooks into {book_html / rn.HTML_FOLDER}"
    chinese = _notebooks(book_html / "zh_CN" / rn.HTML_FOLDER)
    assert sorted(chinese) == sorted(built), "the Chinese build wrote other reader notebooks"
    built.update({f"zh_CN/{name}": path for name, path in chinese.items()})
    committed = _notebooks(COMMITTED)
    assert sorted(committed) == sorted(built), f"notebooks/ and the build differ: {REFRESH}"
    stale = [name for name in built if built[name].read_bytes() != committed[name].read_bytes()]
    assert not stale, f"out of date in notebooks/: {stale}: {REFRESH}"


def _ids(page: Path) -> set[str]:
    return set(re.findall(r'\s(?:id|name)="([^"]*)"', page.read_text(encoding="utf-8",
                                                                    errors="replace")))


@pytest.mark.parametrize("name", sorted(_notebooks(COMMITTED)))
def test_links_to_the_book_resolve_in_the_build(book_html, name):
    nb = json.loads((COMMITTED / name).read_text(encoding="utf-8"))
    broken, seen = [], 0
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        for href in re.findall(r"\]\((" + re.escape(BASEURL) + r"[^)\s]*)\)", text):
            seen += 1
            parsed = urllib.parse.urlparse(href[len(BASEURL):])
            page = book_html / urllib.parse.unquote(parsed.path)
            if not page.is_file():
                broken.append(f"cell {index}: {href} (no page {parsed.path} in the build)")
            elif parsed.fragment and urllib.parse.unquote(parsed.fragment) not in _ids(page):
                broken.append(f"cell {index}: {href} (no anchor #{parsed.fragment})")
    assert not broken, f"{name}:\n" + "\n".join(broken)


# ---------------------------------------------------------------- "Run all", as in Colab

#: Reader notebooks executed top to bottom: the fast ones (a few seconds each), in both languages.
#: Their code cells are the student edition's (tests/test_reader_notebooks.py), which
#: tests/browser/test_student_edition.py runs in full; here the file Colab opens is run as it is.
RUN_ALL = [f"{prefix}{name}" for prefix in ("", "zh_CN/")
           for name in ("preface/first_attention.ipynb", "ch1_similarity/similarity_lab.ipynb")]


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _printed(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
        else:
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


@pytest.fixture(scope="module")
def run_all(tmp_path_factory) -> dict[str, dict]:
    """Each notebook of RUN_ALL copied out of the repository and executed once, two at a time
    (in forked kernels where they work: ``notebook_kernels``)."""
    import os
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    folder = tmp_path_factory.mktemp("run_all")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def run(name: str, kernels) -> dict:
        notebook = folder / name.replace("/", "__")
        shutil.copyfile(COMMITTED / name, notebook)
        return run_notebook(notebook, kernels, timeout=600)

    with notebook_kernels(folder, env) as kernels, ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda name: run(name, kernels), RUN_ALL)
        return dict(zip(RUN_ALL, runs, strict=True))


@pytest.mark.parametrize("name", RUN_ALL)
def test_run_all_keeps_the_stubs_and_every_checker_says_not_yet(run_all, name):
    """Every cell run in order, the stubs untouched: nothing raises, each check says "Not yet".

    The check of an exercise is the code cell after its solution block (the markdown cell tagged
    `solution`); with the solution never executed it judges the stub.
    """
    result = run_all[name]
    assert result["error"] is None, f"{name} stopped: {result['error']}"
    cells = result["executed"].cells
    checks = [i + 1 for i, c in enumerate(cells) if "solution" in _tags(c)]
    assert checks, f"{name} has no solution block"
    for index, cell in enumerate(cells):
        assert not (cell.cell_type == "code" and "solution" in _tags(cell)), (
            f"cell {index} is an executable solution")
    # The Chinese notebooks' checkers answer in Chinese (their install cell sets the language).
    chinese = name.startswith("zh_CN/")
    not_yet, right = ("还不对：", "正确：") if chinese else ("Not yet: ", "Correct:")
    for index in checks:
        cell = cells[index]
        text = _printed(cell)
        assert cell.cell_type == "code" and text.startswith(not_yet), (
            f"{name}, cell {index}: the check after a solution printed {text!r}")
        if chinese:
            assert re.search(r"[\u4e00-\u9fff]", text.removeprefix(not_yet)), (
                f"{name}, cell {index}: the hint is not in Chinese: {text!r}")
    answers = [i for i, c in enumerate(cells) if right in _printed(c)]
    assert not answers, f"{name}: cells {answers} print {right!r} with the stubs untouched"
