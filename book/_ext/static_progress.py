"""No progress bars in the built book: a static page cannot animate them.

In Jupyter or Colab a tqdm bar is a live widget; executed for the HTML book it would be either a
widget view that needs JavaScript from a CDN (the book must work offline) or, as text, one stderr
fragment per refresh: hundreds of lines for a few seconds of training. The notebooks' kernels
inherit this process's environment, so setting tqdm's ``TQDM_DISABLE`` here hides every bar in
the build and nowhere else; the printed results stay.
"""

from __future__ import annotations

import os

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict:
    os.environ["TQDM_DISABLE"] = "1"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
