"""CIFAR-10 from its binary archive: checksum verified, cached atomically, downloaded on request.

CIFAR-10 (Krizhevsky, 2009) has 60 000 colour images of 32 x 32 pixels in 10 classes, 50 000 for
training in five files ``data_batch_1.bin`` ... ``data_batch_5.bin`` and 10 000 for testing in
``test_batch.bin``, all inside ``cifar-10-batches-bin/`` in the archive ``cifar-10-binary.tar.gz``.
Each file is a run of 3073-byte records::

    byte 0          the label, 0..9
    bytes 1..1024   red channel, 32 x 32, row by row
    bytes 1025..2048 green channel
    bytes 2049..3072 blue channel

This loader reads that *binary* version with NumPy, straight from the archive, so no pickle (which
can run code while loading) is ever opened. The archive is checked against a checksum before it is
used: by default the MD5 published on the data set's page, or any SHA-256/MD5 you pass.

Nothing is downloaded unless ``download=True``. A download goes to a temporary file in the cache
folder, is verified there and only then renamed (``os.replace``, atomic on one file system) to its
final name, so an interrupted or corrupt download never leaves a file that looks complete. A
download killed outright (``SIGKILL``, a power cut) cannot remove its temporary ``*.part`` file;
the next download removes such files once nothing has written to them for
:data:`STALE_PART_SECONDS` (a live download writes to its file at least once a read timeout).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ._validation import check_choice, check_int

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
#: MD5 of ``cifar-10-binary.tar.gz`` as published on https://www.cs.toronto.edu/~kriz/cifar.html
CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
#: Environment variable naming the cache folder (default ``~/.cache/attn_lessons``).
DATA_ENV_VAR = "ATTN_LESSONS_DATA"

#: A ``*.part`` file of the archive untouched for this long is the remains of a killed download.
STALE_PART_SECONDS = 3600.0

RECORD_BYTES = 1 + 3 * 32 * 32
_FOLDER = "cifar-10-batches-bin"
_SPLITS = {
    "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("test_batch.bin",),
}


class ChecksumError(ValueError):
    """A file's checksum is not the expected one: the file is corrupt, truncated or another file."""


def default_cache_dir() -> Path:
    """``$ATTN_LESSONS_DATA`` if set, else ``~/.cache/attn_lessons``."""
    return Path(os.environ.get(DATA_ENV_VAR) or Path.home() / ".cache" / "attn_lessons")


def file_checksum(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of the file at ``path`` (``algorithm``: ``"sha256"`` or ``"md5"``)."""
    algorithm = check_choice("algorithm", algorithm, ("sha256", "md5"))
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _algorithm_for(checksum: str) -> str:
    """``"md5"`` for a 32-digit hex checksum, ``"sha256"`` for a 64-digit one."""
    if not isinstance(checksum, str) or any(c not in "0123456789abcdef" for c in checksum.lower()):
        raise ValueError(f"checksum must be a hex string (MD5 or SHA-256), got {checksum!r}")
    lengths = {32: "md5", 64: "sha256"}
    if len(checksum) not in lengths:
        raise ValueError(
            f"checksum must have 32 (MD5) or 64 (SHA-256) hex digits, got {len(checksum)}: "
            f"{checksum!r}"
        )
    return lengths[len(checksum)]


def verify_checksum(path: str | os.PathLike, checksum: str) -> None:
    """Raise :class:`ChecksumError` unless the file's MD5 or SHA-256 equals ``checksum``."""
    algorithm = _algorithm_for(checksum)
    actual = file_checksum(path, algorithm)
    if actual != checksum.lower():
        raise ChecksumError(
            f"{path} has {algorithm} {actual}, expected {checksum.lower()}: the file is corrupt, "
            f"truncated or not the CIFAR-10 binary archive. Delete it and call again with "
            f"download=True, or copy a good {CIFAR10_ARCHIVE} there."
        )


def _download(url: str, destination: str, timeout: float = 60.0) -> None:
    """Copy ``url`` into the (already created) file ``destination``. Replaced in the tests."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(destination, "wb") as f:
        for chunk in iter(lambda: response.read(1 << 20), b""):
            f.write(chunk)


def remove_stale_parts(
    root: str | os.PathLike, older_than: float = STALE_PART_SECONDS
) -> list[Path]:
    """Remove the archive's ``*.part`` files in ``root`` not written to for ``older_than`` seconds
    (what a killed download leaves behind); return the paths removed.

    A download in progress (in this or another process) writes to its file continually, so its
    file is never that old and is left alone.
    """
    if isinstance(older_than, bool) or not isinstance(older_than, int | float) or older_than < 0:
        raise ValueError(f"older_than must be a number of seconds >= 0, got {older_than!r}")
    removed = []
    now = time.time()
    for part in Path(root).glob(f"{CIFAR10_ARCHIVE}.*.part"):
        try:
            if part.is_file() and now - part.stat().st_mtime >= older_than:
                part.unlink()
                removed.append(part)
        except FileNotFoundError:  # removed meanwhile by another process
            continue
    return removed


def fetch_archive(
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    checksum: str = CIFAR10_MD5,
    url: str = CIFAR10_URL,
) -> Path:
    """Return the path of a verified ``cifar-10-binary.tar.gz`` in ``root``, downloading if allowed.

    - present and good: returned as it is;
    - present but corrupt: :class:`ChecksumError` (with ``download=True`` it is fetched again);
    - missing and ``download=False``: ``FileNotFoundError`` saying where to put the file;
    - download fails (offline): ``ConnectionError`` saying how to get the file by hand;
    - writing the download fails (disk full, read-only folder): ``OSError`` saying so.

    A download is written to a temporary ``*.part`` file in ``root``, verified, then renamed; on
    any failure the temporary file is removed, so no half-written archive is left behind. Before
    a download starts, the ``*.part`` files of earlier killed downloads are removed
    (:func:`remove_stale_parts`).
    """
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {download!r}")
    _algorithm_for(checksum)
    root = Path(default_cache_dir() if root is None else root)
    path = root / CIFAR10_ARCHIVE
    if path.is_file():
        try:
            verify_checksum(path, checksum)
            return path
        except ChecksumError:
            if not download:
                raise
    elif not download:
        raise FileNotFoundError(
            f"CIFAR-10 is not in {root}: no {CIFAR10_ARCHIVE} there. Call again with "
            f"download=True (needs a network connection, about 160 MB), or download {url} "
            f"yourself and put it at {path}."
        )
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(root)
    fd, part = tempfile.mkstemp(prefix=CIFAR10_ARCHIVE + ".", suffix=".part", dir=root)
    os.close(fd)
    try:
        try:
            _download(url, part)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            raise ConnectionError(
                f"could not download {url} ({exc}). Are you offline? Download the file on a "
                f"machine with a network connection and put it at {path}, or set "
                f"{DATA_ENV_VAR} to a folder that holds it."
            ) from exc
        except OSError as exc:  # not the network: writing the file failed (disk full, rights)
            raise OSError(
                exc.errno,
                f"could not write the download to {part} ({exc.strerror or exc}). Is the disk "
                f"full, or the folder read-only? Free space there, or set {DATA_ENV_VAR} to "
                f"another folder",
            ) from exc
        algorithm = _algorithm_for(checksum)
        actual = file_checksum(part, algorithm)
        if actual != checksum.lower():  # the temporary file is removed below: say so
            raise ChecksumError(
                f"the file downloaded from {url} has {algorithm} {actual}, expected "
                f"{checksum.lower()}: the download was corrupted or the server sent another "
                f"file, and it has been discarded. Call again with download=True to retry, or "
                f"download the file yourself and put it at {path}."
            )
        with open(part, "rb") as f:  # the bytes on the disk before the file gets its name
            os.fsync(f.fileno())
        os.replace(part, path)  # atomic: the final name only ever holds a verified file
    finally:
        if os.path.exists(part):
            os.remove(part)
    return path


def parse_records(data: bytes, source: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Split CIFAR-10 binary records into images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)``."""
    if len(data) == 0 or len(data) % RECORD_BYTES:
        raise ValueError(
            f"{source} holds {len(data)} bytes, not a positive multiple of the {RECORD_BYTES}-byte "
            f"CIFAR-10 record: the file is corrupt or in another format"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)  # (N, 3073)
    labels = records[:, 0].astype(np.int64)  # (N,)
    if labels.max() >= len(CIFAR10_CLASSES):
        raise ValueError(f"{source} has label {labels.max()}, but CIFAR-10 labels are 0..9")
    images = records[:, 1:].reshape(-1, 3, 32, 32)  # (N, 3072) -> (N, 3, 32, 32), R G B planes
    return images, labels


def load_cifar10(
    root: str | os.PathLike | None = None,
    split: str = "train",
    *,
    download: bool = False,
    checksum: str = CIFAR10_MD5,
    limit: int | None = None,
) -> TensorDataset:
    """CIFAR-10 ``split`` ("train" or "test") as a ``TensorDataset`` of floats in [0, 1] and labels.

    Images are ``(N, 3, 32, 32)`` float32, labels ``(N,)`` int64. ``limit`` keeps the first
    ``limit`` images (in file order). See :func:`fetch_archive` for ``download`` and the errors.
    """
    split = check_choice("split", split, _SPLITS)
    if limit is not None:
        limit = check_int("limit", limit)
    archive = fetch_archive(root, download=download, checksum=checksum)
    images, labels = [], []
    with tarfile.open(archive, "r:gz") as tar:
        for name in _SPLITS[split]:
            member = f"{_FOLDER}/{name}"
            try:
                f = tar.extractfile(member)
            except KeyError:
                f = None
            if f is None:
                raise ValueError(f"{archive} has no {member}: not the CIFAR-10 binary archive")
            x, y = parse_records(f.read(), member)
            images.append(x)
            labels.append(y)
            if limit is not None and sum(len(b) for b in labels) >= limit:
                break
    x = torch.from_numpy(np.concatenate(images)[:limit].astype(np.float32) / 255.0)
    y = torch.from_numpy(np.concatenate(labels)[:limit])
    return TensorDataset(x, y)


def cifar10_available(root: str | os.PathLike | None = None) -> bool:
    """Whether a verified CIFAR-10 archive is already in ``root`` (never downloads)."""
    try:
        fetch_archive(root, download=False)
    except (FileNotFoundError, ChecksumError):
        return False
    return True
