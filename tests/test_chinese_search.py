"""book/_ext/chinese_search.py: the Chinese search index, the same as Sphinx's, in linear time."""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sphinx.search import zh

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import chinese_search  # noqa: E402  (book/_ext is not a package)

CATALOGUES = sorted((ROOT / "book" / "locale" / "zh_CN" / "LC_MESSAGES").rglob("*.po"))


@functools.cache
def _book_text() -> list[str]:
    """Every translated message of the Chinese edition, in catalogue order."""
    texts = []
    for path in CATALOGUES:
        with path.open("rb") as f:
            texts += [m.string for m in read_po(f) if m.id and m.string]
    return texts


def _index(lang, texts: list[str]) -> list[list[str]]:
    """What Sphinx's IndexBuilder asks of a language: split each text, stem each word kept."""
    return [[lang.stem(w) for w in lang.split(text) if lang.word_filter(lang.stem(w))]
            for text in texts]


@pytest.fixture
def sphinx_original(monkeypatch):
    """Sphinx's own class, with its shared class-level list emptied for this test."""
    monkeypatch.setattr(zh.SearchChinese, "latin_terms", [])
    return zh.SearchChinese({})


def test_the_index_equals_sphinxs_on_the_books_chinese_text(sphinx_original):
    texts = _book_text()
    assert len(texts) > 1000, "the Chinese catalogues are missing"
    sample = texts[::10]  # Sphinx's quadratic original takes too long on all of it
    assert _index(chinese_search.SearchChinese({}), sample) == _index(sphinx_original, sample)


def test_latin_words_seen_before_are_not_stemmed_to_under_three_letters(sphinx_original):
    """The one rule that reads latin_terms: a seen Latin word of 3+ letters whose stem would be
    shorter stays whole (lower-cased), in both classes alike."""
    ours = chinese_search.SearchChinese({})
    for lang in (ours, sphinx_original):
        assert lang.stem("Ies") == "ie"  # not seen: stemmed
        lang.split("门控 Ies 模块")
        assert lang.stem("Ies") == "ies"  # seen: kept


def test_the_seen_words_are_a_set_of_the_instance_not_a_growing_shared_list():
    a, b = chinese_search.SearchChinese({}), chinese_search.SearchChinese({})
    a.split("SE 模块 CBAM")
    assert isinstance(a.latin_terms, set) and a.latin_terms == {"SE", "CBAM"}
    assert b.latin_terms == set()


def test_stemming_does_not_slow_down_as_the_book_grows():
    """Sphinx's list made each stem cost a pass over every Latin word seen so far (about 40 s of
    the book's Chinese build); with a set, 3,000 stems after 300,000 seen words stay instant
    (with a list they take seconds)."""
    lang = chinese_search.SearchChinese({})
    lang.latin_terms.update(f"w{i}x" for i in range(300_000))  # as split() would have added
    start = time.process_time()
    for i in range(3_000):
        lang.stem(f"w{299_999 - i}x")
    assert time.process_time() - start < 1.0, "stemming is linear in the words seen again"


def test_the_extension_registers_the_language_for_chinese():
    registered = []

    class App:
        def add_search_language(self, cls):
            registered.append(cls)

    chinese_search.setup(App())
    assert registered == [chinese_search.SearchChinese]
    assert chinese_search.SearchChinese.lang == "zh"
