"""On the book's pages, a code exercise's check is shown only inside its solution.

A code exercise in a notebook is an ``{exercise}`` prompt and three code cells: the stub (tagged
``exercise``, its body ``...``), the solution (tagged ``solution``) and the cell that calls the
checker. The book executes the notebook with the solution in place, so the checker's output is
"Correct: ..." and its message often says what the solution does: printed under the empty stub,
it gives the answer away. This post-transform, for each solution cell followed by a code cell:

- moves that cell's output (what the checker printed for the solution) into the solution cell,
  after the solution's code;
- collapses the whole solution cell, code and check, behind one summary that names the exercise,
  "Solution to Exercise 2.5" ("练习 2.5 的解答" in the Chinese edition, the words of the reader
  notebooks, book/_ext/reader_notebooks.py), closed until clicked (the printed book opens it:
  book/_ext/print_edition.py);
- places the solution after the checker cell, so the page reads: the stub, the call that checks
  it (without output), then the collapsed solution with what the check printed for it.

In the Chinese edition the check's verdict is shown in Chinese, as the Chinese notebooks print it:
the notebook runs once, in English, for both editions, so "Correct: <message>" becomes
"正确：<the message's translation>" from the checkers' own catalogue
(attn_lessons/exercises/locale/zh_CN.po; :func:`chinese_verdict`). A message missing from the
catalogue fails the build rather than showing English on a Chinese page.

The notebooks themselves are not changed: nbval and the student edition see the cells as they are.
It runs before myst-nb's HideInputCells (priority 199), which wraps the collapsed cell.
tests/browser/test_exercise_pages.py checks the built pages.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

SOLUTION_TAG = "solution"


def _is_code_cell(node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


def _tags(cell) -> list[str]:
    return (cell.get("cell_metadata") or {}).get("tags", [])


def _words(config) -> dict:
    from reader_notebooks import WORDS  # book/_ext, beside this file

    language = (config.language or "en").split("_")[0]
    return WORDS.get(language, WORDS["en"])


def chinese_verdict(text: str) -> str | None:
    """A checker's printed English verdict, ``"Correct: <message>"`` or ``"Not yet: <hint>"``,
    in Chinese from the checkers' catalogue; None when ``text`` is no verdict or its message is
    not one of the catalogue's (a message with values filled in is not)."""
    from attn_lessons.exercises import _messages

    for passed, word in _messages.VERDICTS["en"].items():
        if text.startswith(word):
            message = text[len(word):].strip()
            translated = _messages.catalogue("zh_CN").get(message)
            if translated is None:
                return None
            return _messages.VERDICTS["zh_CN"][passed] + _messages.spaced(translated) + \
                ("\n" if text.endswith("\n") else "")
    return None


def _translate_verdicts(output, location) -> None:
    for block in list(output.findall(nodes.literal_block)):
        text = block.astext()
        if not text.startswith(("Correct: ", "Not yet: ")):
            continue
        chinese = chinese_verdict(text)
        if chinese is None:
            from sphinx.errors import ExtensionError

            raise ExtensionError(f"exercise_checks: the checker's verdict {text.strip()!r} on "
                                 f"{location} has no Chinese translation in "
                                 "attn_lessons/exercises/locale/zh_CN.po")
        block.children = [nodes.Text(chinese)]
        block.rawsource = chinese


class SolutionCellsHoldTheirCheck(SphinxPostTransform):
    default_priority = 150  # before myst_nb's HideInputCells (199)
    formats = ("html",)

    def _summary(self, exercise) -> str:
        words = _words(self.config)
        from sphinx_exercise.nodes import exercise_enumerable_node

        if not isinstance(exercise, exercise_enumerable_node):
            return words["solution_unnumbered"]
        numbers = self.env.toc_fignumbers.get(exercise.get("docname", ""), {})
        number = numbers.get("exercise", {}).get(exercise.get("label", ""))
        if not number:
            return words["solution_unnumbered"]
        what = f"{words['exercise']} {'.'.join(map(str, number))}"
        return words["solution"].format(what=what)

    def run(self, **kwargs) -> None:
        from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node

        exercise_types = (exercise_enumerable_node, exercise_node)
        ordered = list(self.document.findall(
            lambda n: isinstance(n, exercise_types) or _is_code_cell(n)))
        exercise = None
        for node in ordered:
            if isinstance(node, exercise_types):
                exercise = node
            elif SOLUTION_TAG in _tags(node):
                self._collapse(node, exercise)

    def _collapse(self, solution, exercise) -> None:
        parent = solution.parent
        position = parent.index(solution)
        checker = parent[position + 1] if position + 1 < len(parent) else None
        if checker is not None and _is_code_cell(checker) and SOLUTION_TAG not in _tags(checker):
            outputs = [c for c in checker.children if c.get("nb_element") == "cell_code_output"]
            chinese = (self.config.language or "en").startswith("zh")
            for output in outputs:
                checker.remove(output)
                solution.append(output)
                if chinese:
                    _translate_verdicts(output, self.env.docname)
            parent.remove(solution)
            parent.insert(parent.index(checker) + 1, solution)
        summary = self._summary(exercise) if exercise is not None else \
            _words(self.config)["solution_unnumbered"]
        solution["hide_mode"] = "all"
        solution["prompt_show"] = summary
        solution["prompt_hide"] = summary
        solution["classes"].append("solution-with-check")


def setup(app: Sphinx) -> dict:
    app.add_post_transform(SolutionCellsHoldTheirCheck)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
