"""The machinery of `make test` itself: its time breakdown and the notebooks' one execution.

- ``scripts/stage_times.py`` runs a stage, keeps its exit status, records its times and prints
  the table;
- ``scripts/execute_notebooks.py`` finds every notebook of the table of contents (a page added
  later is executed without being listed anywhere else);
- ``book/conftest.py``'s ``--nbval-from-cache`` judges cells by a cached execution as nbval
  would: a recorded output that differs fails, a cell that raised fails, a notebook that the
  cache does not hold for its current code fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import typing

import nbformat
import pytest

from .conftest import BOOK, ROOT

STAGE_TIMES = ROOT / "scripts" / "stage_times.py"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stage_times(*args, env=None):
    return subprocess.run([sys.executable, str(STAGE_TIMES), *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})})


def test_stage_times_keeps_the_exit_status_and_records_each_stage(tmp_path):
    timings = tmp_path / "timings.jsonl"
    env = {"ATTN_TIMINGS": str(timings)}
    assert _stage_times("start", env=env).returncode == 0
    assert _stage_times("run", "good", "--", sys.executable, "-c", "pass",
                        env=env).returncode == 0
    failed = _stage_times("run", "bad one", "--", sys.executable, "-c", "raise SystemExit(3)",
                          env=env)
    assert failed.returncode == 3 and "'bad one' failed (exit status 3)" in failed.stderr
    report = _stage_times("report", env=env)
    assert report.returncode == 0
    rows = {line.split("  ")[0].strip(): line for line in report.stdout.splitlines()}
    assert rows["good"].endswith("ok") and rows["bad one"].endswith("FAILED (3)")
    assert "total" in rows
    saved = json.loads(timings.with_suffix(".json").read_text())
    stages = [r for r in saved["records"] if r.get("event") == "stage"]
    assert [r["stage"] for r in stages] == ["good", "bad one"]
    assert all(r["wall_s"] >= 0 and r["cpu_s"] >= 0 and r["end"] >= r["start"] for r in stages)


def test_stage_times_without_a_timings_file_only_runs_the_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ATTN_TIMINGS"}
    result = subprocess.run([sys.executable, str(STAGE_TIMES), "run", "x", "--", sys.executable,
                             "-c", "raise SystemExit(5)"], env=env, cwd=tmp_path)
    assert result.returncode == 5
    assert not list(tmp_path.iterdir())


def test_every_notebook_of_the_table_of_contents_is_executed():
    execute = _load("execute_notebooks")
    found = execute.toc_notebooks()
    toc_text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    listed = {p for p in BOOK.rglob("*.ipynb") if "_build" not in p.parts
              and ".ipynb_checkpoints" not in p.parts
              and str(p.relative_to(ROOT).with_suffix("")) in toc_text}
    assert listed and set(found) == listed
    settings = execute.execution_settings()
    assert settings["timeout"] > 0 and settings["allow_errors"] is False


def _code(source: str, expected: str | None = None):
    cell = nbformat.v4.new_code_cell(source)
    if expected is not None:
        cell.metadata["tags"] = ["nbval-check-output"]
        cell.metadata["nbval"] = {"expected_outputs": [
            {"output_type": "stream", "name": "stdout", "text": expected, "metadata": {}}]}
    return cell


def test_nbval_from_the_cache_judges_the_cached_outputs_as_nbval_does(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        _code('print("same")', "same\n"),
        _code('print("changed")', "recorded\n"),
        _code('raise ValueError("the cell raised")'),
    ])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    # let the execution go on past the raising cell, so that the cache holds its error output
    notebook.metadata["execution"] = {"allow_errors": True}
    path = tmp_path / "lab.ipynb"
    nbformat.write(notebook, path)
    never_run = tmp_path / "never_run.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[_code('print("x")', "x\n")],
                                            metadata=notebook.metadata), never_run)
    cache = tmp_path / "cache"
    executed = subprocess.run([sys.executable, str(ROOT / "scripts" / "execute_notebooks.py"),
                               str(path), "--cache", str(cache), "--jobs", "1"],
                              capture_output=True, text=True)
    assert executed.returncode == 0, executed.stdout + executed.stderr
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""
        import importlib.util
        path = {str(BOOK / "conftest.py")!r}
        spec = importlib.util.spec_from_file_location("book_conftest", path)
        book = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(book)
        pytest_addoption = book.pytest_addoption
        pytest_collection_modifyitems = book.pytest_collection_modifyitems
    """))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "-rA",
         f"--nbval-from-cache={cache}", "-c", str(tmp_path / "pytest.ini"),
         "--rootdir", str(tmp_path), str(path), str(never_run)],
        capture_output=True, text=True, cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 1, out
    assert "PASSED lab.ipynb::Cell 0" in out
    assert "FAILED lab.ipynb::Cell 1" in out and "Cell outputs differ" in out
    assert "FAILED lab.ipynb::Cell 2" in out and "the cell raised" in out
    assert "FAILED never_run.ipynb::Cell 0" in out and "has no execution of its current code" in out


def test_the_browser_pages_split_by_edition_covers_every_test_once(monkeypatch):
    """`make browser` runs tests/browser/test_pages.py in two processes, ATTN_BROWSER_EDITION=en
    and =zh_CN: together they keep every test exactly once, a Chinese page's in the second."""
    spec = importlib.util.spec_from_file_location("browser_conftest",
                                                  ROOT / "tests" / "browser" / "conftest.py")
    browser = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "browser_conftest", browser)  # its dataclasses look it up
    spec.loader.exec_module(browser)

    class Item:
        def __init__(self, page=None):
            if page is not None:
                self.callspec = type("CallSpec", (), {"params": {"page": page}})()

    class Config:
        deselected: typing.ClassVar[list] = []
        hook = type("Hook", (), {"pytest_deselected": staticmethod(
            lambda items: Config.deselected.extend(items))})()

    items = [Item(), Item("book/ch2_se/se.html"), Item("zh_CN/book/ch2_se/se.html"),
             Item("zh_CN/index.html"), Item("index.html")]
    kept = {}
    for edition in browser.EDITIONS:
        monkeypatch.setenv(browser.EDITION_VARIABLE, edition)
        chosen = list(items)
        browser.pytest_collection_modifyitems(Config, chosen)
        kept[edition] = chosen
    assert kept["zh_CN"] == items[2:4]
    assert kept["en"] == [items[0], items[1], items[4]]
    monkeypatch.setenv(browser.EDITION_VARIABLE, "de")
    with pytest.raises(pytest.UsageError, match="'de'"):
        browser.pytest_collection_modifyitems(Config, list(items))
