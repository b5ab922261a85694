"""The map of the field (attn_lessons.taxonomy): every factory kind placed once, the data sound.

The book's map page is rendered from this data (book/_ext/field_map.py), so a kind added to the
factory without a placement fails here, not as a silently missing row.
"""

from __future__ import annotations

import sys

import pytest

from attn_lessons import taxonomy
from attn_lessons.factory import ALL_ATTENTION_KINDS, ATTENTION_KINDS, FIELD_GUIDE_KINDS

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import check_translations as ct

KINDS = [p.kind for p in taxonomy.PLACEMENTS]


def test_every_factory_kind_is_placed_exactly_once_in_the_factorys_order():
    assert KINDS == [k for k in ALL_ATTENTION_KINDS if k != "none"]


@pytest.mark.parametrize("kind", KINDS)
def test_placement_looks_up_each_kind(kind):
    assert taxonomy.placement(kind).kind == kind


def test_an_unknown_kind_is_refused_with_the_placed_ones():
    with pytest.raises(ValueError, match=r"'resnet'.*simam"):
        taxonomy.placement("resnet")


def test_a_bad_entry_names_its_field():
    good = taxonomy.placement("se")
    fields = {f: getattr(good, f) for f in good.__dataclass_fields__}
    with pytest.raises(ValueError, match="unknown category 'colour'"):
        taxonomy.Placement(**{**fields, "category": "colour"})
    with pytest.raises(ValueError, match="unknown source"):
        taxonomy.Placement(**{**fields, "source": "blog"})
    with pytest.raises(ValueError, match="gate must be a pair"):
        taxonomy.Placement(**{**fields, "gate": ("sigmoid",)})


def test_the_survey_lists_what_its_companion_list_lists():
    """Facts from the survey's list (MenghaoGuo/Awesome-Vision-Attentions@005a9bd, README.md)."""
    expected = {"se": "channel", "eca": "channel", "self_attention": "spatial", "gc": "spatial",
                "sk": "branch", "cbam": "channel_spatial", "bam": "channel_spatial",
                "triplet": "channel_spatial", "coordatt": "channel_spatial",
                "simam": "channel_spatial"}
    listed = {p.kind: p.category for p in taxonomy.PLACEMENTS if p.source == "survey"}
    assert listed == expected
    # Not in its list (Shuffle Attention) or published after it (EMA, ELA): placed by this book.
    assert {p.kind for p in taxonomy.PLACEMENTS if p.source == "book"} == {"shuffle", "ema", "ela"}


def test_pages_are_the_chapters_and_the_field_guide():
    for p in taxonomy.PLACEMENTS:
        if p.kind in ATTENTION_KINDS:
            assert p.page.startswith("book/ch"), p
        else:
            assert p.kind in FIELD_GUIDE_KINDS and p.page == f"book/guide/{p.kind}", p


def test_by_category_keeps_every_category_and_every_module():
    groups = taxonomy.by_category()
    assert list(groups) == list(taxonomy.CATEGORIES)
    assert sorted(p.kind for g in groups.values() for p in g) == sorted(KINDS)
    assert groups["temporal"] == [] and groups["spatial_temporal"] == []  # no video in the book


@pytest.mark.parametrize("kind", KINDS)
def test_the_chinese_texts_follow_the_translation_rules(kind):
    avoid = ct.load_avoid()
    p = taxonomy.placement(kind)
    pairs = [p.name, p.pools, p.transforms, p.gate, p.applies,
             taxonomy.CATEGORIES[p.category], taxonomy.SOURCES[p.source]]
    for english, chinese in pairs:
        assert ct.check_message(english, chinese, avoid) == [], (english, chinese)


@pytest.mark.parametrize("language, expected", [
    ("en", ["Branch attention", "Selective Kernel (SK)", "listed by the survey",
            "placed by this book", "Pools"]),
    ("zh_CN", ["分支注意力", "选择性卷积核（SK）", "综述所列", "本书归类", "池化"]),
])
def test_the_map_pages_tables_render_in_each_edition(tmp_path, language, expected):
    """book/_ext/field_map.py in a minimal Sphinx project: both tables, in the edition's language,
    a row per module; a module whose page is missing is shown without a link."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        f"extensions = ['field_map']\nlanguage = {language!r}\n", encoding="utf-8")
    (src / "index.rst").write_text("Map\n===\n\n.. field-map-classes::\n\n.. field-map::\n",
                                   encoding="utf-8")
    with docutils_namespace():  # the nodes and directives this build registers go after it
        app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"),
                     "html", status=None, warning=None, freshenv=True)
        app.build()
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    for text in expected:
        assert text in page, text
    assert page.count("<tr") == 2 + len(taxonomy.CATEGORIES) + len(KINDS)
    assert 'href="book/' not in page  # no page of the book exists in this project
