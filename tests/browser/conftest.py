"""The book as readers meet it: these tests need the built HTML book, so they run after `make book`.

`pytest tests` (the unit stage) skips this folder; `pytest tests/browser` (`make browser`, the
stage that `make test` runs after the book build) runs it. The built book is read from
`_build/html`, or from the folder named by the environment variable ATTN_BOOK_HTML.

The pages are opened in headless Chromium: Debian's `chromium` package driven by Playwright's
Python package (no browser is ever downloaded). Where `chromium` is not installed the browser tests
are skipped with the reason, except in CI (the variable CI is set), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# One list of Chromium flags and one local server for the tests and the printed book
# (scripts/make_pdf.py).
sys.path.insert(0, str(ROOT / "scripts"))
import forked_kernels  # noqa: E402
from make_pdf import CHROMIUM_ARGS, serve  # noqa: E402


def pytest_ignore_collect(collection_path, config):
    """Collect this folder only when it is named on the command line (not by `pytest tests`)."""
    asked = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    if any(path == HERE or HERE in path.parents for path in asked):
        return None
    return True


#: ``ATTN_BROWSER_EDITION=en`` or ``zh_CN``: keep only the tests of that edition's pages (a test
#: parametrized by a ``page`` under ``zh_CN/`` is the Chinese edition's; every other test, page or
#: not, is the English one's), so that ``make browser`` runs the pages in two processes, each
#: loading its own half of the pages once. Unset: every test.
EDITION_VARIABLE = "ATTN_BROWSER_EDITION"
EDITIONS = ("en", "zh_CN")


def edition_of(item) -> str:
    """The edition a collected test belongs to (see :data:`EDITION_VARIABLE`)."""
    callspec = getattr(item, "callspec", None)
    page = callspec.params.get("page") if callspec else None
    return "zh_CN" if isinstance(page, str) and page.startswith("zh_CN/") else "en"


def pytest_collection_modifyitems(config, items):
    edition = os.environ.get(EDITION_VARIABLE)
    if not edition:
        return
    if edition not in EDITIONS:
        raise pytest.UsageError(f"{EDITION_VARIABLE}={edition!r}: expected one of {EDITIONS}")
    keep = [item for item in items if edition_of(item) == edition]
    config.hook.pytest_deselected(items=[item for item in items if edition_of(item) != edition])
    items[:] = keep


def html_dir() -> Path:
    return Path(os.environ.get("ATTN_BOOK_HTML", ROOT / "_build" / "html")).resolve()


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI (the variable CI is set) a missing prerequisite is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: these tests must run in CI)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def book_html() -> Path:
    root = html_dir()
    if not (root / "index.html").is_file():
        pytest.fail(f"no built book in {root}: run `make book` first", pytrace=False)
    return root


@pytest.fixture(scope="session")
def server(book_html):
    """Serve the built book on 127.0.0.1 on a free port, from a thread; yields the base URL."""
    httpd = serve(book_html)
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


#: Chromium resolves no host name but the book's server (127.0.0.1): a request to any other host
#: fails at once, without being intercepted (Playwright's request routing turns Chromium's cache
#: off). The tests record such requests from the pages' events (test_pages.visit, open_page).
BLOCK_OTHER_HOSTS = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def is_foreign(url: str, host: str) -> bool:
    """Whether a page's request goes to a host other than the book's (`host`, "127.0.0.1:port");
    data: and blob: addresses are the page's own."""
    parsed = urllib.parse.urlparse(url)
    return parsed.scheme not in ("data", "blob") and parsed.netloc != host


@contextlib.contextmanager
def notebook_kernels(folder: Path, env: dict[str, str]):
    """``(environment, kernel name, server)`` for runs of ``scripts/run_notebook.py`` in the block.

    Where they work (Linux), kernels forked from one server that imported torch and the other
    heavy libraries once (``scripts/forked_kernels.py``: about 3.5 CPU-s less per notebook, which
    the student edition's 18 runs and the reader notebooks' 4 add up); elsewhere fresh kernels.
    ``env`` is the kernels' environment (the server's too: it reads PYTHONPATH and what its
    libraries read when imported); the server runs in ``folder``. ``server`` is the
    ``forked_kernels.KernelServer``, or None with fresh kernels.
    """
    if not forked_kernels.available():
        yield env, "python3", None
        return
    with forked_kernels.KernelServer(folder, env) as server:
        yield server.client_env(env), forked_kernels.KERNEL_NAME, server


def run_notebook(notebook: Path, kernels, *, after: str | None = None,
                 timeout: int = 900) -> dict:
    """``scripts/run_notebook.py`` on ``notebook``, started in its folder, with ``kernels`` as
    ``notebook_kernels`` yields them: its result, with ``notebook`` and the executed copy
    (``executed``, None if none was written)."""
    import json

    import nbformat

    env, kernel, _ = kernels
    executed = notebook.with_suffix(".executed.ipynb")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_notebook.py"), str(notebook),
         "--save", str(executed), "--kernel", kernel, *(["--after", after] if after else [])],
        cwd=notebook.parent, env=env, capture_output=True, text=True, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        return {"error": f"the runner failed: {proc.stderr[-2000:]}", "notebook": notebook,
                "executed": None}
    result = json.loads(lines[-1])
    result["notebook"] = notebook
    result["executed"] = nbformat.read(executed, as_version=4) if executed.is_file() else None
    return result


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("Playwright's Python package is not installed (make setup installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=[*CHROMIUM_ARGS, BLOCK_OTHER_HOSTS],
                                             headless=True)
        yield browser
        browser.close()


class Quiet:
    """The requests a page has in flight, followed from its own events; attach before goto().

    ``wait()`` returns once nothing has been in flight for `quiet_s`. It replaces Playwright's
    "networkidle" load state, which Chromium signals once per navigation: on a loaded machine
    that wait was seen to run into its 30 s timeout with every request of the page finished.
    """

    def __init__(self, page):
        self.page = page
        self.in_flight: set = set()
        self.last = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request) -> None:
        self.in_flight.add(request)
        self.last = time.monotonic()

    def _ended(self, request) -> None:
        self.in_flight.discard(request)
        self.last = time.monotonic()

    def wait(self, quiet_s: float = 0.5, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.in_flight or time.monotonic() - self.last < quiet_s:
            if time.monotonic() > deadline:
                urls = sorted(request.url for request in self.in_flight)
                raise AssertionError(f"requests still in flight after {timeout_s} s: {urls}")
            self.page.wait_for_timeout(50)  # lets Playwright deliver the page's events


# ---------------------------------------------------------------------------------------------
# The interactive figures' pages (test_interactive.py, test_interactive_b.py): one load per page
# ---------------------------------------------------------------------------------------------

@dataclass
class Tab:
    """One page opened for the figures, with what it logged and asked for.

    ``console_errors`` and ``foreign_requests`` hold what the page load produced
    (``load_errors``, ``load_requests``) and what happened since the current test opened it.
    """

    page: object
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    load_errors: list[str] = field(default_factory=list)
    load_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def figure_context(browser):
    """The browser context of the interactive figures' pages (1280 px wide)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    yield context
    context.close()


# Put an opened page back as a reader finds it after loading it: screen media, scrolled to the
# top, nothing focused or hovered, every figure drawn afresh (AttnFigures.restart, which resolves
# once the new drawing's maths is typeset).
_RESTART_JS = """() => {
  window.scrollTo(0, 0);
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  const figures = document.querySelectorAll("figure.attn-interactive[data-figure]");
  return Promise.all(Array.from(figures, f => window.AttnFigures.restart(f))).then(() => true);
}"""


@pytest.fixture(scope="session")
def _tabs(figure_context):
    """The pages loaded so far, by name: each chapter page is loaded once for every test."""
    tabs: dict[str, Tab] = {}
    yield tabs
    for tab in tabs.values():
        tab.page.close()


@pytest.fixture()
def open_page(figure_context, server, _tabs):
    """open_page(page) -> Tab: the page loaded from 127.0.0.1, every other host blocked.

    A page is loaded (with its maths typeset) the first time a test asks for it; a later test
    gets the same page with its figures restarted, as they were after the load. The load's
    console errors and blocked requests are reported to every test that opens the page.
    """
    host = urllib.parse.urlparse(server).netloc

    def _load(page_name: str) -> Tab:
        page = figure_context.new_page()
        tab = Tab(page)
        quiet = Quiet(page)

        # (the browser itself resolves no other host: BLOCK_OTHER_HOSTS)
        page.on("request", lambda r: is_foreign(r.url, host) and tab.foreign_requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and tab.console_errors.append(m.text))
        page.on("pageerror", lambda e: tab.console_errors.append(f"uncaught: {e}"))
        page.goto(server + page_name, wait_until="load")
        page.evaluate("""() => window.MathJax && MathJax.startup && MathJax.startup.promise
                             ? MathJax.startup.promise.then(() => true) : false""")
        quiet.wait()
        tab.load_errors = list(tab.console_errors)
        tab.load_requests = list(tab.foreign_requests)
        return tab

    def _open(page_name: str) -> Tab:
        tab = _tabs.get(page_name)
        if tab is None:
            tab = _tabs[page_name] = _load(page_name)
            return tab
        tab.page.emulate_media(media="screen")
        tab.page.mouse.move(0, 0)
        tab.page.evaluate(_RESTART_JS)
        tab.console_errors[:] = tab.load_errors
        tab.foreign_requests[:] = tab.load_requests
        return tab

    return _open
