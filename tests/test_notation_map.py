"""The preface's notation map agrees with the chapters it maps.

The preface (``book/intro.md``) lists, for each chapter, the letters that chapter takes from its
paper. A chapter that renames its symbols must update the map; this test fails until it does.
"""

from __future__ import annotations

import pytest

from .conftest import BOOK

INTRO = (BOOK / "intro.md").read_text()

#: chapter page -> LaTeX the page uses for its feature map, descriptor, gate and output, each of
#: which the preface's map names too.
SYMBOLS = {
    "ch1_similarity/similarity.md": [r"\mathbf{o}_i", r"X \in \mathbb{R}^{n \times d}"],
    "ch2_se/se.md": [r"u_c", r"\mathbf{z}", r"\mathbf{s}", r"\tilde{x}_c"],
    "ch3_eca/eca.md": [r"x_c", r"\omega", r"\tilde{x}_c"],
    "ch4_cbam/cbam.md": [r"F^c_{avg}", r"F^s_{max}", r"g^c", r"g^s", r"F''"],
    "ch5_coordatt/coordatt.md": [r"z^h", r"z^w", r"g^h", r"g^w", r"x_c(i, j)"],
    "ch6_self_attention/self_attention.md": [r"X \in \mathbb{R}^{n \times d}"],
}


@pytest.mark.parametrize(("page", "symbols"), list(SYMBOLS.items()))
def test_each_mapped_symbol_is_in_the_chapter_and_in_the_preface(page, symbols):
    text = (BOOK / page).read_text()
    for symbol in symbols:
        assert symbol in text, f"{page} no longer writes {symbol}: update the preface's map"
        assert symbol in INTRO, f"the preface's map does not name {symbol} of {page}"
