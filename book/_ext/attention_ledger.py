"""The paper-versus-popular-code ledger of chapter 8, rendered from ``attn_lessons.ledger``.

One directive, ``{attention-ledger}``, no argument, no content: one table per mechanism (SE, ECA,
CBAM, Coordinate Attention), one row per version that readers run, with what it changes, its
parameter count at 64, 256 and 512 channels (counted on the built modules by
``ledger_rows``), whether it is one of the library's configurations (and at which widths the two
compute the same outputs), and the source it was read from (repository@commit, file, lines).

Nothing in the table is typed in the page: the counts and the equality are computed when the book
is built. The rows are generated, so they are not messages of the page's catalogue; the Chinese
edition takes the Chinese texts below (``CHANGE_ZH``, ``VARIANT_ZH``), and
``tests/test_ledger_page.py`` checks that every entry of the ledger has both.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import simple_table
from docutils import nodes
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCE = ROOT / "attn_lessons" / "ledger.py"

HEADINGS = {
    "en": ("Version", "What it changes", "Parameters, C = {c}", "Library configuration", "Source"),
    "zh": ("版本", "改动", "参数量，C = {c}", "库中的配置", "来源"),
}
TITLES = {
    "SE": ("Squeeze-and-Excitation", "挤压-激励（SE）"),
    "ECA": ("ECA", "ECA"),
    "CBAM": ("CBAM", "CBAM"),
    "CoordAtt": ("Coordinate Attention", "坐标注意力"),
}
#: How the library column reads: equal at every width, only at the widths shown, never.
EQUALITY = {
    "exact": ("equal at every width", "任意宽度下都相同"),
    "some": ("equal at {widths} only", "仅在 {widths} 通道时相同"),
    "none": ("none: its own module, tested against the source", "无：单独实现，并与来源对照测试"),
}

VARIANT_ZH = {
    "paper": "论文",
    "authors' code (Caffe)": "作者代码（Caffe）",
    "timm SEModule": "timm SEModule",
    "bubbliiiing se_block": "bubbliiiing se_block",
    "External-Attention SEAttention": "External-Attention SEAttention",
    "authors' eca_layer": "作者的 eca_layer",
    "timm EcaModule": "timm EcaModule",
    "bubbliiiing eca_block": "bubbliiiing eca_block",
    "External-Attention ECAAttention": "External-Attention ECAAttention",
    "authors' code": "作者代码",
    "timm CbamModule": "timm CbamModule",
    "Ultralytics CBAM": "Ultralytics CBAM",
    "bubbliiiing cbam_block": "bubbliiiing cbam_block",
    "External-Attention CBAMBlock": "External-Attention CBAMBlock",
    "paper and authors' code": "论文与作者代码",
    "timm CoordAttn (2025)": "timm CoordAttn（2025）",
    "bubbliiiing CA_Block": "bubbliiiing CA_Block",
    "External-Attention CoordAtt": "External-Attention CoordAtt",
}

#: The Chinese text of each entry's ``change``, keyed by (mechanism, variant).
CHANGE_ZH = {
    ("SE", "paper"): "基准：r = 16，隐藏宽度 C/r，激励写作不带偏置。",
    ("SE", "authors' code (Caffe)"): "两个全连接层都是带偏置的 1x1 卷积（Caffe 的默认设置）。",
    ("SE", "timm SEModule"): "隐藏宽度 C/16 取最近的 8 的倍数，至少为 8；带偏置。",
    ("SE", "bubbliiiing se_block"):
        "论文的 SE，不带偏置，隐藏宽度 C // 16，没有下限（少于 16 个通道时为 0）。",
    ("SE", "External-Attention SEAttention"):
        "与 bubbliiiing 的相同：不带偏置，隐藏宽度 C // 16，没有下限（其 README 传入 r = 8）。",
    ("ECA", "paper"): "基准：卷积核大小 k = psi(C) 由通道数决定，不带偏置。",
    ("ECA", "authors' eca_layer"):
        "无论 C 为多少都固定 k_size = 3（其检查点在网络中按阶段设置 k）。",
    ("ECA", "timm EcaModule"): "论文的卷积核规则，但下限为 3（否则少于 8 个通道时 k = 1）。",
    ("ECA", "bubbliiiing eca_block"): "论文的模块与卷积核规则，未作改动。",
    ("ECA", "External-Attention ECAAttention"): "固定 k = 3，1 维卷积带偏置。",
    ("CBAM", "paper"): "基准：r = 16 的共享 MLP，不带偏置；在 [avg; max] 上做 7x7 空间卷积。",
    ("CBAM", "authors' code"):
        "MLP 带偏置，空间输入为 [max; mean]，空间 sigmoid 之前有 BatchNorm（momentum 0.01）。",
    ("CBAM", "timm CbamModule"):
        "空间 sigmoid 之前有 BatchNorm（momentum 0.1）；隐藏宽度 C/16 取最近的整数。",
    ("CBAM", "Ultralytics CBAM"):
        "通道门控：只用平均池化，一个带偏置的 C x C 1x1 卷积，没有 ReLU。",
    ("CBAM", "bubbliiiing cbam_block"):
        "r = 8 而不是 16，隐藏宽度 C // 8，没有下限；其余与论文的模块相同。",
    ("CBAM", "External-Attention CBAMBlock"):
        "返回 CBAM(x) + x；空间输入 [max; avg] 经过一个带偏置的 49x49 卷积。",
    ("CoordAtt", "paper and authors' code"):
        "基准：m = max(8, C // 32)，h-swish，BatchNorm，三个 1x1 卷积都带偏置。",
    ("CoordAtt", "timm CoordAttn (2025)"):
        "不带偏置；m = C/24（比例 1/16 乘以 2/3）取 8 的倍数，至少为 8。",
    ("CoordAtt", "bubbliiiing CA_Block"):
        "用 ReLU 代替 h-swish，不带偏置，m = C // 16，没有下限（少于 16 个通道时为 0）。",
    ("CoordAtt", "External-Attention CoordAtt"): "作者模块的副本，未作改动。",
}


def _ledger():
    return importlib.import_module("attn_lessons.ledger")


def _source(source, lang: int) -> str:
    """``str(source)`` (repository@commit, file, lines), with the words in the page's language;
    a paper's authors as a Chinese book cites them, "Hu 等，CVPR 2018，arXiv:1709.01507"."""
    if not lang:
        return str(source)
    if source.commit is None:
        return f"{source.repository.replace(' et al., ', ' 等，')}，{source.path}"
    return f"{source.repository}@{source.commit[:10]}，{source.path}，第 {source.lines} 行"


def _equality(row: dict, exact: bool, lang: int) -> list[nodes.Node]:
    if row["library"] is None:
        return [nodes.Text(EQUALITY["none"][lang])]
    equal = [c for c, same in row["equals_library"].items() if same]
    if exact:
        note = EQUALITY["exact"][lang]
    else:
        note = EQUALITY["some"][lang].format(widths=("、" if lang else ", ").join(
            str(c) for c in equal))
    return [nodes.literal("", row["library"]), nodes.Text(f" ({note})" if not lang
                                                           else f"（{note}）")]


class AttentionLedger(SphinxDirective):
    has_content = False
    required_arguments = 0

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(SOURCE))
        self.env.note_dependency(__file__)  # the Chinese texts live here
        led = _ledger()
        lang = 1 if (self.config.language or "en").startswith("zh") else 0
        heads = HEADINGS["zh" if lang else "en"]
        widths = led.LEDGER_WIDTHS
        rows = led.ledger_rows(widths)
        out: list[nodes.Node] = []
        for mechanism in led.MECHANISMS:
            title = nodes.rubric("", TITLES[mechanism][lang])
            columns = [heads[0], heads[1], *(heads[2].format(c=c) for c in widths), heads[3],
                       heads[4]]
            cells = []
            for entry, row in zip(led.LEDGER, rows, strict=True):
                if entry.mechanism != mechanism:
                    continue
                variant = VARIANT_ZH[entry.variant] if lang else entry.variant
                change = CHANGE_ZH[(entry.mechanism, entry.variant)] if lang else entry.change
                cells.append([[nodes.Text(variant)], [nodes.Text(change)],
                              *([nodes.Text(f"{row['params'][c]:,}")] for c in widths),
                              _equality(row, entry.exact, lang),
                              [nodes.Text(_source(entry.source, lang))]])
            table = simple_table.table(columns, cells, ["attention-ledger"])
            out += [title, table]
        return out


def setup(app) -> dict:
    app.add_directive("attention-ledger", AttentionLedger)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
