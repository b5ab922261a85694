"""An open book: its licences, its citation, its releases and its publishing workflows.

- the licence split (text and figures CC BY 4.0, code MIT) in the LICENSE files, the README and the
  footer of every page; the third-party notices name the versions actually shipped;
- `CITATION.cff` is valid against the Citation File Format 1.2.0 schema (a committed copy, checked
  with jsonschema) and agrees with the package version and the repository address;
- one version everywhere: pyproject.toml, the Colab cells' tag, CITATION.cff, CHANGELOG.md and the
  preface's "How to cite";
- the GitHub workflows are valid (check-jsonschema's vendored GitHub-workflow schema, offline) and
  do what the README says: Debian containers, CPU torch from PyTorch's index, the make targets,
  `_build/html` published to Pages.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import BOOK, ROOT

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPOSITORY = CONFIG["repository"]["url"].rstrip("/")
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------- licences


def test_code_licence_is_mit():
    text = _read("LICENSE")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text
    assert tomllib.loads(_read("pyproject.toml"))["project"]["license"] == {"text": "MIT"}


def test_text_licence_is_cc_by_4():
    text = _read("LICENSE-CC-BY-4.0")
    assert "Creative Commons Attribution 4.0 International Public License" in text
    for other in ("ShareAlike", "NonCommercial", "NoDerivatives"):
        assert other not in text, f"LICENSE-CC-BY-4.0 is not plain CC BY: it mentions {other}"
    assert "Section 8 -- Interpretation." in text, "the licence text is incomplete"


def test_readme_states_the_split():
    readme = _read("README.md")
    section = readme[readme.index("## Licence"):]
    for needle in ("CC BY 4.0", "LICENSE-CC-BY-4.0", "MIT", "`LICENSE`", "prose and figures",
                   "THIRD_PARTY_NOTICES.md"):
        assert needle in section, f"README's Licence section does not say {needle!r}"


def test_footer_states_the_split():
    footer = CONFIG["html"]["extra_footer"]
    assert "CC BY 4.0" in footer and "MIT" in footer
    assert "creativecommons.org/licenses/by/4.0" in footer


def test_notices_name_the_shipped_versions():
    notices = _read("THIRD_PARTY_NOTICES.md")
    import mathjax  # django-static-mathjax: the bundle copied into the book by offline_mathjax

    bundle = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js"
    mathjax_version = re.search(r'VERSION="(3[^"]*)"', bundle.read_text(encoding="utf-8"))[1]
    assert "| MathJax" in notices and f"| {mathjax_version} |" in notices, (
        f"THIRD_PARTY_NOTICES.md does not name MathJax {mathjax_version}")
    import pydata_sphinx_theme

    scripts = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    banner = next(scripts.rglob("fontawesome.js.LICENSE.txt")).read_text(encoding="utf-8")
    fa_version = re.search(r"Font Awesome Free (\S+)", banner)[1]
    assert "Font Awesome Free" in notices and f"| {fa_version} |" in notices
    for licence in ("Apache-2.0", "SIL OFL 1.1", "CC BY 4.0", "BSD-3-Clause", "MIT"):
        assert licence in notices


# ---------------------------------------------------------------- citation


def test_citation_file_is_valid_cff():
    import jsonschema

    schema = json.loads((ROOT / "tests" / "schemas" / "cff-1.2.0.schema.json").read_text())
    assert schema["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    citation = yaml.safe_load(_read("CITATION.cff"))
    # YAML reads an unquoted date as a date; CFF's schema wants its ISO string.
    citation = json.loads(json.dumps(citation, default=str))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(citation), key=str)
    assert not errors, "\n".join(e.message for e in errors)


def test_cff_schema_rejects_a_broken_citation():
    import jsonschema

    schema = json.loads((ROOT / "tests" / "schemas" / "cff-1.2.0.schema.json").read_text())
    broken = {"cff-version": "1.2.0", "title": "x", "authors": []}  # no message, no author
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_citation_agrees_with_the_package_and_the_repository():
    citation = yaml.safe_load(_read("CITATION.cff"))
    assert citation["cff-version"] == "1.2.0"
    assert str(citation["version"]) == VERSION
    assert citation["repository-code"].rstrip("/") == REPOSITORY
    assert set(citation["license"]) == {"CC-BY-4.0", "MIT"}


def test_preface_ends_with_how_to_cite():
    preface = (BOOK / "intro.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", preface, re.MULTILINE)
    assert headings[-1] == "How to cite"
    section = preface[preface.index("## How to cite"):]
    assert f"version {VERSION}" in section and REPOSITORY in section and "CITATION.cff" in section


# ---------------------------------------------------------------- releases


def test_changelog_has_the_current_version():
    changelog = _read("CHANGELOG.md")
    assert "## Version policy" in changelog
    assert re.search(rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog,
                     re.MULTILINE), f"CHANGELOG.md has no entry for {VERSION}"


@pytest.mark.parametrize("path", sorted(BOOK.rglob("*.ipynb")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_colab_cell_pins_the_package_version(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
    pins = re.findall(r"git\+\S+@v([0-9][^\"'\s]*)", first)
    assert pins == [VERSION], f"the Colab cell installs {pins}, the package is {VERSION}"


def test_release_steps_say_to_tag():
    contributing = _read("CONTRIBUTING.md")
    section = contributing[contributing.index("## Releasing"):]
    assert "git tag v" in section and "pyproject.toml" in section and "CITATION.cff" in section


# ---------------------------------------------------------------- workflows


def test_there_are_two_workflows():
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "pages.yml"}


def test_workflows_match_the_github_schema():
    """check-jsonschema's vendored copy of schemastore's workflow schema: no network."""
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    steps: []\n")  # a job without runs-on
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(broken)], capture_output=True, text=True)
    assert result.returncode != 0


def _workflow(name: str) -> dict:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


@pytest.mark.parametrize("name", ["ci.yml", "pages.yml"])
def test_jobs_that_run_commands_use_debian_and_cpu_torch(name):
    for job_name, job in _workflow(name)["jobs"].items():
        if not _runs(job):
            continue
        assert str(job.get("container", "")).startswith("debian:"), f"{job_name}: not in Debian"
        env = {**_workflow(name).get("env", {}), **job.get("env", {})}
        assert env.get("PIP_INDEX_URL") == CPU_INDEX, f"{job_name}: torch not from the CPU index"


def test_ci_runs_the_test_command_on_pull_requests():
    ci = _workflow("ci.yml")
    assert "pull_request" in ci["on"]
    assert any(".ci/run" in _runs(job) for job in ci["jobs"].values())
    assert "make test" in _read(".ci/run")


def test_ci_tests_the_library_and_reader_notebooks_on_the_pinned_and_the_newest_python():
    """The platform job: Python 3.11 with constraints.txt, and Debian's newest Python with the
    newest of everything (no constraints), each running the library's tests and every reader
    notebook."""
    job = _workflow("ci.yml")["jobs"]["platforms"]
    entries = job["strategy"]["matrix"]["include"]
    assert job["strategy"].get("fail-fast") is False
    commands = _runs(job)
    assert "${{ matrix.pins }}" in commands and '".[book,dev]"' in commands
    assert "-m pytest tests" in commands
    assert "scripts/run_reader_notebooks.py notebooks" in commands
    pins = {entry["debian"]: entry["pins"] for entry in entries}
    assert pins["bookworm"] == "--constraint constraints.txt"  # Python 3.11, as make test
    assert pins["trixie"] == ""  # Python 3.13, the newest torch and everything else
    assert (ROOT / "scripts" / "run_reader_notebooks.py").is_file()


def test_pages_builds_with_make_and_publishes_the_html():
    pages = _workflow("pages.yml")
    build = pages["jobs"]["build"]
    commands = _runs(build)
    assert "make book" in commands and "make pdf" in commands
    upload = next(s for s in build["steps"]
                  if str(s.get("uses", "")).startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    deploy = [s for job in pages["jobs"].values() for s in job.get("steps", [])
              if str(s.get("uses", "")).startswith("actions/deploy-pages")]
    assert deploy and pages["permissions"]["pages"] == "write"


def test_workflow_make_targets_exist():
    makefile = _read("Makefile")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    used = set()
    for path in WORKFLOWS:
        for job in _workflow(path.name)["jobs"].values():
            used |= set(re.findall(r"^\s*make ([\w-]+)", _runs(job), re.MULTILINE))
    assert used and used <= targets, f"unknown make targets: {used - targets}"


def _test_stages() -> list[str]:
    """The make targets `make test` runs, in order (its recipe's `test-stages` target, with the
    chain it runs beside pytest, `book-then-browser`, in its place)."""
    makefile = _read("Makefile")
    rule = re.search(r"^test-stages:(.*)\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    targets = rule[1].split()
    for line in rule[2].splitlines():
        targets += [w for w in line.split() if re.fullmatch(r"[a-z][\w-]*", w)
                    and w not in {"make", "$(MAKE)"}]
    chain = targets.index("book-then-browser")
    return targets[:chain] + _recipe_targets("book-then-browser") + targets[chain + 1:]


def test_the_library_tests_run_beside_the_book_and_the_browser_stage():
    """pytest needs no book and the book's stages need no pytest: the two run at once."""
    rule = re.search(r"^test-stages:.*\n((?:\t.*\n)+)", _read("Makefile"), re.MULTILINE)[1]
    line = next(line for line in rule.splitlines() if "pytest" in line.split())
    assert "-j2" in line.split() and "book-then-browser" in line.split()


def _recipe_targets(target: str) -> list[str]:
    """The make targets named in ``target``'s recipe, in order."""
    rule = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", _read("Makefile"), re.MULTILINE)
    assert rule, f"no rule for {target} in the Makefile"
    return [w for line in rule[1].splitlines() for w in line.replace("\\", " ").split()
            if re.fullmatch(r"[a-z][\w-]*", w) and w not in {"make", "$(MAKE)"}]


def test_make_test_prints_the_book_before_the_browser_stage():
    """The book is built before the PDF and the browser processes; the PDF is printed beside
    the browser processes, and only the tests that read it back (browser-pdf) start after it."""
    stages = _test_stages()
    assert stages.index("book") < stages.index("browser-with-pdf")
    processes = _recipe_targets("browser-with-pdf")
    assert {"browser-pages-en", "browser-pages-zh", "browser-figures", "browser-student",
            "browser-rest", "pdf-then-check"} <= set(processes)
    chain = _recipe_targets("pdf-then-check")
    assert chain.index("pdf") < chain.index("browser-pdf")
    # `make browser` alone runs the same browser processes, without printing the PDF
    assert set(_recipe_targets("browser")) == set(processes) - {"pdf-then-check"} | {"browser-pdf"}
    # every file of tests/browser runs in exactly one process: the rest leaves out the others'
    rest = re.search(r"^browser-rest:.*\n((?:\t.*\n)+)", _read("Makefile"), re.MULTILINE)[1]
    for variable in ("BROWSER_PAGES", "BROWSER_FIGURES", "BROWSER_STUDENT", "BROWSER_PDF"):
        assert f"$({variable})" in rest


def test_make_test_runs_every_stage_and_checks_the_notebooks_after_their_execution():
    stages = _test_stages()
    assert {"lint", "pytest", "book", "nbval-cached", "browser-with-pdf"} <= set(stages)
    assert stages.index("book") < stages.index("nbval-cached") < stages.index("browser-with-pdf")
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", _read("Makefile"), re.MULTILINE)[1]
    # the breakdown is printed whether the stages passed or not, and their status is kept
    assert "stage_times.py report; exit $$status" in recipe
