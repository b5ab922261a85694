"""scripts/exec_notebook.py, the Jupyter-free notebook runner of the GPU check, on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import BOOK, ROOT

RUNNER = ROOT / "scripts" / "exec_notebook.py"


def _notebook(path, cells):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": source} for source in cells]}
    path.write_text(json.dumps(nb))
    return path


def _run(*args):
    proc = subprocess.run([sys.executable, str(RUNNER), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    return proc, json.loads(proc.stdout.strip().splitlines()[-1])


def test_runner_executes_cells_in_order_with_stubs(tmp_path):
    nb = _notebook(tmp_path / "tiny.ipynb", [
        'import sys\nif "google.colab" in sys.modules:\n    raise SystemExit("Colab cell ran")',
        ["%matplotlib inline\n", "!echo shell\n", "x = 41\n"],
        "from IPython.display import Markdown\ndisplay(Markdown(f'x is {x + 1}'))\n"
        "get_ipython().run_line_magic('load_ext', 'autoreload')",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nopen('here.txt', 'w').write('ok')",
    ])
    proc, result = _run(nb, "--out", tmp_path / "out", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert result["error"] is None and result["cells_run"] == 3 and result["cells_skipped"] == 1
    assert "x is 42" in proc.stdout
    assert (tmp_path / "here.txt").read_text() == "ok"  # cells run in the notebook's folder
    assert (tmp_path / "out" / "tiny" / "cell04_fig1.png").is_file()


def test_runner_reports_the_failing_cell(tmp_path):
    nb = _notebook(tmp_path / "bad.ipynb", ["a = 1", "raise ValueError('boom')", "b = 2"])
    proc, result = _run(nb)
    assert proc.returncode == 1
    assert result["error"] == "cell 2: ValueError: boom" and result["cells_run"] == 1


def test_runner_runs_a_book_notebook_on_the_cpu(tmp_path):
    proc, result = _run(BOOK / "preface" / "first_attention.ipynb", "--out", tmp_path,
                        "--device", "cpu")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert result["error"] is None and result["cells_run"] == result["code_cells"] - 1


def test_gpu_check_script_parses_and_refuses_to_run_without_cuda(tmp_path):
    script = ROOT / "scripts" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    import torch

    if torch.cuda.is_available():
        return  # on a GPU machine the script runs for real; nothing to refuse
    proc = subprocess.run(["bash", str(script), str(tmp_path)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable}, timeout=120)
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr
    assert (tmp_path / "machine.txt").is_file()


def _gpu_check(*args):
    return subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), *args],
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})


def test_gpu_check_parts_cover_every_notebook_once_within_the_budget():
    """`gpu_check.sh list`: each notebook of book/ in exactly one part, at most 240 s each."""
    import re

    proc = _gpu_check("list")
    assert proc.returncode == 0, proc.stderr
    parts = re.findall(r"^(notebooks\d+)\s+(\d+) notebooks, (\d+) s", proc.stdout, re.M)
    listed = re.findall(r"^\s+(book/\S+\.ipynb) \(", proc.stdout, re.M)
    book = sorted(str(p.relative_to(ROOT)) for p in BOOK.rglob("*.ipynb")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(ROOT).parts))
    assert parts and sorted(listed) == book and len(listed) == len(set(listed))
    assert sum(int(n) for _, n, _ in parts) == len(book)
    assert all(int(seconds) <= 240 or int(n) == 1 for _, n, seconds in parts)
    assert proc.stdout.splitlines()[0].startswith("tests ") and "\nbench " in proc.stdout


def test_gpu_check_refuses_an_unknown_part():
    proc = _gpu_check("notebooks99")
    assert proc.returncode == 2 and "no part notebooks99" in proc.stderr
    proc = _gpu_check("tset")
    assert proc.returncode == 2 and "no part tset" in proc.stderr
