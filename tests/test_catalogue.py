"""attn_lessons._catalogue: what the figure-text and output-text catalogues share."""

from __future__ import annotations

import os

import pytest
from babel.messages.catalog import Catalog

from attn_lessons._catalogue import cached_translations, load_translations, write_catalogue


def _write(path, pairs, header=("# a header",)):
    catalogue = Catalog(locale="zh_CN", project="test")
    for english, chinese in pairs:
        catalogue.add(english, chinese, locations=[("book/x.ipynb", None)])
    return write_catalogue(path, catalogue, list(header))


def test_written_catalogue_reads_back_untranslated_and_fuzzy_left_out(tmp_path):
    path = tmp_path / "sub" / "t.po"
    assert _write(path, [("Accuracy", "准确率"), ("Loss", "")]) == ["Loss"]
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# a header\n") and "#: book/x.ipynb" in text
    assert load_translations(path, "test") == {"Accuracy": "准确率"}
    assert not list(tmp_path.glob("sub/*.tmp*"))  # the atomic write left nothing behind


def test_the_cache_reads_a_changed_file_again(tmp_path):
    path = tmp_path / "t.po"
    _write(path, [("Accuracy", "准确率")])
    assert cached_translations(path, "test") == {"Accuracy": "准确率"}
    _write(path, [("Accuracy", "精度")])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert cached_translations(path, "test") == {"Accuracy": "精度"}


def test_a_missing_catalogue_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no figure-text catalogue at"):
        load_translations(tmp_path / "none.po", "figure-text")
