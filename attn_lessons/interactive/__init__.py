"""Data for the book's interactive figures, computed by the library at build time.

Each chapter's figure is a pair of functions registered under the figure's name:

* a **data function** (``@register(name)``) that takes no argument and returns a small,
  JSON-serialisable ``dict``, computed with the library's own functions (the page embeds it and
  the figure's JavaScript draws from it, with no kernel and no network);
* a **fallback drawer** (``@register_fallback(name)``) that takes that ``dict`` and returns a
  matplotlib ``Figure``: the static picture shown in print, in the PDF and without JavaScript.

The book's Sphinx extension (``book/_ext/interactive_figures.py``) calls :func:`figure_data` and
:func:`draw_fallback` for every ``interactive-figure`` directive. The per-chapter modules register
their figures when imported, which this package does below.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

#: Data function of every figure, by name.
FIGURES: dict[str, Callable[[], dict]] = {}
#: Fallback drawer of every figure, by name: ``data -> matplotlib.figure.Figure``.
FALLBACKS: dict[str, Callable[[dict], object]] = {}
#: Largest JSON text a figure may embed in its page, in bytes.
MAX_DATA_BYTES = 200_000


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a figure name must be a string, got {name!r}")
    if not name or not all(ch.isalnum() or ch == "-" for ch in name) or name != name.lower():
        raise ValueError(f"a figure name is lower-case letters, digits and '-', got {name!r}")
    return name


def register(name: str) -> Callable[[Callable[[], dict]], Callable[[], dict]]:
    """Decorator: register ``function`` as the data function of figure ``name``."""
    name = _check_name(name)

    def decorator(function: Callable[[], dict]) -> Callable[[], dict]:
        if name in FIGURES:
            raise ValueError(f"figure {name!r} is registered twice")
        FIGURES[name] = function
        return function

    return decorator


def register_fallback(name: str) -> Callable[[Callable[[dict], object]], Callable[[dict], object]]:
    """Decorator: register ``function(data) -> Figure`` as the static picture of figure ``name``."""
    name = _check_name(name)

    def decorator(function: Callable[[dict], object]) -> Callable[[dict], object]:
        if name in FALLBACKS:
            raise ValueError(f"the fallback of figure {name!r} is registered twice")
        FALLBACKS[name] = function
        return function

    return decorator


def _known(name: object, registry: dict) -> str:
    name = _check_name(name)
    if name not in registry:
        raise ValueError(f"unknown interactive figure {name!r}; known: {sorted(registry)}")
    return name


def _check_finite(value: object, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"figure data must be finite numbers, got {value} at {where}")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"figure data keys must be strings, got {key!r} at {where}")
            _check_finite(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_finite(item, f"{where}[{i}]")


def to_json(data: dict) -> str:
    """The compact JSON text a page embeds for ``data`` (``<`` escaped, safe inside a script)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def figure_data(name: str) -> dict:
    """The data of figure ``name``: JSON-serialisable, finite, at most :data:`MAX_DATA_BYTES`."""
    name = _known(name, FIGURES)
    data = FIGURES[name]()
    if not isinstance(data, dict):
        raise TypeError(f"the data function of {name!r} must return a dict, got {type(data)}")
    _check_finite(data, name)
    size = len(to_json(data).encode("utf-8"))
    if size > MAX_DATA_BYTES:
        raise ValueError(f"the data of figure {name!r} is {size} bytes, over {MAX_DATA_BYTES}")
    return data


def draw_fallback(name: str, data: dict, path: str | Path, *,
                  translate: Callable[[str], str] | None = None) -> Path:
    """Write figure ``name``'s static picture for ``data`` to the PNG file ``path``.

    With ``translate`` (English text to Chinese), the picture's text is translated and set in the
    CJK font, and the PNG names its language (:mod:`attn_lessons.figure_translation`): the static
    picture of the Chinese edition, which its printed book shows.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..figure_translation import LANGUAGE, record_language, translated_text
    from ..visualize import BOOK_RC

    name = _known(name, FALLBACKS)
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"the fallback picture is a PNG file, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(BOOK_RC):
        figure = FALLBACKS[name](data)
        try:
            with translated_text(translate) if translate is not None else nullcontext():
                figure.savefig(path, dpi=110, facecolor="white", bbox_inches="tight",
                               metadata={"Software": None})
        finally:
            plt.close(figure)
    if translate is not None:
        path.write_bytes(record_language(path.read_bytes(), LANGUAGE))
    return path


# The per-chapter modules register their figures on import.
from . import cbam, coordatt, eca, networks, se, self_attention, similarity  # noqa: E402, F401

__all__ = [
    "FALLBACKS",
    "FIGURES",
    "MAX_DATA_BYTES",
    "draw_fallback",
    "figure_data",
    "register",
    "register_fallback",
    "to_json",
]
