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


def _conda_names() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    return {_name(d) for d in env["dependencies"] if isinstance(d, str)}


def test_environment_yml_has_the_build_backend_for_postbuild():
    """postBuild installs without build isolation: pyproject's build requirements must be there."""
    conda = _conda_names()
    for requirement in PYPROJECT["build-system"]["requires"]:
        assert _name(requirement) in conda, f"{_name(requirement)} is missing from environment.yml"


#: Import names that differ from the conda-forge package that provides them.
MODULE_PACKAGES = {"torch": "pytorch", "IPython": "ipykernel", "PIL": "pillow",
                   "yaml": "pyyaml", "sklearn": "scikit-learn", "ipywidgets": "ipywidgets"}


def test_binder_has_every_module_the_reader_notebooks_import():
    """The notebooks Binder opens (notebooks/) import only what environment.yml installs."""
    import json
    import sys

    conda = _conda_names()
    notebooks = sorted((ROOT / "notebooks").rglob("*.ipynb"))
    assert notebooks, "no reader notebooks in notebooks/: run `make notebooks`"
    missing = set()
    for path in notebooks:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            if "google.colab" in source and "pip install" in source:
                continue  # the Colab cell: runs only in Colab
            for module in re.findall(r"^\s*(?:from|import)\s+(\w+)", source, re.M):
                if module in sys.stdlib_module_names or module == "attn_lessons":
                    continue
                if MODULE_PACKAGES.get(module, module).lower() not in conda:
                    missing.add(f"{module} (imported in {path.relative_to(ROOT)})")
    assert not missing, f"not in environment.yml: {sorted(missing)}"


def test_environment_python_satisfies_requires_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and _name(d) == "python")
    version = tuple(int(x) for x in python.split("=")[-1].split(".")[:2])
    minimum = tuple(int(x) for x in PYPROJECT["project"]["requires-python"].lstrip(">=").split("."))
    assert version >= minimum[:2]


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


def _torch_floor(spec: str) -> tuple[int, ...]:
    match = re.search(r">=\s*(\d+(?:\.\d+)*)", spec)
    assert match, f"no >= floor in {spec!r}"
    return tuple(int(x) for x in match.group(1).split("."))


def test_torch_floor_is_the_same_for_pip_and_binder():
    """pyproject.toml and environment.yml ask for the same lowest torch (CONTRIBUTING.md, "The
    PyTorch floor"), and the version the local installs pin is not below it."""
    pip = next(d for d in PYPROJECT["project"]["dependencies"] if _name(d) == "torch")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = next(d for d in env["dependencies"] if isinstance(d, str) and _name(d) == "pytorch")
    assert _torch_floor(pip) == _torch_floor(conda) >= (2, 5)
    assert "cpu" in conda, "Binder has no GPU: the CPU build of PyTorch"
    pinned = next(line for line in (ROOT / "constraints.txt").read_text().splitlines()
                  if line.startswith("torch=="))
    version = tuple(int(x) for x in re.match(r"torch==(\d+)\.(\d+)", pinned).groups())
    assert version >= _torch_floor(pip)[:2]
