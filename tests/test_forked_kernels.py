"""scripts/forked_kernels.py where it needs no kernel: a server that cannot start says why, and
the book's execution then starts fresh kernels. (A forked kernel against a fresh one, and its
end with its stub, are tested in tests/browser/test_student_edition.py, with the server those
runs use.)"""

from __future__ import annotations

import importlib.util
import os
import sys

import nbformat
import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import forked_kernels

pytestmark = pytest.mark.skipif(not forked_kernels.available(), reason="Linux only")


def test_a_server_that_cannot_import_what_it_preloads_says_so(tmp_path, monkeypatch):
    made = []
    mkdtemp = forked_kernels.tempfile.mkdtemp
    monkeypatch.setattr(forked_kernels.tempfile, "mkdtemp",
                        lambda **kw: made.append(mkdtemp(**kw)) or made[-1])
    server = forked_kernels.KernelServer(tmp_path, dict(os.environ),
                                         preload=("no_such_module_here",))
    with pytest.raises(RuntimeError, match="did not start(.|\n)*no_such_module_here"):
        server.__enter__()
    assert len(made) == 1 and not os.path.exists(made[0]), "the failed server left its folder"
    assert server.process is None


def test_a_server_whose_preload_starts_a_thread_refuses_to_fork(tmp_path):
    """A forked child has only the thread that forked: a lock held by another (a thread pool a
    newer library starts when it is imported) would never be released in the kernel."""
    (tmp_path / "starts_a_thread.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    with pytest.raises(RuntimeError, match="started 1 thread"):
        with forked_kernels.KernelServer(tmp_path, env, preload=("starts_a_thread",)):
            pass


def test_the_books_execution_falls_back_to_fresh_kernels(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("execute_notebooks_under_test",
                                                  ROOT / "scripts" / "execute_notebooks.py")
    execute = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(execute)
    notebooks = []
    for name in ("a", "b"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"print({name!r})")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
        notebooks.append(str(tmp_path / f"{name}.ipynb"))

    def broken(*args, **kwargs):
        raise RuntimeError("the kernel server did not start: (a test)")

    seen = {}

    def execute_all(todo, settings, env, kernel, jobs, cache):
        seen.update(todo=todo, env=env, kernel=kernel)
        return []

    monkeypatch.setattr(execute.forked_kernels, "KernelServer", broken)
    monkeypatch.setattr(execute, "_execute_all", execute_all)
    assert execute.main([*notebooks, "--cache", str(tmp_path / "cache")]) == 0
    assert seen["kernel"] is None and "JUPYTER_PATH" not in seen["env"]
    assert len(seen["todo"]) == 2
    assert "fresh kernels, the kernel server failed: the kernel server did not start" in (
        capsys.readouterr().out)
