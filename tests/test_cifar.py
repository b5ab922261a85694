"""The CIFAR-10 loader on tiny archives made here: parsing, checksums, atomic downloads, errors.

No test touches the network: the downloader is replaced with a function that copies a local file.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from attn_lessons import cifar
from attn_lessons.cifar import (
    CIFAR10_ARCHIVE,
    RECORD_BYTES,
    ChecksumError,
    cifar10_available,
    fetch_archive,
    file_checksum,
    load_cifar10,
    parse_records,
    verify_checksum,
)


def _records(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    raw = b"".join(bytes([labels[i]]) + images[i].tobytes() for i in range(n))
    return raw, images, labels


def _make_archive(path: Path, per_batch: int = 2) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write a tiny archive in the CIFAR-10 binary layout; return what each file holds."""
    content = {}
    with tarfile.open(path, "w:gz") as tar:
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        for k, name in enumerate(names):
            raw, images, labels = _records(per_batch, seed=k)
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
            content[name] = (images, labels)
    return content


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def source(tmp_path):
    """A good tiny archive outside the cache, its content and SHA-256."""
    path = tmp_path / "source" / CIFAR10_ARCHIVE
    path.parent.mkdir()
    content = _make_archive(path)
    return path, content, _sha256(path)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(url, destination, timeout=60.0):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(cifar, "_download", refuse)


def _copying_downloader(src: Path, calls: list):
    def fake(url, destination, timeout=60.0):
        calls.append((url, destination))
        Path(destination).write_bytes(src.read_bytes())

    return fake


def test_record_layout_is_label_then_red_green_blue():
    raw, images, labels = _records(3, seed=0)
    assert len(raw) == 3 * RECORD_BYTES == 3 * 3073
    x, y = parse_records(raw)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    # the red plane of the first image is bytes 1..1024, row by row
    np.testing.assert_array_equal(x[0, 0].reshape(-1), np.frombuffer(raw[1:1025], np.uint8))


@pytest.mark.parametrize("nbytes", [0, 3072, 3074, 2 * 3073 - 1])
def test_truncated_records_are_refused(nbytes):
    with pytest.raises(ValueError, match="not a positive multiple of the 3073-byte"):
        parse_records(b"\x00" * nbytes)


def test_a_label_above_9_is_refused():
    with pytest.raises(ValueError, match="has label 10"):
        parse_records(bytes([10]) + b"\x00" * 3072)


def test_load_present_archive(tmp_path, source, no_network):
    path, content, sha = source
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CIFAR10_ARCHIVE).write_bytes(path.read_bytes())
    train = load_cifar10(cache, "train", checksum=sha)
    test = load_cifar10(cache, "test", checksum=sha)
    x, y = train.tensors
    assert x.shape == (10, 3, 32, 32) and x.dtype == torch.float32
    assert y.dtype == torch.int64
    expected = np.concatenate([content[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    torch.testing.assert_close(x, torch.from_numpy(expected.astype(np.float32) / 255))
    np.testing.assert_array_equal(test.tensors[1].numpy(), content["test_batch.bin"][1])
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert len(load_cifar10(cache, "train", checksum=sha, limit=3)) == 3
    assert cifar10_available(cache) is False  # the tiny archive is not the real one (MD5)


def test_published_md5_is_the_default():
    assert cifar.CIFAR10_MD5 == "c32a1d4ab5d03f1284b67883e8d87530"


def test_missing_archive_says_what_to_do(tmp_path, no_network):
    with pytest.raises(FileNotFoundError, match=r"download=True .*put it at"):
        load_cifar10(tmp_path)
    assert cifar10_available(tmp_path) is False
    assert list(tmp_path.iterdir()) == []


def test_download_only_when_allowed(tmp_path, source, monkeypatch):
    path, _, sha = source
    calls = []
    monkeypatch.setattr(cifar, "_download", _copying_downloader(path, calls))
    cache = tmp_path / "cache" / "nested"
    with pytest.raises(FileNotFoundError):
        fetch_archive(cache, checksum=sha)
    assert calls == []
    got = fetch_archive(cache, download=True, checksum=sha)
    assert got == cache / CIFAR10_ARCHIVE
    assert len(calls) == 1 and Path(calls[0][1]).parent == cache  # temp file in the same folder
    assert _sha256(got) == sha
    assert sorted(p.name for p in cache.iterdir()) == [CIFAR10_ARCHIVE]
    fetch_archive(cache, download=True, checksum=sha)  # already there: no second download
    assert len(calls) == 1


def test_corrupt_download_leaves_nothing(tmp_path, source, monkeypatch):
    path, _, sha = source
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(path.read_bytes()[:-10])
    monkeypatch.setattr(cifar, "_download", _copying_downloader(bad, []))
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match=r"sha256 [0-9a-f]{64}, expected " + sha):
        fetch_archive(cache, download=True, checksum=sha)
    assert list(cache.iterdir()) == []


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch):
    def half_then_fail(url, destination, timeout=60.0):
        Path(destination).write_bytes(b"partial")
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(cifar, "_download", half_then_fail)
    with pytest.raises(ConnectionError, match=r"Are you offline\? .*put it at"):
        fetch_archive(tmp_path, download=True, checksum="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_cached_archive(tmp_path, source, monkeypatch):
    path, _, sha = source
    cache = tmp_path / "cache"
    cache.mkdir()
    cached = cache / CIFAR10_ARCHIVE
    cached.write_bytes(b"not an archive")
    monkeypatch.setattr(cifar, "_download", _copying_downloader(path, []))
    with pytest.raises(ChecksumError, match="Delete it and call again with download=True"):
        load_cifar10(cache, checksum=sha)
    assert cached.read_bytes() == b"not an archive"  # without download=True, nothing is touched
    fetch_archive(cache, download=True, checksum=sha)  # allowed: replaced by a good copy
    assert _sha256(cached) == sha
    assert sorted(p.name for p in cache.iterdir()) == [CIFAR10_ARCHIVE]


def test_md5_checksums_work_too(tmp_path, source, no_network):
    path, _, _ = source
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    assert file_checksum(path, "md5") == md5
    verify_checksum(path, md5.upper())
    with pytest.raises(ChecksumError, match="md5"):
        verify_checksum(path, "0" * 32)


@pytest.mark.parametrize(
    ("checksum", "message"),
    [("abc", "32 \\(MD5\\) or 64 \\(SHA-256\\) hex digits, got 3"), ("z" * 64, "hex string")],
)
def test_malformed_checksums(tmp_path, checksum, message, no_network):
    with pytest.raises(ValueError, match=message):
        fetch_archive(tmp_path, checksum=checksum)


def test_archive_without_the_batches(tmp_path, no_network):
    path = tmp_path / CIFAR10_ARCHIVE
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("something/else.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ValueError, match="has no cifar-10-batches-bin/data_batch_1.bin"):
        load_cifar10(tmp_path, checksum=_sha256(path))


def test_bad_arguments(tmp_path, no_network):
    with pytest.raises(ValueError, match="split must be one of"):
        load_cifar10(tmp_path, "validation")
    with pytest.raises(TypeError, match="download must be True or False"):
        fetch_archive(tmp_path, download="yes")
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        load_cifar10(tmp_path, limit=0)


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(cifar.DATA_ENV_VAR, str(tmp_path))
    assert cifar.default_cache_dir() == tmp_path
