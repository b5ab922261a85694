"""Chapters 6 and 7's experiments: run functions, declarations, pilots and result files.

The run functions are deterministic for a seed (one torch thread), their arms differ only in the
module, and the declared designs are the ones the shipped result files were run with. The slow
part (one training run of each kind) takes a few seconds on one CPU thread.
"""

from __future__ import annotations

import ast
import json
import statistics
from pathlib import Path

import pytest
import torch

from attn_lessons.experiments import ch6, ch7, get_experiment

from .conftest import ROOT

PILOT = ROOT / "scripts" / "pilots" / "ch6_ch7_pilot.json"


def test_ch7_run_is_deterministic_for_a_seed(one_thread):
    first = ch7.run_one("none", "axis", 3, ch7.SETTINGS)
    assert first == ch7.run_one("none", "axis", 3, ch7.SETTINGS)
    assert set(first) == set(get_experiment("ch7_tasks").metrics)
    assert 0 <= first["accuracy"] <= 1


def test_ch6_run_is_deterministic_for_a_seed(one_thread):
    first = ch6.run_one("uniform", "lookup", 2, ch6.SETTINGS)
    assert first == ch6.run_one("uniform", "lookup", 2, ch6.SETTINGS)
    assert set(first) == set(get_experiment("ch6_lookup").metrics)
    assert first["score"] == pytest.approx(1.0)  # uniform weights score exactly 1


def test_arms_of_a_seed_share_the_plain_network_they_start_from():
    # Pairing by seed: an input arm builds the same SmallCNN from the same random state as the
    # baseline, then its gate; so their convolutions start from the same weights.
    torch.manual_seed(5)
    plain = ch7.build_model("none", "channel", ch7.SETTINGS)
    torch.manual_seed(5)
    gated = ch7.build_model("se_input", "channel", ch7.SETTINGS)
    for (name, p), (_, q) in zip(plain.state_dict().items(), gated[1].state_dict().items(),
                                 strict=True):
        assert torch.equal(p, q), name


def test_the_mean_gate_keeps_the_channel_with_the_largest_mean():
    x = torch.zeros(2, 4, 3, 3)
    x[0, 2] = 1.0
    x[1, 0] = 0.5
    x[1, 3] = 0.7
    out = ch7.MeanGateInput()(x)  # (2, 4, 3, 3)
    assert out.shape == x.shape
    assert torch.equal(out[0], x[0])
    assert out[1, 0].abs().sum() == 0 and torch.equal(out[1, 3], x[1, 3])


@pytest.mark.parametrize(("module", "call", "match"), [
    (ch7, lambda: ch7.build_model("squeeze", "axis", ch7.SETTINGS), "unknown arm 'squeeze'"),
    (ch7, lambda: ch7.run_one("none", "stripes", 0, ch7.SETTINGS), "unknown task 'stripes'"),
    (ch6, lambda: ch6.train_lookup("lstm", 0), "unknown arm 'lstm'"),
    (ch6, lambda: ch6.run_one("attention", "axis", 0, ch6.SETTINGS), "one task, 'lookup'"),
])
def test_bad_arms_and_tasks_are_refused_by_name(module, call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("name", ["ch6_lookup", "ch7_tasks"])
def test_the_design_uses_the_pilots_largest_spread(name):
    """sd_assumed is the largest SD of per-seed differences in the kept pilot (seeds outside the
    design), so the seed count can be recomputed from a file in the repository."""
    exp = get_experiment(name)
    pilot = json.loads(PILOT.read_text())[name]
    assert pilot["settings"] == exp.settings
    assert not set(pilot["seeds"]) & set(exp.seeds)
    value = {(r["task"], r["arm"], r["seed"]): r["metrics"][exp.primary_metric]
             for r in pilot["runs"]}
    sds = [statistics.stdev(value[c.task, c.arm, s] - value[c.task, c.baseline, s]
                            for s in pilot["seeds"]) for c in exp.comparisons]
    assert exp.sd_assumed == pytest.approx(max(sds), abs=5e-4)
    if name == "ch7_tasks":
        table = {(c.task, c.arm): sd for c, sd in zip(exp.comparisons, sds, strict=True)}
        assert table == pytest.approx(ch7.PILOT_SD_OF_DIFFERENCES, abs=5e-4)


def test_ch7_family_has_predictions_controls_and_a_permutation_test_for_relation():
    exp = get_experiment("ch7_tasks")
    roles = {(c.task, c.arm): c.role for c in exp.comparisons}
    for task in ("axis", "clutter"):  # the negative controls the issue asks for
        assert roles[task, "se"] == roles[task, "eca"] == "control"
    assert {key for key, role in roles.items() if role == "prediction"} == {
        ("axis", "coordatt"), ("clutter", "cbam"), ("channel", "se"), ("channel", "eca"),
        ("relation", "self_attention")}
    tests = {(c.task, c.arm): c.test for c in exp.comparisons}
    assert tests.pop(("relation", "self_attention")) == "permutation"
    assert set(tests.values()) == {"t"}
    assert exp.paired and len(exp.seeds) >= exp.min_seeds


def test_the_exercise_notebook_does_not_import_its_answers():
    """The exercises ask for a mean and sample SD, the 2-SE rule and Welch's test: the notebook
    must not import functions that compute them, nor call them through a module (review 7.11);
    the checkers keep their own references."""
    nb = json.loads((ROOT / "book" / "ch7_networks" / "measuring_effects.ipynb").read_text())
    answers = {"mean_std", "welch", "two_se_rule", "ttest_ind", "stdev", "pstdev"}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or "solution" in cell["metadata"].get("tags", []):
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = {alias.name.split(".")[-1] for alias in node.names}
                assert not names & answers, names & answers
            if isinstance(node, ast.Attribute):
                assert node.attr not in answers, node.attr


def test_pilot_script_is_the_one_that_wrote_the_pilot():
    script = (Path(PILOT).with_suffix(".py")).read_text()
    assert "range(1000, 1008)" in script and '"ch6_lookup", "ch7_tasks"' in script
