"""Print the book to PDF, one file per edition: `make pdf`.

For each edition the book is built once more with Sphinx's ``singlehtml`` builder (through
``jupyter-book build --builder singlehtml``), so the whole book is one HTML page in
table-of-contents order and every internal link and cross-reference stays inside the PDF. The
single-page build has exactly the configuration of the edition's HTML build (English: _config.yml;
Chinese: scripts/build_zh.py's) and its doctrees and execution cache, so after ``make book``
nothing is read or executed again: only the page is written. That page is served on 127.0.0.1 and
printed by Debian's Chromium (never a downloaded browser) through Playwright's ``page.pdf``: the
maths is typeset first by the book's own offline MathJax, collapsed solutions are opened (printed
after their exercises), and the PDF gets an outline (bookmarks) from the headings. Every request to
a host other than 127.0.0.1 is blocked and recorded.

Outputs, per edition, in ``_build/pdf/``: ``<name>.pdf``, ``<name>.json`` (pages, seconds, the
blocked requests and console errors) and ``<name>.html`` (the page as printed), which
``tests/browser/test_pdf.py`` checks.

Editions: the list ``EDITIONS`` below; a translated edition is one more line (its language, its
table of contents and configuration, and a local CJK font where it needs one).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import build_zh  # noqa: E402  (the Chinese edition's configuration and folders)

OUT = ROOT / "_build" / "pdf"

#: Chromium's flags, here and in the browser tests (tests/browser/conftest.py imports them): no
#: sandbox in containers, and nothing that would make Chromium itself reach the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass(frozen=True)
class Edition:
    """One printed edition: ``name`` names the files, ``toc`` is relative to ROOT.

    The English edition (language ``en``) is built with _config.yml into _build/; any other is
    built as scripts/build_zh.py builds its HTML edition (its configuration, written by
    ``build_zh.edition_config``, and its folder ``_build/<language>``), so that the single-page
    build reuses that build's doctrees.

    ``fonts`` is a CSS font-family list put first for the edition's text, for a script the
    default fonts lack (a Chinese edition names a locally installed CJK font, e.g.
    ``"Noto Sans CJK SC"`` from Debian's fonts-noto-cjk); Chromium embeds what it uses.
    """

    name: str
    language: str
    toc: str = "_toc.yml"
    fonts: str = ""

    @property
    def translated(self) -> bool:
        return self.language != "en"

    @property
    def build_root(self) -> Path:
        """The folder whose ``_build/`` holds the edition's doctrees and outputs."""
        return build_zh.BUILD / self.language if self.translated else ROOT


EDITIONS = [
    Edition("attention-derived-en", "en"),
    Edition("attention-derived-zh_CN", "zh_CN", fonts='"Noto Sans CJK SC", "Noto Serif CJK SC"'),
]

#: Print layout: the theme's navigation, buttons and footers are screen furniture; collapsed
#: solutions are shown open; headings keep their first lines with them.
PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm 18mm 16mm; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article, .bd-footer,
.bd-footer-article, .bd-footer-content, .prev-next-area, .toggle-button, .headerlink,
.skip-link, .search-button__wrapper, #pst-back-to-top, .bd-header-announcement,
.sidebar-toggle, .primary-toggle, .secondary-toggle { display: none !important; }
html, body, .bd-page-width, .bd-container, .bd-container__inner, .bd-main, .bd-content,
.bd-article-container, .bd-article {
  display: block !important; max-width: none !important; width: auto !important;
  min-width: 0 !important; margin: 0 !important; padding: 0 !important;
  overflow: visible !important;
}
pre { white-space: pre-wrap !important; word-break: break-all; overflow: visible !important; }
.cell_output, .output { overflow: visible !important; }
.toggle-hidden, .toggle-details__container { display: block !important;
  visibility: visible !important; height: auto !important; opacity: 1 !important; }
details > summary { list-style: none; }
h1, h2, h3 { break-after: avoid; }
section[id] > h1 { break-before: page; }
figure, img, svg, table, pre, .MathJax { break-inside: avoid; }
"""

#: In the page: wait for MathJax, then open every collapsed block.
OPEN_EVERYTHING = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    if (MathJax.typesetPromise) { await MathJax.typesetPromise(); }
  }
  document.querySelectorAll('details').forEach(d => d.open = true);
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('.dropdown').forEach(e => e.classList.remove('toggle-hidden'));
  const raw = document.querySelectorAll('.math:not(:has(mjx-container))').length;
  return {mathjax: !!window.MathJax, math: document.querySelectorAll('mjx-container').length,
          untypeset: raw};
}
"""


#: In the page, as printed: every solution (the pages' {solution} blocks, the notebooks' solution
#: cells) and whether all of its paragraphs and code are laid out, not collapsed.
SOLUTIONS_SHOWN = """
() => {
  const all = [...document.querySelectorAll('div.solution.admonition, div.cell.tag_solution')];
  const closed = all.filter(el => [...el.querySelectorAll('p, pre')]
    .some(part => part.getClientRects().length === 0));
  return {solutions: all.length, closed_solutions: closed.map(el => el.id || el.className)};
}
"""


#: In the page, as printed: the text of every heading that is laid out, in document order.
HEADINGS = """
() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
  .filter(h => h.getClientRects().length > 0)
  .map(h => h.innerText.replace(/#\\s*$/, '').replace(/\\s+/g, ' ').trim())
"""


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (no truncated file)."""
    from attn_lessons._files import atomic_write_bytes  # here: the server needs no torch

    atomic_write_bytes(path, data)


def retitle_outline(target: Path, headings: list[str]) -> bool:
    """Name each bookmark after its heading's text.

    Chromium names a bookmark after the heading's laid-out lines (a title that wraps comes out
    doubled or without the space at the break). The bookmarks follow the headings in document
    order; when their numbers agree the titles are replaced, otherwise the PDF is left alone and
    False is returned.

    The new bookmarks are appended to the file as an incremental update (ISO 32000-1, 7.5.6):
    the changed objects, a cross-reference section for them and a trailer pointing back at the
    previous one. Rewriting the whole file instead (pypdf's writer, about 100,000 objects per
    edition) took about 20 CPU-s per edition, more than the rest of the printing but Chromium's.
    """
    from pypdf import PdfReader
    from pypdf.generic import DictionaryObject, NameObject, NumberObject, TextStringObject

    data = target.read_bytes()
    previous = _startxref(data)
    if not data[previous:].startswith(b"xref"):  # an update's table is of the file's kind
        raise ValueError(f"{target}: not a classic cross-reference table at byte {previous}, "
                         "the only kind this update writes (Chromium writes one)")
    reader = PdfReader(io.BytesIO(data))
    items = []  # (indirect reference, bookmark), in document order

    def walk(reference):
        while reference is not None:
            item = reference.get_object()
            items.append((reference, item))
            if "/First" in item:
                walk(item.raw_get("/First"))
            reference = item.raw_get("/Next") if "/Next" in item else None

    outlines = reader.trailer["/Root"].get_object().get("/Outlines")
    if outlines is not None and "/First" in outlines.get_object():
        walk(outlines.get_object().raw_get("/First"))
    if len(items) != len(headings):
        return False
    update = io.BytesIO()
    update.write(b"\n")
    offsets = {}
    for (reference, item), heading in zip(items, headings, strict=True):
        item[NameObject("/Title")] = TextStringObject(heading)
        offsets[reference.idnum] = (len(data) + update.tell(), reference.generation)
        update.write(f"{reference.idnum} {reference.generation} obj\n".encode("ascii"))
        item.write_to_stream(update)
        update.write(b"\nendobj\n")
    xref_at = len(data) + update.tell()
    update.write(b"xref\n0 1\n0000000000 65535 f\r\n")  # (the free list's head, as readers expect)
    numbers = sorted(offsets)
    runs: list[list[int]] = []
    for number in numbers:  # subsections of consecutive object numbers
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    for run in runs:
        update.write(f"{run[0]} {len(run)}\n".encode("ascii"))
        for number in run:
            offset, generation = offsets[number]
            update.write(f"{offset:010d} {generation:05d} n\r\n".encode("ascii"))
    trailer = DictionaryObject({key: value for key, value in reader.trailer.items()
                                if key != "/Prev"})
    trailer[NameObject("/Prev")] = NumberObject(previous)
    update.write(b"trailer\n")
    trailer.write_to_stream(update)
    update.write(f"\nstartxref\n{xref_at}\n%%EOF\n".encode("ascii"))
    _atomic_write_bytes(target, data + update.getvalue())
    return True


def _startxref(data: bytes) -> int:
    """The offset the last ``startxref`` of a PDF names."""
    tail = data[-1024:]
    at = tail.rindex(b"startxref")
    return int(tail[at + len(b"startxref"):].split()[0])


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class LocalServer(ThreadingHTTPServer):
    """Static files on 127.0.0.1 for Chromium, here and in the browser tests.

    The listen backlog holds a page's burst of parallel requests: with the default of 5, a
    loaded machine drops connections, and Chromium retries them only after 1, 3, 7, ... s, long
    enough to time a test out. Its threads end with the process.
    """

    request_queue_size = 128
    daemon_threads = True


def serve(folder: Path) -> LocalServer:
    """Serve `folder` on a free port of 127.0.0.1 from a thread; ``shutdown()`` stops it."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = LocalServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def build_single_page(edition: Edition) -> Path:
    """Build the edition as one HTML page; returns the folder holding it."""
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
               "--builder", "singlehtml", "-W", "-n", "--keep-going"]
    if edition.toc != "_toc.yml":
        command += ["--toc", str(ROOT / edition.toc)]
    if edition.translated:
        # The configuration and folder of the edition's HTML build (scripts/build_zh.py).
        config = build_zh.edition_config(edition.build_root / "_config.yml",
                                         language=edition.language, cache=build_zh.CACHE)
        command += ["--config", str(config), "--path-output", str(edition.build_root)]
    subprocess.run(command, check=True, cwd=ROOT)
    return edition.build_root / "_build" / "singlehtml"  # where jupyter-book puts the output


def _page_at_root(folder: Path) -> str:
    """Copy the single page to the folder's top and return its name.

    With the root document in a subfolder (``book/intro``) Sphinx's singlehtml builder writes
    the page to ``book/intro.html`` but makes its links to ``_static/`` and ``_images/`` relative
    to the top of the output, where the page is served from here.
    """
    text = (folder / "index.html").read_text(encoding="utf-8")
    marker = "url="
    page = text[text.index(marker) + len(marker):].split('"')[0] if marker in text else "index.html"
    html = (folder / page).read_text(encoding="utf-8")
    _atomic_write_bytes(folder / "print.html", _links_inside(html).encode("utf-8"))
    return "print.html"


def _links_inside(html: str) -> str:
    """Make every link to the book itself a link inside the printed page.

    ``<a href="book/intro.html#ch2-se">`` becomes ``<a href="#ch2-se">``; a link to a file (an
    image opened full size) is dropped: in the PDF it would point at the print server.
    """

    def fix(match: re.Match) -> str:
        target = match.group(2)
        if target.startswith(("#", "http://", "https://", "mailto:")):
            return match.group(0)
        if "#" in target:
            return f'{match.group(1)}href="#{target.split("#", 1)[1]}"'
        return match.group(1).rstrip()

    return re.sub(r'(<a\s[^>]*?)href="([^"]*)"', fix, html)


def print_pdf(folder: Path, target: Path, title: str, fonts: str = "") -> dict:
    """Print the single page in `folder` to `target`; returns what happened on the way."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit(NO_CHROMIUM)
    httpd = serve(folder)
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    blocked: list[str] = []
    console_errors: list[str] = []
    missing: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                                 headless=True)
            page = browser.new_page()

            def route(request_route):
                url = request_route.request.url
                parts = urllib.parse.urlsplit(url)
                if parts.hostname == "127.0.0.1" and parts.path == "/searchindex.js":
                    # The theme asks for the search index, which a single page does not have.
                    request_route.fulfill(status=200, body="", content_type="text/javascript")
                elif url.startswith(("data:", "blob:")) or parts.hostname == "127.0.0.1":
                    request_route.continue_()
                else:
                    blocked.append(url)
                    request_route.abort()

            page.route("**/*", route)
            page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
            page.on("response", lambda r: r.status >= 400 and missing.append(r.url))
            page.goto(base + _page_at_root(folder), wait_until="load", timeout=180_000)
            page.add_style_tag(content=PRINT_CSS)
            if fonts:
                page.add_style_tag(content=f"body, p, li, h1, h2, h3, h4, td {{ font-family: "
                                           f"{fonts}, sans-serif !important; }}")
            state = page.evaluate(OPEN_EVERYTHING)
            page.emulate_media(media="print")
            state.update(page.evaluate(SOLUTIONS_SHOWN))
            headings = page.evaluate(HEADINGS)
            footer = ('<div style="font-size:8px;width:100%;text-align:center;color:#555;">'
                      f'{title} · <span class="pageNumber"></span> / '
                      '<span class="totalPages"></span></div>')
            pdf = page.pdf(format="A4", print_background=True, outline=True,
                           scale=0.8, tagged=True, display_header_footer=True,
                           header_template="<div></div>", footer_template=footer,
                           margin={"top": "16mm", "bottom": "18mm", "left": "14mm",
                                   "right": "14mm"})
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    _atomic_write_bytes(target, pdf)  # an interrupted print keeps the previous PDF
    state["bookmarks_retitled"] = retitle_outline(target, headings)
    return {"blocked_requests": blocked, "missing": missing, "console_errors": console_errors,
            **state}


def print_edition(edition: Edition, folder: Path, build_seconds: float) -> dict:
    """Print an edition's single page (built into `folder`) and write its report."""
    start = time.perf_counter()
    target = OUT / f"{edition.name}.pdf"
    title = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]
    report = print_pdf(folder, target, title, edition.fonts)
    # Keep the printed page beside the PDF, where tests/browser/test_pdf.py reads it.
    shutil.copyfile(folder / "print.html", OUT / f"{edition.name}.html")
    from pypdf import PdfReader

    report.update(edition=edition.name, language=edition.language, toc=edition.toc,
                  pdf=str(target.relative_to(ROOT)), pages=len(PdfReader(target).pages),
                  build_seconds=round(build_seconds, 1),
                  print_seconds=round(time.perf_counter() - start, 1),
                  load_average=round(os.getloadavg()[0], 2))
    _atomic_write_bytes(OUT / f"{edition.name}.json",
                        (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    return report


#: What the printing needs and how to get it (Debian's package, never a downloaded browser).
NO_CHROMIUM = "make pdf needs Debian's chromium (apt-get install chromium fonts-noto-cjk)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true",
                        help="print each edition's existing single page without rebuilding it")
    parser.add_argument("--skip-without-chromium", action="store_true",
                        help="(make test) without chromium, print nothing and succeed, as the "
                             "browser tests skip; where the variable CI is set, fail instead")
    args = parser.parse_args(argv)
    if shutil.which("chromium") is None:
        if args.skip_without_chromium and not os.environ.get("CI"):
            print(f"make pdf: skipped, no PDF printed: {NO_CHROMIUM}; the PDF tests of the "
                  "browser stage are skipped too")
            return 0
        raise SystemExit(NO_CHROMIUM)
    OUT.mkdir(parents=True, exist_ok=True)
    # The builds one after the other (Sphinx), then the editions printed at the same time: each
    # print keeps one Chromium renderer busy, on a core of its own where there are two.
    built = []
    for edition in EDITIONS:
        start = time.perf_counter()
        folder = (build_single_page(edition) if not args.no_build
                  else edition.build_root / "_build" / "singlehtml")
        built.append((edition, folder, time.perf_counter() - start))
    with ThreadPoolExecutor(max_workers=len(built)) as pool:
        reports = list(pool.map(lambda job: print_edition(*job), built))
    for report in reports:
        print(f"{report['pdf']}: {report['pages']} pages, single-page build "
              f"{report['build_seconds']} s, printing {report['print_seconds']} s "
              f"(load average {report['load_average']})")
        if report["blocked_requests"]:
            print(f"  {len(report['blocked_requests'])} requests to other hosts were blocked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
