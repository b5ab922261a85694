"""The Chinese edition keeps in step with the English one (unit stage; no built book needed).

- every catalogue (book/locale/zh_CN/LC_MESSAGES/**.po) is fully translated, with no fuzzy entry
  and no problem found by scripts/check_translations.py (fails until the translators finish, and
  again after any English edit until the translation is updated);
- the catalogues are up to date with the sources: the messages are re-extracted into a temporary
  folder and each page's set of msgids compared with its catalogue's;
- check_translations itself, tested like a checker: a catalogue of wrong translations it must
  refuse, each for its reason, and right ones it must accept;
- the glossary (book/glossary/terms.yml): its schema, unique terms, variants that never contain the
  term, pages that exist. (That no variant appears in a built Chinese page is checked after the
  build, in tests/browser/test_chinese_edition.py.)
"""

from __future__ import annotations

import sys

import pytest
import yaml
from babel.messages.pofile import read_po

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import build_zh
import check_translations as ct

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import glossary_table

CATALOGUES = ct.catalogues()
AVOID = ct.load_avoid()


def _ids(path) -> set[str]:
    with open(path, "rb") as f:
        return {m.id for m in read_po(f) if m.id}


def _rel(path) -> str:
    return str(path.relative_to(ct.LOCALE))


# --------------------------------------------------------------------------------------------
# The catalogues themselves
# --------------------------------------------------------------------------------------------


def test_there_is_one_catalogue_per_page_of_the_book():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries:
            pages.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    have = {_rel(p).removesuffix(".po") for p in CATALOGUES}
    assert not [p for p in pages if p not in have], "pages without a catalogue: run make catalogues"


@pytest.mark.parametrize("path", CATALOGUES, ids=_rel)
def test_catalogue_is_translated_and_passes_the_checks(path):
    problems = ct.check_catalogue(path, AVOID)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(map(str, problems[:40]))


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    return build_zh.extract_messages(tmp_path_factory.mktemp("gettext"))


def test_catalogues_are_up_to_date_with_the_english_sources(extracted):
    stale = []
    pots = {str(p.relative_to(extracted)).removesuffix(".pot"): p for p in extracted.rglob("*.pot")}
    pos = {_rel(p).removesuffix(".po"): p for p in CATALOGUES}
    assert set(pots) == set(pos), ("pages and catalogues differ: "
                                   f"{sorted(set(pots) ^ set(pos))}; run make catalogues")
    for name, pot in sorted(pots.items()):
        new, old = _ids(pot), _ids(pos[name])
        if new != old:
            stale.append(f"{name}: {len(new - old)} new or changed message(s), e.g. "
                         f"{sorted(new - old)[:1]}; {len(old - new)} gone")
    assert not stale, "English changed since the catalogues were updated (make catalogues, then " \
                      "translate):\n" + "\n".join(stale)


# --------------------------------------------------------------------------------------------
# check_translations, tested like a checker
# --------------------------------------------------------------------------------------------

WRONG = [
    # (English, wrong Chinese, the problem it must be refused for)
    ("The gate $s = \\sigma(z)$ is a vector.", "门控 $s$ 是一个向量。", "maths/code/roles differ"),
    ("See {ref}`the lab <ch2-se-lab>`.", "见{ref}`实验 <ch2-se>`。", "maths/code/roles differ"),
    ("Use {eq}`eq-se-squeeze` here.", "此处用式 {eq}`eq-se-excite`。", "maths/code/roles differ"),
    ("Call `se(x)` first.", "先调用 `se(y)`。", "maths/code/roles differ"),
    ("A reduction ratio of 16 halves nothing.", "降维比为十六。", "numbers lost"),
    ("Five seeds, 3 runs each.", "五个随机种子，每个运行三次。", "numbers lost"),
    ("The gate is a vector, not a map.", "门控是一个向量,不是一幅图。", "ASCII punctuation"),
    ("The gate is a vector.", "门控是一个向量.", "ASCII punctuation"),
    ("The gate (a vector) is small.", "门控(一个向量)很小。", "ASCII parentheses"),
    ("The SE block is small.", "SE模块很小。", "no space between Chinese and Latin"),
    ("It has $C$ channels.", "它有$C$ 个通道。", "no space between Chinese and Latin"),
    ("It takes 3 steps.", "它需要 3步。", "no space between Chinese and Latin"),
    ("The gate , then the map.", "门控 ，然后是图。", "space next to full-width punctuation"),
    ("A feature map of the block.", "该模块的特征映射图。", "glossary"),
    ("Squeeze-and-Excitation, in short.", "压缩-激励，简而言之。", "glossary"),
    ("The gate is a vector of weights.", "The gate is a vector of weights.", "not translated"),
    ("ResNet-50 with a gate", "ResNet-50 with a gate", "not translated"),
    ("\n\\begin{equation}\ns = \\sigma(z)\n\\end{equation}\n",
     "\n\\begin{equation}\ns = \\sigma(y)\n\\end{equation}\n", "display maths"),
    ("The gate is a vector.", "", "untranslated"),
    # \text{} may be translated, the rest of the maths may not
    ("\n$$\nP = 2C^2/r \\quad \\text{(weights)}\n$$\n",
     "\n$$\nP = 2C^2/s \\quad \\text{（权重）}\n$$\n", "display maths"),
    ("The sum $\\sum_{j \\text{ seen}} a_j$ is 1.", "求和 $\\sum_{i \\text{ 已见}} a_j$ 为 1。",
     "maths/code/roles differ"),
    ("An accuracy of 95 %.", "准确率为 95 %。", "percent sign"),
    ("An accuracy of {glue:text}`nb.ipynb::acc:.1f` %.",
     "准确率为 {glue:text}`nb.ipynb::acc:.1f` %。",
     "percent sign"),
    ("1. Dot products and similarity", "1. 点积与相似度", "list marker"),
    ("See {ref}`ch2-se` first.", "先看 {ref}`ch2-se` 一章。", "beside a cross-reference"),
    # 万/亿 must state the same number
    ("About 25.6 M parameters.", "约 2500 万个参数。", "numbers lost"),
    ("About 25.6 M parameters.", "约 25.6 万个参数。", "numbers lost"),
    # one shape notation: the English tuple, not B × C × H × W, not full-width parentheses
    ("A map of shape (B, C, H, W).", "形状为 B × C × H × W 的特征图。",
     "not written as in the English"),
    ("A map of shape (B, C, H, W).", "形状为（B, C, H, W）的特征图。", "full-width parentheses"),
    ("A map of shape (B, C, H, W).", "形状为(B, C, H, W)的特征图。", "no space between Chinese"),
]

RIGHT = [
    ("The gate $s = \\sigma(z)$ is a vector.", "门控 $s = \\sigma(z)$ 是一个向量。"),
    ("See {ref}`the lab <ch2-se-lab>`.", "见{ref}`本章实验 <ch2-se-lab>`。"),
    ("See {ref}`ch2-se`.", "见{ref}`ch2-se`。"),
    ("Use {eq}`eq-se-squeeze` here.", "此处用式 {eq}`eq-se-squeeze`。"),
    ("A reduction ratio of 16 and 3, 5 or 7.", "降维比为 16，卷积核大小为 3、5 或 7。"),
    ("The SE block (Hu et al.) is small.", "SE 模块（Hu et al.）很小。"),
    ("Call `se(x)` on a feature map.", "对特征图调用 `se(x)`。"),
    ("\n\\begin{equation}\ns = \\sigma(z)\n\\end{equation}\n",
     "\n\\begin{equation}\ns = \\sigma(z)\n\\end{equation}\n"),
    ("ResNet-50", "ResNet-50"),
    ("ResNet-50 / SENet / ECA-Net", "ResNet-50 / SENet / ECA-Net"),
    ("**Predict first.** Then run it.", "**先预测**。然后运行。"),
    # words inside \text{} translated, in display and inline maths
    ("\n$$\nP = 2C^2/r \\quad \\text{(weights)}\n$$\n",
     "\n$$\nP = 2C^2/r \\quad \\text{（权重）}\n$$\n"),
    ("\n$$\nm_{ij} = \\begin{cases} 0 & \\text{if $j \\le i$,} \\\\ -\\infty & \\text{otherwise}"
     "\\end{cases}\n$$\n",
     "\n$$\nm_{ij} = \\begin{cases} 0 & \\text{若 $j \\le i$，} \\\\ -\\infty & \\text{否则}"
     "\\end{cases}\n$$\n"),
    ("The sum $\\sum_{j \\text{ seen}} a_j$ is 1.", "求和 $\\sum_{j \\text{ 已见}} a_j$ 为 1。"),
    ("An accuracy of {glue:text}`nb.ipynb::acc:.1f` %.",
     "准确率为 {glue:text}`nb.ipynb::acc:.1f`%。"),
    ("1. Dot products and similarity", "第 1 章 点积与相似度"),
    # the same number in 万/亿
    ("About 25.6 M parameters, 9.8 million weights.", "约 2560 万个参数、980 万个权重。"),
    ("A network of 4,194,304 weights and 3.5 billion FLOPs.",
     "一个有 419.4304 万个权重、35 亿次 FLOPs 的网络。"),
    # a shape tuple as in the English, as plain text or as code
    ("A map of shape (B, C, H, W).", "形状为 (B, C, H, W) 的特征图。"),
    ("A map of shape (B, C, H, W).", "形状为 `(B, C, H, W)` 的特征图。"),
    ("Widths (8, 16, 32) and the position (1, 1).", "宽度为 8、16、32，位置为第 1 行第 1 列。"),
    ("The four steps (pool, transform, gate, apply).", "四个步骤（池化、变换、门控、作用）。"),
]


@pytest.mark.parametrize("english, chinese, reason", WRONG)
def test_check_translations_refuses_a_wrong_translation(english, chinese, reason):
    problems = ct.check_message(english, chinese, AVOID)
    assert any(reason in p for p in problems), f"{chinese!r} accepted, or refused for {problems}"


@pytest.mark.parametrize("english, chinese", RIGHT)
def test_check_translations_accepts_a_right_translation(english, chinese):
    assert ct.check_message(english, chinese, AVOID) == []


def test_check_translations_refuses_a_fuzzy_entry(tmp_path):
    po = tmp_path / "page.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  '#, fuzzy\nmsgid "The gate is a vector."\nmsgstr "门控是一个向量。"\n\n'
                  'msgid "The map."\nmsgstr "特征图。"\n', encoding="utf-8")
    problems = ct.check_catalogue(po, AVOID)
    assert [p.what.split(" ")[0] for p in problems] == ["fuzzy"]
    assert problems[0].msgid == "The gate is a vector."


def test_check_translations_command_exits_1_on_a_problem_and_0_without(tmp_path, capsys):
    bad, good = tmp_path / "bad.po", tmp_path / "good.po"
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    bad.write_text(header + 'msgid "It has 3 heads."\nmsgstr "它有三个头。"\n', encoding="utf-8")
    good.write_text(header + 'msgid "It has 3 heads."\nmsgstr "它有 3 个头。"\n', encoding="utf-8")
    assert ct.main([str(bad)]) == 1
    assert "numbers lost: 3" in capsys.readouterr().out
    assert ct.main([str(good)]) == 0


# --------------------------------------------------------------------------------------------
# The glossary as data
# --------------------------------------------------------------------------------------------

TERMS = yaml.safe_load(ct.GLOSSARY.read_text(encoding="utf-8"))


def test_glossary_entries_have_the_known_fields():
    assert len(TERMS) >= 40
    for term in TERMS:
        assert set(term) <= set(glossary_table.FIELDS), term
        for field in glossary_table.REQUIRED:
            assert isinstance(term.get(field), str) and term[field].strip(), (field, term)
        assert isinstance(term.get("avoid", []), list), term
        if "abbr" in term:
            assert term["abbr"].isascii() and term["abbr"].strip(), term


def test_glossary_terms_are_unique_in_both_languages():
    for field in ("en", "zh"):
        values = [t[field] for t in TERMS]
        assert len(values) == len(set(values)), sorted(v for v in values if values.count(v) > 1)
    glossary_table.load_terms()  # and the page's loader agrees


def test_no_variant_to_avoid_contains_a_glossary_term():
    """A variant containing the term (or any other term) would make the term itself refused."""
    chinese = {t["zh"] for t in TERMS}
    for term in TERMS:
        for variant in term.get("avoid", []) or []:
            assert variant != term["zh"] and term["zh"] not in variant, (term["en"], variant)
            assert variant not in chinese, (term["en"], variant)


def test_glossary_introduced_pages_are_pages_of_the_book():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    for term in TERMS:
        page = term["introduced"]
        assert f"file: {page}\n" in toc or f"root: {page}\n" in toc, (term["en"], page)


def test_glossary_loader_refuses_a_repeated_term(tmp_path):
    path = tmp_path / "terms.yml"
    path.write_text("- {en: gate, zh: 门控, introduced: book/ch2_se/se}\n"
                    "- {en: gates, zh: 门控, introduced: book/ch2_se/se}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="门控"):
        glossary_table.load_terms(path)
    path.write_text("- {en: gate, zh: 门控, introduced: book/ch2_se/se, colour: red}\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match="colour"):
        glossary_table.load_terms(path)


# --------------------------------------------------------------------------------------------
# The glossary as a contract: positive use, its exceptions, first-use glosses
# --------------------------------------------------------------------------------------------

GLOSSARY = ct.load_glossary()
EXCEPTIONS = yaml.safe_load(ct.EXCEPTIONS.read_text(encoding="utf-8"))

GLOSSARY_WRONG = [
    ("The cost of the block is small.", "该模块的代价很小。", "glossary: 'cost'"),
    ("Each batch is padded.", "每组样本都被填充。", "glossary: 'batch'"),
    ("The dilation is 2.", "空洞率为 2。", "glossary: 'dilation'"),
    ("The negative controls never helped.", "反面例子从未带来帮助。", "glossary: 'control'"),
    ("The non-local block pools every position.", "non-local 模块对每个位置池化。",
     "glossary: 'non-local block'"),
    ("Each query meets each key and value.", "每个查询与每个键和数据相遇。", "glossary: 'value'"),
]

GLOSSARY_RIGHT = [
    ("The cost of the block is small.", "该模块的开销很小。"),
    ("It costs 524 288 weights.", "它要 524 288 个权重。"),  # the verb is not the term
    ("Triplet Attention gates every pair of axes.", "Triplet Attention 为每一对轴各设一个门控。"),
    ("A batch of 64 images.", "一批 64 张图像。"),  # an exception of exceptions.yml
    ("The dilation is 2.", "扩张率（dilation，又称空洞率）为 2。"),
    ("The lab scores the gates.", "实验为门控打分。"),
    ("Its lowest value is 0.", "它的最小取值为 0。"),  # "value" without queries
]


@pytest.mark.parametrize("english, chinese, reason", GLOSSARY_WRONG)
def test_glossary_positive_use_refuses_another_rendering(english, chinese, reason):
    problems = ct.check_message(english, chinese, AVOID, ct.load_glossary(), "book/ch2_se/se")
    assert any(reason in p for p in problems), f"{chinese!r} accepted, or refused for {problems}"


@pytest.mark.parametrize("english, chinese", GLOSSARY_RIGHT)
def test_glossary_positive_use_accepts_the_term_a_kept_name_and_an_exception(english, chinese):
    assert ct.check_message(english, chinese, AVOID, ct.load_glossary(), "book/ch2_se/se") == []


def test_an_exception_holds_only_for_its_page_and_message(tmp_path):
    terms, exceptions = tmp_path / "terms.yml", tmp_path / "exceptions.yml"
    terms.write_text("- {en: gate, zh: 门控, introduced: book/ch2_se/se}\n", encoding="utf-8")
    exceptions.write_text("- {term: gate, page: book/ch2_se/se, msgid: The gate opens, zh: 闸门, "
                          "why: a water gate}\n", encoding="utf-8")
    glossary = ct.load_glossary(terms, exceptions)
    assert glossary.problems("The gate opens.", "闸门打开了。", "book/ch2_se/se") == []
    assert glossary.used == {0}
    assert glossary.problems("The gate opens.", "闸门打开了。", "book/ch3_eca/eca")
    assert glossary.problems("The gate shuts.", "闸门关上了。", "book/ch2_se/se")
    exceptions.write_text("- {term: gate, page: book/ch2_se/se, msgid: The gate, zh: 闸门}\n",
                          encoding="utf-8")
    with pytest.raises(ValueError, match="reason"):
        ct.load_glossary(terms, exceptions)
    exceptions.write_text("- {term: gates, page: '*', why: no such term}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="glossary term"):
        ct.load_glossary(terms, exceptions)


def test_every_exception_is_needed_and_the_list_stays_short():
    """An exception no message needs any more is removed, so the list says what is true now."""
    assert len(EXCEPTIONS) <= 45, "the exceptions are meant to be few: fix the text instead"
    glossary = ct.load_glossary()
    for path in CATALOGUES:
        ct.check_catalogue(path, AVOID, glossary)
    messages = [m.id for path in CATALOGUES for m in read_po(open(path, "rb")) if m.id]
    for index, e in enumerate(EXCEPTIONS):
        assert e.get("why"), e
        if e.get("first_use") is False:
            assert any(ct.english_term(t["en"]) == e["term"] for t in TERMS), e
        elif e.get("english"):
            pattern = glossary.terms[e["term"]][0]
            assert any(pattern.search(ct._mask(m)) for m in messages), e
        else:
            assert index in glossary.used, f"exception not needed by any message: {e}"


def test_the_first_use_of_each_term_in_each_chapter_is_glossed():
    problems = ct.missing_first_glosses()
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(map(str, problems[:40]))


@pytest.mark.parametrize("text, zh, expected", [
    ("先做挤压（squeeze）操作。", "挤压", True),
    ("**降维比**（reduction ratio，论文中取 16）", "降维比", True),
    ("每个门控值（gate）都在 0 和 1 之间。", "门控", True),
    ("挤压-激励（Squeeze-and-Excitation，SE）模块", "挤压-激励", True),
    ("先做挤压操作（squeeze）。", "挤压", False),
    ("先做挤压（一种池化）。", "挤压", False),
])
def test_a_gloss_is_the_english_in_parentheses_right_after_the_term(text, zh, expected):
    term = next(t for t in TERMS if t["zh"] == zh)
    at = ct._first_use(text, zh, [])
    assert ct.glossed(text, at, term) is expected


def test_the_chapters_of_the_first_use_rule_are_the_table_of_contents_chapters():
    chapters = ct.chapters()
    assert ["book/ch2_se/se", "book/ch2_se/se_lab"] in chapters
    assert ["book/preface/first_attention"] in chapters
    assert not any("book/errata" in c or "book/intro" in c for c in chapters)


def test_the_book_has_one_chinese_title():
    """The review found two Chinese titles (the front page and README.zh-CN.md)."""
    with open(ct.LOCALE / "book" / "intro.po", "rb") as f:
        title = next(m.string for m in read_po(f) if m.id == "Attention, Derived")
    readme = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8").splitlines()[0]
    assert readme == f"# {title}", (title, readme)


def test_a_proof_begins_the_same_way_in_every_chapter():
    """The review found 证明： in chapter 1 and 证明。 in chapters 2 and 6."""
    starts = {m.string[:3] for path in CATALOGUES for m in read_po(open(path, "rb"))
              if isinstance(m.id, str) and m.id.startswith("Proof.")}
    assert starts == {"证明："}, starts


def test_add_glosses_writes_the_missing_first_use_gloss(tmp_path, monkeypatch):
    """--add-glosses puts the English after the first use, inside parentheses already there."""
    locale = tmp_path / "locale"
    page = locale / "book" / "ch2_se" / "se.po"
    page.parent.mkdir(parents=True)
    page.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                    'msgid "The squeeze pools each channel."\n'
                    'msgstr "挤压对每个通道求平均。"\n\n'
                    'msgid "Then the squeeze (a mean)."\nmsgstr "然后是挤压（一个均值）。"\n\n'
                    'msgid "The gate (a sigmoid of the excitation)."\n'
                    'msgstr "门控（sigmoid 函数作用于激励）。"\n',
                    encoding="utf-8")
    monkeypatch.setattr(ct, "LOCALE", locale)
    monkeypatch.setattr(ct, "ROOT", tmp_path)
    monkeypatch.setattr(ct, "chapters", lambda: [["book/ch2_se/se"]])
    monkeypatch.setattr(ct, "headings", lambda: set())
    glossed = ("squeeze", "channel", "excitation")
    monkeypatch.setattr(ct, "glossed_terms", lambda: [t for t in TERMS if t["en"] in glossed])
    assert {p.what.split("'")[1] for p in ct.missing_first_glosses()} == {"挤压", "通道", "激励"}
    assert ct.main(["--add-glosses"]) == 0
    with open(page, "rb") as f:
        strings = [m.string for m in read_po(f) if m.id]
    assert strings == ["挤压（squeeze）对每个通道（channel）求平均。", "然后是挤压（一个均值）。",
                       "门控（sigmoid 函数作用于激励，excitation）。"]
    assert ct.missing_first_glosses() == []
