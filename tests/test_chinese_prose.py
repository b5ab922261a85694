"""scripts/chinese_prose.py: the count of English words a reader meets on a Chinese page.

tests/browser/test_chinese_prose.py holds every built Chinese page to the threshold; here the count
is checked on small pages, so that the browser test can fail.
"""

from __future__ import annotations

import sys

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import chinese_prose as cp

NAMES = cp.load_names()
ZH = "挤压-激励模块先汇总每个通道的全局信息，再为每个通道算出一个门控值。"  # 31 CJK characters


def page(body: str, title: str = "挤压-激励 — Attention, Derived") -> str:
    return (f"<html lang='zh-CN'><head><title>{title}</title><script>var x = 'hello world';"
            f"</script></head><body>{body}</body></html>")


def share(body: str, **kwargs) -> cp.Share:
    return cp.latin_share(page(body, **kwargs), NAMES)


def test_an_english_paragraph_fails():
    got = share(f"<article><p>{ZH}</p><p>The gate of each channel is computed from its "
                "global average, then the channel is scaled.</p></article>")
    assert got.ratio > cp.THRESHOLD
    assert got.offending["channel"] == 2 and got.offending["gate"] == 1
    report = got.report()
    assert "'channel' x2" in report and "The gate of each channel" in report


def test_chinese_with_code_maths_citations_glosses_and_names_passes():
    body = (f"<article><p>{ZH}门控（gate）由 PyTorch 的 <code>nn.Sigmoid()</code> 给出，"
            "见 <span class='math notranslate nohighlight'>\\(s = \\sigma(W z)\\)</span> 与 "
            "\\(y = s \\cdot x\\)。<span class='bibtex-citation'>Hu 等 [<a title='Jie Hu, Li "
            "Shen, and Gang Sun. Squeeze-and-excitation networks.'>2018</a>]</span>；"
            "Triplet Attention 与 ResNet-50 在 ImageNet 上；top-1 错误率。</p>"
            "<div class='highlight'><pre>for channel in range(C): print('the gate')</pre></div>"
            "<div class='cell_input'>x = torch.randn(2, 3)  # the input</div>"
            "<div class='citation'><p>Jie Hu. Squeeze-and-excitation networks. CVPR.</p></div>"
            "<div class='math notranslate'>\\[\\text{softmax of the scores}\\]</div>"
            "<a class='language-switch' lang='en' title='Read this page in English'>English</a>"
            "</article>")
    got = share(body)
    assert not got.offending, got.report()
    assert got.ratio == 0
    # PyTorch, Triplet Attention (one name), ImageNet, and the book's title count as words
    assert got.latin == 4


def test_hidden_text_is_not_counted():
    hidden = ("<div hidden>the hidden text</div><p style='display: none'>also not shown</p>"
              "<aside class='d-none'>banner words here</aside><input type='hidden' value='x'>"
              "<div class='onlyprint'><nav aria-label='Page'>目录</nav></div>")
    assert not share(f"<p>{ZH}</p>{hidden}").offending
    # shown again on wider screens: counted
    assert share(f"<p>{ZH}</p><span class='d-none d-lg-block'>Toggle sidebar</span>").offending


def test_the_furniture_is_counted():
    furniture = ("<header><button title='Toggle primary sidebar' aria-label='Toggle primary "
                 "sidebar'></button><input placeholder='Search this book...'></header>"
                 f"<nav class='bd-docs-nav'><p class='caption'>Chapters</p></nav><p>{ZH}</p>"
                 "<footer>By the contributors</footer><img alt='diagram of the module' src='x'>")
    got = share(furniture, title="Squeeze and excitation")
    for word in ("Toggle", "sidebar", "Search", "Chapters", "contributors", "diagram",
                 "Squeeze", "excitation"):
        assert got.offending[word] >= 1, (word, got.offending)


def test_the_units_of_the_count():
    got = share(f"<p>{ZH}the</p>", title="")
    assert len(cp.CJK.findall(ZH)) == 31
    assert got.chinese == 16 and got.latin == 1  # two CJK characters a word, rounded up
    assert got.ratio == pytest.approx(1 / 17)
    # a single letter is a symbol, a token with a digit or an underscore an identifier
    assert share(f"<p>{ZH}C 个通道，ResNet-18，gate_sd，v2</p>", title="").latin == 0
    # a glossary term after its Chinese at first use, and a short gloss of any term: no count
    assert share(f"<p>{ZH}特征图（feature map，每个滤波器一个），卷积层（convolutional layer）</p>",
                 title="").latin == 0
    # (the gloss in a text of its own, after an emphasised term)
    gloss = "<strong>时间注意力</strong>（temporal attention）"
    assert share(f"<p>{ZH}{gloss}</p>", title="").latin == 0
    # not a gloss: a sentence in parentheses
    assert share(f"<p>{ZH}（this is not a gloss at all）</p>").offending["this"] == 1


def test_the_allowlist_holds_names_not_prose(tmp_path):
    """Each name is a proper name: capitalised, an acronym, or a known lower-case name."""
    lower_names = {"arg-max", "arXiv", "bubbliiiing", "fvcore", "git", "h-swish", "ipynb",
                   "log-softmax", "log-sum-exp", "logistic", "logit", "logits", "md", "oneDNN",
                   "pdf", "ptflops", "tanh", "thop", "timm", "torch", "torchinfo", "torchvision"}
    listed = cp.yaml.safe_load(cp.ALLOWLIST.read_text(encoding="utf-8"))
    for kind, names in listed.items():
        assert names == sorted(names, key=str.lower), f"{kind}: keep the list sorted"
        for name in names:
            assert name[0].isupper() or name in lower_names, (kind, name)
    bad = tmp_path / "bad_allowlist.yml"
    bad.write_text("modules: SE\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a list"):
        cp.load_names(bad)
