"""README.zh-CN.md, the Chinese README, keeps the English README's sections and commands.

Compared with README.md: the same headings (count and levels, in order), the same code blocks
(byte for byte: the commands are the commands), the same inline code (paths, targets, names),
Chinese text in every section, and a link from each README to the other.
"""

from __future__ import annotations

import re
from collections import Counter

from .conftest import ROOT

EN = (ROOT / "README.md").read_text(encoding="utf-8")
ZH = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


def code_blocks(text: str) -> list[str]:
    return FENCE.findall(text)


def prose(text: str) -> str:
    return FENCE.sub("", text)


def headings(text: str) -> list[tuple[int, str]]:
    return [(len(m.group(1)), m.group(2).strip())
            for m in re.finditer(r"^(#{1,6}) (.+)$", prose(text), re.M)]


def sections(text: str) -> list[str]:
    return re.split(r"^#{1,6} .+$", prose(text), flags=re.M)[1:]


def test_same_headings_in_the_same_order_and_levels():
    en, zh = headings(EN), headings(ZH)
    assert [level for level, _ in zh] == [level for level, _ in en], (en, zh)
    assert len(en) >= 5


def test_headings_keep_their_code_and_the_title_keeps_the_books_name():
    for (_, en), (_, zh) in zip(headings(EN), headings(ZH), strict=True):
        assert re.findall(r"`[^`]+`", en) == re.findall(r"`[^`]+`", zh), (en, zh)
    assert headings(ZH)[0][1].startswith("Attention, Derived")


def test_same_commands_byte_for_byte():
    assert code_blocks(ZH) == code_blocks(EN)
    assert code_blocks(EN), "the README has no command block"


def test_same_inline_code():
    """Paths, targets and names as in English (each README names the other one: left out)."""
    each_other = {"`README.md`", "`README.zh-CN.md`"}
    en = Counter(c for c in re.findall(r"`[^`\n]+`", prose(EN)) if c not in each_other)
    zh = Counter(c for c in re.findall(r"`[^`\n]+`", prose(ZH)) if c not in each_other)
    assert set(en) == set(zh), {"missing": sorted(set(en) - set(zh)),
                                "added": sorted(set(zh) - set(en))}


def test_every_section_is_written_in_chinese():
    for heading, body in zip(headings(ZH), sections(ZH), strict=True):
        assert len(CJK.findall(body)) > 10, f"section {heading[1]!r} has (almost) no Chinese"


def test_the_two_readmes_point_at_each_other():
    assert "README.zh-CN.md" in EN
    assert "(README.md)" in ZH or "`README.md`" in ZH
