"""Every page of the built book, opened in headless Chromium as a reader would open it.

Each page is loaded once (from 127.0.0.1, with every request to any other host blocked and
recorded) and what the reader would meet is collected: console errors, failed requests, the
rendered mathematics, the images, the exercise solutions (collapsed until clicked), the launch
buttons and the links; then, on the same page, the issue and edit buttons, the width of every
display equation, formula and table and of the page at 1280 px, every figure's smallest text as
shown, the table-of-contents toggle at 1280 px, and, after narrowing the page to a phone's 390 px,
the widths and the figures' text again and both sidebar toggles; on a Chinese page, the
furniture's strings and any Chinese set in italics. The tests below then judge one aspect each, so
a failure names both the page and what is wrong with it. One page of each edition is photographed
at 390 px with its table of contents open (`_build/screenshots/phone-sidebar__*.png`), one chapter
page in light and dark mode, and, with ``ATTN_SCREENSHOTS=1``, every chapter page in full, for
review.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, Quiet, html_dir, is_foreign

#: Folders of the HTML output that hold assets, not pages.
ASSET_DIRS = {"_static", "_sources", "_images", "_panels_static"}


def _redirect_target(page: str) -> str | None:
    """Where a redirect page (``<meta http-equiv="Refresh" content="0; url=...">``) points."""
    text = (html_dir() / page).read_text(encoding="utf-8", errors="replace")
    match = re.search(r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', text, re.IGNORECASE)
    return match.group(1) if match else None


def _pages() -> list[str]:
    root = html_dir()
    if not root.is_dir():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.html")
                  if not ASSET_DIRS & set(p.relative_to(root).parts))


#: Every page a reader can land on; redirect pages (the root index.html) have their own test.
PAGES = [p for p in _pages() if _redirect_target(p) is None]
#: Pages made from the book's sources (not the index redirect, the search page or the index).
CHAPTER_PAGES = [p for p in PAGES if p.startswith("book/")]


def source_of(page: str) -> Path | None:
    """The source file (.md or .ipynb) a page of the book was built from."""
    stem = ROOT / page.removesuffix(".html")
    for suffix in (".ipynb", ".md"):
        if stem.with_suffix(suffix).is_file():
            return stem.with_suffix(suffix)
    return None


def toc_path() -> Path:
    """The table of contents the book was built from (ATTN_BOOK_TOC for a private build)."""
    return Path(os.environ.get("ATTN_BOOK_TOC", ROOT / "_toc.yml"))


def prose_of(source: Path) -> str:
    """The text a page's maths can come from: markdown cells, or the page less its code blocks."""
    text = source.read_text(encoding="utf-8")
    if source.suffix == ".ipynb":
        return "\n".join("".join(c["source"]) for c in json.loads(text)["cells"]
                         if c["cell_type"] == "markdown")
    return re.sub(r"^(`{3,})(?!\{)[^\n]*\n.*?^\1", "", text, flags=re.MULTILINE | re.DOTALL)


@cache
def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def reader_notebook(notebook: Path) -> str:
    """The reader notebook a button delivers for a book notebook: notebooks/<path below book/>."""
    return "notebooks/" + str(notebook.relative_to(ROOT / "book"))


def launch_urls(notebook: Path) -> dict[str, str]:
    """Binder and Colab addresses of a notebook's reader notebook (repository from _config.yml)."""
    cfg = config()
    repo = urllib.parse.urlparse(cfg["repository"]["url"]).path.strip("/")
    branch = cfg["repository"].get("branch", "main")
    book_path = (cfg["repository"].get("path_to_book") or "").strip("/")
    path = "/".join(p for p in (book_path, reader_notebook(notebook)) if p)
    launch = cfg["launch_buttons"]
    tree = "lab/tree" if launch.get("notebook_interface") == "jupyterlab" else "tree"
    binder, colab = launch["binderhub_url"].rstrip("/"), launch["colab_url"].rstrip("/")
    return {
        "binder": f"{binder}/v2/gh/{repo}/{branch}?urlpath={tree}/{path}",
        "colab": f"{colab}/github/{repo}/blob/{branch}/{path}",
    }


@cache
def ids_of(html_file: Path) -> frozenset[str]:
    """Every id (and old-style anchor name) in an HTML file of the built book."""
    text = html_file.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\s(?:id|name)="([^"]*)"', text))


@dataclass
class Visit:
    """What a reader met on one page."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    math_total: int = 0
    math_unrendered: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    mathjax_files: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    solutions: list[dict] = field(default_factory=list)
    hidden_cells: list[dict] = field(default_factory=list)
    answers_visible: list[str] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    final_url: str = ""
    #: The theme's "open an issue" and "suggest an edit" buttons: {label: {href, title, text}}.
    feedback: dict = field(default_factory=dict)
    #: Widths measured at WIDE and at PHONE: {width: {document, viewport, equations, inline}}.
    widths: dict = field(default_factory=dict)
    #: At PHONE: {"primary"/"secondary": {opened, closed_by_backdrop}}, or None for a toggle the
    #: page does not show; at WIDE: {"wide": {hidden, shown_again}} for the table of contents.
    toggles: dict = field(default_factory=dict)
    #: On a Chinese page: the page's language, furniture strings with English words in them, and
    #: Chinese text set in italics.
    chinese: dict = field(default_factory=dict)
    #: On a page with figures, in the theme's dark mode: the theme it showed, how many figures
    #: were measured, and each figure whose background was not light (see ``_dark_figures``).
    dark: dict = field(default_factory=dict)
    #: Every figure's smallest text as shown at PHONE: {width: [figure, ...]}
    #: (_FIGURE_TEXT_JS; judged by test_figure_text_is_at_least_9_px).
    figure_text: dict = field(default_factory=dict)


# Runs in the page: what the maths became, and every image.
_COLLECT_JS = """() => {
  const maths = [...document.querySelectorAll('span.math, div.math')];
  const unrendered = maths.filter(m => !m.querySelector('mjx-container svg'))
                          .map(m => m.textContent.slice(0, 80));
  const errors = [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
                   .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80));
  const images = [...document.images].map(img => ({
      src: img.currentSrc || img.src, alt: (img.getAttribute('alt') || '').trim(),
      complete: img.complete, width: img.naturalWidth}));
  const hrefs = [...document.querySelectorAll('a[href]')].map(a => a.href);
  return {total: maths.length, unrendered, errors, images, hrefs};
}"""

# checkVisibility() sees what a closed <details> hides (content-visibility); offsetWidth does not.
_VISIBLE_JS = """el => el.checkVisibility({visibilityProperty: true, opacityProperty: true})
                   && el.getClientRects().length > 0"""
# Before any click: the executed outputs that print a checker's verdict on the book's solution.
_VISIBLE_ANSWERS_JS = """() => [...document.querySelectorAll('.cell_output')]
  .filter(o => o.textContent.includes('Correct:')
               && o.checkVisibility({visibilityProperty: true, opacityProperty: true})
               && o.getClientRects().length > 0)
  .map(o => o.textContent.trim().slice(0, 100))"""
#: How long a click may take to show what it opens (the toggle animates for a fraction of this).
_SHOW_TIMEOUT_MS = 3000


def _shown_after_click(page, element) -> bool:
    """Whether `element` becomes visible within _SHOW_TIMEOUT_MS of a click (polled, not slept)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(_VISIBLE_JS, arg=element.element_handle(),
                               timeout=_SHOW_TIMEOUT_MS)
    except PlaywrightTimeout:
        return False
    return True


def _solution_states(page) -> list[dict]:
    """Each exercise solution: is its body hidden at first, and shown once its title is clicked?"""
    states = []
    for solution in page.locator("div.solution").all():
        body = solution.locator(":scope > section, :scope > :not(.admonition-title)").first
        state = {"id": solution.get_attribute("id"),
                 "hidden_before": not body.evaluate(_VISIBLE_JS)}
        # The chevron button in the title. (sphinx-togglebutton 0.4.5 also opens the solution on
        # a click on the title's words, but a click on the "Exercise n" link inside the title
        # raises "button is not defined" in its handler and opens nothing.)
        solution.locator(":scope > .admonition-title .toggle-button").click()
        state["shown_after"] = _shown_after_click(page, body)
        states.append(state)
    return states


def _hidden_cell_states(page) -> list[dict]:
    """Notebook cells tagged `solution`: their code, and the output of the check run on it
    (book/_ext/exercise_checks.py moves it there), stay hidden until the summary is clicked."""
    states = []
    for cell in page.locator("div.cell.tag_solution").all():
        code = cell.locator(".cell_input").first
        check = cell.locator(".cell_output")
        state = {"hidden_before": not code.evaluate(_VISIBLE_JS),
                 "summary": cell.locator("summary").first.inner_text().strip(),
                 "check": check.first.text_content().strip() if check.count() else None}
        cell.locator("summary").first.click()
        state["shown_after"] = _shown_after_click(page, code)
        if check.count():
            state["check_shown_after"] = _shown_after_click(page, check.first)
        states.append(state)
    return states


#: Set (``ATTN_SCREENSHOTS=1 make browser``): a full-page screenshot of every chapter page for
#: review. Off by default: nothing asserts on them, and on two cores they cost about a minute.
SCREENSHOTS_VARIABLE = "ATTN_SCREENSHOTS"


def _screenshot_path(page: str) -> Path:
    name = page.removesuffix(".html").replace("/", "__") + ".png"
    return html_dir().parent / "screenshots" / name


# --------------------------------------------------------------------------------------------
# Page furniture and widths (measured on the page already loaded, after its solutions are open)
# --------------------------------------------------------------------------------------------

#: The desktop width every page is loaded at, and the phone width it is then narrowed to.
WIDE, PHONE = 1280, 390
#: The Chinese edition's folder, and one page of each edition photographed at PHONE with its
#: table of contents open (_build/screenshots/phone-sidebar__*.png).
ZH = "zh_CN/"
PHONE_SHOTS = {"book/ch2_se/se.html", f"{ZH}book/ch2_se/se.html"}
#: Chinese pages made by a template alone, all furniture (the proof index lists labels).
TEMPLATE_PAGES = {f"{ZH}search.html", f"{ZH}genindex.html"}

_FEEDBACK_JS = """() => Object.fromEntries(
  ['source-issues-button', 'source-edit-button'].map(label => {
    const a = document.querySelector(`a.btn-${label}`);
    // Bootstrap moves a tooltip's title to data-bs-original-title.
    return [label, a && {href: a.href, text: a.textContent.trim(),
                         title: a.getAttribute('title')
                                || a.getAttribute('data-bs-original-title') || ''}];
  }))"""

# Every display equation (MathJax's container inside Sphinx's div.math): how wide it is, how much
# of it shows, whether what does not show can be scrolled to, whether its start is cut off (a
# centred equation overflowing to the left) and whether its number covers it. Every inline formula
# drawn wider than its box where the box does not scroll, every table wider than its container, and
# the elements that stick out of the page, if any (none is inside a box that clips or scrolls).
_WIDTHS_JS = """() => {
  const root = document.documentElement;
  const equations = [...document.querySelectorAll('div.math')].map((box, i) => {
    const jax = box.querySelector('mjx-container');
    const number = box.querySelector('.eqno');
    const name = (number && number.textContent.trim()) || box.id || `display maths ${i + 1}`;
    if (!jax) return {name, rendered: false};
    const j = jax.getBoundingClientRect(), b = box.getBoundingClientRect();
    const svg = jax.querySelector('svg');
    const s = svg ? svg.getBoundingClientRect() : j;
    const n = number && number.getBoundingClientRect();
    return {name, rendered: true, shown: j.width > 0,
            scroll: jax.scrollWidth, client: jax.clientWidth,
            overflow: getComputedStyle(jax).overflowX,
            box_scroll: box.scrollWidth, box_client: box.clientWidth,
            box_overflow: getComputedStyle(box).overflowX,
            cut_at_start: s.left < j.left - 1,
            covered_by_number: !!n && n.width > 0 && n.left < j.right - 1 && n.right > j.left + 1,
            off_screen: b.right > root.clientWidth + 1 || (!!n && n.right > b.right + 1)};
  });
  const inline = [...document.querySelectorAll('span.math')].filter(m => {
      const svg = m.querySelector('mjx-container svg');
      return svg && m.getClientRects().length
             && svg.getBoundingClientRect().width > m.clientWidth + 1;
    }).map(m => ({text: m.textContent.trim().slice(0, 50), overflow: getComputedStyle(m).overflowX,
                  width: Math.round(m.querySelector('svg').getBoundingClientRect().width),
                  client: m.clientWidth}));
  const scroller = t => ['auto', 'scroll'].includes(getComputedStyle(t).overflowX)
    ? t : t.parentElement;  // a table that scrolls itself, or its container
  const tables = [...document.querySelectorAll('article table')]
    .filter(t => t.getClientRects().length && scroller(t).scrollWidth
                 > scroller(t).clientWidth + 1)
    .map(t => ({head: t.textContent.trim().slice(0, 40), width: scroller(t).scrollWidth,
                client: scroller(t).clientWidth,
                output: !!t.closest('.cell_output, table.attention-ledger'),
                overflow: getComputedStyle(scroller(t)).overflowX}));
  const tablesOffScreen = [...document.querySelectorAll('article table')]
    .filter(t => t.getClientRects().length
                 && scroller(t).getBoundingClientRect().right > root.clientWidth + 1)
    .map(t => t.textContent.trim().slice(0, 40));
  const unclipped = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== 'visible') return false;
    return true;
  };
  const wide = root.scrollWidth <= root.clientWidth ? [] : [...document.querySelectorAll('body *')]
    .filter(el => el.getClientRects().length && el.getBoundingClientRect().right
                  > root.clientWidth + 1 && unclipped(el))
    .slice(0, 5).map(el => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`);
  return {document: root.scrollWidth, viewport: root.clientWidth, equations, inline, tables,
          tables_off_screen: tablesOffScreen, wide};
}"""

# The Chinese page's furniture: the text outside the article (sidebars, header, footer) less the
# page titles, section titles and the "English" link, or the whole page where the page is made by
# a template (search, index); the collapsed cells' summaries; the tooltips, labels and placeholders
# of the furniture (outside the article, and its buttons, summaries and heading links inside).
# Then every run of Chinese text drawn in italics.
_CHINESE_JS = r"""whole => {
  const cjk = /[\u3400-\u4dbf\u4e00-\u9fff]/;
  // (page and section titles: the navigation's links, the page's contents, the print-only
  // title and contents in .onlyprint; the search's results)
  const skip = 'script, style, noscript, code, pre, mjx-container, .language-switch, '
    + 'nav.bd-docs-nav a, .bd-toc-nav, nav.page-toc, .prev-next-title, .bd-breadcrumbs, '
    + '.onlyprint, #search-results, dialog:not([open]) *';
  const strings = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement, text = node.textContent.trim();
    if (!text || el.closest(skip)) continue;
    if (whole || !el.closest('article.bd-article') || el.closest('details.hide > summary'))
      strings.add(text);
  }
  const inArticle = 'a.headerlink, button, summary, .btn, [data-tooltip], [data-toggle-hint]';
  const names = ['title', 'data-bs-original-title', 'aria-label', 'placeholder', 'data-tooltip',
                 'data-toggle-hint'];  // (Bootstrap moves a tooltip's title to the second)
  for (const el of document.body.querySelectorAll(names.map(n => `[${n}]`).join(', '))) {
    if (el.closest('script, mjx-container, .language-switch, .onlyprint')) continue;
    if (!whole && el.closest('article.bd-article') && !el.matches(inArticle)) continue;
    for (const name of names)
      if (el.getAttribute(name)) strings.add(el.getAttribute(name).trim());
  }
  const italic = [];
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    const el = node.parentElement;
    if (!cjk.test(node.textContent) || !el.getClientRects().length) continue;
    if (getComputedStyle(el).fontStyle !== 'normal')
      italic.push(node.textContent.trim().slice(0, 40));
  }
  return {lang: document.documentElement.lang, strings: [...strings], italic};
}"""

#: Latin-script words a Chinese page's furniture may show: names (the book's, the services', the
#: licences', the files'), file types, key names, the maths that sits in captions.
FURNITURE_NAMES = {
    "Attention", "Derived", "GitHub", "Colab", "Binder", "JupyterHub", "PDF", "pdf", "ipynb", "md",
    "MIT", "CC", "BY", "LICENSE", "THIRD_PARTY_NOTICES", "attn_lessons", "JavaScript", "Ctrl",
    "Sphinx", "Jupyter", "Book",
}
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_]*[A-Za-z]")


def english_in(strings: list[str]) -> list[str]:
    """The strings among `strings` that hold a Latin-script word not in FURNITURE_NAMES.

    >>> english_in(["作者：Attention, Derived 的贡献者", "Toggle primary sidebar", "打印为 PDF"])
    ['Toggle primary sidebar']
    """
    return [s for s in strings if set(_LATIN_WORD.findall(s)) - FURNITURE_NAMES]


# Clicks a sidebar toggle from the page (as a tap would: the button's click handlers run) and
# reports whether its dialog opened, and where the dialog is (the backdrop is beside it). Returns
# null when the page shows no such toggle and has no such sidebar.
_OPEN_JS = """async kind => {
  const frame = () => new Promise(resolve => requestAnimationFrame(() => resolve()));
  const dialog = document.getElementById(`pst-${kind}-sidebar-modal`);
  const sidebar = document.getElementById(`pst-${kind}-sidebar`);
  const button = [...document.querySelectorAll(`button.${kind}-toggle`)]
    .find(b => b.checkVisibility() && b.getClientRects().length);
  if (!button) return sidebar && sidebar.textContent.trim() ? {opened: false, button: false}
                                                           : null;
  button.click();
  await frame();
  const r = dialog ? dialog.getBoundingClientRect() : null;
  return {opened: !!dialog && dialog.open, left: r && r.left, right: r && r.right};
}"""
_IS_OPEN_JS = "kind => document.getElementById(`pst-${kind}-sidebar-modal`).open"


def _open_and_close(page, kind: str) -> dict | None:
    """A sidebar toggle opens its dialog, and a tap on the backdrop beside it closes it (the
    dialog is modal: the toggle itself is behind the backdrop while it is open)."""
    opened = page.evaluate(_OPEN_JS, kind)
    if opened is None or not opened["opened"]:
        return opened
    # In the middle of the wider strip of backdrop beside the dialog.
    width = page.viewport_size["width"]
    left, right = opened["left"], width - opened["right"]
    page.mouse.click(left / 2 if left > right else width - right / 2,
                     page.viewport_size["height"] / 2)
    return {"opened": True, "closed_by_backdrop": not page.evaluate(_IS_OPEN_JS, kind)}


def _toggles(page, page_name: str) -> dict:
    """At PHONE: the visible primary and secondary sidebar toggles open and close their sidebars."""
    states = {kind: _open_and_close(page, kind) for kind in ("primary", "secondary")}
    if page_name in PHONE_SHOTS and (states["primary"] or {}).get("opened"):
        page.evaluate(_OPEN_JS, "primary")
        page.wait_for_timeout(300)  # the dialog's transition, for the picture
        shot = _screenshot_path(page_name)
        shot = shot.with_name(f"phone-sidebar__{shot.name}")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot))
        page.keyboard.press("Escape")
    return states


# At WIDE: the visible table-of-contents toggle hides the sidebar, and a second click shows it.
_HIDE_AND_SHOW_JS = """async () => {
  const frame = () => new Promise(resolve => requestAnimationFrame(() => resolve()));
  const sidebar = document.getElementById('pst-primary-sidebar');
  const shown = () => sidebar.checkVisibility()
                      && !sidebar.classList.contains('pst-sidebar-hidden');
  const button = [...document.querySelectorAll('button.primary-toggle')]
    .find(b => b.checkVisibility() && b.getClientRects().length);
  if (!button || !sidebar || !shown()) return {hidden: false, shown_again: false};
  button.click();
  await frame();
  const hidden = !shown();
  button.click();
  await frame();
  return {hidden, shown_again: shown()};
}"""

# After a change of width: once the themes' transitions have ended (the sidebars moving off the
# screen), a second resize event has every script measure the settled layout, as if the page had
# been opened at this width.
_SETTLE_JS = """async () => {
  const frame = () => new Promise(resolve => requestAnimationFrame(() => resolve()));
  await frame();
  await Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)));
  window.dispatchEvent(new Event('resize'));
  await frame();
  await frame();
}"""


# Every figure in the article, as shown: an image's displayed and natural widths (its smallest text
# is in its file: a PNG's record, measured from the file by the test) and, for an SVG image, its
# smallest text measured here: the file is drawn in a shadow root (its <style> kept to itself) at
# the image's displayed size, and each text's font size is multiplied by its scale on the screen.
# Then the page's own SVG drawings (the interactive figures; MathJax's are left out), measured the
# same way. Text of a drawing is every <text> or <tspan> with characters of its own.
_FIGURE_TEXT_JS = r"""async () => {
  const shown = el => el.getClientRects().length > 0
    && el.checkVisibility({visibilityProperty: true, opacityProperty: true});
  const smallestIn = root => {
    let smallest = null;
    for (const el of root.querySelectorAll('text, tspan')) {
      const own = [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE
                                               && n.textContent.trim());
      const m = el.getScreenCTM();
      if (!own || !m || !el.getClientRects().length) continue;
      const size = parseFloat(getComputedStyle(el).fontSize) * Math.hypot(m.a, m.b);
      smallest = smallest === null ? size : Math.min(smallest, size);
    }
    return smallest;
  };
  const article = document.querySelector('article.bd-article');
  if (!article) return [];
  const figures = [];
  for (const img of article.querySelectorAll('img')) {
    if (!shown(img)) continue;  // e.g. an interactive figure's picture while the figure is live
    const r = img.getBoundingClientRect();
    const src = img.currentSrc || img.src;
    const figure = {kind: 'image', src, width: r.width, natural: img.naturalWidth,
                    alt: (img.getAttribute('alt') || '').slice(0, 60)};
    if (/\.svg([?#]|$)/i.test(src)) {
      const doc = new DOMParser().parseFromString(await (await fetch(src)).text(),
                                                  'image/svg+xml');
      const host = document.createElement('div');
      host.style.cssText = `position: absolute; left: -30000px; top: 0; width: ${r.width}px`;
      const svg = document.importNode(doc.documentElement, true);
      svg.setAttribute('width', r.width);
      svg.setAttribute('height', r.height);
      host.attachShadow({mode: 'open'}).appendChild(svg);
      document.body.appendChild(host);
      figure.smallest = smallestIn(svg);
      host.remove();
    }
    figures.push(figure);
  }
  for (const svg of article.querySelectorAll('svg')) {
    if (svg.closest('mjx-container') || svg.parentElement.closest('svg') || !shown(svg)) continue;
    const smallest = smallestIn(svg);
    const holder = svg.closest('figure[id], [id]');
    if (smallest !== null)
      figures.push({kind: 'drawing', src: holder ? `#${holder.id}` : 'an SVG drawing',
                    width: svg.getBoundingClientRect().width, smallest});
  }
  return figures;
}"""


def _furniture_and_widths(page, page_name: str, result: Visit) -> None:
    result.feedback = page.evaluate(_FEEDBACK_JS)
    if page_name.startswith(ZH):
        result.chinese = page.evaluate(_CHINESE_JS, page_name in TEMPLATE_PAGES)
    result.widths[WIDE] = page.evaluate(_WIDTHS_JS)
    result.toggles["wide"] = page.evaluate(_HIDE_AND_SHOW_JS)
    page.set_viewport_size({"width": PHONE, "height": 844})
    page.evaluate(_SETTLE_JS)
    result.widths[PHONE] = page.evaluate(_WIDTHS_JS)
    result.figure_text[PHONE] = page.evaluate(_FIGURE_TEXT_JS)
    result.toggles.update(_toggles(page, page_name))


@pytest.fixture(scope="session")
def visit(browser, server):
    """visit(page) -> Visit, each page loaded once per session, one after another in one tab.

    A reader following the book's links stays in one tab, and so do these visits: a new tab for
    each page cost about 1.2 CPU-s more per page on the CI's two cores (Chromium started a
    renderer and compiled MathJax's bundle anew each time). With the cache on as well (below),
    the English pages took 188 CPU-s instead of 271, the Chinese 157 instead of 213.
    Before each page the tab is put back as a new one starts: 1280 px wide, light, the mouse at
    the corner. Nothing is intercepted (Playwright's request routing would turn off Chromium's
    cache): the browser resolves no host but the book's (``BLOCK_OTHER_HOSTS``), and every
    request to another host is recorded from the page's events.
    """
    host = urllib.parse.urlparse(server).netloc
    context = browser.new_context(viewport={"width": WIDE, "height": 900}, service_workers="block")
    visits: dict[str, Visit] = {}
    tab: dict = {}  # "page": the tab, "quiet": its Quiet, "result": the Visit it is on now

    def _open_tab():
        page = context.new_page()
        tab.update(page=page, quiet=Quiet(page), result=None)

        def record(event):  # each event is credited to the visit under way, if any
            return lambda item: tab["result"] is not None and event(tab["result"], item)

        def request(result, r):
            if is_foreign(r.url, host):
                result.foreign_requests.append(r.url)
            if "/mathjax/" in r.url:
                result.mathjax_files.append(r.url)

        page.on("request", record(request))
        page.on("console", record(lambda result, m: m.type == "error" and result.console_errors
                                  .append(f"{m.text} ({m.location.get('url', '')}:"
                                          f"{m.location.get('lineNumber', '')})")))
        page.on("pageerror", record(lambda result, e: result.console_errors
                                    .append(f"uncaught: {e}")))
        page.on("requestfailed", record(
            lambda result, r: urllib.parse.urlparse(r.url).netloc == host
            and result.failed_requests.append(f"{r.url} ({r.failure})")))
        page.on("response", record(lambda result, r: r.status >= 400 and result.failed_requests
                                   .append(f"{r.url} (HTTP {r.status})")))

    def _load(page_name: str, result: Visit) -> None:
        page, quiet = tab["page"], tab["quiet"]
        page.set_viewport_size({"width": WIDE, "height": 900})
        page.emulate_media(media="screen", color_scheme="light")
        page.mouse.move(0, 0)
        tab["result"] = result
        page.goto(result.url, wait_until="load")
        redirect = _redirect_target(page_name)
        if redirect is not None:  # the root index.html only forwards the reader to the book
            page.wait_for_url(urllib.parse.urljoin(result.url, redirect))
            page.wait_for_load_state("load")
        result.final_url = page.url
        page.evaluate("""() => window.MathJax && MathJax.startup && MathJax.startup.promise
                             ? MathJax.startup.promise.then(() => true) : false""")
        quiet.wait()
        facts = page.evaluate(_COLLECT_JS)
        result.math_total = facts["total"]
        result.math_unrendered = facts["unrendered"]
        result.math_errors = facts["errors"]
        result.images = facts["images"]
        result.hrefs = facts["hrefs"]
        if page_name in CHAPTER_PAGES and os.environ.get(SCREENSHOTS_VARIABLE):
            shot = _screenshot_path(page_name)
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        result.answers_visible = page.evaluate(_VISIBLE_ANSWERS_JS)
        result.solutions = _solution_states(page)
        result.hidden_cells = _hidden_cell_states(page)
        if result.solutions or result.hidden_cells:
            page.wait_for_timeout(500)  # let anything a click asked for arrive, or fail, here
        if page_name in DARK_PAGES:
            result.dark = _dark_figures(page)
        _furniture_and_widths(page, page_name, result)  # last: it narrows the page to PHONE
        quiet.wait(quiet_s=0.1)  # nothing of this page is left to arrive during the next one
        tab["result"] = None

    def _visit(page_name: str) -> Visit:
        if page_name in visits:
            return visits[page_name]
        if not tab:
            _open_tab()
        result = Visit(url=server + page_name)
        try:
            _load(page_name, result)
        except BaseException:  # the tab's state is unknown: the next page gets a new one
            tab.pop("page").close()
            tab.clear()
            raise
        visits[page_name] = result
        return result

    yield _visit
    context.close()


def test_the_book_has_pages():
    assert CHAPTER_PAGES, f"no page of the book found in {html_dir()}: run `make book` first"


def test_the_front_page_forwards_to_the_first_page_of_the_book(visit):
    root = yaml.safe_load(toc_path().read_text(encoding="utf-8"))["root"]
    assert (html_dir() / "index.html").is_file(), "the built book has no index.html"
    expected = visit("index.html").url.rsplit("/", 1)[0] + f"/{root.removesuffix('.md')}.html"
    assert visit("index.html").final_url == expected


def _toc_files(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k in ("file", "root")] + [
            f for k, v in node.items() if k not in ("file", "root") for f in _toc_files(v)]
    if isinstance(node, list):
        return [f for item in node for f in _toc_files(item)]
    return []


def test_every_toc_entry_was_built():
    entries = _toc_files(yaml.safe_load(toc_path().read_text(encoding="utf-8")))
    missing = [e for e in entries
               if f"{e.removesuffix('.md').removesuffix('.ipynb')}.html" not in PAGES]
    assert not missing, f"in the table of contents but not in {html_dir()}: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_no_console_errors(visit, page):
    assert not visit(page).console_errors


@pytest.mark.parametrize("page", PAGES)
def test_no_failed_requests(visit, page):
    assert not visit(page).failed_requests


@pytest.mark.parametrize("page", PAGES)
def test_works_offline(visit, page):
    """Nothing is fetched from any host but the book's own (no CDN, no thebe, no fonts)."""
    assert not visit(page).foreign_requests


def test_other_hosts_are_unreachable_and_their_requests_are_seen(browser, server):
    """What test_works_offline rests on: in this browser a request to another host fails at once
    (BLOCK_OTHER_HOSTS: no name resolves but the book's server), and the page's request event,
    from which the visits record foreign requests, still reports it. The other host here is the
    book's own server under the name "localhost", which without the rule would answer."""
    icon = server.replace("127.0.0.1", "localhost") + "_static/favicon.svg"
    context = browser.new_context(service_workers="block")
    try:
        page = context.new_page()
        seen, failed = [], []
        page.on("request", lambda r: seen.append(r.url))
        page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
        page.set_content(f'<img src="{server}_static/favicon.svg" alt=""><img src="{icon}" alt="">',
                         wait_until="load")
        assert sorted(seen) == sorted([server + "_static/favicon.svg", icon]), seen
        assert failed == [f"{icon} net::ERR_NAME_NOT_RESOLVED"], failed
    finally:
        context.close()


_ICON = re.compile(r'<link rel="icon" href="([^"]+)"')


@pytest.mark.parametrize("page", PAGES)
def test_the_page_names_its_icon(page, book_html):
    """Every page names the book's icon, a file of the build: without one a browser asks the
    server for /favicon.ico, which the book does not have (a 404 in the reader's console)."""
    icons = _ICON.findall((book_html / page).read_text(encoding="utf-8"))
    assert len(icons) == 1, f"icons named: {icons}"
    assert (book_html / page).parent.joinpath(icons[0]).resolve().is_file(), icons[0]


@pytest.mark.parametrize("page", PAGES)
def test_mathematics_renders_from_the_local_bundle(visit, page):
    seen = visit(page)
    assert not seen.math_unrendered, f"maths left as TeX: {seen.math_unrendered}"
    assert not seen.math_errors, f"TeX errors: {seen.math_errors}"
    if seen.math_total:
        # Only the single bundle: nothing loaded lazily (menu, accessibility, fonts).
        assert [urllib.parse.urlparse(u).path.rsplit("/", 1)[-1] for u in seen.mathjax_files] \
            == ["tex-svg-full.js"], seen.mathjax_files


@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_pages_with_maths_in_their_source_show_rendered_maths(visit, page):
    source = source_of(page)
    assert source is not None, f"no source found for {page}"
    if re.search(r"\$[^$\s][^$]*\$|\$\$|\{math\}", prose_of(source)):
        assert visit(page).math_total > 0, "the source has maths, the page shows none"


@pytest.mark.parametrize("page", PAGES)
def test_images_load_and_have_alt_text(visit, page):
    images = visit(page).images
    broken = [i["src"] for i in images if not (i["complete"] and i["width"] > 0)]
    no_alt = [i["src"] for i in images if not i["alt"]]
    assert not broken, f"images that did not load: {broken}"
    assert not no_alt, f"images without alt text: {no_alt}"


@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_exercise_solutions_are_collapsed_until_clicked(visit, page):
    source = source_of(page)
    expected = len(re.findall(r"^[`:]{3,}\{solution\}", source.read_text(encoding="utf-8"),
                              flags=re.MULTILINE)) if source.suffix == ".md" else None
    solutions = visit(page).solutions
    if expected is not None:
        assert len(solutions) == expected, (
            f"{expected} solutions in the source, {len(solutions)} on the page")
    for state in solutions:
        assert state["hidden_before"], f"solution {state['id']} is visible before any click"
        assert state["shown_after"], f"solution {state['id']} stays hidden after a click"


@pytest.mark.parametrize("page", [p for p in CHAPTER_PAGES if str(source_of(p)).endswith(".ipynb")])
def test_notebook_solution_cells_are_collapsed_until_clicked(visit, page):
    nb = json.loads(source_of(page).read_text(encoding="utf-8"))
    expected = sum("solution" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]
                   if c["cell_type"] == "code")
    cells = visit(page).hidden_cells
    assert len(cells) == expected, (
        f"{expected} solution cells in the notebook, {len(cells)} on the page")
    for i, state in enumerate(cells):
        assert state["hidden_before"], f"solution cell {i} shows its code before any click"
        assert state["shown_after"], f"solution cell {i} stays hidden after a click"


@pytest.mark.parametrize("page", [p for p in CHAPTER_PAGES if str(source_of(p)).endswith(".ipynb")])
def test_a_checkers_verdict_shows_only_inside_its_solution(visit, page):
    """No "Correct: ..." under an empty stub: each check's output is inside the collapsed
    solution (named after its exercise), hidden until the summary is clicked, shown after."""
    seen = visit(page)
    assert not seen.answers_visible, f"verdicts shown before any click: {seen.answers_visible}"
    for i, state in enumerate(seen.hidden_cells):
        assert state["check"] and state["check"].startswith("Correct:"), (
            f"solution cell {i} does not hold its check's output: {state['check']!r}")
        assert state.get("check_shown_after"), f"solution cell {i}: the check stays hidden"
        assert re.fullmatch(r"Solution to Exercise (?:\d+|[A-Z])\.\d+|Solution",
                            state["summary"]), (
            f"solution cell {i} is summarised {state['summary']!r}")


@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_launch_buttons_open_this_pages_notebook(visit, page):
    source = source_of(page)
    hrefs = visit(page).hrefs
    launch = [h for h in hrefs if any(urllib.parse.urlparse(h).netloc == urllib.parse.urlparse(
        config()["launch_buttons"][key]).netloc for key in ("binderhub_url", "colab_url"))]
    if source.suffix != ".ipynb":
        assert not launch, f"a page made from markdown has launch buttons: {launch}"
        return
    expected = launch_urls(source)
    for kind, url in expected.items():
        assert url in hrefs, f"no {kind} button for {source.relative_to(ROOT)} (expected {url})"
    assert sorted(set(launch)) == sorted(expected.values()), f"other launch links: {launch}"


@pytest.mark.parametrize("page", [p for p in CHAPTER_PAGES if str(source_of(p)).endswith(".ipynb")])
def test_download_button_delivers_the_reader_notebook(visit, page, server, book_html):
    """The page's download button serves the committed reader notebook, not the MyST source."""
    reader = reader_notebook(source_of(page))
    served = "_notebooks/" + reader.removeprefix("notebooks/")
    hrefs = [h for h in visit(page).hrefs if h.startswith(server) and h.endswith(".ipynb")]
    assert [h.removeprefix(server) for h in hrefs] == [served], hrefs
    assert (book_html / served).read_bytes() == (ROOT / reader).read_bytes(), (
        f"{served} differs from the committed {reader}: run `make notebooks`")


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_and_anchors_resolve(visit, page, server, book_html):
    broken = []
    for href in visit(page).hrefs:
        if not href.startswith(server):
            continue
        parsed = urllib.parse.urlparse(href)
        path = urllib.parse.unquote(parsed.path).lstrip("/")
        target = book_html / path
        if path == "" or path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no such file)")
            continue
        fragment = urllib.parse.unquote(parsed.fragment)
        if fragment and target.suffix == ".html" and fragment not in ids_of(target):
            broken.append(f"{href} (no id {fragment!r} on {path})")
    assert not broken, "\n".join(broken)


def test_no_page_shows_the_profilers_log_lines():
    """torch's CPU profiler logs "USDT: ... profiler_start" to stderr (chapter 6's memory cells):
    the cells that use it are tagged remove-stderr, so no page of either edition shows it."""
    noisy = [page for page in PAGES if "SyncActivityProfilerHandler" in
             (html_dir() / page).read_text(encoding="utf-8", errors="replace")]
    assert not noisy, f"profiler log lines on {noisy}"


# --------------------------------------------------------------------------------------------
# Dark mode
# --------------------------------------------------------------------------------------------

#: The page captured in both colour modes, and where its two screenshots go.
MODE_PAGE = "book/ch2_se/se_lab.html"
#: Median luminance (0-255) of a figure's outer ring at or above which its background counts as
#: light and undimmed: white is 255; the theme's own dark-mode filter (brightness .8, contrast 1.2)
#: would make it about 219, the dark page itself is below 40.
LIGHT = 240


def _luminance(png: bytes):
    import io

    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)
    return rgb @ np.array([0.2126, 0.7152, 0.0722])  # (H, W, 3) -> (H, W)


def _border(lum, width: int = 3):
    """The outer ring of an element's screenshot: where a figure shows its own background."""
    import numpy as np

    return np.concatenate([lum[:width].ravel(), lum[-width:].ravel(),
                           lum[:, :width].ravel(), lum[:, -width:].ravel()])


def _figure_pages() -> list[str]:
    """Chapter pages with a figure in the article (a diagram or a notebook's plot)."""
    return [page for page in CHAPTER_PAGES
            if re.search(r'<article class="bd-article">.*?<img\s',
                         (html_dir() / page).read_text(encoding="utf-8", errors="replace"),
                         re.DOTALL)]


#: The pages whose figures are photographed in dark mode during their visit.
DARK_PAGES_LIST = _figure_pages()
DARK_PAGES = frozenset(DARK_PAGES_LIST)


# The part of an image on the screen, in the viewport's coordinates: the image's box, cut at the
# edges of the box that scrolls it, if any.
_SHOWN_PART_JS = """img => {
  const r = img.getBoundingClientRect();
  const scroller = img.closest('.book-figure-text');
  const b = scroller ? scroller.getBoundingClientRect() : r;
  const x = Math.max(r.left, b.left), y = Math.max(r.top, b.top);
  return {x, y, width: Math.min(r.right, b.right) - x, height: Math.min(r.bottom, b.bottom) - y};
}"""

_THEME_JS = "document.documentElement.dataset.theme"


def _dark_figures(page) -> dict:
    """The page switched to dark mode as a reader's system would ask for it (the theme follows
    ``prefers-color-scheme`` in its "auto" mode), each visible figure of the article photographed
    as it shows, then the page switched back to light."""
    import numpy as np
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.emulate_media(color_scheme="dark")
    try:
        page.wait_for_function(f"{_THEME_JS} === 'dark'", timeout=10_000)
    except PlaywrightTimeout:  # the test reports the theme the page shows instead
        pass
    found = {"theme": page.evaluate(_THEME_JS), "images": 0, "measured": 0, "dark": []}
    images = page.locator("article.bd-article img").all()
    found["images"] = len(images)
    for i, image in enumerate(images):
        if not image.is_visible():  # an interactive figure's picture, hidden while it is live
            continue
        image.scroll_into_view_if_needed()
        # What shows of the figure: a figure wider than the column is cut at the edge of the
        # box it scrolls in (book/_ext/figure_text.py).
        box = image.evaluate(_SHOWN_PART_JS)
        if box["width"] < 8 or box["height"] < 8:
            continue
        ring = float(np.median(_border(_luminance(page.screenshot(clip=box)))))
        found["measured"] += 1
        if ring < LIGHT:
            found["dark"].append(f"image {i} ({image.get_attribute('src')}): background "
                                 f"luminance {ring:.0f} < {LIGHT}")
    page.emulate_media(color_scheme="light")
    page.wait_for_function(f"{_THEME_JS} === 'light'", timeout=10_000)
    page.evaluate("window.scrollTo(0, 0)")
    return found


@pytest.mark.parametrize("page", DARK_PAGES_LIST)
def test_figures_keep_a_light_background_in_dark_mode(visit, page):
    """Each figure, as the reader sees it on the dark page, still has a light background.

    Measured during the page's one visit (``_dark_figures``), after its solutions were opened,
    so the figures inside solutions are measured too."""
    dark = visit(page).dark
    assert dark["theme"] == "dark", f"the page did not follow the system's dark mode: {dark}"
    assert dark["images"], "the page has figures in its source but none was found on it"
    assert not dark["dark"], "\n".join(dark["dark"])


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_one_chapter_page_captured_in_each_mode(browser, server, mode):
    """Full-page screenshots of one chapter page, light and dark, in _build/screenshots/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=mode,
                                  service_workers="block")
    try:
        page = context.new_page()
        quiet = Quiet(page)
        host = urllib.parse.urlparse(server).netloc
        page.route("**/*", lambda route: route.continue_()
                   if urllib.parse.urlparse(route.request.url).netloc == host else route.abort())
        page.goto(server + MODE_PAGE, wait_until="load")
        quiet.wait()
        assert page.evaluate("document.documentElement.dataset.theme") == mode
        shot = _screenshot_path(MODE_PAGE)
        shot = shot.with_name(f"{mode}-mode__{shot.name}")
        shot.parent.mkdir(parents=True, exist_ok=True)
        png = page.screenshot(path=str(shot), full_page=True)
        page_background = float(_luminance(png)[:, 1000:].mean())  # the right margin's colour
        if mode == "dark":
            assert page_background < 100, f"the dark page is not dark ({page_background:.0f})"
        else:
            assert page_background > 200, f"the light page is not light ({page_background:.0f})"
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# A way back from every page; the page at 1280 px and on a phone; the Chinese page's furniture
# (measured in the visit above, after the page's solutions were opened)
# --------------------------------------------------------------------------------------------

CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
CHINESE_PAGES = [p for p in PAGES if p.startswith(ZH)]


def _catalogue_of(page: str) -> str:
    """The repository path of a Chinese page's translation catalogue."""
    return f"book/locale/zh_CN/LC_MESSAGES/{page.removeprefix(ZH).removesuffix('.html')}.po"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_offers_an_issue_and_a_page_with_a_source_an_edit(visit, page):
    """"Open an issue" on every page, naming the page (and so the edition); "suggest an edit" on
    every page made from a source: the English source, or the Chinese page's catalogue."""
    repository = config()["repository"]["url"].rstrip("/")
    branch = config()["repository"].get("branch", "main")
    buttons = visit(page).feedback
    issue, edit = buttons.get("source-issues-button"), buttons.get("source-edit-button")
    assert issue, "no 'open an issue' button"
    assert issue["href"].startswith(f"{repository}/issues/new?"), issue["href"]
    title = urllib.parse.parse_qs(urllib.parse.urlparse(issue["href"]).query)["title"][0]
    assert f"/{page}" in title, f"the issue's title does not name the page: {title!r}"
    labels = [issue["text"], issue["title"]]
    if page.removeprefix(ZH).startswith("book/"):
        assert edit, "no 'suggest an edit' button"
        if page.startswith(ZH):
            path = _catalogue_of(page)
        else:
            path = str(source_of(page).relative_to(ROOT))
        assert edit["href"] == f"{repository}/edit/{branch}/{path}"
        assert (ROOT / path).is_file(), f"the edit link opens {path}, which does not exist"
        labels += [edit["text"], edit["title"]]
    if page.startswith(ZH):
        assert all(CJK.search(label) for label in labels), labels
        assert not english_in(labels), labels
    else:
        assert issue["text"] == "Open issue" and (edit is None or edit["text"] == "Suggest edit")


def _equation_faults(widths: dict, *, must_fit: bool) -> list[str]:
    faults = []
    for e in widths["equations"]:
        if not e["rendered"]:
            continue  # test_mathematics_renders_from_the_local_bundle names it
        if not e["shown"]:
            faults.append(f"{e['name']}: not displayed, so not measured")
            continue
        if must_fit and e["scroll"] > e["client"] + 1:
            faults.append(f"{e['name']}: {e['scroll']} px wide in {e['client']} px")
        if e["scroll"] > e["client"] + 1 and e["overflow"] not in ("auto", "scroll"):
            faults.append(f"{e['name']}: {e['scroll'] - e['client']} px cut off "
                          f"(overflow-x {e['overflow']}, not scrollable)")
        if e["box_scroll"] > e["box_client"] + 1 and e["box_overflow"] not in ("auto", "scroll"):
            faults.append(f"{e['name']}: its box cuts {e['box_scroll'] - e['box_client']} px off")
        if e["cut_at_start"]:
            faults.append(f"{e['name']}: its start is cut off (cannot be scrolled to)")
        if e["covered_by_number"]:
            faults.append(f"{e['name']}: the equation number is drawn over it")
        if e["off_screen"]:
            faults.append(f"{e['name']}: it or its number runs off the screen")
    for m in widths["inline"]:
        if must_fit or m["overflow"] not in ("auto", "scroll"):
            faults.append(f"inline maths {m['text']!r}: {m['width']} px drawn in {m['client']} px "
                          f"(overflow-x {m['overflow']})")
    for t in widths["tables"]:
        # A notebook's output table (per-seed records, an analysis) or the ledger's generated
        # table of sources (book/_ext/attention_ledger.py) is data: on a laptop it may scroll
        # inside its box, never be cut. A table of the page's text must fit.
        if (must_fit and not t.get("output")) or t["overflow"] not in ("auto", "scroll"):
            faults.append(f"table {t['head']!r}: {t['width']} px in {t['client']} px "
                          f"(overflow-x {t['overflow']})")
    faults += [f"table {head!r}: runs off the screen" for head in widths["tables_off_screen"]]
    return faults


@pytest.mark.parametrize("page", PAGES)
def test_every_display_equation_fits_at_1280_px(visit, page):
    """No equation, formula or table clipped or scrolled on a laptop: each fits, an equation
    beside its number (one wider than the column takes the margin: book/_ext/phone_layout.py).
    A notebook's output table wider than the column scrolls in its output box (not clipped)."""
    widths = visit(page).widths[WIDE]
    faults = _equation_faults(widths, must_fit=True)
    assert not faults, "\n".join(faults)
    assert widths["document"] <= widths["viewport"], widths["wide"]


@pytest.mark.parametrize("page", PAGES)
def test_on_a_phone_equations_scroll_and_the_page_does_not(visit, page):
    """At 390 px: an equation, formula or table wider than the screen scrolls inside its box
    (never clipped, an equation's number beside it), and nothing makes the page wider."""
    widths = visit(page).widths[PHONE]
    faults = _equation_faults(widths, must_fit=False)
    assert not faults, "\n".join(faults)
    assert widths["document"] <= widths["viewport"], (
        f"the page is {widths['document']} px wide at {widths['viewport']} px: "
        f"wider elements {widths['wide']}")


#: Figure text (issue 25): at least MIN_FIGURE_TEXT_PX CSS pixels as shown, at PHONE and at WIDE.
#: The build sizes each figure for exactly 9 px (book/_ext/figure_text.py: its smallest width is
#: rounded up to a whole pixel), and the measurement here is exact to a few hundredths of a pixel
#: (a PNG's record is rounded to 0.01 px). The tolerance is the issue's "about 9 px": it lets a
#: figure the build does not size (an interactive figure, whose width the browser lays out) fall a
#: little short, and nothing more; the failure this guards against, chart text at 5 to 7 px, is
#: far outside it.
MIN_FIGURE_TEXT_PX, FIGURE_TEXT_TOLERANCE = 9.0, 0.5


def _shown_text_px(figure: dict, server: str, book_html: Path) -> float | None:
    """A figure's smallest text as shown, in CSS px (None: the figure has no text); raises
    LookupError for a PNG that records no text size."""
    from attn_lessons.visualize import recorded_text_size

    if "smallest" in figure:  # measured in the page
        return figure["smallest"]
    path = urllib.parse.unquote(urllib.parse.urlparse(figure["src"]).path)
    if not figure["src"].startswith(server) or not path.lower().endswith(".png"):
        raise LookupError("an image that is neither a PNG of the book nor an SVG: its text "
                          "size is unknown")
    recorded = recorded_text_size(book_html / path.lstrip("/"))
    if recorded is None:
        raise LookupError(
            "a PNG that records no text size (drawn without attn_lessons.visualize.book_style, "
            "or an execution cache from before it: clear _build/.jupyter_cache; a picture of "
            "your own: record it with attn_lessons.visualize.record_text_size)")
    return None if recorded == float("inf") else recorded * figure["width"] / figure["natural"]


@pytest.mark.parametrize("width", [PHONE])
@pytest.mark.parametrize("page", PAGES)
def test_figure_text_is_at_least_9_px(visit, page, width, server, book_html):
    """Every figure's smallest text, as the reader sees it on a phone (390 px): a notebook's chart
    (its PNG records its smallest text), a page's SVG diagram, an interactive figure. A figure
    wider than the column scrolls sideways in its own box (book/_ext/figure_text.py). A desktop
    column shows every figure whole, as drawn (the rule holds below 768 px only)."""
    faults = []
    for figure in visit(page).figure_text[width]:
        name = f"{figure['kind']} {figure['src'].removeprefix(server)}"
        if figure.get("alt"):
            name += f" ({figure['alt']}...)"
        try:
            px = _shown_text_px(figure, server, book_html)
        except LookupError as error:
            faults.append(f"{name}: {error}")
            continue
        if px is not None and px < MIN_FIGURE_TEXT_PX - FIGURE_TEXT_TOLERANCE:
            faults.append(f"{name}: smallest text {px:.1f} px at {figure['width']:.0f} px wide")
    assert not faults, "\n".join(faults)


@pytest.mark.parametrize("page", PAGES)
def test_on_a_phone_the_sidebar_toggles_open_and_close_the_sidebars(visit, page):
    """The visible toggles work (book/_ext/static/sidebar_toggles.js: pydata-sphinx-theme#2451),
    at 390 px (the sidebars open as dialogs) and, for the table of contents, at 1280 px."""
    toggles = dict(visit(page).toggles)
    wide = toggles.pop("wide")
    assert toggles.get("primary") is not None, "no table-of-contents toggle at 390 px"
    works = {"opened": True, "closed_by_backdrop": True}
    broken = {kind: state for kind, state in toggles.items()
              if state is not None and state != works}
    assert not broken, broken
    assert wide == {"hidden": True, "shown_again": True}, f"at {WIDE} px: {wide}"


@pytest.mark.parametrize("page", CHINESE_PAGES)
def test_a_chinese_page_has_no_english_furniture_and_no_italic_chinese(visit, page):
    """Theme strings, tooltips, sidebar captions, footer, cell summaries: Chinese (names aside);
    no Chinese text in synthetic italics (emphasis takes dots: book/_ext/chinese_furniture.py)."""
    seen = visit(page).chinese
    assert seen["lang"] == "zh-CN"
    english = english_in(seen["strings"])
    assert not english, f"English on the Chinese page: {english}"
    assert not seen["italic"], f"Chinese text in italics: {seen['italic'][:8]}"
