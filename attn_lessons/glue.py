"""Numbers from a run into the book's prose, wherever the notebook runs.

In the book build, myst-nb's ``glue`` stores a value under a name, and a MyST page quotes it with
``{glue:text}`name:.1f` `` (from another page:
``{glue:text}`path/to/notebook.ipynb::name:.1f` ``).
In Colab or plain Jupyter, where myst-nb is not installed, :func:`glue` stores nothing and shows
nothing, so the notebook runs the same everywhere.

Only numbers and booleans are glued as values: the Chinese edition translates the sentence around
the role and keeps the role as it is, so a glued value must not be English text. The one exception
is a verdict, one word from a fixed list (:data:`VERDICTS`), which :func:`glue_verdict` stores as a
token, ``verdict:higher``: the book's extension ``book/_ext/verdict_words.py`` replaces the pasted
token by the word in the edition's language (``higher`` / ``更高``), so a page writes
``**{glue:text}`lab.ipynb::name_verdict:s`**`` and both editions show the verdict the run gave.
"""

from __future__ import annotations

import numbers

__all__ = ["VERDICTS", "glue", "glue_verdict"]

#: The verdicts of :func:`attn_lessons.stats.analyse`, read from an interval (chapter 2).
VERDICTS = ("higher", "lower", "equivalent", "inconclusive")
#: What a glued verdict looks like on the page until the book's extension replaces it.
VERDICT_PREFIX = "verdict:"


def glue(name: str, value: bool | numbers.Real) -> bool | numbers.Real:
    """Store ``value`` under ``name`` for the book's pages; return ``value`` unchanged.

    Raises ``TypeError`` for anything but a real number or a bool (a tensor or NumPy scalar is
    converted with ``.item()`` first), and ``ValueError`` for an empty name.
    """
    _check_name("glue", name)
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if not isinstance(value, (bool, numbers.Real)):
        raise TypeError(
            f"glue takes a number or a bool (text would not survive translation), "
            f"got {type(value).__name__} for {name!r}"
        )
    _store(name, value)
    return value


def glue_verdict(name: str, verdict: str) -> str:
    """Store the verdict ``verdict`` (one of :data:`VERDICTS`) under ``name``; return it unchanged.

    The value stored is the token ``verdict:<word>``, which the book's extension turns into the
    word in the edition's language. Raises ``ValueError`` for a word not in :data:`VERDICTS` (say
    "clearly better" from the older :class:`~attn_lessons.stats.Comparison`, which the pages no
    longer use) and for an empty name.
    """
    _check_name("glue_verdict", name)
    if verdict not in VERDICTS:
        raise ValueError(
            f"glue_verdict takes one of {', '.join(VERDICTS)} (a verdict of "
            f"attn_lessons.stats.analyse), got {verdict!r} for {name!r}"
        )
    _store(name, VERDICT_PREFIX + verdict)
    return verdict


def _check_name(function: str, name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{function} needs a non-empty name, got {name!r}")


def _store(name: str, value: object) -> None:
    """Hand ``value`` to myst-nb's glue, without displaying it; nothing where myst-nb is absent
    (Colab, plain Jupyter: there is no page to paste into)."""
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:
        return
    _myst_glue(name, value, display=False)
