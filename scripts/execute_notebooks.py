"""Execute the book's notebooks into the build's execution cache, several at a time.

``make book`` runs this before ``jupyter-book build``: every notebook listed in ``_toc.yml`` that
the cache (``_build/.jupyter_cache``, jupyter-cache) does not yet hold for its current code is
executed, as myst-nb would execute it in the build (``execute_notebooks: cache``: the same
``jupyter_cache`` call, in the notebook's folder, with ``_config.yml``'s ``execute.timeout`` and
``allow_errors``), but ``--jobs`` at a time instead of one after the other, and stored in the
cache. The English build, the Chinese build (scripts/build_zh.py), the single-page builds of
``make pdf`` and ``make test``'s output checks (``book/conftest.py``, ``--nbval-from-cache``)
then read each notebook's one execution from there. A notebook in the cache whose figures'
Chinese copies were drawn from an older figure-text catalogue (``attn_lessons.figure_translation``)
is executed again, so that the Chinese edition shows the catalogue's current text.

A notebook that fails is reported with its traceback and is not cached, and the script exits
with status 1 (the build would execute it again and fail on it too). With two or more jobs each
kernel gets ``cores // jobs`` threads (``OMP_NUM_THREADS``), so that the kernels do not fight
over the cores; ``--jobs 1`` leaves the thread count alone.

On Linux the kernels are forked from one server that imported torch, matplotlib, scipy and
statsmodels once (``scripts/forked_kernels.py``; each notebook still imports ``attn_lessons`` and
everything else itself, in a process and a namespace of its own): about 3.5 CPU-s less per
notebook. The server gets the kernels' environment. ``--fresh-kernels`` starts every kernel
afresh instead, as the build itself would (so does a single notebook, and so does this script when
the server fails to start); tests/browser/test_student_edition.py checks that a forked kernel
starts as a fresh one does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import forked_kernels  # noqa: E402  (scripts/ is not a package)

CACHE = ROOT / "_build" / ".jupyter_cache"  # build_zh.CACHE, the build's execution_cache_path
#: The figure-text catalogue (book/_ext/figure_text_startup.py draws each figure's Chinese copy
#: from it): a notebook whose copies it would now draw differently is executed again.
FIGURE_CATALOGUE = ROOT / "book" / "_ext" / "locale" / "zh_CN" / "LC_MESSAGES" / "figures.po"


def toc_notebooks(toc: Path = ROOT / "_toc.yml") -> list[Path]:
    """The notebooks (``.ipynb``) among the documents of the table of contents, in its order."""
    names: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    names.append(node[key])
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc.read_text(encoding="utf-8")))
    found = []
    for name in names:
        path = ROOT / name
        path = path if path.suffix == ".ipynb" else path.with_name(path.name + ".ipynb")
        if path.is_file() and path not in found:
            found.append(path)
    return found


def execution_settings(config: Path = ROOT / "_config.yml") -> dict:
    """The build's execution settings (jupyter-book's ``execute`` section)."""
    execute = yaml.safe_load(config.read_text(encoding="utf-8")).get("execute", {}) or {}
    if execute.get("execute_notebooks", "cache") != "cache":
        raise SystemExit("execute_notebooks.py: _config.yml's execute.execute_notebooks is not "
                         "'cache': the build would not read what this script executes")
    if execute.get("run_in_temp"):
        raise SystemExit("execute_notebooks.py: execute.run_in_temp is not supported")
    return {"timeout": execute.get("timeout", 30),
            "allow_errors": bool(execute.get("allow_errors"))}


def figure_catalogue() -> dict[str, str]:
    """The figure-text catalogue the build's kernels draw the Chinese copies from."""
    from attn_lessons.figure_translation import load_catalogue

    return load_catalogue(FIGURE_CATALOGUE)


def notebook_needs_redraw(notebook, catalogue: dict[str, str]) -> bool:
    from attn_lessons.figure_translation import notebook_needs_redraw as needs

    return needs(notebook, catalogue)


def read_notebook(path: Path):
    """The notebook as myst-nb reads it for the build (its cache matches on this)."""
    from myst_nb.core.read import standard_nb_read

    return standard_nb_read(path.read_text(encoding="utf-8"))


def kernel_environment(threads: int | None) -> dict[str, str]:
    """What the kernels' environment adds to this process's."""
    env = {}
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    # The build's kernels start with book/_ext/figure_text_startup.py (IPython runs the file
    # PYTHONSTARTUP names; book/_ext/figure_text.py sets it for the build): the book's figure
    # style, and every figure a notebook shows records its smallest text.
    env["PYTHONSTARTUP"] = str(ROOT / "book" / "_ext" / "figure_text_startup.py")
    # and without progress bars (book/_ext/static_progress.py): a tqdm widget in a static page
    # would need JavaScript from a CDN, and the book works offline.
    env["TQDM_DISABLE"] = "1"
    return env


def _execute(path: str, timeout: int, allow_errors: bool, env: dict[str, str],
             kernel: str | None):
    """In a worker process: execute one notebook in its folder; returns picklable results."""
    os.environ.update(env)  # the kernel inherits the worker's environment
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = read_notebook(Path(path))
    chosen = {} if kernel is None else {"kernel_name": kernel}
    result = single_nb_execution(notebook, cwd=str(Path(path).parent), timeout=timeout,
                                 allow_errors=allow_errors, meta_override=True, **chosen)
    error = None if result.err is None else f"{type(result.err).__name__}: {result.err}"
    return result.nb, result.time, error, result.exc_string


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to execute (default: every notebook of _toc.yml)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="notebooks executed at the same time (default: 2, or 1 on one core)")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--fresh-kernels", action="store_true",
                        help="start each kernel afresh (default on Linux: fork them from one "
                             "server that imported torch and the like once)")
    args = parser.parse_args(argv)

    from jupyter_cache import get_cache

    settings = execution_settings()
    cache = get_cache(str(args.cache))
    notebooks = [p.resolve() for p in args.notebooks] or toc_notebooks()
    todo = []
    redraw = []
    catalogue = figure_catalogue()
    for path in notebooks:
        try:
            record = cache.match_cache_notebook(read_notebook(path))
        except KeyError:
            todo.append(path)
            continue
        if notebook_needs_redraw(cache.get_cache_bundle(record.pk).nb, catalogue):
            todo.append(path)
            redraw.append(path)
    where = args.cache.relative_to(ROOT) if args.cache.is_relative_to(ROOT) else args.cache
    print(f"execute_notebooks: {len(notebooks) - len(todo)} of {len(notebooks)} notebooks "
          f"already in {where}; executing {len(todo)}, {args.jobs} at a time", flush=True)
    if redraw:
        print(f"execute_notebooks: {len(redraw)} of them again, their figures' Chinese copies "
              "out of date (an older figure-text catalogue, a missing font or glyph): "
              + ", ".join(str(p.relative_to(ROOT)) for p in redraw), flush=True)
    if not todo:
        return 0
    jobs = max(1, min(args.jobs, len(todo)))
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    start = time.perf_counter()
    # The largest first, a rough guess at the longest, so that the last to start is a short one.
    todo.sort(key=lambda p: p.stat().st_size, reverse=True)
    env, kernel = kernel_environment(threads), None
    with contextlib.ExitStack() as stack:
        # One notebook: a fresh kernel costs less than the server's imports.
        if len(todo) > 1 and not args.fresh_kernels and forked_kernels.available():
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="kernels-"))
            try:
                server = stack.enter_context(
                    forked_kernels.KernelServer(Path(folder), {**os.environ, **env}))
                env, kernel = server.client_env(env), forked_kernels.KERNEL_NAME
            except RuntimeError as exc:  # the server could not import what it preloads
                print(f"execute_notebooks: fresh kernels, the kernel server failed: {exc}",
                      flush=True)
        failed = _execute_all(todo, settings, env, kernel, jobs, cache)
    print(f"execute_notebooks: {len(todo) - len(failed)} executed in "
          f"{time.perf_counter() - start:.1f} s ({jobs} at a time"
          f"{', forked kernels' if kernel else ''})", flush=True)
    if failed:
        print("execute_notebooks: failed: " + ", ".join(map(str, failed)), file=sys.stderr)
        return 1
    return 0


def _execute_all(todo: list[Path], settings: dict, env: dict[str, str], kernel: str | None,
                 jobs: int, cache) -> list:
    """Execute ``todo``, ``jobs`` at a time, caching each success; the names of the failures."""
    from jupyter_cache.base import CacheBundleIn

    failed = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {path: pool.submit(_execute, str(path), settings["timeout"],
                                     settings["allow_errors"], env, kernel) for path in todo}
        for path, future in futures.items():
            name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            try:
                notebook, seconds, error, trace = future.result()
            except Exception as exc:  # the worker itself failed (not a cell)
                notebook, seconds, error, trace = None, 0.0, f"{type(exc).__name__}: {exc}", ""
            if error is not None:
                failed.append(name)
                print(f"execute_notebooks: {name} FAILED: {error}\n{trace or ''}", flush=True)
                continue
            record = cache.add_nb_to_project(str(path))
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, record.uri, data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)
            print(f"execute_notebooks: {name} executed in {seconds:.1f} s", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
