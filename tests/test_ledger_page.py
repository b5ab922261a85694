"""Chapter 8's ledger page: rendered from attn_lessons.ledger, complete in both editions."""

from __future__ import annotations

import importlib.util
import re
import sys

from attn_lessons.ledger import LEDGER, MECHANISMS

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))  # the extension imports simple_table
_SPEC = importlib.util.spec_from_file_location("attention_ledger",
                                               ROOT / "book" / "_ext" / "attention_ledger.py")
EXT = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(EXT)


def test_every_entry_has_its_chinese_texts_and_nothing_else():
    assert set(EXT.CHANGE_ZH) == {(e.mechanism, e.variant) for e in LEDGER}
    assert set(EXT.VARIANT_ZH) == {e.variant for e in LEDGER}
    assert set(EXT.TITLES) == set(MECHANISMS)


def test_chinese_texts_keep_the_numbers_of_the_english():
    """A translation keeps every number of the English (r = 16, C // 8, momentum 0.01)."""
    for e in LEDGER:
        zh = EXT.CHANGE_ZH[(e.mechanism, e.variant)]
        numbers = re.findall(r"\d+(?:\.\d+)?", e.change)
        assert sorted(re.findall(r"\d+(?:\.\d+)?", zh)) == sorted(numbers), (e.variant, zh)


def test_the_page_uses_the_directive_and_the_extension_is_loaded():
    page = (ROOT / "book" / "ch8_insert" / "ledger.md").read_text(encoding="utf-8")
    assert "```{attention-ledger}" in page
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert "attention_ledger: book/_ext" in config


def test_the_chinese_source_keeps_repository_commit_file_and_lines():
    for entry in LEDGER:
        zh, en = EXT._source(entry.source, 1), EXT._source(entry.source, 0)
        assert en == str(entry.source)
        # a paper's "Hu et al., CVPR 2018" reads "Hu 等，CVPR 2018"
        repository = entry.source.repository.replace(" et al., ", " 等，")
        for part in (repository, entry.source.path, entry.source.lines):
            assert part in zh
        assert "et al." not in zh, zh
        if entry.source.commit is not None:
            assert entry.source.commit[:10] in zh and "行" in zh
