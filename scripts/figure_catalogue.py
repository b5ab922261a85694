"""Update the figure-text catalogue (book/_ext/locale/zh_CN/LC_MESSAGES/figures.po).

The catalogue holds every string the notebooks' figures draw that needs a translation (see
``attn_lessons.figure_translation.needs_translation``) and every notebook figure's alt text (a
code cell's ``mystnb.image.alt``), English to Chinese. The figure strings are read from the
executed notebooks of the build's execution cache (``_build/.jupyter_cache``): each figure's
Chinese copy records the strings it looked up, translated or not, so nothing is executed here. The
alt text is read from the notebooks themselves. The interactive figures' static pictures (which
the printed book shows) are drawn here to see their strings.

``python scripts/figure_catalogue.py`` adds each new string untranslated (with the notebook it
comes from), keeps every translation, and drops strings no notebook draws any more (only those of
notebooks found in the cache: a notebook not executed yet keeps its strings). Then translate the
new entries, and run ``scripts/execute_notebooks.py``: it executes again every notebook whose
figures were drawn from an older catalogue. ``--check`` changes nothing and exits with status 1
when a string lacks a translation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attn_lessons.figure_translation import (  # noqa: E402
    needs_translation,
    translations_of_output,
)
from scripts.execute_notebooks import CACHE, read_notebook, toc_notebooks  # noqa: E402

CATALOGUE = ROOT / "book" / "_ext" / "locale" / "zh_CN" / "LC_MESSAGES" / "figures.po"


def alt_texts(notebook) -> list[str]:
    """The alt text of each code cell's figures (``mystnb.image.alt``), in order."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        image = ((cell.metadata.get("mystnb") or {}).get("image") or {})
        alt = image.get("alt")
        if isinstance(alt, str) and needs_translation(alt) and alt not in found:
            found.append(alt)
    return found


def figure_strings(executed) -> list[str]:
    """The strings the figures of an executed notebook looked up, in order of appearance."""
    found: list[str] = []
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            record = translations_of_output(output)
            if not record or "error" in record:
                continue
            for text in [*record["translations"], *record["missing"]]:
                if text not in found and needs_translation(text):
                    found.append(text)
    return found


def interactive_strings() -> dict[str, list[str]]:
    """The strings of the interactive figures' static pictures (drawn here, as the build draws
    them: book/_ext/interactive_figures.py), ``{string: ["interactive:<name>", ...]}``."""
    import tempfile

    from attn_lessons import interactive

    where: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in sorted(interactive.FALLBACKS):
            def note(text: str, name: str = name) -> str:
                if needs_translation(text):
                    where.setdefault(text, [])
                    if f"interactive:{name}" not in where[text]:
                        where[text].append(f"interactive:{name}")
                return text

            interactive.draw_fallback(name, interactive.figure_data(name),
                                      Path(folder) / "picture.png", translate=note)
    return where


def collect(cache_path: Path = CACHE) -> tuple[dict[str, list[str]], set[str]]:
    """``({string: [notebook, ...]}, notebooks and figures read)``: the notebooks' figure strings
    from the cache, their alt text, and the interactive figures' static pictures."""
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path)) if cache_path.is_dir() else None
    where: dict[str, list[str]] = {}
    executed_ones = set()
    for text, names in interactive_strings().items():
        where[text] = list(names)
        executed_ones.update(names)
    for path in toc_notebooks():
        name = str(path.relative_to(ROOT))
        notebook = read_notebook(path)
        strings = alt_texts(notebook)
        if cache is not None:
            try:
                record = cache.match_cache_notebook(notebook)
            except KeyError:
                record = None
            if record is not None:
                executed_ones.add(name)
                strings += figure_strings(cache.get_cache_bundle(record.pk).nb)
        for text in strings:
            where.setdefault(text, []).append(name)
    return where, executed_ones


def update(catalogue_path: Path, where: dict[str, list[str]], executed: set[str]) -> list[str]:
    """Write the catalogue with the strings of ``where``; returns the untranslated strings."""
    from babel.messages.pofile import read_po

    from attn_lessons._catalogue import write_catalogue

    with catalogue_path.open("rb") as handle:
        catalogue = read_po(handle)
    header = [line for line in catalogue_path.read_text(encoding="utf-8").splitlines()
              if line.startswith("# ")]
    for message in list(catalogue):
        if not message.id:
            continue
        sources = {loc for loc, _ in message.locations}
        if message.id not in where and sources and sources <= executed:
            del catalogue[message.id]
    for text, notebooks in where.items():
        if text in catalogue:
            catalogue[text].locations = [(n, None) for n in dict.fromkeys(notebooks)]
        else:
            catalogue.add(text, "", locations=[(n, None) for n in dict.fromkeys(notebooks)])
    return write_catalogue(catalogue_path, catalogue, header)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--catalogue", type=Path, default=CATALOGUE)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a string lacks a translation")
    args = parser.parse_args(argv)
    where, executed = collect(args.cache)
    if args.check:
        from attn_lessons.figure_translation import load_catalogue

        have = load_catalogue(args.catalogue)
        missing = [text for text in where if text not in have]
    else:
        missing = update(args.catalogue, where, executed)
    print(f"figure_catalogue: {len(where)} strings (from {len(executed)} executed notebooks "
          f"and interactive figures); {len(missing)} without a translation")
    for text in missing:
        print(f"  {text!r}")
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    sys.exit(main())
