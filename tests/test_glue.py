"""attn_lessons.glue: numbers reach the pages through myst-nb, and nothing breaks without it."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import torch

from attn_lessons.glue import glue


@pytest.mark.parametrize("value", [3, 2.5, True, np.float64(0.25), torch.tensor(1.5)])
def test_glue_returns_plain_python_numbers(value):
    out = glue("some_number", value)
    assert isinstance(out, (bool, int, float))
    assert out == (value.item() if hasattr(value, "item") else value)


@pytest.mark.parametrize("value", ["75.6 %", None, [1, 2], torch.ones(2)])
def test_glue_refuses_what_is_not_a_number(value):
    with pytest.raises(TypeError, match="some_text"):
        glue("some_text", value)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_glue_refuses_an_empty_name(name):
    with pytest.raises(ValueError, match="non-empty name"):
        glue(name, 1)


def test_glue_without_myst_nb_is_silent(monkeypatch):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    assert glue("offline", 0.5) == 0.5


# --- verdicts: a token that the book's extension turns into a word of the edition's language ---


@pytest.mark.parametrize("word", ["higher", "lower", "equivalent", "inconclusive"])
def test_glue_verdict_takes_the_verdicts_of_analyse(word):
    from attn_lessons.glue import VERDICTS, glue_verdict
    from attn_lessons.stats import VERDICTS as ANALYSE_VERDICTS

    assert VERDICTS == ANALYSE_VERDICTS
    assert glue_verdict("a_verdict", word) == word


@pytest.mark.parametrize("word", ["clearly better", "not distinguishable", "Higher", "", None, 1])
def test_glue_verdict_refuses_any_other_word(word):
    from attn_lessons.glue import glue_verdict

    with pytest.raises(ValueError, match="a_verdict"):
        glue_verdict("a_verdict", word)


def test_glue_verdict_stores_the_token_that_the_extension_reads(monkeypatch):
    import myst_nb

    from attn_lessons.glue import glue_verdict

    stored = {}
    monkeypatch.setattr(myst_nb, "glue",
                        lambda name, value, display=True: stored.update({name: value}))
    glue_verdict("ch_x_verdict", "equivalent")
    assert stored == {"ch_x_verdict": "verdict:equivalent"}


def _pasted(text):
    from docutils import nodes

    root = nodes.paragraph()
    root += nodes.strong("", "", nodes.inline(text, text, classes=["pasted-text"]))
    root += nodes.inline("verdict:higher", "verdict:higher")  # not pasted: left alone
    return root


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["higher", "lower", "equivalent", "inconclusive"]),
    (None, ["higher", "lower", "equivalent", "inconclusive"]),
    ("zh_CN", ["更高", "更低", "等效", "无定论"]),
])
def test_the_extension_writes_each_verdict_in_the_editions_language(language, words):
    import sys

    from .conftest import BOOK

    sys.path.insert(0, str(BOOK / "_ext"))
    try:
        from verdict_words import replace_verdicts
    finally:
        sys.path.remove(str(BOOK / "_ext"))
    for token, word in zip(["higher", "lower", "equivalent", "inconclusive"], words, strict=True):
        root = _pasted(f"verdict:{token}")
        assert replace_verdicts(root, language) == []
        assert root.astext() == word + "verdict:higher"
    root = _pasted("verdict:better")
    assert replace_verdicts(root, language) == ["verdict:better"]
    root = _pasted("0.75")
    assert replace_verdicts(root, language) == [] and root.astext().startswith("0.75")
