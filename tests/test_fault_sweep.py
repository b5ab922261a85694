"""Regression tests for the December 2026 fault sweep (shared/reviews/2026-12-reliability.md).

One test (or one parametrized case) per finding, named for it, in the review's order of harm:
the paths that lost files, then the silent wrong results, then the errors that did not say what
was wrong. Each failed on the library before its fix.
"""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import time
from pathlib import Path

import nbformat
import pytest
import torch

from attn_lessons import bench, cifar
from attn_lessons._files import atomic_write_bytes, atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
_real_fsync = os.fsync


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"_sweep_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_student = _load_script("make_student")


# =============================================================================================
# Data loss
# =============================================================================================

# --- make_student: only a folder provably made by the script is ever replaced ---------------

def _tiny_book(root: Path, notebooks: int = 2) -> Path:
    """A book of ``notebooks`` notebooks, each with a solution cell and a data file beside it."""
    book = root / "book"
    for i in range(notebooks):
        folder = book / f"ch{i}"
        folder.mkdir(parents=True)
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("answer = ...  # your code here"),
                    nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]}),
                    nbformat.v4.new_code_cell("print(answer)")]
        nbformat.write(nb, folder / f"lab{i}.ipynb")
        (folder / "data.csv").write_text(f"x\n{i}\n")
        (folder / "page.md").write_text("# a page, not copied\n")
    return book


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _no_temporaries(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if ".new-" in p.name or ".old-" in p.name]


@pytest.mark.parametrize("readme", [
    "# My project\n",                 # the review's case: any README.md allowed the deletion
    make_student.README_TEXT,         # even the edition's own README, beside a project's code
])
def test_make_student_refuses_to_delete_a_project_that_has_a_readme(tmp_path, readme, capsys):
    book = _tiny_book(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text(readme)
    (project / "analysis.py").write_text("print('my work')\n")
    before = _snapshot(project)
    with pytest.raises(ValueError, match="not a student edition made by this script"):
        make_student.make_student(book, project)
    assert make_student.main(["--book", str(book), "--out", str(project)]) == 2
    assert "nothing was deleted" in capsys.readouterr().err
    assert _snapshot(project) == before
    assert _no_temporaries(tmp_path)


@pytest.mark.parametrize("marker_text", ["", "attn-lessons student edition\n", "anything"])
def test_make_student_refuses_a_marker_with_other_content(tmp_path, marker_text):
    book = _tiny_book(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / make_student.MARKER).write_text(marker_text)
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a student edition"):
        make_student.make_student(book, out)
    assert (out / "notes.txt").read_text() == "keep me"


def test_make_student_replaces_its_own_edition_and_leaves_no_temporaries(tmp_path):
    book = _tiny_book(tmp_path)
    out = tmp_path / "student"
    written = make_student.make_student(book, out)
    assert [(p.relative_to(out).as_posix(), n) for p, n in written] == [
        ("ch0/lab0.ipynb", 1), ("ch1/lab1.ipynb", 1)]
    assert (out / make_student.MARKER).read_text() == make_student.MARKER_TEXT
    assert (out / "README.md").read_text() == make_student.README_TEXT
    assert (out / "ch1" / "data.csv").read_text() == "x\n1\n"
    assert not (out / "ch0" / "page.md").exists()
    (out / "ch0" / "stale.csv").write_text("from an older edition")
    make_student.make_student(book, out)  # its own edition: replaced whole
    assert not (out / "ch0" / "stale.csv").exists()
    assert (out / "ch0" / "lab0.ipynb").is_file()
    assert _no_temporaries(tmp_path)


def test_make_student_replaces_an_edition_made_before_the_marker(tmp_path):
    book = _tiny_book(tmp_path)
    out = tmp_path / "student"
    (out / "ch0").mkdir(parents=True)
    (out / "README.md").write_text(make_student.README_TEXT)
    (out / "ch0" / "lab0.ipynb").write_text("{}")
    make_student.make_student(book, out)
    assert (out / make_student.MARKER).is_file()


@pytest.mark.parametrize("book_kind", ["missing", "empty", "only pages"])
def test_make_student_without_notebooks_is_an_error_and_keeps_the_old_edition(tmp_path, book_kind,
                                                                                capsys):
    out = tmp_path / "student"
    make_student.make_student(_tiny_book(tmp_path), out)
    before = _snapshot(out)
    book = tmp_path / "elsewhere"
    if book_kind != "missing":
        book.mkdir()
    if book_kind == "only pages":
        (book / "intro.md").write_text("# no notebook here\n")
    with pytest.raises(ValueError, match="nothing to make"):
        make_student.make_student(book, out)
    assert make_student.main(["--book", str(book), "--out", str(out)]) == 2
    assert "left as it was" in capsys.readouterr().err
    assert _snapshot(out) == before


def test_make_student_failing_half_way_keeps_the_old_edition(tmp_path, monkeypatch):
    book = _tiny_book(tmp_path)
    out = tmp_path / "student"
    make_student.make_student(book, out)
    before = _snapshot(out)
    # A missing data folder for the notebooks (the review's case) ...
    data = tmp_path / "data"
    (data / "ch0").mkdir(parents=True)
    with pytest.raises(ValueError, match="no folder .*ch1"):
        make_student.make_student(book, out, data)
    assert _snapshot(out) == before
    # ... and a disk that fills up while the data files are copied.
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(make_student.shutil, "copy2", full)
    with pytest.raises(OSError, match="No space left"):
        make_student.make_student(book, out)
    assert _snapshot(out) == before
    assert _no_temporaries(tmp_path)


def test_make_student_refuses_an_output_folder_holding_the_book_or_the_data(tmp_path):
    book = _tiny_book(tmp_path)
    with pytest.raises(ValueError, match="must be outside the book"):
        make_student.make_student(book, tmp_path)
    with pytest.raises(ValueError, match="must be outside the data folder"):
        make_student.make_student(book, tmp_path / "x", data=tmp_path / "x" / "data")


def test_make_student_removes_what_a_killed_run_left_behind(tmp_path):
    book = _tiny_book(tmp_path)
    out = tmp_path / "student"
    left = tmp_path / ".student.new-killed"
    left.mkdir()
    (left / make_student.MARKER).write_text(make_student.MARKER_TEXT)
    not_ours = tmp_path / ".student.new-other"
    not_ours.mkdir()
    (not_ours / "mine.txt").write_text("not made by the script")
    old = time.time() - 2 * make_student.STALE_SECONDS
    for folder in (left, not_ours):
        os.utime(folder, (old, old))
    make_student.make_student(book, out)
    assert not left.exists()
    assert (not_ours / "mine.txt").is_file()


# --- Result files are written atomically ----------------------------------------------------

def _fail_fsync(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def _fail_replace(src, dst):
    raise OSError(errno.EIO, "Input/output error")


def _interrupt_fsync(fd):
    raise KeyboardInterrupt


@pytest.mark.parametrize(("where", "fake", "error"), [
    ("fsync", _fail_fsync, OSError),
    ("replace", _fail_replace, OSError),
    ("fsync", _interrupt_fsync, KeyboardInterrupt),
])
def test_a_failed_atomic_write_keeps_the_previous_file(tmp_path, monkeypatch, where, fake, error):
    path = tmp_path / "results.json"
    path.write_text('{"previous": true}\n')
    monkeypatch.setattr(os, where, fake)
    with pytest.raises(error):
        atomic_write_text(path, '{"new": ' + "1" * 100_000 + "}\n")
    monkeypatch.undo()
    assert path.read_text() == '{"previous": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_atomic_write_replaces_keeps_permissions_and_follows_links(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("old")
    path.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(path)
    atomic_write_text(link, "new")
    assert path.read_text() == "new" and link.is_symlink()
    assert path.stat().st_mode & 0o777 == 0o640
    atomic_write_bytes(tmp_path / "fresh.bin", b"\x00\x01")
    assert (tmp_path / "fresh.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.bin", "link.json", "r.json"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_text(tmp_path / "no" / "such.json", "x")
    with pytest.raises(TypeError, match="str"):
        atomic_write_text(path, b"bytes")


def _canned_benchmark(device, shape, repeats, warmup):
    row = bench.BenchRow(device, "x * 2 (yardstick)", 1.0, 2.0, 0, 0, 1.0, 1.0)
    return [row], {"tokens": 4, "written_ms": 1.0, "fused_ms": 1.0}


def test_bench_json_is_written_atomically(tmp_path, monkeypatch, capsys):
    path = tmp_path / "module_bench.json"
    path.write_text('{"previous": true}\n')
    monkeypatch.setattr(bench, "run_benchmark", _canned_benchmark)
    monkeypatch.setattr(os, "fsync", _fail_fsync)  # the disk fills up during the write
    with pytest.raises(OSError, match="No space left"):
        bench.main(["--quick", "--device", "cpu", "--json", str(path)])
    monkeypatch.setattr(os, "fsync", _real_fsync)
    assert path.read_text() == '{"previous": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["module_bench.json"]
    assert bench.main(["--quick", "--device", "cpu", "--json", str(path)]) == 0
    assert json.loads(path.read_text())["rows"][0]["name"] == "x * 2 (yardstick)"


@pytest.mark.parametrize("script", ["bench", "make_checkpoints", "ch7_results",
                                    "record_expected_outputs", "run_notebook", "make_pdf",
                                    "build_zh", "make_student"])
def test_no_result_file_is_written_in_place(script):
    """The library and the scripts write their result files through attn_lessons._files."""
    path = ROOT / ("attn_lessons" if script == "bench" else "scripts") / f"{script}.py"
    source = path.read_text(encoding="utf-8")
    for in_place in ('open(args.json, "w"', ".write_text(json", "nbformat.write(nb, path)",
                     "nbformat.write(nb, save)", 'open(target, "wb")', "page.pdf(path=",
                     "write_text(yaml", "json.dump("):
        assert in_place not in source, f"{path.name} still writes in place: {in_place}"


# --- A killed download's .part file is cleaned up --------------------------------------------

def test_a_killed_downloads_part_file_is_removed_by_the_next_download(tmp_path, monkeypatch):
    stale = tmp_path / f"{cifar.CIFAR10_ARCHIVE}.abc123.part"
    stale.write_bytes(b"half an archive")
    old = time.time() - 2 * cifar.STALE_PART_SECONDS
    os.utime(stale, (old, old))
    live = tmp_path / f"{cifar.CIFAR10_ARCHIVE}.def456.part"  # another download, still writing
    live.write_bytes(b"being written")
    other = tmp_path / "notes.part"  # not ours
    other.write_bytes(b"x")
    seen = []

    def fake(url, destination, timeout=60.0):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        raise ConnectionError("offline")

    monkeypatch.setattr(cifar, "_download", fake)
    with pytest.raises(ConnectionError):
        cifar.fetch_archive(tmp_path, download=True, checksum="0" * 64)
    assert not stale.exists() and live.exists() and other.exists()
    assert stale.name not in seen[0]
    with pytest.raises(ValueError, match="older_than"):
        cifar.remove_stale_parts(tmp_path, older_than=-1)


def test_a_fresh_download_with_a_bad_checksum_does_not_name_a_deleted_file(tmp_path, monkeypatch):
    def fake(url, destination, timeout=60.0):
        Path(destination).write_bytes(b"not the archive")

    monkeypatch.setattr(cifar, "_download", fake)
    with pytest.raises(cifar.ChecksumError) as info:
        cifar.fetch_archive(tmp_path, download=True, checksum="0" * 64)
    message = str(info.value)
    assert "discarded" in message and "download=True to retry" in message
    assert "Delete it" not in message and ".part" not in message
    assert list(tmp_path.iterdir()) == []
