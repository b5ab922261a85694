"""The Chinese edition of the book, and its gettext catalogues: `make book`, `make catalogues`.

``python scripts/build_zh.py`` builds the Chinese edition from the same sources as the English one,
with Sphinx's ``language`` set to ``zh_CN`` (the text comes from the catalogues in
``book/locale/zh_CN/LC_MESSAGES``; a message not yet translated falls back to its English). It
runs after the English build and reuses that build's execution cache (``_build/.jupyter_cache``:
the notebooks execute once), with its own doctrees and outputs under ``_build/zh_CN/``; the HTML is
then copied beside the English site, into ``_build/html/zh_CN/``. The strict flags of the English
build apply (warnings are errors, nitpicky, keep going).

``python scripts/build_zh.py --catalogues`` re-extracts the English messages (Sphinx's gettext
builder, nothing executed) into ``_build/gettext`` and updates the catalogues with sphinx-intl:
a new message is added untranslated, a changed one is marked fuzzy, a removed one is dropped.
:func:`extract_messages` is what tests/test_translations.py uses to see that the catalogues are
up to date.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
LANGUAGE = "zh_CN"
#: Where the Chinese edition is built (doctrees, executed notebooks, HTML) and where it is served.
ZH_BUILD = BUILD / LANGUAGE
SITE_FOLDER = BUILD / "html" / LANGUAGE
CACHE = BUILD / ".jupyter_cache"
LOCALE = ROOT / "book" / "locale"
STRICT = ["-W", "-n", "--keep-going"]
#: What an edition says in its own language on every page, outside the catalogues: the footer's
#: licence line (``html.extra_footer`` of _config.yml, the same licences and links) and the author
#: line. The themes' strings are translated by book/_ext/chinese_furniture.py.
EDITION_FURNITURE = {
    LANGUAGE: {
        "config": {"author": "Attention, Derived 的贡献者"},
        "extra_footer": (
            '<p>文字与插图：<a href="https://creativecommons.org/licenses/by/4.0/deed.zh-hans">'
            "CC BY 4.0</a>。代码（<code>attn_lessons</code> 库、笔记本中的代码、脚本与测试）："
            "MIT。详见代码仓库中的 LICENSE 文件与 THIRD_PARTY_NOTICES.md。</p>\n"
        ),
    },
}


def _jupyter_book() -> str:
    return str(Path(sys.executable).parent / "jupyter-book")


def edition_config(target: Path, *, language: str | None = None, execute: str | None = None,
                   cache: Path | None = None) -> Path:
    """_config.yml with the edition's language, execution mode and cache, written to `target`.

    Paths in a configuration file are read relative to it, so the local extensions' folders and
    the bibliography are made absolute.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    sphinx = config.setdefault("sphinx", {})
    local = sphinx.get("local_extensions") or {}
    sphinx["local_extensions"] = {name: str((ROOT / path).resolve())
                                  for name, path in local.items()}
    if language is not None:
        sphinx.setdefault("config", {})["language"] = language
        # The edition is published in <baseurl>/<language>/: canonical links and the reader
        # notebooks' links to the book point there.
        html = config.setdefault("html", {})
        html["baseurl"] = html.get("baseurl", "").rstrip("/") + f"/{language}/"
        # The edition's own footer (the licence line) and author line, in its language.
        if language in EDITION_FURNITURE:
            config.update(EDITION_FURNITURE[language]["config"])
            html["extra_footer"] = EDITION_FURNITURE[language]["extra_footer"]
    execute_section = config.setdefault("execute", {})
    if execute is not None:
        execute_section["execute_notebooks"] = execute
    if cache is not None:
        execute_section["cache"] = str(cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    from attn_lessons._files import atomic_write_text  # here: the other commands need no torch

    atomic_write_text(target, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return target


def build_chinese() -> Path:
    """Build the Chinese HTML edition and copy it to _build/html/zh_CN; returns that folder."""
    config = edition_config(ZH_BUILD / "_config.yml", language=LANGUAGE, cache=CACHE)
    # --path-output DIR: the HTML goes to DIR/_build/html, doctrees to DIR/_build/.doctrees.
    subprocess.run([_jupyter_book(), "build", str(ROOT), "--config", str(config),
                    "--path-output", str(ZH_BUILD), *STRICT], check=True, cwd=ROOT)
    html = ZH_BUILD / "_build" / "html"
    if SITE_FOLDER.exists():
        shutil.rmtree(SITE_FOLDER)
    shutil.copytree(html, SITE_FOLDER)
    return SITE_FOLDER


def extract_messages(output: Path) -> Path:
    """The book's English messages as .pot files (gettext builder, nothing executed).

    Returns the folder of the .pot files (``output/_build/gettext``).
    """
    config = edition_config(output / "_config.yml", execute="off")
    # Without execution, glue references warn (nothing was glued): the output is kept quiet and
    # shown only if the extraction fails.
    done = subprocess.run([_jupyter_book(), "build", str(ROOT), "--config", str(config),
                           "--builder", "custom", "--custom-builder", "gettext", "--path-output",
                           str(output), "--quiet"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the gettext extraction failed:\n{done.stdout[-3000:]}"
                           f"{done.stderr[-3000:]}")
    return output / "_build" / "gettext"


def update_catalogues() -> None:
    """Re-extract the messages and update book/locale/zh_CN with sphinx-intl."""
    pot = extract_messages(BUILD / "gettext-extract")
    intl = str(Path(sys.executable).parent / "sphinx-intl")
    subprocess.run([intl, "update", "-p", str(pot), "-l", LANGUAGE, "-d", str(LOCALE)],
                   check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogues", action="store_true",
                        help="re-extract the English messages and update the catalogues")
    args = parser.parse_args(argv)
    if args.catalogues:
        update_catalogues()
        print(f"catalogues updated in {LOCALE.relative_to(ROOT)}/{LANGUAGE}: translate the new "
              "and fuzzy entries, then run scripts/check_translations.py")
    else:
        folder = build_chinese()
        print(f"The Chinese edition is built: open {folder / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
