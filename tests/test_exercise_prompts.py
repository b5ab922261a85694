"""Exercises as readers meet them: one numbering, and prompts that do not give the answer away.

- **One numbering.** Every exercise of the book, on a chapter's page or in its notebooks, is a
  sphinx-exercise ``{exercise}`` directive with a ``:label:``, so Sphinx numbers them "Exercise N.k"
  through chapter N in table-of-contents order (the page's, then each notebook's), the same in the
  HTML book, the PDF (the same doctrees) and the reader notebooks (numbers from the build); the
  preface, outside the numbered chapters, has ``:nonumber:``. No heading numbers an exercise by
  hand ("### Exercise 1: ...", which restarted in each notebook). Each code exercise (a stub tagged
  ``exercise``) has its own prompt. The committed reader notebooks show each exercise with the
  number this scheme gives it, in both languages.
- **No answer in a prompt.** No prompt, page, catalogue or reader notebook quotes a checker's
  success message ("Correct: ..." names what the solution does); the checkers' messages are
  recorded in the notebooks (nbval's expected outputs), and none of them is quoted anywhere.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import BOOK, ROOT

sys.path.insert(0, str(BOOK / "_ext"))
import reader_notebooks as rn

LOCALE = BOOK / "locale" / "zh_CN" / "LC_MESSAGES"
READER = ROOT / rn.REPO_FOLDER
REFRESH = "run `make notebooks` to regenerate notebooks/ from the book build"


def _toc() -> list[tuple[str | None, list[str]]]:
    """(chapter number or None, the chapter's files in order) for every toc chapter.

    Numbered parts continue one count (``use_multitoc_numbering``), except a part with
    ``restart_numbering`` and ``style: alphaupper``, the field guide, whose pages are lettered
    A, B, ... like appendices (sphinx-external-toc's styles)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    chapters, number = [], 0
    for part in toc["parts"]:
        letters = part.get("style", "numerical") == "alphaupper"
        assert part.get("style", "numerical") in ("numerical", "alphaupper"), part.get("style")
        assert not letters or part.get("restart_numbering"), "a lettered part starts at A"
        letter = 0
        for chapter in part["chapters"]:
            files = [chapter["file"], *(s["file"] for s in chapter.get("sections", []))]
            if part.get("numbered") and letters:
                letter += 1
                chapters.append((chr(ord("A") + letter - 1), files))
            elif part.get("numbered"):
                number += 1
                chapters.append((str(number), files))
            else:
                chapters.append((None, files))
    return chapters


CHAPTERS = _toc()


def _path(docname: str) -> Path:
    for suffix in (".md", ".ipynb"):
        if (ROOT / f"{docname}{suffix}").is_file():
            return ROOT / f"{docname}{suffix}"
    raise FileNotFoundError(docname)


def _cells(docname: str) -> list[dict]:
    path = _path(docname)
    if path.suffix == ".md":
        return [{"cell_type": "markdown", "source": path.read_text(encoding="utf-8"),
                 "metadata": {}}]
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _markdown(docname: str) -> str:
    return "\n\n".join(_text(c) for c in _cells(docname) if c["cell_type"] == "markdown")


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


DOCS = [d for _, files in CHAPTERS for d in files]
NOTEBOOK_DOCS = [d for d in DOCS if _path(d).suffix == ".ipynb"]


def expected_numbers() -> dict[str, str]:
    """label -> "N.k": chapter N's exercises counted through its files in toc order."""
    numbers = {}
    for chapter, files in CHAPTERS:
        if chapter is None:
            continue
        k = 0
        for docname in files:
            for label, _ in rn.exercises_in(_markdown(docname)):
                k += 1
                numbers[label] = f"{chapter}.{k}"
    return numbers


# ---------------------------------------------------------------- one numbering


@pytest.mark.parametrize("chapter, files", CHAPTERS, ids=[f[0] for _, f in CHAPTERS])
def test_every_exercise_is_a_directive_numbered_by_its_chapter(chapter, files):
    for docname in files:
        for label, unnumbered in rn.exercises_in(_markdown(docname)):
            if chapter is None:
                assert unnumbered, f"{docname}: an exercise outside the chapters needs :nonumber:"
            else:
                assert label and not unnumbered, (
                    f"{docname}: every exercise of chapter {chapter} has a :label: and a number")


@pytest.mark.parametrize("docname", DOCS)
def test_no_heading_numbers_an_exercise_by_hand(docname):
    headings = re.findall(r"^#{1,6}\s+(.+)$", _markdown(docname), re.M)
    by_hand = [h for h in headings if re.match(r"Exercise\b(?!s)", h) or re.search(
        r"\bExercise \d", h)]
    assert not by_hand, f"{docname}: make these {{exercise}} directives: {by_hand}"


@pytest.mark.parametrize("docname", NOTEBOOK_DOCS)
def test_each_code_exercise_has_its_own_prompt(docname):
    prompts = 0
    for index, cell in enumerate(_cells(docname)):
        if cell["cell_type"] == "markdown":
            prompts += len(rn.exercises_in(_text(cell)))
        elif "exercise" in _tags(cell):
            assert prompts, f"{docname}, cell {index}: a stub with no {{exercise}} prompt before it"
            prompts = 0


def test_labels_are_unique_and_the_scheme_counts_every_exercise():
    labels = [label for d in DOCS for label, _ in rn.exercises_in(_markdown(d)) if label]
    assert len(labels) == len(set(labels))
    numbers = expected_numbers()
    assert len(numbers) == len(labels) > 30
    # The labs continue their chapter's count: chapter 2's page has four, its lab starts at 2.5.
    assert numbers["ex-ch2-code-squeeze"] == "2.5"


def _reader(language: str, docname: str) -> dict:
    folder = READER / language if language != "en" else READER
    path = folder / rn.reader_path(docname)
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: {REFRESH}", pytrace=False)
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", ["en", "zh_CN"])
@pytest.mark.parametrize("docname", [d for d in NOTEBOOK_DOCS if not d.startswith("book/preface")])
def test_reader_notebooks_show_the_chapters_numbers(language, docname):
    """Each exercise head and each solution's summary carries the number of the scheme."""
    word = rn.WORDS["zh" if language == "zh_CN" else "en"]["exercise"]
    numbers = expected_numbers()
    source, reader = _cells(docname), _reader(language, docname)["cells"]
    assert len(reader) == len(source), REFRESH
    text = "\n".join(_text(c) for c in reader if c["cell_type"] == "markdown")
    labels = [label for label, _ in rn.exercises_in(_markdown(docname))]
    shown = re.findall(r"\*\*\[" + word + r" ((?:\d+|[A-Z])\.\d+)\]\([^)]*#([\w-]+)\)\*\*", text)
    assert shown == [(numbers[label], label) for label in labels], REFRESH
    last = None
    for index, (s, r) in enumerate(zip(source, reader, strict=True)):
        if s["cell_type"] == "markdown":
            found = rn.exercises_in(_text(s))
            last = found[-1][0] if found else last
        elif "solution" in _tags(s):
            summary = re.search(r"<summary>(.*?)</summary>", _text(r))
            assert summary and f"{word} {numbers[last]}" in summary[1], (
                f"{docname}, cell {index}: {summary and summary[1]!r}: {REFRESH}")


# ---------------------------------------------------------------- no answer in a prompt

QUOTED_SUCCESS = re.compile(r"`Correct: (?!\.\.\.`)")


def success_messages() -> dict[str, list[str]]:
    """docname -> the "Correct: ..." messages recorded for its checked cells."""
    found = {}
    for docname in NOTEBOOK_DOCS:
        messages = []
        for cell in _cells(docname):
            for output in cell.get("metadata", {}).get("nbval", {}).get("expected_outputs", []):
                text = output.get("data", {}).get("text/plain", "") or output.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                if text.startswith("Correct: "):
                    messages.append(text.removeprefix("Correct: ").strip())
        found[docname] = messages
    return found


def test_the_checkers_messages_are_recorded():
    assert sum(len(m) for m in success_messages().values()) > 20


def _texts_a_reader_sees(docname: str) -> dict[str, str]:
    """The page's or notebook's markdown, its Chinese catalogue, its reader notebooks' markdown."""
    texts = {docname: _markdown(docname)}
    po = LOCALE / f"{docname}.po"
    if po.is_file():
        from babel.messages.pofile import read_po

        with po.open("rb") as handle:
            catalogue = read_po(handle)  # its obsolete (#~) entries are not read into it
        texts[str(po.relative_to(ROOT))] = "\n".join(
            f"{m.id}\n{m.string}" for m in catalogue if m.id)
    if _path(docname).suffix == ".ipynb":
        for language in ("en", "zh_CN"):
            folder = READER / language if language != "en" else READER
            path = folder / rn.reader_path(docname)
            if path.is_file():
                nb = json.loads(path.read_text(encoding="utf-8"))
                texts[str(path.relative_to(ROOT))] = "\n".join(
                    _text(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    return texts


@pytest.mark.parametrize("docname", [*DOCS, "book/intro"])
def test_no_prompt_quotes_a_success_message(docname):
    from attn_lessons.exercises import _messages

    english = success_messages().get(docname, [])
    # ... nor its Chinese, which the Chinese notebooks print (attn_lessons/exercises/locale).
    chinese = [_messages.catalogue("zh_CN").get(m.strip()) for m in english]
    messages = english + [_messages.spaced(m) for m in chinese if m]
    for where, text in _texts_a_reader_sees(docname).items():
        flat = re.sub(r"\s+", " ", text)
        assert not QUOTED_SUCCESS.search(flat), f"{where} quotes a success message"
        for message in messages:
            assert re.sub(r"\s+", " ", message)[:40] not in flat, (
                f"{where} quotes the checker's success message {message!r}")
