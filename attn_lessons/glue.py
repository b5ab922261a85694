"""Numbers from a run into the book's prose, wherever the notebook runs.

In the book build, myst-nb's ``glue`` stores a value under a name, and a MyST page quotes it with
``{glue:text}`name:.1f` `` (from another page:
``{glue:text}`path/to/notebook.ipynb::name:.1f` ``).
In Colab or plain Jupyter, where myst-nb is not installed, :func:`glue` stores nothing and shows
nothing, so the notebook runs the same everywhere.

Only numbers and booleans are glued: the Chinese edition translates the sentence around the role
and keeps the role as it is, so a glued value must not be English text.
"""

from __future__ import annotations

import numbers

__all__ = ["glue"]


def glue(name: str, value: bool | numbers.Real) -> bool | numbers.Real:
    """Store ``value`` under ``name`` for the book's pages; return ``value`` unchanged.

    Raises ``TypeError`` for anything but a real number or a bool (a tensor or NumPy scalar is
    converted with ``.item()`` first), and ``ValueError`` for an empty name.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"glue needs a non-empty name, got {name!r}")
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if not isinstance(value, (bool, numbers.Real)):
        raise TypeError(
            f"glue takes a number or a bool (text would not survive translation), "
            f"got {type(value).__name__} for {name!r}"
        )
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:  # Colab, plain Jupyter: nothing to paste into
        return value
    _myst_glue(name, value, display=False)
    return value
