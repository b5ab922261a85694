"""Set-up files agree with each other: pyproject, the local pins, Binder's environment.yml."""

from __future__ import annotations

import re

import tomllib
import yaml

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Names that differ between PyPI and conda-forge.
CONDA_NAMES = {"torch": "pytorch"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[@]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_names_every_runtime_dependency():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    for dep in PYPROJECT["project"]["dependencies"]:
        name = _name(dep)
        assert CONDA_NAMES.get(name, name) in conda, f"{name} is missing from environment.yml"
    assert "conda-forge" in env["channels"]


def test_binder_installs_the_library():
    post_build = (ROOT / "postBuild").read_text()
    assert "pip install" in post_build and "--no-deps" in post_build


def test_torch_is_loose_for_the_package_and_pinned_for_local_installs():
    torch_req = next(d for d in PYPROJECT["project"]["dependencies"] if _name(d) == "torch")
    assert "==" not in torch_req, "the package must not pin torch (Colab brings its own)"
    pins = [line for line in (ROOT / "constraints.txt").read_text().splitlines()
            if _name(line) == "torch"]
    assert pins == ["torch==2.13.0"]


def test_makefile_installs_with_the_pins():
    makefile = (ROOT / "Makefile").read_text()
    assert "--constraint constraints.txt" in makefile


def test_ci_calls_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
