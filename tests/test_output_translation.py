"""The Chinese edition's notebook text outputs: templates with the numbers of a run left out
(attn_lessons.output_translation), translated by the Chinese build (book/_ext/translated_outputs.py)
from the output-text catalogue, which is complete for the committed execution."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from attn_lessons import output_translation as ot

from .conftest import BOOK, ROOT

sys.path.insert(0, str(BOOK / "_ext"))
sys.path.insert(0, str(ROOT / "scripts"))
import chinese_prose
import translated_outputs

CATALOGUE = translated_outputs.CATALOGUE
CACHE = ROOT / "_build" / ".jupyter_cache"

# ------------------------------------------------------------------------------------------------
# Templates: numbers and identifiers out, and back in
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, pattern, numbers", [
    ("Over 60 seeds", "Over {0} seeds", ["60"]),
    ("block2 - block1: +0.363 [-0.285, +0.440] (98.3%)", "{0} - {1}: {2} [{3}, {4}] ({5}%)",
     ["block2", "block1", "+0.363", "-0.285", "+0.440", "98.3"]),
    ("SE weights 2,514,944, sigma 4.54e-05, eps 1e4", "SE weights {0}, sigma {1}, eps {2}",
     ["2,514,944", "4.54e-05", "1e4"]),
    ("ch2_gates: 9 run(s) re-run", "{0}: {1} run(s) re-run", ["ch2_gates", "9"]),
    ("library commit 5514b1a, x86_64 CPU", "library commit {0}, {1} CPU", ["5514b1a", "x86_64"]),
    ("a {dict} and a {0} in braces", "a {{dict}} and a {{{0}}} in braces", ["0"]),
    ("no number at all", "no number at all", []),
])
def test_a_template_holds_no_number_and_gives_the_numbers_back(text, pattern, numbers):
    assert ot.template(text) == (pattern, numbers)
    assert ot.fill(pattern, numbers) == text
    assert not re.search(r"\d", re.sub(r"\{\d+\}", "", pattern))


def test_a_rerun_with_other_numbers_finds_the_same_template():
    first, _ = ot.template("Over 60 seeds: +0.38 [+0.30, +0.47] points, block1")
    second, _ = ot.template("Over 120 seeds: -1.5 [-2.25, -0.75] points, block2")
    assert first == second


def test_a_translation_puts_the_numbers_where_its_placeholders_are():
    translator = ot.Translator({"{0} % against {1} % without attention":
                                "无注意力时为 {1} %，有注意力时为 {0} %"})
    assert translator.unit("  91.5 % against 88.0 % without attention ") == (
        "  无注意力时为 88.0 %，有注意力时为 91.5 % ")
    assert translator.used == ["{0} % against {1} % without attention"]
    assert translator.missing == []


def test_a_missing_template_is_reported_and_the_text_left_as_it_is():
    translator = ot.Translator({"trained": "训练后"})
    assert translator.unit("shuffled 24.3 %") == "shuffled 24.3 %"
    assert translator.missing == ["shuffled {0} %"]


def test_a_translation_that_loses_a_placeholder_is_not_used():
    english = "{0} points over {1} seeds"
    assert ot.translation_problems(english, "{0} 个百分点") != []
    assert ot.translation_problems(english, "{1} 个种子上相差 {0} 个百分点") == []
    translator = ot.Translator({english: "{0} 个百分点"})
    assert translator.unit("3 points over 60 seeds") == "3 points over 60 seeds"
    assert translator.missing == [english]


def test_fill_names_a_placeholder_without_a_number():
    with pytest.raises(ValueError, match=r"\{2\}"):
        ot.fill("{0} and {2}", ["1", "2"])


@pytest.mark.parametrize("text, needed", [
    ("0.5", False), ("+0.38 [-0.09, +0.08]", False), ("class_share", False), ("block1", False),
    ("$g^h$ 1", False), ("`se`", False), ("C", False), ("trained", True), ("SE", True),
    ("ci_low (95 % family)", True),
])
def test_what_needs_a_translation(text, needed):
    assert ot.needs_translation(text) is needed


def test_a_unit_must_be_text():
    with pytest.raises(TypeError, match="int"):
        ot.needs_translation(3)
    with pytest.raises(TypeError, match="bytes"):
        ot.template(b"x")


def test_markdown_is_translated_line_by_line_and_cell_by_cell():
    catalogue = {"arm": "组别", "Over {0} seeds the gate grows.": "在 {0} 个种子上门控变大。",
                 "trained": "`trained`"}
    text = "Over 60 seeds the gate grows.\n\n| arm | p |\n|---|---|\n| trained | 0.01 |"
    assert ot.Translator(catalogue).markdown(text) == (
        "在 60 个种子上门控变大。\n\n| 组别 | p |\n|---|---|\n| `trained` | 0.01 |")


def test_a_fenced_code_block_of_a_markdown_output_is_kept():
    text = "The arm:\n```\ntrained arm\n```\ntrained"
    translator = ot.Translator({"The arm:": "组别：", "trained": "`trained`"})
    assert translator.markdown(text) == "组别：\n```\ntrained arm\n```\n`trained`"
    assert translator.missing == []


def test_html_text_nodes_are_translated_and_code_styles_and_attributes_kept():
    catalogue = {"arm": "组别", ": {0} run(s) re-run, every metric equal to its record":
                 "：重跑了 {0} 次运行，每个指标都与记录相等", "trained": "`trained`",
                 "mean & max": "均值 & 最大值"}
    text = ('<style>.arm { color: red }</style><p><code>ch2_gates</code>: 9 run(s) re-run, every '
            'metric equal to its record</p><table title="arm"><tr><th>arm</th>'
            '<th>mean &amp; max</th></tr><tr><td>trained</td><td>0.5</td></tr></table>')
    translator = ot.Translator(catalogue)
    assert translator.html(text) == (
        '<style>.arm { color: red }</style><p><code>ch2_gates</code>：重跑了 9 次运行，每个指标都'
        '与记录相等</p><table title="arm"><tr><th>组别</th><th>均值 &amp; 最大值</th></tr><tr><td>'
        '<code class="docutils literal notranslate">trained</code></td><td>0.5</td></tr></table>')
    assert translator.missing == []


def test_the_shown_mime_type_is_myst_nbs_choice():
    shown = ot.shown_mime_type({"text/html": "", "text/markdown": "", "text/plain": ""})
    assert shown == "text/html"
    assert ot.shown_mime_type({"text/markdown": "", "text/plain": ""}) == "text/markdown"
    assert ot.shown_mime_type({"image/png": "", "text/markdown": ""}) is None
    assert ot.shown_mime_type({"text/plain": ""}) is None


def test_the_rerun_reports_names_and_free_text_are_code_in_html():
    from attn_lessons.experiments.results import RerunReport, RerunRow

    row = RerunRow("block1", "trained", 0, "gate_sd", 0.5, 0.5, 1.0)
    report = RerunReport("ch2_gates", [row], asserted=False, reason="CPU 'a' here, 'b' there")
    html = report._repr_html_()
    assert html.startswith("<p><code>ch2_gates</code>: 1 run(s) re-run, compared but not "
                           "asserted <code>(CPU &#x27;a&#x27; here, &#x27;b&#x27; there)</code>")
    assert report._summary() == ("ch2_gates: 1 run(s) re-run, compared but not asserted "
                                 "(CPU 'a' here, 'b' there)")


# ------------------------------------------------------------------------------------------------
# The Chinese build: translated on a Chinese page, a warning (the strict build fails) when missing
# ------------------------------------------------------------------------------------------------


def _render(monkeypatch, language, mime_type, content, catalogue):
    from myst_nb.core.render import MimeData

    monkeypatch.setattr(translated_outputs, "catalogue", lambda: catalogue)
    warnings = []
    monkeypatch.setattr(translated_outputs.logger, "warning",
                        lambda msg, *args, **kw: warnings.append(msg % args))
    render = translated_outputs.chinese_render(lambda self, data: data.content, mime_type)
    env = SimpleNamespace(config=SimpleNamespace(language=language), docname="page",
                          note_dependency=lambda path: None)
    fake = SimpleNamespace(renderer=SimpleNamespace(sphinx_env=env))
    return render(fake, MimeData(mime_type, content, cell_index=4, line=1)), warnings


def test_the_chinese_build_shows_the_translation(monkeypatch):
    shown, warnings = _render(monkeypatch, "zh_CN", "text/markdown", "Over 60 seeds.",
                              {"Over {0} seeds.": "在 {0} 个种子上。"})
    assert (shown, warnings) == ("在 60 个种子上。", [])


def test_the_chinese_build_warns_of_a_missing_template(monkeypatch):
    shown, warnings = _render(monkeypatch, "zh_CN", "text/html", "<td>held 3 times</td>", {})
    assert shown == "<td>held 3 times</td>"
    assert len(warnings) == 1 and "'held {0} times'" in warnings[0] and "cell 4" in warnings[0]


def test_the_english_build_is_untouched(monkeypatch):
    shown, warnings = _render(monkeypatch, "en", "text/markdown", "Over 60 seeds.",
                              {"Over {0} seeds.": "在 {0} 个种子上。"})
    assert (shown, warnings) == ("Over 60 seeds.", [])


def test_the_extension_patches_myst_nb_once():
    from myst_nb.core.render import NbElementRenderer

    translated_outputs.setup(None)
    once = (NbElementRenderer.render_markdown, NbElementRenderer.render_text_html)
    translated_outputs.setup(None)
    assert (NbElementRenderer.render_markdown, NbElementRenderer.render_text_html) == once
    assert all(method.chinese_edition for method in once)


# ------------------------------------------------------------------------------------------------
# The catalogue: translated, Chinese, placeholders kept, complete for the committed execution
# ------------------------------------------------------------------------------------------------


def _entries():
    from babel.messages.pofile import read_po

    with CATALOGUE.open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


def test_every_entry_of_the_output_catalogue_is_translated_into_chinese():
    entries = _entries()
    assert len(entries) > 100, "the output-text catalogue is (nearly) empty"
    names = chinese_prose.load_names()
    problems = []
    for m in entries:
        if not m.string or m.fuzzy:
            problems.append(f"untranslated or fuzzy: {m.id!r}")
            continue
        problems += ot.translation_problems(m.id, m.string)
        if ot.template(re.sub(r"\{\d+\}", "", m.string))[1]:
            problems.append(f"a number typed in the translation: {m.string!r}")
        prose = re.sub(r"`[^`]*`|\$[^$]*\$|\{\d+\}|<[^>]+>", " ", m.string)
        english = [w for w in chinese_prose.TOKEN.findall(prose)
                   if len(chinese_prose.LETTER.findall(w)) >= 2
                   and not chinese_prose.IDENTIFIER.search(w) and not names.allows(w)]
        if english:
            problems.append(f"English words {english} in {m.string!r}")
    assert not problems, "\n".join(problems)


def test_the_output_catalogue_keeps_the_house_style_of_chinese():
    """scripts/check_translations.py's rules of Chinese prose (10%, full-width parentheses and
    punctuation, spacing), with the placeholders as numbers; code names may be added."""
    import check_translations

    def number(text):
        return re.sub(r"\{(\d+)\}", lambda k: str(700 + int(k.group(1))), text)

    avoid = check_translations.load_avoid()
    problems = []
    for m in _entries():
        problems += [f"{m.string!r}: {p}" for p in check_translations.check_message(
            number(m.id), number(m.string), avoid)
            if not p.startswith(("maths/code/roles differ: added", "numbers lost"))]
    assert not problems, "\n".join(problems)


def test_the_rerun_reports_variants_are_in_the_catalogue():
    from output_catalogue import rerun_report_templates

    have = ot.load_catalogue(CATALOGUE)
    assert [t for t in rerun_report_templates() if t not in have] == []


@pytest.mark.skipif(not (CACHE / "global.db").is_file(),
                    reason="no execution cache (_build/.jupyter_cache): run the notebooks first")
def test_the_output_catalogue_translates_every_output_of_the_execution():
    """scripts/output_catalogue.py --check, for the execution cache of this checkout."""
    from output_catalogue import collect

    have = ot.load_catalogue(CATALOGUE)
    where, executed = collect(CACHE)
    assert executed, "no notebook of the table of contents is in the execution cache"
    missing = [f"{text!r} ({', '.join(where[text])})" for text in where if text not in have]
    problems = [p for text in where if text in have
                for p in ot.translation_problems(text, have[text])]
    assert not missing and not problems, (
        "run scripts/output_catalogue.py and translate the new entries:\n"
        + "\n".join(missing + problems))


def test_the_catalogue_file_is_where_the_script_writes_it():
    from output_catalogue import CATALOGUE as written

    assert Path(written) == CATALOGUE
