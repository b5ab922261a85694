"""Regression tests for the December 2026 fault sweep (shared/reviews/2026-12-reliability.md).

One test (or one parametrized case) per finding, named for it, in the review's order of harm:
the paths that lost files, then the silent wrong results, then the errors that did not say what
was wrong. Run against the library and scripts of commit 25a1d0e (before the fixes), 136 cases
fail; the 32 that pass are the new helper's own tests and controls that show a fix refuses no
good input (integer labels, an empty batch, a 2-D product, a float64 query with a float16 mask).
"""

from __future__ import annotations

import errno
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from attn_lessons import bench, cifar
from attn_lessons._files import atomic_write_bytes, atomic_write_text
from attn_lessons.cbam import CBAM, SpatialGate
from attn_lessons.coordatt import CoordAtt
from attn_lessons.cost import count_flops
from attn_lessons.counting import count_fvcore_style, count_thop_style
from attn_lessons.data import make_task, relation_task
from attn_lessons.device import DEVICE_ENV_VAR, describe_device, get_device, seed_everything
from attn_lessons.eca import ECA, eca_kernel_size
from attn_lessons.factory import make_attention
from attn_lessons.mobilenetv2 import MobileNetV2
from attn_lessons.neck import YoloTinyNeck
from attn_lessons.se import SqueezeExcite
from attn_lessons.self_attention import (
    MultiHeadSelfAttention,
    SelfAttention,
    SelfAttention2d,
    scaled_dot_product_attention,
)
from attn_lessons.similarity import (
    attention_average,
    cosine_similarity,
    projection_length,
    softmax,
)
from attn_lessons.small_cnn import SmallCNN
from attn_lessons.train import evaluate, mean_std, train_model
from attn_lessons.visualize import compare_attention, feature_grid

ROOT = Path(__file__).resolve().parent.parent
_real_fsync = os.fsync


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"_sweep_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
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


def test_make_student_copies_the_files_of_each_notebook_folder_and_its_subfolders(tmp_path):
    """A recorded result in ``results/`` beside a notebook goes with it (the guide's comparison
    shows ``results/module_times.json`` and measures afresh only without it); pages, build
    files, hidden files and another notebook folder's files do not."""
    book = _tiny_book(tmp_path)
    (book / "ch0" / "results").mkdir()
    (book / "ch0" / "results" / "times.json").write_text('{"ratio": 1.5}')
    (book / "ch0" / "results" / "notes.md").write_text("# not copied\n")
    (book / "ch0" / ".cache").mkdir()
    (book / "ch0" / ".cache" / "x.json").write_text("{}")
    (book / "ch0" / "_build").mkdir()
    (book / "ch0" / "_build" / "x.json").write_text("{}")
    out = tmp_path / "student"
    make_student.make_student(book, out)
    copied = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                    if p.is_file() and p.parent != out)
    assert copied == ["ch0/data.csv", "ch0/lab0.ipynb", "ch0/results/times.json",
                      "ch1/data.csv", "ch1/lab1.ipynb"]
    assert (out / "ch0" / "results" / "times.json").read_text() == '{"ratio": 1.5}'


def test_the_real_student_edition_carries_the_recorded_measurements(tmp_path):
    out = tmp_path / "student"
    make_student.make_student(ROOT / "book", out)
    for recorded in sorted((ROOT / "book").glob("*/results/*.json")):
        copy = out / recorded.relative_to(ROOT / "book")
        assert copy.is_file() and copy.read_bytes() == recorded.read_bytes(), copy


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


@pytest.mark.parametrize("script", ["bench", "checkpoints/_making", "make_checkpoints",
                                    "make_control_checkpoints", "record_expected_outputs",
                                    "run_notebook", "make_pdf", "build_zh", "make_student"])
def test_no_result_file_is_written_in_place(script):
    """The library and the scripts write their result files through attn_lessons._files."""
    library = script in ("bench", "checkpoints/_making")
    path = ROOT / ("attn_lessons" if library else "scripts") / f"{script}.py"
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


# =============================================================================================
# Silent wrong results
# =============================================================================================

# --- Fused self-attention's FLOPs: the attention products are counted -----------------------

@pytest.mark.parametrize(("make", "shape"), [
    (lambda fused: SelfAttention2d(16, fused=fused), (2, 16, 7, 5)),             # d_k != d_v
    (lambda fused: SelfAttention2d(16, dim_k=4, num_heads=2, fused=fused), (1, 16, 3, 3)),
    (lambda fused: SelfAttention(12, 4, 6, fused=fused), (2, 9, 12)),
    (lambda fused: MultiHeadSelfAttention(16, 4, fused=fused), (3, 10, 16)),
])
def test_fused_attention_counts_the_same_flops_as_written_out(make, shape):
    x = torch.randn(*shape)
    written, fused = make(False).eval(), make(True).eval()
    assert count_flops(fused, x).flops == count_flops(written, x).flops
    assert fused.fused  # the module is given back as it was


def test_fused_self_attention_2d_at_the_bench_size_counts_the_attention_products():
    # The review's numbers: 3,221,225,472 FLOPs before (projections only), 9,663,676,416 true.
    with torch.device("meta"):
        module, x = SelfAttention2d(256, fused=True).eval(), torch.randn(8, 256, 32, 32)
    count = count_flops(module, x)
    assert count.flops == 9_663_676_416 and count.macs == 4_831_838_208
    b, n, c = 8, 32 * 32, 256
    projections = 2 * b * n * c * (c // 2 + c // 2 + c + c)   # q, k (C/2 wide), v and out (C)
    attention = 2 * b * n * n * (c // 2 + c)                   # QK^T (d_k = C/2) and AV (d_v = C)
    assert count.flops == projections + attention


def test_bench_counts_self_attention_like_its_written_out_twin():
    rows, _ = bench.run_benchmark("cpu", (1, 16, 3, 4), repeats=1, warmup=0)
    x = torch.randn(1, 16, 3, 4)
    written = make_attention("self_attention", 16, fused=False).eval()
    assert rows[-1].name == "SelfAttention2d"
    assert rows[-1].flops == count_flops(written, x).flops


def test_a_direct_fused_attention_call_is_counted_with_the_attention_formula():
    class Fused(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v)

    q, k, v = torch.randn(2, 3, 10, 8), torch.randn(2, 3, 12, 8), torch.randn(2, 3, 12, 8)
    macs = 2 * 3 * 10 * 12 * 8  # each of QK^T and AV: B h L S d
    assert count_flops(Fused(), q, k, v).flops == 2 * (2 * macs)  # two products, 2 FLOPs a MAC


def test_counting_restores_fused_after_an_error():
    module = SelfAttention2d(8, fused=True)
    with pytest.raises(ValueError):
        count_flops(module, torch.randn(1, 5, 2, 2))
    assert module.fused


# --- Labels must be integers: floats are refused, not truncated ------------------------------

class _Items(torch.utils.data.Dataset):
    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return torch.zeros(1, 4, 4), self.labels[i]


def _tiny_net() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 2))


@pytest.mark.parametrize("data", [
    (torch.zeros(2, 1, 4, 4), torch.tensor([0.9, 1.9])),            # the review's evaluate case
    (torch.zeros(2, 1, 4, 4), torch.tensor([0.0, 1.0])),            # whole numbers, still floats
    TensorDataset(torch.zeros(2, 1, 4, 4), torch.tensor([0.7, 1.7])),
    _Items([0.7, 1.7]),                                             # the review's Dataset case
    _Items([torch.tensor(0.5), torch.tensor(1.0)]),
    _Items([True, False]),
], ids=["pair", "whole-floats", "tensor-dataset", "dataset", "dataset-tensors", "dataset-bools"])
def test_float_labels_are_refused_in_training_and_evaluation(data):
    with pytest.raises(TypeError, match="integer class indices"):
        evaluate(_tiny_net(), data)
    with pytest.raises(TypeError, match="integer class indices"):
        train_model(_tiny_net(), data, epochs=1, device="cpu", progress=False)


@pytest.mark.parametrize("labels", [[0, 1], [np.int64(0), np.int64(1)],
                                    [torch.tensor(0), torch.tensor(1)]])
def test_integer_labels_of_every_kind_are_accepted(labels):
    result = evaluate(_tiny_net(), _Items(labels))
    assert 0 <= result["accuracy"] <= 1


# --- Zero-size feature maps are refused before any BatchNorm statistic moves -----------------

MODULES_2D = {
    "CoordAtt": lambda: CoordAtt(16),
    "CBAM": lambda: CBAM(16, reduction=4),
    "CBAM with BatchNorm": lambda: CBAM(16, reduction=4, batch_norm=True),
    "SpatialGate": lambda: SpatialGate(),
    "SqueezeExcite": lambda: SqueezeExcite(16, reduction=4),
    "ECA": lambda: ECA(16),
    "SelfAttention2d": lambda: SelfAttention2d(16),
    "SmallCNN": lambda: SmallCNN(16, 2),
}


@pytest.mark.parametrize("name", MODULES_2D)
@pytest.mark.parametrize("shape", [(2, 16, 0, 5), (2, 16, 5, 0), (2, 0, 5, 5), (1, 16, 0, 0)])
def test_zero_size_maps_are_refused_before_touching_batch_norm(name, shape):
    module = MODULES_2D[name]().train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    with pytest.raises(ValueError, match=r"= 0 .*C, H, W >= 1|channels"):
        module(torch.randn(*shape))
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    module.eval()
    assert torch.isfinite(module(torch.randn(1, 16, 5, 5))).all()


def test_an_empty_batch_is_still_allowed():
    assert CoordAtt(16).train()(torch.randn(0, 16, 5, 5)).shape == (0, 16, 5, 5)


# --- check_translations fails when it checks nothing or reads a line wrongly -----------------

check_translations = _load_script("check_translations")

GOOD_PO = '''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "The gate has 16 weights."
msgstr "该门控有 16 个权重。"
'''


@pytest.mark.parametrize(("name", "text", "what"), [
    ("bad.po", GOOD_PO.replace('"该门控有 16 个权重。"', "该门控有 16 个权重。"), "line 6 is not"),
    ("bad.po", GOOD_PO + '\nmsgid "Another."\nmsgstr "另一个。\n', "line 9 is not"),
    ("page.md", "# A page\n\nSome text.\n", "not a .po catalogue"),
    ("empty.po", "# nothing but a comment\n", "no message at all"),
    ("prose.po", "Just some words\n", "line 1 is not"),
])
def test_check_translations_refuses_malformed_and_non_catalogues(tmp_path, name, text, what,
                                                                 capsys):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    problems = check_translations.check_catalogue(path, avoid={})
    assert problems and what in problems[0].what
    assert check_translations.main([str(path)]) == 1


def test_check_translations_passes_a_good_catalogue(tmp_path):
    path = tmp_path / "good.po"
    path.write_text(GOOD_PO, encoding="utf-8")
    assert check_translations.check_catalogue(path, avoid={}) == []
    assert check_translations.main([str(path)]) == 0


def test_check_translations_with_no_catalogue_found_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(check_translations, "LOCALE", tmp_path)
    assert check_translations.main([]) == 1
    assert "nothing was checked" in capsys.readouterr().err


# --- The counters ----------------------------------------------------------------------------

class _Product(nn.Module):
    def forward(self, a, b):
        return a @ b


@pytest.mark.parametrize(("a", "b", "macs"), [
    ((16, 10), (10,), 160),            # the review's case: x @ w with a 1-D w (was 2,560)
    ((2, 8, 10), (10,), 160),
    ((10,), (10, 4), 40),
    ((10,), (3, 10, 4), 120),
    ((10,), (10,), 10),
    ((3, 4), (4, 6), 72),              # 2-D: fvcore's rule, unchanged
])
def test_fvcore_counts_products_with_a_1d_operand_as_computed(a, b, macs):
    count = count_fvcore_style(_Product(), torch.randn(*a), torch.randn(*b))
    assert count.total == macs


def test_thop_lists_multihead_attention_as_uncounted():
    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attention(x, x, x)[0]

    count = count_thop_style(Wrapper(), torch.randn(2, 5, 8))
    assert count.total == 0 and count.uncounted == {"MultiheadAttention": 1}


def test_counters_read_keyword_arguments():
    class Keywords(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 3)
            self.conv = nn.Conv2d(2, 4, 3)

        def forward(self, x, image):
            y = self.lin(input=x) + F.linear(input=x, weight=self.lin.weight)
            z = self.conv(input=image) + F.conv2d(input=image, weight=self.conv.weight)
            return y.sum() + z.sum() + torch.matmul(input=x, other=self.lin.weight.T).sum()

    x, image = torch.randn(5, 8), torch.randn(1, 2, 6, 6)
    linear, conv = 5 * 8 * 3, 4 * 4 * 4 * 2 * 9
    assert count_thop_style(Keywords(), x, image).total == linear + conv
    fvcore = count_fvcore_style(Keywords(), x, image)
    assert fvcore.by_rule == {"linear": 2 * linear, "conv": 2 * conv, "matmul": linear}


# --- exec_notebook and run_notebook say what happened ----------------------------------------

def _exec_notebook(tmp_path: Path, text: str, *args: str) -> tuple[int, dict]:
    path = tmp_path / "nb.ipynb"
    path.write_text(text)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "exec_notebook.py"), str(path),
                           *args], capture_output=True, text=True, timeout=300)
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def _code_notebook(*cells: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title")] + [
        nbformat.v4.new_code_cell(c) for c in cells]
    return nbformat.writes(nb)


@pytest.mark.parametrize("code", ["0", "None", "'done'"])
def test_exec_notebook_reports_a_cell_that_exits_as_a_failure(tmp_path, code):
    rc, result = _exec_notebook(tmp_path, _code_notebook(
        "a = 1", f"import sys\nsys.exit({code})", "open('later.txt', 'w')"))
    assert rc == 1
    assert result["error"].startswith("cell 2: SystemExit") and result["cells_run"] == 1
    assert not (tmp_path / "later.txt").exists()


def test_exec_notebook_names_a_file_that_is_not_a_notebook(tmp_path):
    rc, result = _exec_notebook(tmp_path, "this is not JSON")
    assert rc == 1 and "nb.ipynb is not a notebook" in result["error"]


def test_run_notebook_reports_plain_text_and_the_code_cell_number(tmp_path):
    run_notebook = _load_script("run_notebook")
    path = tmp_path / "nb.ipynb"
    path.write_text(_code_notebook("a = 1", "1 / 0"))
    result = run_notebook.run(path, timeout=60)
    assert result["error"] == "cell 2: ZeroDivisionError: division by zero"  # as exec_notebook
    assert "\x1b" not in result["error"]
    with pytest.raises(ValueError, match="timeout must be a positive"):
        run_notebook.run(path, timeout=0)
    with pytest.raises(SystemExit):
        run_notebook.main([str(path), "--timeout", "0"])


def test_run_notebook_saves_the_executed_notebook_without_importing_torch(tmp_path):
    """The runner writes through attn_lessons' atomic writer without importing the package
    (its __init__ imports torch: about 2 CPU-s per notebook the student edition's test runs).
    The kernel, a process of its own, imports what the notebook imports."""
    path, saved = tmp_path / "nb.ipynb", tmp_path / "out" / "nb.executed.ipynb"
    path.write_text(_code_notebook("a = 1", "print(a + 1)"))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import run_notebook; "
            "from pathlib import Path; "
            "result = run_notebook.run(Path(sys.argv[2]), timeout=60, save=Path(sys.argv[3])); "
            "print(result['error'], 'torch' in sys.modules, 'attn_lessons' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "scripts"), str(path),
                           str(saved)], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["None", "False", "False"], proc.stderr[-2000:]
    outputs = [c["outputs"] for c in json.loads(saved.read_text())["cells"]
               if c["cell_type"] == "code"]
    assert "".join(outputs[1][0]["text"]) == "2\n"


# --- Numerics --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_written_out_attention_in_half_precision_does_not_overflow(dtype):
    g = torch.Generator().manual_seed(0)
    q = (100 + torch.randn(2, 6, 64, generator=g)).to(dtype)  # scores near 80,000 > 65,504
    out, weights = scaled_dot_product_attention(q, q, q)
    assert out.dtype == weights.dtype == dtype
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    reference = F.scaled_dot_product_attention(q.double(), q.double(), q.double())
    torch.testing.assert_close(out.double(), reference, atol=0.5, rtol=0.01)
    module = SelfAttention(64, 64, 64).to(dtype)
    assert torch.isfinite(module(q)).all()


@pytest.mark.parametrize(("size", "dtype"), [(1e20, torch.float32), (1e200, torch.float64),
                                             (2e4, torch.float16), (1e30, torch.bfloat16)])
def test_cosine_similarity_of_parallel_vectors_of_any_size_is_one(size, dtype):
    a = torch.full((4, 8), size, dtype=dtype)  # the review's case: 1e20 in float32 gave NaN
    ones = torch.ones(4, dtype=torch.float64)
    torch.testing.assert_close(cosine_similarity(a, 3 * a).double(), ones, atol=1e-2, rtol=0)
    torch.testing.assert_close(cosine_similarity(a, -a).double(), -ones, atol=1e-2, rtol=0)
    torch.testing.assert_close(cosine_similarity(a, torch.zeros_like(a)).double(), 0 * ones)


def test_projection_onto_a_tiny_nonzero_vector_is_defined():
    b = torch.tensor([1e-23, 1e-23])  # its float32 norm underflows to 0
    got = projection_length(torch.tensor([1.0, 1.0]), b)
    torch.testing.assert_close(got, torch.tensor(2 ** 0.5))
    with pytest.raises(ValueError, match="zero vector"):
        projection_length(torch.tensor([1.0, 1.0]), torch.zeros(2))


# --- train_model: weight decay must be finite ------------------------------------------------

def test_infinite_weight_decay_is_refused_not_trained_to_nan():
    data = (torch.zeros(4, 1, 4, 4), torch.tensor([0, 1, 0, 1]))
    for bad in (float("inf"), float("nan")):
        with pytest.raises(ValueError, match="weight_decay must be >= 0 and finite"):
            train_model(_tiny_net(), data, weight_decay=bad, device="cpu", progress=False)


def test_seed_everything_refuses_a_non_boolean_deterministic(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda *a, **k: calls.append(a))
    with pytest.raises(TypeError, match="deterministic must be True or False"):
        seed_everything(0, deterministic="no")
    assert calls == []  # global deterministic mode was not turned on


# =============================================================================================
# Errors that did not say what was wrong
# =============================================================================================

# --- Float masks of another dtype are cast to the scores' dtype -------------------------------

def _attention_calls():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 8, generator=g)
    image = torch.randn(2, 8, 1, 5, generator=g)
    return {
        "scaled_dot_product_attention": lambda dtype, fused, mask: scaled_dot_product_attention(
            x.to(dtype), x.to(dtype), x.to(dtype), mask=mask)[0],
        "SelfAttention": lambda dtype, fused, mask: SelfAttention(8, 4, 6, fused=fused).to(dtype)(
            x.to(dtype), mask=mask),
        "MultiHeadSelfAttention": lambda dtype, fused, mask: MultiHeadSelfAttention(
            8, 2, fused=fused).to(dtype)(x.to(dtype), mask=mask),
        "SelfAttention2d": lambda dtype, fused, mask: SelfAttention2d(
            8, residual=False, fused=fused).to(dtype)(image.to(dtype), mask=mask),
    }


@pytest.mark.parametrize("call", list(_attention_calls()))
@pytest.mark.parametrize(("dtype", "mask_dtype"), [
    (torch.float32, torch.float64),   # the review's first case
    (torch.float16, torch.float32),   # ... and its second
    (torch.bfloat16, torch.float32),
    (torch.float64, torch.float16),
])
@pytest.mark.parametrize("fused", [False, True])
def test_float_masks_of_another_dtype_are_cast(call, dtype, mask_dtype, fused):
    if call == "scaled_dot_product_attention" and fused:
        pytest.skip("the function has no fused path")
    mask = torch.zeros(5, 5)
    mask[:, 0] = float("-inf")  # nobody may attend to token 0
    torch.manual_seed(1)
    same = _attention_calls()[call](dtype, fused, mask.to(dtype))
    torch.manual_seed(1)
    other = _attention_calls()[call](dtype, fused, mask.to(mask_dtype))
    assert other.dtype == dtype
    torch.testing.assert_close(other, same)


# --- A bad ATTN_LESSONS_DEVICE is named ------------------------------------------------------

@pytest.mark.parametrize("value", ["gpu", "mps", "cuda:x"])
def test_a_bad_device_from_the_environment_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(DEVICE_ENV_VAR, value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: value == "cuda:x")
    with pytest.raises(ValueError, match=f"environment variable {DEVICE_ENV_VAR}={value}"):
        get_device()
    with pytest.raises(ValueError) as info:  # passed as an argument: no mention of the variable
        get_device("gpu")
    assert DEVICE_ENV_VAR not in str(info.value)


# --- The long tail ---------------------------------------------------------------------------

def _pair(n: int = 4):
    return torch.zeros(n, 1, 4, 4), torch.arange(n) % 2


def _checkpoint_manifest(tmp_path, monkeypatch, text: str):
    from attn_lessons import checkpoints

    (tmp_path / "manifest.json").write_text(text)
    monkeypatch.setattr(checkpoints.resources, "files", lambda name: tmp_path)
    return checkpoints


TAIL = {
    "train_model weight_decay as a string": (
        lambda: train_model(_tiny_net(), _pair(), weight_decay="0", device="cpu", progress=False),
        TypeError, "weight_decay must be a number"),
    "train_model with an empty test set": (
        lambda: train_model(_tiny_net(), _pair(), (torch.zeros(0, 1, 4, 4),
                                                    torch.zeros(0, dtype=torch.long)),
                            epochs=50, device="cpu", progress=False),
        ValueError, "test_data must hold as many labels as images"),
    "train_model with a seed of 2**64": (
        lambda: train_model(_tiny_net(), _pair(), seed=2**64, device="cpu", progress=False),
        ValueError, "seed must be at most 2\\*\\*64 - 1"),
    "make_task with a seed of 2**64": (
        lambda: make_task("clutter", n=4, seed=2**64), ValueError, "seed must be at most"),
    "seed_everything with a seed of 2**64": (
        lambda: seed_everything(2**64), ValueError, "seed must be at most"),
    "evaluate a model without parameters": (
        lambda: evaluate(nn.Sequential(nn.Flatten(), nn.Identity()), (torch.zeros(2, 2),
                                                                      torch.tensor([0, 1]))),
        None, None),
    "a TensorDataset without labels": (
        lambda: evaluate(_tiny_net(), TensorDataset(torch.zeros(2, 1, 4, 4))),
        ValueError, "must hold images and labels"),
    "a Dataset of bare images": (
        lambda: evaluate(_tiny_net(), torch.utils.data.Subset(torch.zeros(2, 1, 4, 4), [0, 1])),
        TypeError, "must be an \\(image, label\\) pair"),
    "describe_device of a name": (lambda: describe_device("cpu"), None, None),
    "describe_device of a number": (lambda: describe_device(3), TypeError, "device must be"),
    "relation_task with one glyph": (
        lambda: relation_task(n=4, glyphs=1), ValueError, "glyphs must be an integer >= 2"),
    "eca_kernel_size with a tiny gamma": (
        lambda: eca_kernel_size(64, gamma=1e-310), ValueError, "gamma is too small"),
    "attention_average with mixed dtypes": (
        lambda: attention_average(torch.randn(2, 3), torch.randn(3, 4, dtype=torch.float64)),
        TypeError, "scores and values must share a dtype"),
    "SmallCNN on 3-pixel images": (
        lambda: SmallCNN(3, 2)(torch.randn(1, 3, 3, 8)), ValueError, "at least 4 x 4 pixels"),
    "MobileNetV2 dropout as a string": (
        lambda: MobileNetV2(dropout="0.2"), TypeError, "dropout must be a probability"),
    "MobileNetV2 dropout of 1.5": (
        lambda: MobileNetV2(dropout=1.5), ValueError, "dropout must be a probability"),
    "feature_grid of no channel": (
        lambda: feature_grid(torch.zeros(0, 4, 4)), ValueError, "fmap has no channels"),
    "compare_attention with too few row titles": (
        lambda: compare_attention(torch.rand(2, 3, 8, 8), {"se": {}}, row_titles=["one"]),
        ValueError, "row_titles must hold one title per image \\(2\\)"),
    "time_call with no repeat": (
        lambda: bench.time_call(lambda: None, "cpu", repeats=0, warmup=0),
        ValueError, "repeats must be a positive integer"),
    "run_benchmark with a 3-element shape": (
        lambda: bench.run_benchmark("cpu", (8, 16, 4), repeats=1, warmup=0),
        ValueError, "shape must be \\(B, C, H, W\\)"),
}


@pytest.mark.parametrize("case", TAIL)
def test_the_long_tail_of_bad_input_gets_a_named_error(case):
    call, error, message = TAIL[case]
    if error is None:
        call()  # now simply works
    else:
        with pytest.raises(error, match=message):
            call()


def test_yolo_neck_takes_attention_options_as_a_function_like_the_backbones():
    widths = []

    def options(channels):
        widths.append(channels)
        return {"reduction": 4}

    neck = YoloTinyNeck("se", num_classes=2, in_channels=(16, 32), attention_kwargs=options)
    assert sorted(widths) == [16, 32, 128]
    assert neck.feat1_attention.reduction == 4


@pytest.mark.parametrize(("values", "mean_is"), [([math.nan, 1.0], math.isnan),
                                                  ([math.inf, 1.0], math.isinf)])
def test_mean_std_of_non_finite_values_is_nan_not_a_crash(values, mean_is):
    mean, std = mean_std(values)
    assert mean_is(mean) and math.isnan(std)


def test_evaluate_without_parameters_runs_on_the_datas_device():
    result = evaluate(nn.Sequential(nn.Flatten(), nn.Identity()),
                      (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])))
    assert result["accuracy"] == 1.0


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "not valid JSON"),
    ('{"settings": {}}', "no 'files' table"),
    ('{"files": {"none": {"sha256": "0"}}}', "no SHA-256 for attention kind 'se'"),
])
def test_a_broken_checkpoint_manifest_is_named(tmp_path, monkeypatch, text, message):
    checkpoints = _checkpoint_manifest(tmp_path, monkeypatch, text)
    (tmp_path / "clutter_se.pt").write_bytes(b"weights")
    with pytest.raises(ValueError, match=message):
        checkpoints.load_checkpoint("se")


@pytest.mark.parametrize("shape", [(3, 0), (0, 4), (2, 0, 5)])
def test_softmax_of_an_empty_tensor_is_empty_like_torchs(shape):
    scores = torch.empty(*shape)
    got = softmax(scores, dim=-1)
    assert got.shape == torch.softmax(scores, dim=-1).shape == scores.shape


# --- stats.py: the three items the sweep left to the statistics' owner ------------------------


def test_welch_refuses_a_level_that_is_not_a_number():
    from attn_lessons.stats import welch

    with pytest.raises(ValueError, match="level must be a number between 0 and 1, got '0.9'"):
        welch([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], level="0.9")


def test_welch_on_huge_values_equals_welch_on_the_same_values_in_another_unit():
    from attn_lessons.stats import welch

    a, b = [1.0, 1.3, 0.8, 1.1], [2.0, 2.4, 1.9, 2.2]
    small = welch(a, b)
    huge = welch([v * 1e200 for v in a], [v * 1e200 for v in b])
    assert huge.p == pytest.approx(small.p) and huge.df == pytest.approx(small.df)
    assert huge.difference == pytest.approx(small.difference * 1e200)
    assert huge.ci_low == pytest.approx(small.ci_low * 1e200)


def test_false_positive_rate_takes_numpy_integers():
    import numpy as np

    from attn_lessons.stats import false_positive_rate

    assert false_positive_rate(np.int64(3), trials=np.int64(200)) == false_positive_rate(
        3, trials=200)
