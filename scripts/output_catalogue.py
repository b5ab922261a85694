"""Update the output-text catalogue (book/_ext/locale/zh_CN/LC_MESSAGES/outputs.po).

The catalogue holds every template of the text that the notebooks' outputs show a reader and
that needs a translation (``attn_lessons.output_translation``: a line of a markdown output, a
cell of a markdown table, a text node of an HTML output, its numbers replaced by ``{0}``,
``{1}``...), English to Chinese; the Chinese edition translates the outputs with it at build time
(``book/_ext/translated_outputs.py``). The templates are read from the executed notebooks of the
build's execution cache (``_build/.jupyter_cache``): nothing is executed here.

``python scripts/output_catalogue.py`` adds each new template untranslated (with the notebook it
comes from), keeps every translation, and drops templates no notebook shows any more (only those
of notebooks found in the cache: a notebook not executed yet keeps its templates). Then translate
the new entries, keeping every placeholder. ``--check`` changes nothing and exits with status 1
when a template lacks a translation or a translation's placeholders are not its template's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attn_lessons.output_translation import (  # noqa: E402
    load_catalogue,
    output_templates,
    translation_problems,
)
from scripts.execute_notebooks import CACHE, read_notebook, toc_notebooks  # noqa: E402

CATALOGUE = ROOT / "book" / "_ext" / "locale" / "zh_CN" / "LC_MESSAGES" / "outputs.po"


#: Where the templates of the re-run reports' variants come from (not a notebook: always kept).
REPORTS = "attn_lessons/experiments/results.py"


def rerun_report_templates() -> list[str]:
    """The templates of every variant of an experiment's re-run report (``RerunReport``: asserted
    or only compared, picks left out, none re-run), whichever a build's execution shows: a machine
    unlike the record's shows a variant this one does not."""
    from attn_lessons.experiments.results import RerunReport, RerunRow
    from attn_lessons.output_translation import Translator

    rows = [RerunRow("task", "arm", 0, "metric", 0.5, 0.5, 1.0)]
    reports = [RerunReport("name", rows, asserted=True, reason=""),
               RerunReport("name", rows, asserted=True, reason="", skipped=[("t", "a", 1)]),
               RerunReport("name", rows, asserted=False, reason="why"),
               RerunReport("name", rows, asserted=False, reason="why", skipped=[("t", "a", 1)]),
               RerunReport("name", [], asserted=False, reason="", skipped=[("t", "a", 1)],
                           not_run="why")]
    record = Translator({})
    for report in reports:
        record.html(report._repr_html_())
    return [t for t in record.missing if t not in ("task", "arm", "metric")]


def collect(cache_path: Path = CACHE) -> tuple[dict[str, list[str]], set[str]]:
    """``({template: [notebook, ...]}, notebooks read)``: the templates of the outputs of every
    notebook of the table of contents that the cache holds executed, and the re-run reports'."""
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path)) if cache_path.is_dir() else None
    where: dict[str, list[str]] = {text: [REPORTS] for text in rerun_report_templates()}
    executed: set[str] = {REPORTS}  # its templates are all known: an old one is dropped
    if cache is None:
        return where, executed
    for path in toc_notebooks():
        name = str(path.relative_to(ROOT))
        try:
            record = cache.match_cache_notebook(read_notebook(path))
        except KeyError:
            continue
        executed.add(name)
        for text in output_templates(cache.get_cache_bundle(record.pk).nb):
            where.setdefault(text, []).append(name)
    return where, executed


def update(catalogue_path: Path, where: dict[str, list[str]], executed: set[str]) -> list[str]:
    """Write the catalogue with the templates of ``where``; returns the untranslated ones."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    from attn_lessons._catalogue import write_catalogue

    if catalogue_path.is_file():
        with catalogue_path.open("rb") as handle:
            catalogue = read_po(handle)
        header = [line for line in catalogue_path.read_text(encoding="utf-8").splitlines()
                  if line.startswith("# ")]
    else:
        catalogue = Catalog(locale="zh_CN", project="Attention, Derived")
        header = ["# The Chinese of the notebooks' text outputs (scripts/output_catalogue.py).",
                  "# {0}, {1}... stand for the numbers of a run: keep each one."]
    for message in list(catalogue):
        if not message.id:
            continue
        sources = {loc for loc, _ in message.locations}
        if message.id not in where and sources and sources <= executed:
            del catalogue[message.id]
    for text, notebooks in where.items():
        locations = [(n, None) for n in dict.fromkeys(notebooks)]
        if text in catalogue:
            catalogue[text].locations = locations
        else:
            catalogue.add(text, "", locations=locations, flags=("python-brace-format",))
    return write_catalogue(catalogue_path, catalogue, header)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--catalogue", type=Path, default=CATALOGUE)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a template lacks a translation")
    args = parser.parse_args(argv)
    where, executed = collect(args.cache)
    if args.check:
        have = load_catalogue(args.catalogue)
        missing = [text for text in where if text not in have]
        problems = [p for text in where if text in have
                    for p in translation_problems(text, have[text])]
    else:
        missing = update(args.catalogue, where, executed)
        problems = []
    print(f"output_catalogue: {len(where)} templates (from {len(executed - {REPORTS})} executed "
          "notebooks and the re-run reports); "
          f"{len(missing)} without a translation")
    for text in missing:
        print(f"  {text!r}")
    for problem in problems:
        print(f"  {problem}")
    return 1 if args.check and (missing or problems) else 0


if __name__ == "__main__":
    sys.exit(main())
