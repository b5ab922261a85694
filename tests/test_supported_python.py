"""What a reader is told before the first command agrees with what the commands do.

- **One supported Python.** pyproject.toml's ``requires-python`` is the one place the oldest
  Python is set; the Makefile refuses an older one through scripts/check_python.py, which reads it;
  the README (both languages), CONTRIBUTING.md and the preface (its page and its Chinese
  translation) name that version, and no other except a version CI tests; ruff checks the code for
  that version; Binder's environment and the CI containers' Python are not older, and CI tests
  the oldest.
- **`make test` without chromium** behaves as the README says: the PDF is printed (``make pdf``
  needs chromium) only where Debian's chromium is installed; within `make test` a machine without
  it skips the printing, and where the variable CI is set it fails.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib

import pytest

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


check_python = _load_script("check_python")


def _minimum() -> tuple[int, int]:
    spec = PYPROJECT["project"]["requires-python"]
    match = re.fullmatch(r">=(\d+)\.(\d+)", spec)
    assert match, f"requires-python is {spec!r}, expected '>=X.Y'"
    return int(match[1]), int(match[2])


MINIMUM = _minimum()
TEXT = f"{MINIMUM[0]}.{MINIMUM[1]}"
#: Where readers and contributors are told which Python to use.
DOCUMENTS = ["README.md", "README.zh-CN.md", "CONTRIBUTING.md", "book/intro.md",
             "book/locale/zh_CN/LC_MESSAGES/book/intro.po"]


def test_the_makefile_reads_the_minimum_from_pyproject():
    assert check_python.minimum((ROOT / "pyproject.toml").read_text(encoding="utf-8")) == MINIMUM
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    stamp = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M)
    assert stamp and "scripts/check_python.py" in stamp[1].splitlines()[0], (
        "the Makefile checks the Python version first, with scripts/check_python.py")
    assert not re.search(r"version_info\s*>=|\(3,\s*1\d\)", makefile), (
        "a Python version typed in the Makefile")


def test_check_python_refuses_an_older_python_and_accepts_the_minimum():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    older = (MINIMUM[0], MINIMUM[1] - 1, 9)
    assert check_python.problem(older, text) == (
        f"Python {TEXT} or newer is needed, found {older[0]}.{older[1]}.9")
    assert check_python.problem((*MINIMUM, 0), text) is None
    assert check_python.problem((MINIMUM[0], MINIMUM[1] + 2, 1), text) is None
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_python.py")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr  # the interpreter running these tests is supported


#: The Python of each Debian release a workflow may run in (its python3 package).
DEBIAN_PYTHON = {"bookworm": (3, 11), "trixie": (3, 13)}


def ci_containers() -> list[tuple[str, str]]:
    """(workflow, container image) of every job, a matrix job once per matrix entry."""
    import yaml

    images = []
    for workflow in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"].values():
            container = job.get("container")
            if container is None:
                continue
            entries = job.get("strategy", {}).get("matrix", {}).get("include", []) or [{}]
            for entry in entries:
                image = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}",
                               lambda m, entry=entry: str(entry[m[1]]), str(container))
                images.append((workflow.name, image))
    return images


def _tested_pythons() -> set[tuple[int, int]]:
    versions = set()
    for workflow, image in ci_containers():
        release = image.removeprefix("debian:")
        assert image.startswith("debian:") and release in DEBIAN_PYTHON, (
            f"{workflow}: container {image}, not a Debian release of DEBIAN_PYTHON")
        versions.add(DEBIAN_PYTHON[release])
    return versions


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_document_names_the_minimum_and_no_other(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    if name.endswith(".po"):
        from babel.messages.pofile import read_po

        with (ROOT / name).open("rb") as handle:
            text = "\n".join(m.string for m in read_po(handle) if m.id)
    named = re.findall(r"Python (3\.\d+)", text)
    assert named, f"{name} does not say which Python to use"
    allowed = {TEXT} | {f"{major}.{minor}" for major, minor in _tested_pythons()}
    assert TEXT in named and set(named) <= allowed, (
        f"{name} names Python {sorted(set(named))}: pyproject's {TEXT}, or one CI tests")


def test_ruff_binder_and_ci_agree():
    assert PYPROJECT["tool"]["ruff"]["target-version"] == f"py{MINIMUM[0]}{MINIMUM[1]}"
    binder = re.search(r"^\s*-\s*python=(\d+)\.(\d+)", (ROOT / "environment.yml").read_text(),
                       re.M)
    assert binder and (int(binder[1]), int(binder[2])) >= MINIMUM
    tested = _tested_pythons()
    assert min(tested) == MINIMUM, f"CI tests Python {sorted(tested)}, the oldest is {MINIMUM}"


# ---------------------------------------------------------------- make test without chromium

make_pdf = _load_script("make_pdf")


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.setattr(make_pdf.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)

    def must_not_build(*args, **kwargs):
        raise AssertionError("make_pdf.py built or printed without chromium")

    monkeypatch.setattr(make_pdf, "build_single_page", must_not_build)
    monkeypatch.setattr(make_pdf, "print_edition", must_not_build)


def test_make_test_skips_the_pdf_without_chromium(no_chromium, capsys):
    assert make_pdf.main(["--skip-without-chromium"]) == 0
    assert "skipped" in capsys.readouterr().out


def test_make_pdf_itself_needs_chromium(no_chromium):
    with pytest.raises(SystemExit, match="apt-get install chromium"):
        make_pdf.main([])


def test_in_ci_a_missing_chromium_fails(no_chromium, monkeypatch):
    monkeypatch.setenv("CI", "1")
    with pytest.raises(SystemExit, match="needs Debian's chromium"):
        make_pdf.main(["--skip-without-chromium"])


def _dry_run(target: str) -> str:
    done = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_only_make_test_asks_make_pdf_to_skip():
    if subprocess.run(["make", "--version"], capture_output=True, check=False).returncode:
        pytest.skip("make is not installed")
    pdf_lines = [line for line in _dry_run("test").splitlines() if "scripts/make_pdf.py" in line]
    assert pdf_lines and all(line.rstrip().endswith("--skip-without-chromium")
                             for line in pdf_lines), pdf_lines
    alone = [line for line in _dry_run("pdf").splitlines() if "scripts/make_pdf.py" in line]
    assert alone and not any("--skip-without-chromium" in line for line in alone), alone


def test_the_readme_says_what_make_test_does_without_chromium():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The two commands"):]
    section = section[:section.index("\n## ", 1)]
    assert "chromium" in section and "skips" in section and "`CI`" in section
