"""Writing result files so that a failed write never leaves a truncated file behind.

``open(path, "w")`` empties the file first and then fills it: a full disk, a killed process or an
exception half-way through leaves a truncated file where the previous good one was. Every result,
JSON or checkpoint file the library and the maintainer scripts write goes through
:func:`atomic_write_bytes` instead:

1. the data go to a new temporary file in the *same folder* (so the final rename stays on one file
   system, where it is atomic);
2. the file is flushed and ``fsync``-ed, so its bytes are on the disk before it gets the name;
3. ``os.replace`` gives it the final name in one step: a reader sees the old file or the new one,
   never a mixture; the folder is then ``fsync``-ed too, so the rename itself survives a crash;
4. on any failure (``OSError``, ``KeyboardInterrupt``, ...) the temporary file is removed and the
   error raised again; the old file is untouched.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text"]


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to the disk, where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows, where folders cannot be opened: the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Replace the file at ``path`` with ``data`` atomically (see the module docstring).

    The folder must exist. A symbolic link at ``path`` is followed: the file it points to is
    replaced, the link kept. An existing file keeps its permission bits; a new one gets the
    usual ``0o666`` less the umask. Returns the path written.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    path = Path(os.path.realpath(os.fspath(path)))
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    temporary = folder / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _fsync_folder(folder)
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """:func:`atomic_write_bytes` of ``text`` encoded with ``encoding`` (UTF-8 by default)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode(encoding))
