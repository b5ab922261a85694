r"""Where each module of the book sits in the taxonomy of Guo et al. (2022), as data.

Guo, Xu, Liu, Liu, Jiang, Mu, Zhang, Martin, Cheng and Hu, "Attention mechanisms in computer
vision: a survey", *Computational Visual Media* 8(3):331-368, 2022 (arXiv:2111.07624), sort the
field by the *data domain* a mechanism attends over: **channel** attention chooses *what* to look
at, **spatial** attention *where*, **temporal** attention *when*, **branch** attention *which*
path of the network; two hybrid classes, **channel & spatial** and **spatial & temporal**, hold
the mechanisms that do two of these at once.

:data:`PLACEMENTS` gives, for every kind :func:`attn_lessons.make_attention` accepts except
``"none"``, its class in that taxonomy and the four steps of the book's template (what it
**pools**, how it **transforms**, what **gate** it computes, how it **applies** the gate), in
English and in Chinese. The book's map page (``book/guide/map.md``, the directive of
``book/_ext/field_map.py``) is rendered from it, and ``tests/test_taxonomy.py`` checks that every
kind of the factory is placed exactly once.

``source`` says who placed it: ``"survey"`` when the survey's companion list puts the paper in
that class (MenghaoGuo/Awesome-Vision-Attentions at commit
005a9bdfdd2d3b7e4b655ee4b62869086b486299, ``README.md``, the list the survey points to: SE and
ECA under channel attention; the non-local block and GCNet under spatial attention; SKNet under
branch attention; CBAM, BAM, Triplet Attention, Coordinate Attention and SimAM under channel &
spatial attention); ``"book"`` when the paper is not in that list (Shuffle Attention, January
2021, is missing from it; EMA, 2023, and ELA, 2024, came after the survey) and this book placed
it by the survey's own definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The survey's six classes: key -> (English, Chinese).
CATEGORIES: dict[str, tuple[str, str]] = {
    "channel": ("Channel attention", "通道注意力"),
    "spatial": ("Spatial attention", "空间注意力"),
    "temporal": ("Temporal attention", "时间注意力"),
    "branch": ("Branch attention", "分支注意力"),
    "channel_spatial": ("Channel & spatial attention", "通道与空间注意力"),
    "spatial_temporal": ("Spatial & temporal attention", "空间与时间注意力"),
}

#: Who placed a module: the survey's companion list, or this book by the survey's definitions.
SOURCES: dict[str, tuple[str, str]] = {
    "survey": ("listed by the survey", "综述所列"),
    "book": ("placed by this book", "本书归类"),
}


@dataclass(frozen=True)
class Placement:
    """One module in the taxonomy. Each text field is a pair (English, Chinese)."""

    kind: str  #: the factory's name
    name: tuple[str, str]  #: the module's usual name
    category: str  #: a key of :data:`CATEGORIES`
    source: str  #: a key of :data:`SOURCES`
    page: str  #: the book page that derives it (a Sphinx docname)
    pools: tuple[str, str]
    transforms: tuple[str, str]
    gate: tuple[str, str]
    applies: tuple[str, str]

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.kind}: unknown category {self.category!r}; expected one of "
                             f"{list(CATEGORIES)}")
        if self.source not in SOURCES:
            raise ValueError(f"{self.kind}: unknown source {self.source!r}; expected one of "
                             f"{list(SOURCES)}")
        for field in ("name", "pools", "transforms", "gate", "applies"):
            value = getattr(self, field)
            if not (isinstance(value, tuple) and len(value) == 2
                    and all(isinstance(v, str) and v for v in value)):
                raise ValueError(f"{self.kind}: {field} must be a pair of non-empty strings "
                                 f"(English, Chinese), got {value!r}")


def _p(kind, name, category, source, page, pools, transforms, gate, applies) -> Placement:
    return Placement(kind, name, category, source, page, pools, transforms, gate, applies)


#: Every kind of the factory but ``"none"``, in the factory's order (chapters, then field guide).
PLACEMENTS: tuple[Placement, ...] = (
    _p("se", ("Squeeze-and-Excitation", "挤压-激励"), "channel", "survey",
       "book/ch2_se/se",
       ("the mean of each channel over H × W", "每个通道在 H × W 上的均值"),
       ("two fully connected layers, C → C/r → C, ReLU between",
        "两层全连接，C → C/r → C，中间为 ReLU"),
       ("sigmoid: C values", "sigmoid：C 个值"),
       ("multiplies each channel", "与每个通道相乘")),
    _p("eca", ("ECA", "ECA"), "channel", "survey", "book/ch3_eca/eca",
       ("the mean of each channel over H × W", "每个通道在 H × W 上的均值"),
       ("a 1-D convolution of size k along the channels", "沿通道方向、大小为 k 的 1-D 卷积"),
       ("sigmoid: C values", "sigmoid：C 个值"),
       ("multiplies each channel", "与每个通道相乘")),
    _p("cbam", ("CBAM", "CBAM"), "channel_spatial", "survey", "book/ch4_cbam/cbam",
       ("mean and max over H × W, then mean and max over C",
        "先在 H × W 上取均值和最大值，再在 C 上取均值和最大值"),
       ("a shared MLP (channel), a 7 × 7 convolution (spatial)",
        "共享 MLP（通道），7 × 7 卷积（空间）"),
       ("two sigmoids: C values, then an H × W map", "两个 sigmoid：先 C 个值，再一张 H × W 图"),
       ("multiplies, channel gate first, then spatial gate", "相乘，先通道门控，后空间门控")),
    _p("coordatt", ("Coordinate Attention", "坐标注意力"), "channel_spatial", "survey",
       "book/ch5_coordatt/coordatt",
       ("the mean of each row and of each column, per channel", "每个通道的行均值和列均值"),
       ("a shared 1 × 1 convolution to C/r with BN and h-swish, then one 1 × 1 convolution per "
        "direction", "共享 1 × 1 卷积降到 C/r，接 BN 与 h-swish，再每个方向一个 1 × 1 卷积"),
       ("two sigmoids: C × H and C × W", "两个 sigmoid：C × H 与 C × W"),
       ("multiplies by both (a rank-one map per channel)", "与两者相乘（每个通道一张秩一图）")),
    _p("self_attention", ("Self-attention (non-local)", "自注意力（non-local）"), "spatial",
       "survey", "book/ch6_self_attention/self_attention",
       ("nothing: every position is compared with every other (query · key)",
        "不池化：每个位置与所有位置比较（查询 · 键）"),
       ("1 × 1 projections to queries, keys and values", "1 × 1 投影得到查询、键和值"),
       ("softmax over positions: an HW × HW matrix", "对位置做 softmax：一个 HW × HW 矩阵"),
       ("a weighted sum of the values, added to the input", "值的加权和，加回输入")),
    # The field guide (FIELD_GUIDE_KINDS), one entry per module:
    _p("simam", ("SimAM", "SimAM"), "channel_spatial", "survey", "book/guide/simam",
       ("the mean and variance of each channel over H × W", "每个通道在 H × W 上的均值和方差"),
       ("nothing learned: the closed-form minimal energy", "无可学习参数：最小能量的闭式解"),
       ("sigmoid of the inverse energy: a C × H × W map", "能量倒数的 sigmoid：一张 C × H × W 图"),
       ("multiplies every activation", "与每个激活值相乘")),
    _p("gc", ("Global Context (GC)", "全局上下文（GC）"), "spatial", "survey", "book/guide/gc",
       ("a softmax-weighted sum over H × W (one attention map per image)",
        "H × W 上以 softmax 加权求和（每幅图像一张注意力图）"),
       ("a 1 × 1 bottleneck C → C/r → C with LayerNorm and ReLU",
        "1 × 1 瓶颈 C → C/r → C，带 LayerNorm 与 ReLU"),
       ("none by default: a C-vector (a sigmoid with channel_mul)",
        "默认无门控：一个 C 维向量（channel_mul 时为 sigmoid）"),
       ("adds the vector at every position", "在每个位置加上该向量")),
    _p("sk", ("Selective Kernel (SK)", "选择性卷积核（SK）"), "branch", "survey", "book/guide/sk",
       ("the mean over H × W of the sum of the branches", "各分支之和在 H × W 上的均值"),
       ("FC, BN, ReLU to d, then one FC per branch back to C",
        "全连接、BN、ReLU 降到 d，再每个分支一个全连接回到 C"),
       ("softmax across the M branches: M × C values", "在 M 个分支之间做 softmax：M × C 个值"),
       ("a weighted sum of the branches", "各分支的加权和")),
    _p("bam", ("BAM", "BAM"), "channel_spatial", "survey", "book/guide/bam",
       ("the mean of each channel (channel branch); a 1 × 1 convolution across channels (spatial "
        "branch)", "每个通道的均值（通道分支）；跨通道的 1 × 1 卷积（空间分支）"),
       ("an MLP; two dilated 3 × 3 convolutions", "一个 MLP；两个扩张 3 × 3 卷积"),
       ("one sigmoid of the branches' product (code) or sum (paper): a C × H × W map",
        "对两分支之积（代码）或之和（论文）取一个 sigmoid：一张 C × H × W 图"),
       ("residual: (1 + M) · x", "残差式：(1 + M) · x")),
    _p("triplet", ("Triplet Attention", "Triplet Attention"), "channel_spatial", "survey",
       "book/guide/triplet",
       ("max and mean along one axis (C, H or W) in each of three branches",
        "三个分支中分别沿一个轴（C、H 或 W）取最大值和均值"),
       ("a 7 × 7 convolution and BN per branch", "每个分支一个 7 × 7 卷积和 BN"),
       ("three sigmoids: C × W, H × C and H × W maps", "三个 sigmoid：C × W、H × C 与 H × W 图"),
       ("multiplies by the average of the three gates", "与三个门控的平均相乘")),
    _p("shuffle", ("Shuffle Attention", "Shuffle Attention"), "channel_spatial", "book",
       "book/guide/shuffle",
       ("per group: the channel mean (one half), GroupNorm statistics (the other half)",
        "每组：一半取通道均值，另一半取 GroupNorm 统计量"),
       ("a per-channel scale and shift", "逐通道的缩放与平移"),
       ("sigmoid: per channel on one half, per position on the other",
        "sigmoid：一半逐通道，另一半逐位置"),
       ("multiplies, then shuffles the channels", "相乘，再做通道混洗")),
    _p("ema", ("EMA (Efficient Multi-scale Attention)", "EMA（高效多尺度注意力）"),
       "channel_spatial", "book", "book/guide/ema",
       ("per group: row and column means, then the mean of each branch over H × W",
        "每组：行均值与列均值，再取每个分支在 H × W 上的均值"),
       ("a shared 1 × 1 convolution, a 3 × 3 convolution, GroupNorm, cross-branch softmax sums",
        "共享 1 × 1 卷积、3 × 3 卷积、GroupNorm、跨分支的 softmax 加权和"),
       ("sigmoid: one H × W map per group", "sigmoid：每组一张 H × W 图"),
       ("multiplies every channel of the group", "与组内每个通道相乘")),
    _p("ela", ("ELA (Efficient Local Attention)", "ELA（高效局部注意力）"), "channel_spatial",
       "book", "book/guide/ela",
       ("the mean of each row and of each column, per channel", "每个通道的行均值和列均值"),
       ("a depthwise 1-D convolution along each strip, GroupNorm",
        "沿每个条带的 1-D 深度卷积，GroupNorm"),
       ("two sigmoids: C × H and C × W", "两个 sigmoid：C × H 与 C × W"),
       ("multiplies by both (a rank-one map per channel)", "与两者相乘（每个通道一张秩一图）")),
)


def placement(kind: str) -> Placement:
    """The placement of factory kind ``kind``; ValueError names the kinds that are placed."""
    for entry in PLACEMENTS:
        if entry.kind == kind:
            return entry
    raise ValueError(f"no placement for kind {kind!r}; placed: {[p.kind for p in PLACEMENTS]}")


def by_category() -> dict[str, list[Placement]]:
    """The placements grouped by category, every category of :data:`CATEGORIES` in its order."""
    groups: dict[str, list[Placement]] = {key: [] for key in CATEGORIES}
    for entry in PLACEMENTS:
        groups[entry.category].append(entry)
    return groups
