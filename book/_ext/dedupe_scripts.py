"""Write each inline script into a page once.

Sphinx 7.4 registers an inline script (``app.add_js_file(None, body=...)``) added while the build
runs twice: once with the file name ``None``, once with ``""`` when the HTML builder re-reads its
registry, and the two do not compare equal. Every page then carries sphinx-thebe's
``const THEBE_JS_URL = ...`` twice, and the second copy is a SyntaxError in the reader's browser
console ("Identifier 'THEBE_JS_URL' has already been declared"). This extension drops the second
copy of any script whose file name and attributes repeat an earlier one. The browser tests
(tests/browser) fail on any console error, so they catch a regression.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _key(script) -> tuple:
    return (str(script.filename or ""), tuple(sorted(script.attributes.items())))


def _dedupe(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple] = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept  # in place: Sphinx restores the list itself before the next page


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
