"""Serve MathJax from the built book itself, so the HTML works offline and loads nothing from a CDN.

The single-file MathJax 3 bundle ``tex-svg-full.js`` (SVG output: no web fonts to fetch; every TeX
extension built in: nothing loaded lazily) comes from the ``django-static-mathjax`` wheel, an
install-time dependency. It is copied into ``_static/mathjax/`` of the HTML output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

BUNDLE = "tex-svg-full.js"
TARGET = f"mathjax/{BUNDLE}"  # relative to the output's _static/


def _bundle_path() -> Path:
    try:
        import mathjax  # the django-static-mathjax distribution installs this package
    except ImportError as exc:
        raise ExtensionError(
            "offline_mathjax needs the 'django-static-mathjax' package (pip install "
            "django-static-mathjax); run `make book`, which installs it"
        ) from exc
    path = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / BUNDLE
    if not path.is_file():
        raise ExtensionError(f"offline_mathjax: {path} is missing from django-static-mathjax")
    return path


def _use_local_mathjax(app: Sphinx, config) -> None:
    config.mathjax_path = TARGET


def _copy_bundle(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    source = _bundle_path()
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        shutil.copyfile(source, target)


def setup(app: Sphinx) -> dict:
    _bundle_path()  # fail early, with a clear message, if the bundle is not installed
    app.connect("config-inited", _use_local_mathjax, priority=900)
    app.connect("build-finished", _copy_bundle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
