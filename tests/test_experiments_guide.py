"""The field guide's experiment: its declaration, its partners from chapter 7, its run and file.

The partners (``none`` and the closest module of chapters 1-7) are copied from ch7_tasks.json
instead of trained again; that is only right when this module's run function, with this design's
settings and seeds, gives exactly chapter 7's records, which one re-run checks here.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path

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
PILOT = Path(__file__).parents[1] / "scripts" / "pilots" / "guide_scale_pilot.json"


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
        roles = {(c.task, c.baseline): c.role for c in EXP.comparisons if c.arm == module}
        assert roles[plan["claim"], "none"] == plan.get("role", "prediction")
        assert roles[plan["claim"], plan["partner"]] == "question"
        if "also" in plan:
            also = plan["also"]
            assert roles[also["task"], "none"] == also["role"]
            assert roles[also["task"], also["partner"]] == "question"
        if "control" in plan:
            assert roles[plan["control"], "none"] == "control"
    assert {task for task, _ in EXP.cells} == set(guide.TASKS)


def test_sk_is_tested_on_the_scale_task_with_a_prediction():
    """The task SK's claim needs exists, and the design predicts on it (chapter 7 lacks it)."""
    assert guide.PLAN["sk"]["claim"] == "scale" and "role" not in guide.PLAN["sk"]
    assert Comparison("scale", "sk", "none", "prediction") in EXP.comparisons
    assert Comparison("scale", "sk", "se", "question") in EXP.comparisons
    assert {("scale", "none"), ("scale", "se")} <= set(guide.PARTNER_CELLS)
    assert "scale" not in CH7.design["settings"]["tasks"]
    assert EXP.settings["tasks"]["scale"] == guide.GUIDE_TASKS["scale"]


def test_only_the_partner_cells_chapter_seven_has_are_copied():
    copied = guide.copied_cells()
    assert set(copied) == {cell for cell in guide.PARTNER_CELLS if cell[0] != "scale"}
    assert set(copied) <= set(CH7.experiment.cells)
    trained = {cell for cell in EXP.cells if cell not in copied}
    assert {("scale", "none"), ("scale", "se"), ("scale", "sk")} <= trained


def test_the_settings_and_seeds_are_chapter_sevens():
    ours = dict(EXP.settings)
    options = {k: v for k, v in ours.pop("options").items() if k not in guide.GUIDE_OPTIONS}
    tasks = {k: v for k, v in ours.pop("tasks").items() if k not in guide.GUIDE_TASKS}
    theirs = dict(CH7.design["settings"])
    assert options == theirs.pop("options")
    assert tasks == theirs.pop("tasks")
    assert ours == theirs
    # the guide's own task is trained with chapter 7's budget for its other tasks
    assert all(entry == CH7.design["settings"]["tasks"]["clutter"]
               for entry in guide.GUIDE_TASKS.values())
    assert set(EXP.seeds) <= set(CH7.experiment.seeds)
    assert EXP.paired and CH7.design["paired"]


def test_the_assumed_sd_is_the_largest_of_chapter_sevens_and_the_pilots():
    for (task, arm), stated in guide.CH7_SD_OF_DIFFERENCES.items():
        diffs = [a - b for a, b in zip(CH7.values(task, arm), CH7.values(task, "none"),
                                       strict=True)]
        assert statistics.stdev(diffs) == pytest.approx(stated, abs=5e-5), (task, arm)
    pilot = json.loads(PILOT.read_text(encoding="utf-8"))
    value = {(r["task"], r["arm"], r["seed"]): r["metrics"]["accuracy"] for r in pilot["runs"]}
    assert pilot["settings"] == EXP.settings and not set(pilot["seeds"]) & set(EXP.seeds)
    for (task, arm), stated in guide.PILOT_SD_OF_DIFFERENCES.items():
        diffs = [value[task, arm, s] - value[task, "none", s] for s in pilot["seeds"]]
        assert statistics.stdev(diffs) == pytest.approx(stated, abs=5e-5), (task, arm)
    tasks = {task for task, _ in EXP.cells}
    every = guide.CH7_SD_OF_DIFFERENCES | guide.PILOT_SD_OF_DIFFERENCES
    assert EXP.sd_assumed == max(sd for (task, _), sd in every.items() if task in tasks)
    assert seeds_required(EXP) > len(EXP.seeds) and EXP.note  # a budget cap, explained
    assert f"{seeds_required(EXP)} seeds per arm" in EXP.note


def test_the_partner_records_are_chapter_sevens():
    records = guide.partner_records()
    assert len(records) == len(guide.copied_cells()) * len(EXP.seeds)
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
    assert res.provenance["partners"]["cells"] == [list(cell) for cell in guide.copied_cells()]
    assert not res.provenance["dirty"]
    for task, arm in guide.copied_cells():
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
    for task, arm in guide.copied_cells():
        assert res.values(task, arm) == CH7.values(task, arm)[: len(EXP.seeds)]
        assert res.run(task, arm, EXP.seeds[0]) == CH7.run(task, arm, EXP.seeds[0])
    new_cells = [cell for cell in EXP.cells if cell not in guide.copied_cells()]
    shipped = load_results(EXP.name)
    assert all(res.values(*cell) == shipped.values(*cell) for cell in new_cells)
    task, arm = guide.copied_cells()[0]
    run = next(r for r in record["runs"] if (r["task"], r["arm"]) == (task, arm))
    run["metrics"]["accuracy"] += 0.001
    copy.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{task}/{arm}/seed {run['seed']} differs"):
        guide.recopy_partners(copy)


# --- reusing an earlier file's records -----------------------------------------------------------

SMALL = replace(EXP, cells=(("channel", "none"), ("channel", "shuffle"), ("scale", "none")),
                seeds=(0, 1),
                comparisons=(Comparison("channel", "shuffle", "none", "control"),))


def _shipped() -> Path:
    if not default_path(EXP.name).is_file():
        pytest.skip("guide_modules.json is not shipped yet")
    return default_path(EXP.name)


def test_reusable_records_are_those_with_the_same_cell_seed_and_run_settings():
    shipped = load_results(path=_shipped())
    reused = guide.reusable_records(EXP, _shipped())
    assert set(reused) == {(t, a, s) for t, a in EXP.cells for s in EXP.seeds}
    assert all(reused[t, a, s] == shipped.run(t, a, s) for t, a, s in reused)
    # another option for SK, another budget on scale: those cells are not reused, the rest are
    sk = {**EXP.settings["options"]["sk"], "reduction": 2}
    other = replace(EXP, settings={**EXP.settings,
                                   "options": {**EXP.settings["options"], "sk": sk},
                                   "tasks": {**EXP.settings["tasks"],
                                             "scale": {**guide.GUIDE_TASKS["scale"], "epochs": 7}}})
    kept = {(t, a) for t, a, _ in guide.reusable_records(other, _shipped())}
    assert kept == {cell for cell in EXP.cells if "sk" not in cell and "scale" not in cell}
    # a seed the earlier file lacks is trained, not reused
    more = replace(EXP, seeds=(*EXP.seeds, 99))
    assert all(s != 99 for _, _, s in guide.reusable_records(more, _shipped()))


def test_a_dirty_or_other_runner_file_is_not_reused(tmp_path):
    record = json.loads(_shipped().read_text(encoding="utf-8"))
    record["provenance"]["dirty"] = True
    dirty = tmp_path / "dirty.json"
    dirty.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(ValueError, match="dirty tree"):
        guide.reusable_records(EXP, dirty)
    other = replace(EXP, runner="attn_lessons.experiments.ch7:run_one")
    with pytest.raises(ValueError, match="another runner"):
        guide.reusable_records(other, _shipped())


def test_a_reused_record_that_does_not_re_run_is_refused(one_thread):
    key = ("channel", "shuffle", 1)
    record = dict(load_results(path=_shipped()).run(*key))
    record["metrics"] = {**record["metrics"], "accuracy": record["metrics"]["accuracy"] + 0.001}
    with pytest.raises(ValueError, match="channel/shuffle/seed 1 does not re-run"):
        guide.verify_reused(SMALL, {key: record}, picks=1)
    with pytest.raises(ValueError, match="picks must be an integer >= 0, got -1"):
        guide.verify_reused(SMALL, {key: record}, picks=-1)


def test_run_guide_reuses_verified_records_and_trains_the_rest(tmp_path, one_thread):
    """channel/shuffle comes from the earlier file after one re-run; scale/none is trained
    (here taken from the partial file, made-up numbers); channel/none is copied from chapter 7."""
    shipped = load_results(path=_shipped())
    if not _same_machine_as(shipped):
        pytest.skip("the shipped file was made on another CPU or torch: it need not re-run here")
    partial = tmp_path / "partial.jsonl"
    fake = [{"task": "scale", "arm": "none", "seed": s,
             "metrics": {"accuracy": 0.5 + s / 10, "loss": 1.0, "train_accuracy": 0.6},
             "seconds": 1.0} for s in (0, 1)]
    partial.write_text("".join(json.dumps(r) + "\n" for r in fake))
    # scale with another budget: its shipped records (if any) are not this design's: trained
    small = replace(SMALL, settings={**SMALL.settings, "tasks": {
        **SMALL.settings["tasks"], "scale": {**guide.GUIDE_TASKS["scale"], "epochs": 7}}})
    out = guide.run_guide(jobs=1, out=tmp_path / "guide_modules.json", partial=partial,
                          experiment=small, reuse=_shipped(), verify=1)
    res = load_results(path=out)
    assert res.values("channel", "shuffle") == shipped.values("channel", "shuffle")[:2]
    assert res.values("scale", "none") == [0.5, 0.6]
    assert res.values("channel", "none") == CH7.values("channel", "none")[:2]
    reused = res.provenance["reused"]
    assert reused["records"] == 2 and reused["rerun_equal"] == [["channel", "shuffle", 1]]
    assert reused["commit"] == shipped.provenance["commit"]
    assert reused["wall_seconds"] == shipped.provenance["wall_seconds"]
    assert res.provenance["partners"]["cells"] == [["channel", "none"]]
