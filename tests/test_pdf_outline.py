"""scripts/make_pdf.py's bookmark titles, written as an incremental update of the printed PDF."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

ROOT = Path(__file__).resolve().parent.parent


def _load_make_pdf():
    spec = importlib.util.spec_from_file_location("make_pdf", ROOT / "scripts" / "make_pdf.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_pdf", module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules["make_pdf"])
    return sys.modules["make_pdf"]


make_pdf = _load_make_pdf()


def _titles(outline) -> list[tuple[str, int]]:
    """Every bookmark in document order, with its depth."""
    found = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((item.title, depth))

    walk(outline, 0)
    return found


def _pdf_with_bookmarks(path: Path) -> list[tuple[str, int]]:
    """Three pages and Chromium-like bookmarks (a wrapped title run together), nested one deep."""
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=200, height=200)
    chapter = writer.add_outline_item(title="2. Squeeze-andExcitation", page_number=0)
    writer.add_outline_item(title="2.1 The squeeze", page_number=1, parent=chapter)
    writer.add_outline_item(title="2.2 The excitationThe excitation", page_number=2,
                            parent=chapter)
    writer.add_outline_item(title="References", page_number=2)
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    return _titles(PdfReader(path).outline)


HEADINGS = ["2. Squeeze-and-Excitation", "2.1 The squeeze", "2.2 The excitation", "参考文献"]


def test_bookmarks_are_renamed_and_the_rest_kept(tmp_path):
    target = tmp_path / "book.pdf"
    before = _pdf_with_bookmarks(target)
    original = target.read_bytes()
    assert make_pdf.retitle_outline(target, HEADINGS)
    updated = target.read_bytes()
    assert updated.startswith(original), "an incremental update keeps the file and appends"
    reader = PdfReader(target, strict=True)
    assert _titles(reader.outline) == [(h, d) for h, (_, d) in zip(HEADINGS, before, strict=True)]
    assert len(reader.pages) == 3
    destinations = [reader.get_destination_page_number(item)
                    for item in (reader.outline[0], reader.outline[1][0], reader.outline[1][1],
                                 reader.outline[2])]
    assert destinations == [0, 1, 2, 2]


def test_a_second_update_chains_to_the_first(tmp_path):
    target = tmp_path / "book.pdf"
    _pdf_with_bookmarks(target)
    assert make_pdf.retitle_outline(target, HEADINGS)
    again = [f"{h} (again)" for h in HEADINGS]
    assert make_pdf.retitle_outline(target, again)
    assert [t for t, _ in _titles(PdfReader(target, strict=True).outline)] == again


def test_a_count_that_differs_leaves_the_file_alone(tmp_path):
    target = tmp_path / "book.pdf"
    _pdf_with_bookmarks(target)
    original = target.read_bytes()
    assert make_pdf.retitle_outline(target, HEADINGS[:3]) is False
    assert target.read_bytes() == original


def test_a_file_without_a_classic_table_at_its_end_is_refused_by_name(tmp_path):
    """A cross-reference stream (or a damaged offset) is not updated with a classic table."""
    target = tmp_path / "book.pdf"
    _pdf_with_bookmarks(target)
    data = target.read_bytes()
    at = make_pdf._startxref(data)
    target.write_bytes(data.replace(f"startxref\n{at}".encode(), b"startxref\n0"))
    with pytest.raises(ValueError, match="not a classic cross-reference table at byte 0"):
        make_pdf.retitle_outline(target, HEADINGS)
