"""Chapter 8's experiments: run functions, declarations, pilot and result files.

The run functions are deterministic for a seed (one torch thread), every arm starts from the
shipped trained network (or, from scratch, a fresh one of its shape), the identity insertion
leaves the accuracy at step 0 unchanged, and the declared designs are the ones the pilot and the
shipped result files were run with. A short run of each function takes a few seconds.
"""

from __future__ import annotations

import json
import statistics

import pytest
import torch

from attn_lessons import checkpoints
from attn_lessons.experiments import ch8, get_experiment, load_results
from attn_lessons.experiments.design import seeds_required

from .conftest import ROOT

PILOT = ROOT / "scripts" / "pilots" / "ch8_pilot.json"
NAMES = ("ch8_init", "ch8_budget", "ch8_retrain", "ch8_where")
# A short fine-tune (4 steps, evaluated at 0, 2 and 4) keeps the tests fast.
SHORT = {**ch8.INIT_SETTINGS, "eval_steps": [0, 2, 4]}


def test_the_experiments_are_registered_with_the_runner():
    for name in NAMES:
        exp = get_experiment(name)
        assert exp.chapter == "ch8_insert" and exp.paired
        # sized in full, or capped with the reason in the note
        assert len(exp.seeds) >= seeds_required(exp) or "Budget cap" in exp.note
    assert not get_experiment("ch8_init").note and not get_experiment("ch8_where").note


def test_a_run_is_deterministic_for_a_seed_and_identity_keeps_the_accuracy(one_thread):
    first = ch8.run_init("cbam_identity", "clutter", 3, SHORT)
    assert first == ch8.run_init("cbam_identity", "clutter", 3, SHORT)
    base = checkpoints.manifest()["files"]["none"]["test_accuracy"]
    assert first["accuracy_0"] == base  # the same function right after the insertion
    # alpha has moved off 2**-24: four Adam steps of at most about lr each, either sign
    assert 1e-6 < abs(first["alpha"]) < 4 * ch8.INIT_SETTINGS["lr"] * 1.01
    default = ch8.run_init("cbam_default", "clutter", 3, SHORT)
    assert default["accuracy_0"] < base - 0.1 and default["alpha"] == 1.0
    plain = ch8.run_init("none", "clutter", 3, SHORT)
    assert plain["accuracy_0"] == base and plain["alpha"] == 0.0


def test_the_metrics_are_the_declared_ones(one_thread):
    short = {**ch8.WHERE_SETTINGS, "eval_steps": [2]}
    assert set(ch8.run_where("late", "clutter", 0, short)) == set(
        get_experiment("ch8_where").metrics)
    budget = {**ch8.BUDGET_SETTINGS, "eval_steps": [2], "pretraining_steps": 2}
    for arm in ("modules_then_all", "scratch_total"):
        assert set(ch8.run_budget(arm, "clutter", 0, budget)) == {"accuracy"}


def test_fine_tuning_only_the_new_modules_leaves_the_network_alone(one_thread):
    model = checkpoints.load_checkpoint("none")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(0)
    new = ch8._insert(model, "cbam", "identity", ch8.BUDGET_SETTINGS)
    ch8.finetune(model, 0, {**ch8.BUDGET_SETTINGS, "eval_steps": [3]}, stages=[(3, new)])
    wrapped = {id(p) for p in new}
    for name, p in model.named_parameters():
        if id(p) not in wrapped:  # an old weight, under its pre-insertion name
            key = name.replace(".body", "")
            assert torch.equal(p.detach(), before[key]), name
    # BatchNorm's running statistics move in training mode; the weights did not.


def test_where_puts_the_module_in_the_named_blocks_only():
    model = checkpoints.load_checkpoint("none")
    torch.manual_seed(0)
    ch8._insert(model, "cbam", "identity", ch8.WHERE_SETTINGS, [2])
    assert [isinstance(b.attention, ch8.InsertedAttention) for b in model.blocks] == [
        False, False, True]


@pytest.mark.parametrize(("call", "match"), [
    (lambda: ch8.run_init("eca_identity", "clutter", 0, SHORT), "unknown arm 'eca_identity'"),
    (lambda: ch8.run_where("none", "axis", 0, ch8.WHERE_SETTINGS), "unknown task 'axis'"),
    (lambda: ch8.finetune(torch.nn.Linear(2, 2), 0, SHORT, stages=[(3, None)]),
     "the stages take 3 steps"),
])
def test_bad_arms_tasks_and_stages_are_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("name", NAMES)
def test_the_design_uses_the_pilots_largest_spread(name):
    """sd_assumed is the largest SD of per-seed differences in the kept pilot (seeds outside the
    design, the same settings), so the seed count can be recomputed from the repository."""
    exp = get_experiment(name)
    pilot = json.loads(PILOT.read_text())[ch8.PILOT_OF.get(name, name)]
    assert pilot["settings"] == exp.settings
    assert not set(pilot["seeds"]) & set(exp.seeds)
    value = {(r["arm"], r["seed"]): r["metrics"][exp.primary_metric] for r in pilot["runs"]}
    table = {(c.arm, c.baseline): statistics.stdev(value[c.arm, s] - value[c.baseline, s]
                                                   for s in pilot["seeds"])
             for c in exp.comparisons}
    assert table == pytest.approx(ch8.PILOT_SD_OF_DIFFERENCES[name], abs=5e-4)
    assert exp.sd_assumed == pytest.approx(max(table.values()), abs=5e-4)


def test_the_families_have_their_controls():
    init = {(c.arm, c.baseline): c.role for c in get_experiment("ch8_init").comparisons}
    assert init["se_identity", "none"] == "control"  # SE's bias does not fit clutter (ch. 7)
    for kind in ("cbam", "se"):
        assert init[f"{kind}_identity", f"{kind}_default"] == "prediction"
    for name in ("ch8_init", "ch8_budget", "ch8_where"):  # the fine-tune without insertion
        assert ("clutter", "none") in get_experiment(name).cells


@pytest.mark.parametrize("name", NAMES)
def test_the_shipped_file_was_run_clean_with_this_design(name):
    res = load_results(name)
    assert res.design == get_experiment(name).to_dict()
    assert res.provenance["dirty"] is False and res.provenance["threads"] == 1
