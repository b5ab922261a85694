"""Progress bars for anything that trains: live in Jupyter and Colab, absent from the static book.

:func:`progress_bar` is ``tqdm.auto.tqdm`` (a widget in Jupyter, text in a terminal) with one
difference: the environment variable ``TQDM_DISABLE=1`` hides it everywhere. tqdm's own notebook
bar ignores that variable, so the book build, which sets it (``book/_ext/static_progress.py``),
could not otherwise keep hundreds of bar refreshes out of the HTML pages.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress_bar", "progress_disabled"]


def progress_disabled() -> bool:
    """True when the environment asks for no progress bars (``TQDM_DISABLE`` set and not 0)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in {"", "0", "false", "no"}


def progress_bar(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    """``tqdm.auto.tqdm(iterable, **kwargs)``, hidden when :func:`progress_disabled` is true.

    An explicit ``disable=`` argument wins over the environment.
    """
    if progress_disabled():
        kwargs.setdefault("disable", True)
    return tqdm(iterable, **kwargs)
