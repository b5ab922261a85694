"""The book as readers meet it: these tests need the built HTML book, so they run after `make book`.

`pytest tests` (the unit stage) skips this folder; `pytest tests/browser` (`make browser`, the
stage that `make test` runs after the book build) runs it. The built book is read from
`_build/html`, or from the folder named by the environment variable ATTN_BOOK_HTML.

The pages are opened in headless Chromium: Debian's `chromium` package driven by Playwright's
Python package (no browser is ever downloaded). Where `chromium` is not installed the browser tests
are skipped with the reason, except in CI (the variable CI is set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# One list of Chromium flags and one local server for the tests and the printed book
# (scripts/make_pdf.py).
sys.path.insert(0, str(ROOT / "scripts"))
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
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
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
