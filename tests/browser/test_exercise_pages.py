"""The exercises on the built pages of both editions: one numbering, and no answer given away.

These read the built HTML (no browser needed; they run after `make book`, with the browser stage):

- every exercise of chapter N is numbered "Exercise N.k" ("练习 N.k"), k counting through the
  chapter's page and then its notebooks in table-of-contents order, exactly as the sources'
  labels predict (tests/test_exercise_prompts.py, which checks the reader notebooks the same way);
- on a notebook page, a checker's "Correct: ..." ("正确：..." on a Chinese page) appears only
  inside a collapsed solution (book/_ext/exercise_checks.py): each solution cell is a closed
  ``<details>`` whose summary names its exercise and which holds the solution's code and the
  output of the check run on it, placed right after the cell that calls the checker, which
  itself shows no output.

tests/browser/test_pages.py opens the same pages in Chromium (hidden before a click, shown after);
tests/browser/test_pdf.py checks the printed book's numbers.
"""

from __future__ import annotations

import json
import re
from functools import cache

import pytest

from ..test_exercise_prompts import CHAPTERS, _cells, _path, _tags, _text, expected_numbers, rn
from .conftest import html_dir

EDITIONS = {
    "en": {"folder": "", "exercise": "Exercise", "correct": "Correct: ",
           "solution": re.compile(r"Solution to Exercise ((?:\d+|[A-Z])\.\d+)|Solution")},
    # The Chinese pages show the check's verdict in Chinese (book/_ext/exercise_checks.py).
    "zh_CN": {"folder": "zh_CN/", "exercise": "练习", "correct": "正确：",
              "solution": re.compile(r"练习 ((?:\d+|[A-Z])\.\d+) 的解答|解答")},
}
NOTEBOOK_DOCS = [d for _, files in CHAPTERS for d in files if _path(d).suffix == ".ipynb"]


@cache
def soup_of(language: str, docname: str):
    from bs4 import BeautifulSoup

    page = html_dir() / f"{EDITIONS[language]['folder']}{docname}.html"
    if not page.is_file():
        pytest.fail(f"no page {page}: run `make book` first", pytrace=False)
    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def _exercise_heads(soup) -> list[tuple[str, str]]:
    """(id, "Exercise 2.5") of each numbered exercise box of a page, in page order."""
    heads = []
    for box in soup.select("div.exercise.admonition"):
        number = box.select_one("p.admonition-title span.caption-number")
        if number is not None:
            heads.append((box.get("id"), number.get_text().strip()))
    return heads


@pytest.mark.parametrize("language", EDITIONS)
@pytest.mark.parametrize("chapter, files", [c for c in CHAPTERS if c[0] is not None],
                         ids=[f[0] for n, f in CHAPTERS if n is not None])
def test_exercises_are_numbered_through_the_chapter(book_html, language, chapter, files):
    numbers, word = expected_numbers(), EDITIONS[language]["exercise"]
    shown = [head for docname in files for head in _exercise_heads(soup_of(language, docname))]
    labels = [label for label, n in numbers.items() if n.split(".")[0] == str(chapter)]
    assert shown == [(label, f"{word} {numbers[label]}") for label in labels]
    assert [int(n.split(" ")[-1].split(".")[1]) for _, n in shown] == \
        list(range(1, len(shown) + 1)), f"chapter {chapter}: not numbered 1, 2, 3, ..."


def _expected_summaries(docname: str) -> list[str | None]:
    """For each solution cell of a notebook, in order: the number of the exercise it solves."""
    numbers, last, out = expected_numbers(), None, []
    for cell in _cells(docname):
        if cell["cell_type"] == "markdown":
            found = rn.exercises_in(_text(cell))
            last = found[-1][0] if found else last
        elif "solution" in _tags(cell):
            out.append(numbers.get(last) if last else None)
    return out


@pytest.mark.parametrize("language", EDITIONS)
@pytest.mark.parametrize("docname", NOTEBOOK_DOCS)
def test_a_checks_output_shows_only_inside_its_collapsed_solution(book_html, language, docname):
    soup = soup_of(language, docname)
    correct = EDITIONS[language]["correct"]
    verdicts = [o for o in soup.select("div.cell_output")
                if "Correct:" in o.get_text() or correct in o.get_text()]
    outside = [o.get_text().strip()[:80] for o in verdicts
               if o.find_parent("div", class_="tag_solution") is None]
    assert not outside, f"a checker's verdict outside a solution: {outside}"
    solutions = soup.select("div.cell.tag_solution")
    expected = _expected_summaries(docname)
    assert len(solutions) == len(expected), "solution cells on the page and in the notebook"
    for index, (cell, number) in enumerate(zip(solutions, expected, strict=True)):
        details = cell.find("details")
        assert details is not None and not details.has_attr("open"), (
            f"solution {index} is not collapsed")
        summary = details.select_one("summary p.collapsed")
        match = EDITIONS[language]["solution"].fullmatch(summary.get_text().strip())
        assert match and match.group(1) == number, (
            f"solution {index} is summarised {summary.get_text().strip()!r}, "
            f"expected exercise {number}")
        assert details.select_one("div.cell_input"), f"solution {index} lost its code"
        check = details.select_one("div.cell_output")
        assert check is not None and correct in check.get_text() and (
            language == "en" or "Correct:" not in check.get_text()), (
            f"solution {index} does not hold its check's output in its edition's language: "
            f"{check and check.get_text().strip()[:80]!r}")
        checker = cell.find_previous_sibling("div", class_="cell")
        assert checker is not None and "check_" in checker.select_one("div.cell_input").get_text()
        assert checker.select_one("div.cell_output") is None, (
            f"the check before solution {index} still shows its output under the stub")


def test_every_notebook_with_code_exercises_is_covered():
    with_solutions = [d for d in NOTEBOOK_DOCS
                      if any("solution" in _tags(c) for c in json.loads(
                          _path(d).read_text(encoding="utf-8"))["cells"])]
    assert len(with_solutions) >= 8, with_solutions
