"""The field guide's experiment: its declaration, its partners from chapter 7, its run and file.

The partners (``none`` and the closest module of chapters 1-7) are copied from ch7_tasks.json
instead of trained again; that is only right when this module's run function, with this design's
settings and seeds, gives exactly chapter 7's records, which one re-run checks here.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import replace

import pytest
import torch

from attn_lessons.experiments import (
    check_reruns,
    get_experiment,
    guide,
    load_results,
    seeds_required,
)
from attn_lessons.experiments.design import Comparison
from attn_lessons.experiments.runner import cpu_model, default_path
from attn_lessons.factory import ATTENTION_KINDS, FIELD_GUIDE_KINDS

EXP = get_experiment("guide_modules")
CH7 = load_results("ch7_tasks")


def _same_machine_as(results) -> bool:
    prov = results.provenance
    return (prov["torch_version"] == torch.__version__ and prov["threads"] == 1
            and prov["machine"].get("cpu_model") == cpu_model())


def test_the_design_is_registered_and_covers_every_guide_module():
    assert EXP is guide.EXPERIMENTS[0]
    new = {arm for task, arm in EXP.cells if (task, arm) not in guide.PARTNER_CELLS}
    assert new == set(FIELD_GUIDE_KINDS)
    assert {arm for _, arm in guide.PARTNER_CELLS} <= set(ATTENTION_KINDS)
    for c in EXP.comparisons:  # every module against none and its partner, on its claim task
        assert c.arm in FIELD_GUIDE_KINDS
        assert (c.task, c.baseline) in guide.PARTNER_CELLS
    for module, plan in guide.PLAN.items():
        keys = {(c.task, c.baseline) for c in EXP.comparisons if c.arm == module}
        assert {(plan["claim"], "none"), (plan["claim"], plan["partner"])} <= keys
        if "control" in plan:
            assert (plan["control"], "none") in keys


def test_the_settings_and_seeds_are_chapter_sevens():
    ours = dict(EXP.settings)
    options = {k: v for k, v in ours.pop("options").items() if k not in guide.GUIDE_OPTIONS}
    theirs = dict(CH7.design["settings"])
    assert options == theirs.pop("options")
    assert ours == theirs
    assert set(EXP.seeds) <= set(CH7.experiment.seeds)
    assert EXP.paired and CH7.design["paired"]


def test_the_assumed_sd_is_the_largest_of_chapter_sevens_on_these_tasks():
    for (task, arm), stated in guide.CH7_SD_OF_DIFFERENCES.items():
        diffs = [a - b for a, b in zip(CH7.values(task, arm), CH7.values(task, "none"),
                                       strict=True)]
        assert statistics.stdev(diffs) == pytest.approx(stated, abs=5e-5), (task, arm)
    tasks = {task for task, _ in EXP.cells}
    assert EXP.sd_assumed == max(sd for (task, _), sd in guide.CH7_SD_OF_DIFFERENCES.items()
                                 if task in tasks)
    assert seeds_required(EXP) > len(EXP.seeds) and EXP.note  # a budget cap, explained


def test_the_partner_records_are_chapter_sevens():
    records = guide.partner_records()
    assert len(records) == len(guide.PARTNER_CELLS) * len(EXP.seeds)
    for record in records:
        assert record == CH7.run(record["task"], record["arm"], record["seed"])


def test_partners_from_other_settings_are_refused():
    other = replace(EXP, settings={**EXP.settings, "lr": 1e-3})
    with pytest.raises(ValueError, match="other settings"):
        guide.partner_records(other)


def test_a_chapter_seven_record_re_runs_exactly_through_this_run_function(one_thread):
    task, arm, seed = "channel", "none", 0
    ours = guide.run_one(arm, task, seed, EXP.settings)
    if _same_machine_as(CH7):
        assert ours == CH7.run(task, arm, seed)["metrics"]
    else:  # another CPU or torch: bit for bit what chapter 7's run function gives here
        ch7_here = check_reruns(CH7, picks=[(task, arm, seed)], quiet=True)
        assert ours == {row.metric: row.rerun for row in ch7_here.rows}


@pytest.mark.parametrize("module", FIELD_GUIDE_KINDS)
def test_every_module_fits_the_small_cnn_with_its_options(module):
    torch.manual_seed(0)
    net = guide.build_model(module, "clutter", EXP.settings)
    net.train()
    out = net(torch.randn(2, 3, 16, 16))  # (B, in, 16, 16) -> (B, classes)
    assert out.shape == (2, 4)
    assert net.attention_kind == module


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: guide.build_model("squeeze", "axis", EXP.settings), "unknown arm 'squeeze'"),
        (lambda: guide.run_one("simam", "stripes", 0, EXP.settings), "unknown task 'stripes'"),
        (lambda: guide.run_guide(jobs=0), "jobs must be a positive integer, got 0"),
    ],
)
def test_bad_input_is_refused_naming_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_run_guide_resumes_from_its_partial_file_and_copies_the_partners(tmp_path):
    """No training: every new run is already in the partial file (made-up numbers)."""
    small = replace(EXP, cells=(("channel", "none"), ("channel", "shuffle")), seeds=(0, 1),
                    comparisons=(Comparison("channel", "shuffle", "none", "control"),))
    partial = tmp_path / "partial.jsonl"
    fake = [{"task": "channel", "arm": "shuffle", "seed": s,
             "metrics": {"accuracy": 0.5 + s / 10, "loss": 1.0, "train_accuracy": 0.6},
             "seconds": 1.0} for s in (0, 1)]
    partial.write_text("".join(json.dumps(r) + "\n" for r in fake))
    out = guide.run_guide(jobs=1, out=tmp_path / "guide_modules.json", partial=partial,
                          experiment=small, started="2026-01-01T00:00:00+00:00")
    res = load_results(path=out)
    assert res.values("channel", "shuffle") == [0.5, 0.6]
    assert res.values("channel", "none") == CH7.values("channel", "none")[:2]
    assert res.provenance["partners"]["copied_from"] == "ch7_tasks"
    assert res.provenance["date"] == "2026-01-01T00:00:00+00:00"
    assert res.provenance["wall_seconds"] > 0


def test_the_shipped_file_holds_chapter_sevens_partner_records():
    if not default_path(EXP.name).is_file():
        pytest.skip("guide_modules.json is not shipped yet")
    res = load_results(EXP.name)
    assert res.design == EXP.to_dict()
    for task, arm in guide.PARTNER_CELLS:
        for seed in EXP.seeds:
            assert res.run(task, arm, seed) == CH7.run(task, arm, seed)
    assert res.provenance["partners"]["commit"] == CH7.provenance["commit"]


def test_the_command_line_trains_only_the_new_cells_through_run_guide(monkeypatch, tmp_path):
    """`run guide_modules` and `run --all` (so `make results`) must not re-train the partners."""
    from attn_lessons.experiments import __main__ as cli
    from attn_lessons.experiments import runner

    calls = []

    def fake_run_guide(**kwargs):
        calls.append(kwargs)
        return default_path(EXP.name)  # the shipped file, read back by the command

    def refuse(*args, **kwargs):
        raise AssertionError("run_experiment would train the partner cells again")

    monkeypatch.setattr(cli, "run_guide", fake_run_guide)
    monkeypatch.setattr(cli, "run_experiment", refuse)
    monkeypatch.setattr(runner, "run_experiment", refuse)
    if not default_path(EXP.name).is_file():
        pytest.skip("guide_modules.json is not shipped yet")
    assert cli.main(["run", EXP.name, "--jobs", "2", "--no-progress"]) == 0
    (call,) = calls
    assert call["jobs"] == 2 and call["progress"] is False
    assert call["partial"].name == "partial.jsonl" and not call["partial"].parent.exists()


def test_recopy_partners_repoints_equal_records_and_refuses_a_changed_one(tmp_path):
    if not default_path(EXP.name).is_file():
        pytest.skip("guide_modules.json is not shipped yet")
    record = json.loads(default_path(EXP.name).read_text(encoding="utf-8"))
    record["provenance"]["partners"]["commit"] = "0" * 40
    copy = tmp_path / "guide_modules.json"
    copy.write_text(json.dumps(record), encoding="utf-8")
    guide.recopy_partners(copy)
    res = load_results(path=copy)
    assert res.provenance["partners"]["commit"] == CH7.provenance["commit"]
    for task, arm in guide.PARTNER_CELLS:
        assert res.values(task, arm) == CH7.values(task, arm)[: len(EXP.seeds)]
        assert res.run(task, arm, EXP.seeds[0]) == CH7.run(task, arm, EXP.seeds[0])
    new_cells = [cell for cell in EXP.cells if cell not in guide.PARTNER_CELLS]
    shipped = load_results(EXP.name)
    assert all(res.values(*cell) == shipped.values(*cell) for cell in new_cells)
    task, arm = guide.PARTNER_CELLS[0]
    run = next(r for r in record["runs"] if (r["task"], r["arm"]) == (task, arm))
    run["metrics"]["accuracy"] += 0.001
    copy.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{task}/{arm}/seed {run['seed']} differs"):
        guide.recopy_partners(copy)
