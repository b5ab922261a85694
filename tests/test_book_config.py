"""The book's configuration keeps the promises of the foundation issue."""

from __future__ import annotations

import re

import yaml

from .conftest import BOOK, ROOT

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_only_the_table_of_contents_is_built():
    assert CONFIG["only_build_toc_files"] is True
    for pattern in ("_build", ".venv", "tests"):
        assert pattern in CONFIG["exclude_patterns"]


def test_notebooks_execute_with_a_cache_and_a_cell_timeout():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert 0 < execute["timeout"] <= 300
    assert execute["allow_errors"] is False


def test_strict_build_flags_in_the_makefile():
    makefile = (ROOT / "Makefile").read_text()
    flags = re.search(r"^BOOK_FLAGS\s*:=\s*(.+)$", makefile, re.M).group(1).split()
    assert {"-W", "-n", "--keep-going"} <= set(flags)
    assert CONFIG["sphinx"]["config"]["nitpicky"] is True


def test_extensions_for_exercises_proofs_and_citations():
    assert {"sphinx_exercise", "sphinx_proof"} <= set(CONFIG["sphinx"]["extra_extensions"])
    assert CONFIG["bibtex_bibfiles"] == ["book/references.bib"]


def test_bibliography_holds_the_papers_the_book_is_about():
    bib = (BOOK / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    assert len(keys) == len(re.findall(r"@\w+\{", bib)), "duplicate or malformed entries"
    for key in ("hu2018squeeze", "wang2020eca", "woo2018cbam", "hou2021coordinate",
                "vaswani2017attention", "wang2018nonlocal"):
        assert key in keys


def test_launch_buttons_for_binder_and_colab_from_one_repository_url():
    buttons = CONFIG["launch_buttons"]
    assert buttons["binderhub_url"] == "https://mybinder.org"
    assert buttons["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["repository"]["url"].startswith("https://github.com/")
    mentions = [p for p in ROOT.glob("*.yml") if "attention-derived/attention-derived" in
                p.read_text()]
    assert mentions == [ROOT / "_config.yml"], "the repository URL is set in one place"


def test_mathjax_is_served_from_the_book():
    assert CONFIG["sphinx"]["local_extensions"]["offline_mathjax"] == "book/_ext"


def test_published_address_is_set_once_and_is_the_pages_address_of_the_repository():
    """html.baseurl is the one setting for the published book: canonical links and every link
    from the reader notebooks (book/_ext/reader_notebooks.py) to the book use it."""
    import sys

    sys.path.insert(0, str(BOOK / "_ext"))
    from reader_notebooks import pages_address

    baseurl = CONFIG["html"]["baseurl"]
    assert baseurl == pages_address(CONFIG["repository"]["url"]), (
        "html.baseurl must be the GitHub Pages address of repository.url (or change this test "
        "for a custom domain)")
    assert baseurl.startswith("https://") and baseurl.endswith("/")
    mentions = [p for p in (*ROOT.glob("*.yml"), *ROOT.glob("*.toml"), *ROOT.glob("Makefile"),
                            *(BOOK / "_ext").glob("*.py")) if baseurl.rstrip("/") in p.read_text()]
    assert mentions == [ROOT / "_config.yml"], f"the address is also typed in {mentions}"


def test_reader_notebooks_and_dark_figures_extensions_are_on():
    local = CONFIG["sphinx"]["local_extensions"]
    assert local["reader_notebooks"] == "book/_ext"
    assert local["figure_style"] == "book/_ext"
    assert (BOOK / "_ext" / "static" / "dark_figures.css").is_file()
    assert "notebooks" in CONFIG["exclude_patterns"], "the reader notebooks are not book pages"


def test_make_notebooks_refreshes_the_committed_reader_notebooks():
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(r"^notebooks:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert rule and "_build/html/_notebooks" in rule.group(1)
