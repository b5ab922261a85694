"""The checkers' message catalogue: every verdict and hint in English and in Chinese.

- **Complete and current.** The catalogue ``attn_lessons/exercises/locale/zh_CN.po`` holds exactly
  the messages the checkers use (``scripts/checker_messages.py`` re-extracts them), each with a
  Chinese translation that is not fuzzy, keeps every ``{placeholder}`` of the English, and reads
  as Chinese: CJK characters, and no English prose outside code.
- **Nothing outside it.** No checker builds a reader-facing sentence that bypasses the catalogue:
  every string literal of prose in ``attn_lessons/exercises`` (docstrings and developer errors
  aside) is the argument of ``tr`` or ``mark``, and no f-string writes prose.
- **Chosen without the reader.** ``ATTN_LESSONS_LANGUAGE`` (which the Chinese notebooks set) or
  :func:`set_language` picks the language; English otherwise; an unknown name is refused.

The mutant catalogue (tests/test_exercises_mutants.py) runs in both languages.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from attn_lessons.exercises import _messages, get_language, preface, se, set_language
from attn_lessons.exercises._core import Feedback, correct, not_yet

from .conftest import ROOT
from .test_exercises_all_checkers import CHECKERS

SOURCES = ROOT / "attn_lessons" / "exercises"
CATALOGUE = _messages.catalogue_path("zh_CN")


def _script():
    spec = importlib.util.spec_from_file_location(
        "checker_messages", ROOT / "scripts" / "checker_messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ENTRIES = [e for e in _messages.read_po(CATALOGUE.read_text(encoding="utf-8")) if e.msgid]
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
CJK = re.compile(r"[\u4e00-\u9fff]")
#: English words that only prose has (a code name or a formula never is one of them).
ENGLISH_PROSE = re.compile(
    r"(?<![\w.`'\"])(the|is|are|your|you|of|and|not|should|with|that|this|must|from|into|"
    r"instead|which|when|only|does|got|use|returned|raised)(?![\w(.=`'\"])", re.I)


def _outside_code(text: str) -> str:
    """``text`` without its `code spans`, quoted strings and placeholders."""
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", " ", text)
    return PLACEHOLDER.sub(" ", text)


def english_prose(text: str) -> list[str]:
    """The English prose words of ``text`` outside code (empty for a Chinese message)."""
    return ENGLISH_PROSE.findall(_outside_code(text))


@pytest.fixture(autouse=True)
def _english_by_default(monkeypatch):
    monkeypatch.delenv(_messages.ENV, raising=False)
    set_language(None)
    yield
    set_language(None)


# --- the catalogue --------------------------------------------------------------------------------


def test_the_catalogue_holds_exactly_the_checkers_messages():
    script = _script()
    text = CATALOGUE.read_text(encoding="utf-8")
    assert script.updated(text, script.extract()) == text, (
        "attn_lessons/exercises/locale/zh_CN.po is not up to date with the checkers: run "
        ".venv/bin/python scripts/checker_messages.py and translate the new entries")
    assert len(ENTRIES) > 300


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.msgid[:40])
def test_every_message_has_a_chinese_translation_with_the_same_placeholders(entry):
    assert entry.msgstr, f"untranslated: {entry.msgid!r}"
    assert not entry.fuzzy, f"fuzzy: {entry.msgid!r}"
    assert sorted(PLACEHOLDER.findall(entry.msgstr)) == sorted(PLACEHOLDER.findall(entry.msgid)), (
        f"the placeholders differ: {entry.msgid!r} -> {entry.msgstr!r}")
    code_only = not english_prose(entry.msgid) and not CJK.search(entry.msgstr)
    assert CJK.search(entry.msgstr) or code_only, f"not Chinese: {entry.msgstr!r}"
    assert not english_prose(entry.msgstr), (
        f"English prose in the translation: {english_prose(entry.msgstr)} in {entry.msgstr!r}")


def test_the_prose_detector_tells_english_from_chinese_with_code():
    assert english_prose("that is the mean over all H × W positions")
    assert english_prose("{what} should be a function")
    assert not english_prose("请用 `x.to(torch.float64)` 和 mask.sum(dim=(1, 2))，不是 'the'。")
    assert not english_prose("你的 se_num_params 返回了 None：函数是否以 `return` 结尾？")


def test_the_reader_of_the_catalogue_agrees_with_babel():
    pofile = pytest.importorskip("babel.messages.pofile")
    with CATALOGUE.open("rb") as handle:
        babel = {m.id: m.string for m in pofile.read_po(handle) if m.id}
    assert {e.msgid: e.msgstr for e in ENTRIES} == babel


def test_a_catalogue_line_that_is_not_po_is_refused():
    with pytest.raises(ValueError, match="line 2"):
        _messages.read_po('msgid "a"\nmsgstr 不是\n')


# --- nothing outside the catalogue ----------------------------------------------------------------

#: Two English words in a row: a sentence, not a name.
PROSE = re.compile(r"[A-Za-z]{2,}[,:;.]?\s+[A-Za-z(]")


def _literals_outside_the_catalogue(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr)
                  and isinstance(n.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if id(node) in docstrings or not PROSE.search(text):
            continue
        parent, above = parents.get(node), node
        if isinstance(parent, ast.JoinedStr):
            continue  # a part of an f-string: the f-string itself is judged
        if (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name)
                and parent.func.id in ("tr", "mark") and parent.args and parent.args[0] is node
                and isinstance(node, ast.Constant)):
            continue
        if isinstance(parent, ast.Compare):
            continue  # matching an exception's text, not writing one
        while above in parents and not isinstance(above, ast.Raise):  # a developer's error
            above = parents[above]
        if isinstance(above, ast.Raise) and isinstance(above.exc, ast.Call) and \
                getattr(above.exc.func, "id", "") in ("ValueError", "TypeError"):
            continue
        found.append(f"{path.name}:{node.lineno}: {text[:60]!r}")
    return found


def test_no_checker_writes_a_message_outside_the_catalogue():
    found = [f for path in sorted(SOURCES.glob("*.py")) if path.name != "_messages.py"
             for f in _literals_outside_the_catalogue(path)]
    assert not found, ("prose outside tr()/mark() (a reader would get it untranslated):\n"
                       + "\n".join(found))


def test_the_grep_catches_a_message_written_outside_the_catalogue(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def f(x):\n    """A docstring is fine."""\n'
                   '    a = tr("this one is in the catalogue")\n'
                   '    b = f"{x} is not in the catalogue"\n'
                   '    return not_yet("nor is this one")\n')
    found = _literals_outside_the_catalogue(bad)
    assert len(found) == 2 and "bad.py:4" in found[0] and "bad.py:5" in found[1]


# --- the language ---------------------------------------------------------------------------------


def test_english_is_the_default_and_the_environment_or_set_language_change_it(monkeypatch):
    assert get_language() == "en"
    assert str(preface.check_attend(None)).startswith("Not yet: attend is None.")
    monkeypatch.setenv(_messages.ENV, "zh_CN")
    assert get_language() == "zh_CN"
    verdict = preface.check_attend(None)
    assert str(verdict).startswith("还不对：attend 是 None。") and verdict.language == "zh_CN"
    assert set_language("en") == "en"  # the reader's own choice wins over the notebook's
    assert str(preface.check_attend(None)).startswith("Not yet: ")
    set_language(None)
    monkeypatch.setenv(_messages.ENV, "klingon")  # an unknown value is ignored
    assert get_language() == "en"


@pytest.mark.parametrize(("spelling", "language"), [
    ("zh_CN", "zh_CN"), ("zh-CN", "zh_CN"), ("zh", "zh_CN"), ("zh_Hans", "zh_CN"),
    ("zh_CN.UTF-8", "zh_CN"), ("en", "en"), ("en_US", "en"), ("EN", "en")])
def test_set_language_accepts_the_usual_spellings(spelling, language):
    assert set_language(spelling) == language == get_language()


@pytest.mark.parametrize("bad", ["fr", "", "zh_TW", 3])
def test_set_language_refuses_an_unknown_language_naming_it(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        set_language(bad)


def test_the_verdict_words_and_a_feedback_keep_the_language_they_were_given_in():
    with _messages.language("zh_CN"):
        right, wrong = correct(), not_yet("your answer")
    assert str(right) == "正确：做得好。" and str(wrong) == "还不对：你的答案"
    assert right.msgid == "well done." and wrong.msgid == "your answer"
    assert str(correct()) == "Correct: well done."
    assert Feedback(True, "x") == Feedback(True, "x", "zh_CN", "y")  # equality: the verdict


def test_a_hint_keeps_its_catalogue_key_in_both_languages():
    def wrong(u, mask):
        return u.mean(dim=(2, 3))  # the mask ignored
    english = se.check_squeeze(wrong)
    with _messages.language("zh_CN"):
        chinese = se.check_squeeze(wrong)
    assert english.msgid == chinese.msgid == english.message
    assert chinese.message == _messages.catalogue("zh_CN")[english.message]


def test_a_translation_that_lost_a_placeholder_falls_back_to_english(monkeypatch, tmp_path):
    (tmp_path / "zh_CN.po").write_text('msgid "{what} is None."\nmsgstr "答案是空的。"\n\n'
                                       'msgid "{what} is fine."\nmsgstr "{what}没问题。"\n',
                                       encoding="utf-8")
    monkeypatch.setattr(_messages, "LOCALE", tmp_path)
    _messages.catalogue.cache_clear()
    try:
        with _messages.language("zh_CN"):
            assert _messages.tr("{what} is None.", what="f") == "f is None."
            assert _messages.tr("{what} is fine.", what="f") == "f 没问题。"
    finally:
        _messages.catalogue.cache_clear()


def test_chinese_messages_are_spaced_between_chinese_and_code():
    assert _messages.spaced("mean_std返回了None：形状是(2, 3)的张量") == \
        "mean_std 返回了 None：形状是 (2, 3) 的张量"


@pytest.mark.parametrize("checker", CHECKERS)
def test_every_checker_answers_a_missing_answer_in_chinese(checker):
    with _messages.language("zh_CN"):
        verdict = checker(None)
    assert not verdict and str(verdict).startswith("还不对：")
    assert CJK.search(verdict.message) and not english_prose(verdict.message), verdict.message


def test_every_recorded_verdict_of_the_book_has_its_chinese_for_the_chinese_pages():
    """The book runs each notebook once, in English; its Chinese pages show each check's
    recorded "Correct: ..." in Chinese (book/_ext/exercise_checks.py), from this catalogue."""
    import sys

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from exercise_checks import chinese_verdict

    from .test_exercise_prompts import success_messages

    recorded = [m for messages in success_messages().values() for m in messages]
    assert len(recorded) > 20
    for message in recorded:
        chinese = chinese_verdict(f"Correct: {message}\n")
        assert chinese and chinese.startswith("正确：") and CJK.search(chinese), message
    assert chinese_verdict("Not yet: attend is None.") is None  # values filled in: not a key
    assert chinese_verdict("some other output") is None



def test_a_chinese_page_shows_the_checks_output_in_chinese_or_the_build_fails():
    import sys

    from docutils import nodes
    from sphinx.errors import ExtensionError

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from exercise_checks import _translate_verdicts

    success = "your attend() is softmax(queries @ keys.T, dim=1) @ values."
    output = nodes.container("", nodes.literal_block("", f"Correct: {success}\n"),
                             nodes.literal_block("", "tensor([1., 2.])\n"))
    _translate_verdicts(output, "book/preface/first_attention")
    assert [b.astext() for b in output.findall(nodes.literal_block)] == [
        "正确：你的 attend() 就是 softmax(queries @ keys.T, dim=1) @ values。\n",
        "tensor([1., 2.])\n"]
    unknown = nodes.container("", nodes.literal_block("", "Correct: a message nobody wrote.\n"))
    with pytest.raises(ExtensionError, match="no Chinese translation"):
        _translate_verdicts(unknown, "book/x")
