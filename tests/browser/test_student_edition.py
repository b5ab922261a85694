"""The student edition runs, and every notebook works with the library as an installed package.

`scripts/make_student.py` (``make student``) copies every notebook of the book without its cells
tagged `solution`. Here the edition is made into a temporary folder, outside the repository, and
each student notebook is executed in a kernel of its own started in its own folder (two at a time,
one thread each). Where they work (Linux), the kernels are forked from one server that imported
torch, matplotlib, scipy and statsmodels once (``scripts/forked_kernels.py``; the notebooks import
``attn_lessons`` themselves): the last tests below check that such a kernel starts as a fresh one
does, and that it ends with its stub. The tests then check that

- each student notebook runs to the end: no later cell needed a solution;
- each checker cell that judges a reader's answer prints "Not yet: <hint>" (the stub is still
  there) instead of crashing or passing;
- the notebooks' re-runs of recorded experiments (``check_reruns``) find their picks in the
  result files; they train nothing here (``ATTN_LESSONS_SKIP_RERUNS``), since the book's own
  execution in the same ``make test`` re-ran them with the same code;
- in that kernel, ``attn_lessons`` was imported through the installed distribution
  ``attn-lessons``: the repository is not on ``sys.path`` and the notebook's folder holds no copy,
  so what runs here runs in a fresh Binder or Colab session that installs the package.

The last point is checked in the same kernels, after the notebooks ran, rather than by executing
the full notebooks once more: a student notebook is its book notebook less the solution cells, so
it makes every import the book notebook makes, from a folder outside the repository (which a book
notebook, run from `book/`, would not show). The book build already executes the full notebooks
(once: nbval's checks in `make test` read that execution).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from attn_lessons.experiments.results import SKIP_RERUNS_VARIABLE

from .conftest import ROOT, notebook_kernels, run_notebook

BOOK = ROOT / "book"


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_student = _load_script("make_student")
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import reader_notebooks as rn  # noqa: E402  (book/_ext is not a package)

NOTEBOOKS = [str(p.relative_to(BOOK)) for p in make_student.book_notebooks(BOOK)]

# Runs in each student kernel after its notebook: where did `attn_lessons` come from?
PROVENANCE = """\
import importlib.metadata as _md, importlib.util as _iu, json as _json, os as _os, sys as _sys
_dist = _md.distribution("attn-lessons")
print("PROVENANCE " + _json.dumps({
    "origin": _iu.find_spec("attn_lessons").origin,
    "imported": getattr(_sys.modules.get("attn_lessons"), "__file__", None),
    "cwd": _os.getcwd(),
    "sys_path": _sys.path,
    "direct_url": _dist.read_text("direct_url.json"),
    "located": str(_dist.locate_file("attn_lessons/__init__.py")),
}))
"""


def _expected_seconds():
    """A sort key: how long the book's execution of a notebook took (its cache in _build, as
    ``make test`` leaves it), or, without that cache, the notebook's size as a rough guess."""
    seconds: dict[str, float] = {}
    try:
        from jupyter_cache import get_cache

        for record in get_cache(str(ROOT / "_build" / ".jupyter_cache")).list_cache_records():
            seconds[str(Path(record.uri).resolve())] = float(
                record.data.get("execution_seconds", 0.0))
    except Exception:  # no cache yet (a browser run without the build's execution): sizes only
        seconds = {}

    def key(name: str) -> tuple[float, int]:
        path = BOOK / name
        return seconds.get(str(path.resolve()), 0.0), path.stat().st_size

    return key


def _student_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # two kernels share two cores
    # The re-runs of recorded experiments (check_reruns) look their picks up but train nothing
    # here: the book's own execution re-ran the same picks with the same code on this machine.
    env[SKIP_RERUNS_VARIABLE] = "1"
    return env


@pytest.fixture(scope="session")
def kernels(tmp_path_factory):
    """``(environment, kernel name, server)`` for the student notebooks' runs
    (``notebook_kernels``: kernels forked from one server where they work), outside the
    repository."""
    with notebook_kernels(tmp_path_factory.mktemp("kernels"), _student_env()) as found:
        yield found


@pytest.fixture(scope="session")
def student_runs(tmp_path_factory, kernels) -> dict[str, dict]:
    """Make the edition and execute every student notebook once; results keyed by notebook."""
    out = tmp_path_factory.mktemp("edition") / "student"
    make_student.make_student(BOOK, out)

    def run(name: str) -> dict:
        return run_notebook(out / name, kernels, after=PROVENANCE)

    # The longest first, so that the last to start is a short one and no kernel runs alone for
    # long at the end of the browser stage.
    order = sorted(NOTEBOOKS, key=_expected_seconds(), reverse=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(order, pool.map(run, order), strict=True))
    return {name: runs[name] for name in NOTEBOOKS}


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
        else:
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _defined(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def answer_checks(nb) -> list[tuple[int, bool]]:
    """(cell index, judges a solution?) for each code cell that calls a checker of the library.

    A checker is any name imported from ``attn_lessons.exercises`` (or called through such a
    module). It judges a solution when the cell also uses a name that a `solution` cell defines:
    those are the cells that must say "Not yet" once the solutions are gone.
    """
    checkers, modules, solved = set(), set(), set()
    trees = []
    for cell in nb.cells:
        tree = None
        if cell.cell_type == "code":
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # IPython magics: not a checker cell
                tree = None
        trees.append(tree)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "attn_lessons.exercises"):
                checkers |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.Import):
                modules |= {a.asname or a.name for a in node.names
                            if a.name.startswith("attn_lessons.exercises")}
        if "solution" in _tags(cell):
            solved |= _defined(tree)
    found = []
    for index, tree in enumerate(trees):
        if tree is None or "solution" in _tags(nb.cells[index]):
            continue
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        is_check = any(
            (isinstance(c.func, ast.Name) and c.func.id in checkers)
            or (isinstance(c.func, ast.Attribute) and ast.unparse(c.func.value) in modules)
            for c in calls)
        if is_check:
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Load)}
            found.append((index, bool(used & solved)))
    return found


def test_the_edition_drops_solutions_and_outputs(tmp_path):
    written = make_student.make_student(BOOK, tmp_path / "student")
    assert [str(p.relative_to(tmp_path / "student")) for p, _ in written] == NOTEBOOKS
    removed_total = 0
    for path, removed in written:
        original = nbformat.read(BOOK / path.relative_to(tmp_path / "student"), as_version=4)
        student = nbformat.read(path, as_version=4)
        assert removed == sum("solution" in _tags(c) for c in original.cells)
        assert len(student.cells) == len(original.cells) - removed
        assert not any("solution" in _tags(c) for c in student.cells)
        assert not any(c.get("outputs") or c.get("execution_count") for c in student.cells
                       if c.cell_type == "code")
        assert not any("nbval" in c.metadata for c in student.cells)
        removed_total += removed
    assert removed_total > 0, "no notebook of the book has a solution cell"


ZH_READER = ROOT / "notebooks" / "zh_CN"


def test_the_chinese_edition_is_the_english_one_with_chinese_markdown(tmp_path):
    """student/zh_CN (make student): the Chinese reader notebooks less their solution cells.

    Its code cells are the English student edition's, cell for cell (so the runs above vouch for
    it), except that its install cell also sets the checkers' language to Chinese (the Chinese
    reader notebooks' runs in tests/browser/test_reader_notebooks.py see them answer), its
    markdown is the Chinese reader notebooks', and every data file is beside it.
    """
    english = {str(p.relative_to(tmp_path / "en")): p
               for p, _ in make_student.make_student(BOOK, tmp_path / "en")}
    chinese = {str(p.relative_to(tmp_path / "zh")): p
               for p, _ in make_student.make_student(ZH_READER, tmp_path / "zh", BOOK)}
    assert sorted(chinese) == sorted(english) == NOTEBOOKS
    for name in NOTEBOOKS:
        en = nbformat.read(english[name], as_version=4)
        zh = nbformat.read(chinese[name], as_version=4)
        # The one difference: the install cell sets the checkers' language (Chinese hints).
        english_code = ["".join(rn.with_checker_language(dict(c), "zh_CN")["source"])
                        if rn.INSTALL_TAG in _tags(c) else c.source
                        for c in en.cells if c.cell_type == "code"]
        assert [c.source for c in zh.cells if c.cell_type == "code"] == english_code, name
        reader = nbformat.read(ZH_READER / name, as_version=4)
        kept = [c.source for c in reader.cells if c.cell_type == "markdown"
                and "solution" not in _tags(c)]
        assert [c.source for c in zh.cells if c.cell_type == "markdown"] == kept, name
    data = sorted(str(p.relative_to(tmp_path / "en")) for p in (tmp_path / "en").rglob("*")
                  if p.is_file() and p.suffix != ".ipynb" and p.name != "README.md")
    assert data == sorted(str(p.relative_to(tmp_path / "zh")) for p in (tmp_path / "zh").rglob("*")
                          if p.is_file() and p.suffix != ".ipynb" and p.name != "README.md")


def test_the_edition_refuses_to_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("not a student edition")
    with pytest.raises(ValueError, match="not a student edition"):
        make_student.make_student(BOOK, tmp_path)
    assert (tmp_path / "mine.txt").is_file()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_notebook_runs_to_the_end(student_runs, name):
    result = student_runs[name]
    assert result["error"] is None, f"{name} (student edition) stopped: {result['error']}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_checkers_say_not_yet_with_a_hint(student_runs, name):
    executed = student_runs[name]["executed"]
    assert executed is not None, student_runs[name]["error"]
    original = nbformat.read(student_runs[name]["notebook"], as_version=4)
    assert len(executed.cells) == len(original.cells) + 1  # + the provenance cell
    for index, judges_solution in answer_checks(executed):
        text = _text(executed.cells[index])
        assert "Error" not in text.split(":", 1)[0], f"checker cell {index} raised: {text}"
        if judges_solution:
            assert text.startswith("Not yet: ") and len(text.strip()) > len("Not yet:") + 10, (
                f"checker cell {index} should give a hint without the solution, printed {text!r}")


def test_every_exercise_in_the_book_has_a_checker_that_says_not_yet():
    judged = sum(judges for name in NOTEBOOKS
                 for _, judges in answer_checks(nbformat.read(BOOK / name, as_version=4)))
    assert judged > 0, "no checker cell judges a solution: the student tests would check nothing"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_library_comes_from_the_installed_distribution(student_runs, name):
    executed = student_runs[name]["executed"]
    assert executed is not None, student_runs[name]["error"]
    line = next((ln for ln in _text(executed.cells[-1]).splitlines()
                 if ln.startswith("PROVENANCE ")), None)
    assert line is not None, _text(executed.cells[-1])
    facts = json.loads(line.removeprefix("PROVENANCE "))
    folder = student_runs[name]["notebook"].parent.resolve()
    origin = Path(facts["origin"]).resolve()
    assert Path(facts["cwd"]).resolve() == folder, "the kernel did not start in its folder"
    assert facts["imported"] and Path(facts["imported"]).resolve() == origin
    assert not (folder / "attn_lessons").exists()
    # The repository is not on sys.path: no path trick makes the import work.
    on_path = {Path(p or facts["cwd"]).resolve() for p in facts["sys_path"]}
    assert ROOT not in on_path, "the repository root is on the kernel's sys.path"
    assert folder not in origin.parents
    # The module is the one the distribution installed: a regular install puts it where the
    # distribution says; an editable install records its project folder in direct_url.json.
    direct = json.loads(facts["direct_url"] or "{}")
    if direct.get("dir_info", {}).get("editable"):
        project = Path(direct["url"].removeprefix("file://")).resolve()
        assert origin == project / "attn_lessons" / "__init__.py"
    else:
        assert origin == Path(facts["located"]).resolve()


# ------------------------------------------------------------------------------------------------
# The kernels the runs above used (scripts/forked_kernels.py, on Linux)
# ------------------------------------------------------------------------------------------------

#: What a kernel reports about itself: where it started, what it imports from, what it was told,
#: whether it knows its parent (ipykernel reads JPY_PARENT_PID when its module is imported: a
#: server that had imported it would give every kernel its own value), then three kinds of output.
PROBE = [
    "import json, os, sys\n"
    "import matplotlib.pyplot as plt\n"
    "from ipykernel.kernelapp import IPKernelApp\n"
    "print(json.dumps({'cwd': os.getcwd(), 'sys_path': sys.path, 'argv0': sys.argv[0],\n"
    f"    'skip': os.environ.get({SKIP_RERUNS_VARIABLE!r}), 'backend': plt.get_backend(),\n"
    "    'knows_parent': bool(IPKernelApp.instance().parent_handle)}))",
    "plt.plot([0, 1])\nplt.show()",
    "import warnings\nwarnings.warn('a warning')",
    "import numpy as np\nprint(np.random.randint(2**31))",
]


def _outputs(cell) -> list:
    return [(o["output_type"], o.get("name"), sorted(o.get("data", {})))
            for o in cell.get("outputs", [])]


def _forked(kernels):
    if kernels[2] is None:
        pytest.skip("fresh kernels here: kernels are forked on Linux only")
    return kernels[2]


def test_a_forked_kernel_starts_as_a_fresh_one(tmp_path, kernels):
    _forked(kernels)
    notebook = tmp_path / "probe.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in PROBE]
    nbformat.write(nb, notebook)
    fresh = run_notebook(notebook, (kernels[0], "python3", None), timeout=120)
    forked = [run_notebook(notebook, kernels, timeout=120) for _ in range(2)]
    for result in (fresh, *forked):
        assert result["error"] is None, result["error"]
    facts = [json.loads(_text(r["executed"].cells[0])) for r in (fresh, *forked)]
    assert facts[1] == facts[0] == facts[2]
    assert facts[0]["knows_parent"] and facts[0]["skip"] == "1"
    assert [_outputs(c) for c in forked[0]["executed"].cells] == [
        _outputs(c) for c in fresh["executed"].cells]
    assert _outputs(fresh["executed"].cells[1]) == [("display_data", None,
                                                     ["image/png", "text/plain"])]
    assert "a warning" in _text(forked[0]["executed"].cells[2])
    # numpy seeds its global generator from the OS once per process: so does each forked kernel.
    assert _text(forked[0]["executed"].cells[3]) != _text(forked[1]["executed"].cells[3])


def _no_kernels_left(server, seconds: float = 20.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while server.kernels() and time.monotonic() < deadline:
        time.sleep(0.1)
    return server.kernels()


@pytest.mark.parametrize("how", ["terminated", "killed"])
def test_a_forked_kernel_ends_with_its_stub(tmp_path, kernels, how):
    """Jupyter stops a kernel by signalling the process it started: here the stub. A terminate is
    passed on (the stub then exits with the kernel's status); when the stub is killed, the server
    kills its kernel."""
    server = _forked(kernels)
    assert not server.kernels(), "a kernel of an earlier run is still alive"
    argv = [a.replace("{connection_file}", str(tmp_path / "kernel.json"))
            for a in server.stub_argv()]
    stub = subprocess.Popen(argv, env=kernels[0], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "kernel.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(server.kernels()) == 1, "the server started no kernel"
        if how == "terminated":
            stub.terminate()
            assert stub.wait(timeout=30) == 128 + signal.SIGTERM
        else:
            stub.kill()
            stub.wait(timeout=30)
        assert not _no_kernels_left(server), f"the kernel outlived its stub ({how})"
    finally:
        stub.kill()


def test_a_forked_kernel_refuses_an_environment_other_than_the_servers(tmp_path, kernels):
    """The server imported torch and the rest with its environment (OpenMP reads
    OMP_NUM_THREADS when torch loads it, tqdm its TQDM_ variables): a kernel asked for with
    another environment would run under settings it was not given. It refuses, naming them."""
    _forked(kernels)
    notebook = tmp_path / "one.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)")]
    nbformat.write(nb, notebook)
    env = {**kernels[0], "OMP_NUM_THREADS": "7"}
    result = run_notebook(notebook, (env, kernels[1], kernels[2]), timeout=60)
    assert result["error"] is not None
    refused = subprocess.run(
        [a.replace("{connection_file}", str(tmp_path / "k.json")) for a in kernels[2].stub_argv()],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "['OMP_NUM_THREADS']" in refused.stderr, refused.stderr
