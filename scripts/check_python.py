"""Refuse a Python older than the book supports: ``requires-python`` in pyproject.toml.

The Makefile runs this before it creates ``.venv``, with the interpreter it is about to use
(``make PYTHON=python3.12 book``). pyproject.toml is the one place the version is set; the README,
CONTRIBUTING.md and the preface name it, and tests/test_supported_python.py checks that they agree.
Written for any Python 3 (no tomllib, which arrived in 3.11), so that an old one gets this message
rather than a syntax error.
"""

import re
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def minimum(text):
    """(major, minor) of ``requires-python = ">=X.Y"`` in pyproject.toml's text."""
    match = re.search(r'^requires-python\s*=\s*">=\s*(\d+)\.(\d+)"', text, re.MULTILINE)
    if match is None:
        raise ValueError('pyproject.toml has no requires-python = ">=X.Y"')
    return int(match.group(1)), int(match.group(2))


def problem(version_info, text):
    """The message refusing ``version_info``, or None when it is new enough."""
    need = minimum(text)
    if tuple(version_info[:2]) >= need:
        return None
    found = ".".join(str(part) for part in version_info[:3])
    return f"Python {need[0]}.{need[1]} or newer is needed, found {found}"


def main():
    message = problem(sys.version_info, PYPROJECT.read_text(encoding="utf-8"))
    if message:
        sys.exit(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
