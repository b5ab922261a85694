"""The table of contents' order, fixed (issue 26): getting started, chapters 1-7 (chapter 8 comes
next, in the same numbered part), the field guide with the map first, back matter.

The field guide is a part of its own, lettered like appendices (``style: alphaupper``,
``restart_numbering``): its pages are A, B, C ... and their equations (B.1), (B.2), so a chapter
added to the numbered part changes none of the guide's numbers.
"""

from __future__ import annotations

import re

import yaml
from babel.messages.pofile import read_po

from attn_lessons.factory import FIELD_GUIDE_KINDS
from attn_lessons.taxonomy import placement

from .conftest import ROOT

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
PARTS = {part["caption"]: part for part in TOC["parts"]}


def _files(part: dict) -> list[str]:
    return [chapter["file"] for chapter in part["chapters"]]


def test_parts_in_their_fixed_order():
    assert list(PARTS) == ["Getting started", "Chapters", "Field guide", "Back matter"]


def test_chapters_one_to_seven_numbered_in_order():
    chapters = PARTS["Chapters"]
    assert chapters.get("numbered") is True and "style" not in chapters
    folders = [re.match(r"book/(ch\d+)_", f).group(1) for f in _files(chapters)]
    assert folders == [f"ch{n}" for n in range(1, len(folders) + 1)] and len(folders) >= 7


def test_the_field_guide_is_lettered_and_opens_with_the_map():
    guide = PARTS["Field guide"]
    assert guide.get("numbered") is True
    assert guide.get("style") == "alphaupper" and guide.get("restart_numbering") is True
    files = _files(guide)
    assert files[0] == "book/guide/map"
    assert all(f.startswith("book/guide/") for f in files)
    assert len(files) <= 26, "more pages than letters"


def test_the_guides_module_pages_follow_the_factorys_order():
    files = _files(PARTS["Field guide"])
    pages = [placement(kind).page for kind in FIELD_GUIDE_KINDS]
    listed = [f for f in files if f in pages]
    assert listed == [p for p in pages if p in listed]
    # Every module page that exists is listed (the page of each kind is named after it).
    on_disk = [p for p in pages if (ROOT / f"{p}.md").is_file()]
    assert set(on_disk) <= set(listed), sorted(set(on_disk) - set(listed))


def test_the_sidebar_captions_are_translated():
    with (ROOT / "book/locale/zh_CN/LC_MESSAGES/book/intro.po").open("rb") as handle:
        catalogue = {m.id: m.string for m in read_po(handle) if m.id}
    for caption in PARTS:
        assert catalogue.get(caption), f"caption {caption!r} has no Chinese in intro.po"
    assert catalogue["Field guide"] == "实用指南"
