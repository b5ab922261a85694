"""attn_lessons.experiments: the design's checks, the runner, the result file's schema, re-runs.

Every experiment here is built in this file and runs ``tests._experiment_runner.run_one`` (a
seeded draw, microseconds per run), so the whole file takes a few seconds; none of them is a book
experiment, and none is written into attn_lessons/results.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

import attn_lessons.experiments as experiments
from attn_lessons import stats
from attn_lessons.experiments import (
    Comparison,
    Experiment,
    RerunMismatch,
    ResultFileError,
    check_reruns,
    load_results,
    minimum_detectable_effect,
    run_experiment,
    seeds_required,
    validate,
)
from attn_lessons.experiments import __main__ as cli
from attn_lessons.experiments import results as results_module
from attn_lessons.experiments import runner as runner_module
from attn_lessons.experiments.design import field_names
from attn_lessons.experiments.results import (
    COMPUTED_DESIGN_FIELDS,
    MACHINE_FIELDS,
    PROVENANCE_FIELDS,
    RUN_FIELDS,
)

from .conftest import ROOT

RUNNER = "tests._experiment_runner:run_one"


def design(**changes) -> dict:
    """The keyword arguments of a valid small experiment, with ``changes``."""
    kwargs = dict(
        name="infra_test", chapter="tests", question="Does the gate raise accuracy?",
        runner=RUNNER, cells=(("t", "none"), ("t", "gate"), ("t", "control")),
        settings={"effects": {"gate": 0.05, "control": 0.0}, "sd": 0.05},
        metrics=("accuracy", "loss"), primary_metric="accuracy", seeds=tuple(range(20)),
        paired=True,
        comparisons=(Comparison("t", "gate", "none", "prediction"),
                     Comparison("t", "control", "none", "control", test="permutation")),
        effect_of_interest=0.02, effect_source="a test value", sd_assumed=0.015,
        sd_source="a test value")
    kwargs.update(changes)
    return kwargs


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A result file written once (one job) for the tests that read or tamper with copies."""
    path = tmp_path_factory.mktemp("results") / "infra_test.json"
    run_experiment(Experiment(**design()), out=path, progress=False)
    return path


def read(path) -> dict:
    return json.loads(path.read_text())


def write(path, record: dict):
    path.write_text(json.dumps(record))
    return path


# --- the design ---------------------------------------------------------------------------------


def test_seeds_required_is_the_power_calculation_with_bonferroni_and_the_floor():
    exp = Experiment(**design(min_seeds=2))
    # two comparisons: each at alpha 0.025; paired, d = 0.02 / 0.015
    assert seeds_required(exp) == stats.seeds_needed(0.02, 0.015, power=0.8, alpha=0.025,
                                                     paired=True)
    assert seeds_required(Experiment(**design())) == 20  # the floor min_seeds
    unpaired = Experiment(**design(paired=False, min_seeds=2, seeds=tuple(range(40))))
    assert seeds_required(unpaired) == stats.seeds_needed(0.02, 0.015, alpha=0.025, paired=False)
    assert seeds_required(unpaired) > seeds_required(exp)


def test_too_few_seeds_are_refused_unless_a_note_explains_the_cap():
    with pytest.raises(ValueError, match=r"has 10 seeds but needs 20"):
        Experiment(**design(seeds=tuple(range(10))))
    capped = Experiment(**design(seeds=tuple(range(10)), note="budget: 10 seeds fit the CPU"))
    assert minimum_detectable_effect(capped) > minimum_detectable_effect(Experiment(**design()))
    assert capped.to_dict()["minimum_detectable_effect"] == minimum_detectable_effect(capped)


@pytest.mark.parametrize(("changes", "error", "match"), [
    ({"name": "Bad Name"}, ValueError, "name"),
    ({"name": 3}, TypeError, "name"),
    ({"question": " "}, ValueError, "question"),
    ({"runner": "no_colon"}, ValueError, "runner"),
    ({"cells": ()}, ValueError, "cells"),
    ({"cells": (("t", "none"), ("t", "none"))}, ValueError, "duplicates"),
    ({"cells": ("t",)}, TypeError, "cell"),
    ({"settings": {"f": object()}}, ValueError, "JSON"),
    ({"settings": [1]}, TypeError, "settings"),
    ({"metrics": ()}, ValueError, "metrics"),
    ({"primary_metric": "speed"}, ValueError, "speed"),
    ({"seeds": (0, 0, 1)}, ValueError, "distinct"),
    ({"seeds": (0, -1)}, ValueError, "-1"),
    ({"seeds": (0,)}, ValueError, "at least 2"),
    ({"paired": 1}, TypeError, "paired"),
    ({"comparisons": (Comparison("t", "gate", "nothing", "prediction"),)}, ValueError,
     "nothing"),
    ({"effect_of_interest": 0}, ValueError, "effect_of_interest"),
    ({"sd_assumed": float("nan")}, ValueError, "sd_assumed"),
    ({"power": 1.0}, ValueError, "power"),
    ({"alpha": "0.05"}, TypeError, "alpha"),
    ({"min_seeds": 1}, ValueError, "min_seeds"),
    ({"sd_source": ""}, ValueError, "sd_source"),
])
def test_bad_designs_are_refused_naming_the_field(changes, error, match):
    with pytest.raises(error, match=match):
        Experiment(**design(**changes))


@pytest.mark.parametrize(("args", "match"), [
    (("t", "gate", "none", "guess"), "role"),
    (("t", "gate", "gate", "prediction"), "itself"),
    (("t", "gate", "none", "prediction", "bootstrap"), "test"),
])
def test_bad_comparisons_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        Comparison(*args)


def test_a_design_round_trips_through_its_dict():
    exp = Experiment(**design(settings={"widths": (8, 16)}))
    assert exp.settings == {"widths": [8, 16]}  # stored as its JSON round trip
    again = Experiment.from_dict(json.loads(json.dumps(exp.to_dict())))
    assert again == exp
    assert set(exp.to_dict()) == {*field_names(), *COMPUTED_DESIGN_FIELDS}


# --- the runner and the file --------------------------------------------------------------------


def test_the_file_holds_the_design_every_run_and_the_provenance(written):
    res = load_results("infra_test", path=written)
    exp = Experiment(**design())
    assert res.design == exp.to_dict()
    assert [(r["task"], r["arm"], r["seed"]) for r in res.runs] == [
        (task, arm, seed) for task, arm in exp.cells for seed in exp.seeds]
    prov = res.provenance
    assert set(prov) >= set(PROVENANCE_FIELDS)
    assert prov["torch_version"] == torch.__version__
    assert prov["threads"] == 1 and prov["jobs"] == 1 and prov["device"] == "cpu"
    assert prov["machine"]["cpu_model"] == runner_module.cpu_model()
    assert (prov["commit"] is None) == (prov["dirty"] is None)
    # values in seed order, paired by position
    from tests._experiment_runner import run_one

    assert res.values("t", "gate") == [run_one("gate", "t", s, exp.settings)["accuracy"]
                                       for s in exp.seeds]
    assert res.values("t", "none", "loss")[3] == res.run("t", "none", 3)["metrics"]["loss"]
    assert len(res.frame()) == len(res.runs) and "accuracy" in res.frame()[0]
    with pytest.raises(ValueError, match="speed"):
        res.values("t", "gate", "speed")
    with pytest.raises(ValueError, match="nothing"):
        res.values("t", "nothing")


def test_jobs_do_not_change_the_records(written, tmp_path):
    two = run_experiment(Experiment(**design()), jobs=2, out=tmp_path / "two.json",
                         progress=False, start_method="fork")
    one = load_results(path=written)

    def records(res):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in res.runs]

    assert records(two) == records(one)
    assert two.provenance["jobs"] == 2


def test_a_runner_that_returns_other_metrics_is_refused(tmp_path):
    exp = Experiment(**design(runner="tests._experiment_runner:run_wrong_metrics"))
    with pytest.raises(ValueError, match="surprise"):
        run_experiment(exp, out=tmp_path / "x.json", progress=False)
    assert not (tmp_path / "x.json").exists()


def test_the_write_is_atomic(written, tmp_path, monkeypatch):
    path = tmp_path / "kept.json"
    path.write_bytes(written.read_bytes())
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        run_experiment(Experiment(**design()), out=path, progress=False)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.json"]  # no temporary left


def test_the_run_restores_the_callers_thread_count(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not the run's own 1 (nor the suite's): a run that forgot is caught
    try:
        run_experiment(Experiment(**design(seeds=(0, 1), note="two seeds: a test")),
                       out=tmp_path / "r.json", progress=False)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


# --- the schema ---------------------------------------------------------------------------------


def test_the_written_file_validates(written):
    assert validate(read(written)) == Experiment(**design())


@pytest.mark.parametrize("field", [*field_names(), *COMPUTED_DESIGN_FIELDS])
def test_a_file_missing_a_design_field_is_refused(written, field):
    record = read(written)
    del record["design"][field]
    with pytest.raises(ResultFileError, match=field):
        validate(record)


@pytest.mark.parametrize("field", [*PROVENANCE_FIELDS, *(f"machine.{f}" for f in MACHINE_FIELDS)])
def test_a_file_missing_a_provenance_field_is_refused(written, field):
    record = read(written)
    where, _, key = field.rpartition(".")
    del (record["provenance"][where] if where else record["provenance"])[key or field]
    with pytest.raises(ResultFileError, match=key or field):
        validate(record)


@pytest.mark.parametrize("field", RUN_FIELDS)
def test_a_run_missing_a_field_is_refused(written, field):
    record = read(written)
    del record["runs"][5][field]
    with pytest.raises(ResultFileError, match=f"run 5 lacks \\['{field}'\\]"):
        validate(record)


@pytest.mark.parametrize(("tamper", "match"), [
    (lambda r: r["runs"][0]["metrics"].update(speed=1.0), "undeclared metric"),
    (lambda r: r["runs"][0]["metrics"].pop("loss"), "lacks metric"),
    (lambda r: r["runs"][0]["metrics"].update(loss="0.5"), "not a finite number"),
    (lambda r: r["runs"].pop(), "missing"),
    (lambda r: r["runs"].append(copy.deepcopy(r["runs"][0])), "repeats"),
    (lambda r: r["runs"][0].update(seed=99), "seed 99"),
    (lambda r: r["runs"][0].update(arm="cbam"), "not a declared cell"),
    (lambda r: r.update(schema=2), "schema"),
    (lambda r: r["provenance"].update(date="yesterday"), "date"),
    (lambda r: r["provenance"].update(threads=0), "threads"),
])
def test_a_file_that_breaks_the_schema_is_refused(written, tamper, match):
    record = read(written)
    tamper(record)
    with pytest.raises(ResultFileError, match=match):
        validate(record)


def test_the_seed_count_is_recomputed_from_the_stated_inputs(written):
    record = read(written)
    record["design"]["seeds_required"] = 5  # a stated number that its inputs do not give
    with pytest.raises(ResultFileError, match="seeds_required 5 but its inputs give 20"):
        validate(record)
    record = read(written)
    record["design"]["sd_assumed"] = 0.05  # the same seeds now fall short of the power needed
    with pytest.raises(ResultFileError, match=r"needs \d+ for 80% power"):
        validate(record)
    record["design"]["note"] = "capped by the budget"  # ... unless a note explains the cap
    exp = Experiment.from_dict(record["design"])
    record["design"]["seeds_required"] = seeds_required(exp)
    record["design"]["minimum_detectable_effect"] = minimum_detectable_effect(exp)
    assert validate(record) == exp
    record["design"]["minimum_detectable_effect"] *= 0.5
    with pytest.raises(ResultFileError, match="minimum_detectable_effect"):
        validate(record)


def test_load_results_checks_the_name_and_reports_a_missing_file(written, tmp_path):
    with pytest.raises(ResultFileError, match="not 'other'"):
        load_results("other", path=written)
    with pytest.raises(FileNotFoundError, match="run no_such_experiment"):
        load_results("no_such_experiment")
    with pytest.raises(FileNotFoundError):
        load_results(path=tmp_path / "absent.json")
    with pytest.raises(TypeError):
        load_results()
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ResultFileError, match="not JSON"):
        load_results(path=tmp_path / "bad.json")


# --- re-runs ------------------------------------------------------------------------------------


@pytest.fixture
def same_machine(written, tmp_path, monkeypatch):
    """A copy of the file whose provenance names this CPU (a fixed name, so the check asserts
    whatever /proc/cpuinfo says on the machine running the tests)."""
    monkeypatch.setattr(results_module, "cpu_model", lambda: "Test CPU 1.0")
    record = read(written)
    record["provenance"]["machine"]["cpu_model"] = "Test CPU 1.0"
    return write(tmp_path / "infra_test.json", record)


def test_reruns_reproduce_the_records(same_machine):
    report = check_reruns("infra_test", path=same_machine)
    assert report.asserted and report.equal
    assert report.picks == [("t", "none", 0), ("t", "gate", 0), ("t", "control", 0)]
    assert "every metric equal" in repr(report)
    assert "<table>" in report._repr_html_()
    assert report._repr_html_().count("<tr>") == 1 + len(report.rows)  # header, rows
    # no markdown form: myst-nb renders every type of a bundle, and the Chinese edition's
    # output translation would have to translate a form nobody sees
    assert not hasattr(report, "_repr_markdown_")


def test_an_altered_record_fails_the_check(same_machine):
    record = read(same_machine)
    run = next(r for r in record["runs"] if (r["arm"], r["seed"]) == ("gate", 0))
    run["metrics"]["accuracy"] += 1e-9
    write(same_machine, record)
    with pytest.raises(RerunMismatch, match=r"task 't', arm 'gate', seed 0, metric 'accuracy'"
                       ) as caught:
        check_reruns("infra_test", path=same_machine)
    assert caught.value.recorded == run["metrics"]["accuracy"]
    assert caught.value.rerun == pytest.approx(run["metrics"]["accuracy"] - 1e-9, abs=0)


def test_another_torch_version_prints_instead_of_asserting(same_machine, capsys):
    record = read(same_machine)
    record["provenance"]["torch_version"] = "1.0.0"
    record["runs"][0]["metrics"]["accuracy"] += 0.25  # would fail an asserted check
    write(same_machine, record)
    report = check_reruns("infra_test", path=same_machine)
    out = capsys.readouterr().out
    assert not report.asserted and not report.equal
    assert "Cannot assert" in out and "torch" in out and "1.0.0" in out
    assert "-0.25" in out  # the difference, printed
    assert "not asserted" in repr(report)


def test_another_cpu_prints_instead_of_asserting(same_machine, monkeypatch, capsys):
    monkeypatch.setattr(results_module, "cpu_model", lambda: "Another CPU")
    report = check_reruns("infra_test", path=same_machine)
    assert not report.asserted and report.equal
    assert "Another CPU" in capsys.readouterr().out


def test_picks_and_the_time_budget(same_machine):
    record = read(same_machine)
    for run in record["runs"]:
        run["seconds"] = 6.0  # three first seeds would take 18 s: the budget keeps two
    write(same_machine, record)
    report = check_reruns("infra_test", path=same_machine)
    assert len(report.picks) == 2 and report.skipped == (("t", "control", 0),)
    assert "left out" in repr(report)
    report = check_reruns("infra_test", path=same_machine, budget=100, per_cell=2)
    assert len(report.picks) == 6
    picked = check_reruns("infra_test", picks=[("t", "gate", 7)], path=same_machine)
    assert picked.picks == [("t", "gate", 7)]
    with pytest.raises(KeyError, match="seed 99"):
        check_reruns("infra_test", picks=[("t", "gate", 99)], path=same_machine)
    with pytest.raises(ValueError, match="per_cell"):
        check_reruns("infra_test", path=same_machine, per_cell=0)


def test_the_skip_variable_checks_the_picks_and_trains_nothing(same_machine, monkeypatch):
    """The student edition's test sets it: the picks are still looked up, nothing is trained."""
    def refuse(*args, **kwargs):
        raise AssertionError("a run was trained although the variable is set")

    monkeypatch.setattr(results_module, "run_one_record", refuse)
    monkeypatch.setenv(results_module.SKIP_RERUNS_VARIABLE, "1")
    report = check_reruns("infra_test", path=same_machine)
    assert not report.rows and not report.asserted and len(report.skipped) == 3
    assert f"none re-run ({results_module.SKIP_RERUNS_VARIABLE} is set)" in repr(report)
    with pytest.raises(KeyError, match="seed 99"):
        check_reruns("infra_test", picks=[("t", "gate", 99)], path=same_machine)
    monkeypatch.setenv(results_module.SKIP_RERUNS_VARIABLE, "0")  # 0 or empty: re-run as usual
    with pytest.raises(AssertionError, match="trained although"):
        check_reruns("infra_test", path=same_machine)


# --- the analysis reads the file ----------------------------------------------------------------


def test_analyse_reads_the_results(written):
    analysis = stats.analyse(load_results(path=written))
    gate, control = analysis[("t", "gate")], analysis[("t", "control", "none")]
    assert gate.verdict == "higher" and gate.outcome == "held" and gate.test == "paired t"
    assert control.test == "permutation (paired)"
    assert control.verdict in ("equivalent", "inconclusive")
    assert "verdict" in repr(analysis) and "<table>" in analysis._repr_html_()


# --- discovery and the command line -------------------------------------------------------------


def test_every_declared_experiment_is_valid_and_resolvable():
    found = experiments.all_experiments()
    for name, exp in found.items():
        assert name == exp.name
        runner_module.resolve_runner(exp.runner)
    assert all(m.rsplit(".", 1)[1].startswith(("ch", "guide"))
               for m in experiments.chapter_modules())


def test_list_works_with_no_chapter_modules(monkeypatch, capsys):
    monkeypatch.setattr(experiments, "chapter_modules", lambda: [])
    assert experiments.all_experiments() == {}
    assert cli.main(["list"]) == 0
    assert "No experiments are declared" in capsys.readouterr().out
    assert cli.main(["run", "nothing_declared"]) == 2
    with pytest.raises(ValueError, match="no experiment called 'x'"):
        experiments.get_experiment("x")


def test_the_registry_refuses_bad_modules(monkeypatch):
    monkeypatch.setattr(experiments, "chapter_modules", lambda: ["tests._experiment_runner"])
    with pytest.raises(TypeError, match="must define EXPERIMENTS"):
        experiments.all_experiments()


def test_check_from_the_command_line(same_machine, capsys):
    assert cli.main(["check", "infra_test", "--path", str(same_machine)]) == 0
    assert "every metric equal" in capsys.readouterr().out
    record = read(same_machine)
    record["runs"][0]["metrics"]["loss"] = 0.125
    write(same_machine, record)
    assert cli.main(["check", "infra_test", "--path", str(same_machine)]) == 1
    assert "metric 'loss'" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter imports torch: a few seconds
def test_python_dash_m_list_runs():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}
    done = subprocess.run([sys.executable, "-m", "attn_lessons.experiments", "list"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "experiment" in done.stdout.lower()


def test_the_contributing_example_is_a_valid_design():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text[text.index("## How to add an experiment"):text.index("## Notebooks")]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(textwrap.dedent(block), namespace)
    (exp,) = namespace["EXPERIMENTS"]
    assert len(exp.seeds) >= seeds_required(exp)


def test_the_registry_and_the_command_line_with_declared_experiments(monkeypatch, tmp_path,
                                                                       capsys):
    monkeypatch.setattr(experiments, "chapter_modules", lambda: ["tests._experiment_decls"])
    assert list(experiments.all_experiments()) == ["decl_one", "decl_two"]
    assert experiments.get_experiment("decl_two").name == "decl_two"
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "decl_one" in out and "decl_two" in out and "2 experiment(s)" in out
    out_path = tmp_path / "one.json"
    assert cli.main(["run", "decl_one", "--out", str(out_path), "--no-progress"]) == 0
    res = load_results("decl_one", path=out_path)
    assert res.provenance["command"] == (
        f"python -m attn_lessons.experiments run decl_one --out {out_path} --no-progress")
    assert cli.main(["run", "decl_one", "decl_two", "--out", str(out_path)]) == 2
    assert cli.main(["run"]) == 2
    assert cli.main(["run", "decl_one", "--jobs", "0"]) == 2
    # a name declared twice is refused
    monkeypatch.setattr(experiments, "chapter_modules",
                        lambda: ["tests._experiment_decls", "tests._experiment_decls"])
    with pytest.raises(ValueError, match="declared twice"):
        experiments.all_experiments()


def test_analyse_takes_another_family(written):
    res = load_results(path=written)
    analysis = stats.analyse(res, [Comparison("t", "gate", "none", "prediction")])
    assert len(analysis) == 1 and analysis[0].interval_level == 0.95
    assert analysis[0].effect == pytest.approx(
        stats.paired(res.values("t", "gate"), res.values("t", "none")).difference)


# --- the larger configuration for a GPU machine and what the chapter modules share ---------------


def test_the_gpu_configuration_runs_every_seed_the_power_calculation_asks():
    from attn_lessons.experiments.design import gpu_configuration

    capped = Experiment(**design(seeds=tuple(range(5, 25)), sd_assumed=0.03,
                                 note="Budget cap: a test value."))
    needed = seeds_required(capped)
    assert needed > 20
    big = gpu_configuration(capped)
    assert len(big.seeds) == needed and big.seeds[:20] == capped.seeds  # the book's seeds first
    assert len(set(big.seeds)) == needed and big.note == ""
    assert big.settings["device"] == "cuda"
    assert {k: v for k, v in big.settings.items() if k != "device"} == dict(capped.settings)
    assert (big.name, big.cells, big.comparisons) == (capped.name, capped.cells, capped.comparisons)
    sized = Experiment(**design())  # already sized in full: same seeds, only the device changes
    same = gpu_configuration(sized, "cpu")
    assert same.seeds == sized.seeds and same.settings["device"] == "cpu"
    with pytest.raises(ValueError, match="device"):
        gpu_configuration(sized, "")
    with pytest.raises(TypeError, match="Experiment"):
        gpu_configuration("ch7_tasks")


def test_the_gpu_configuration_from_the_command_line(tmp_path, capsys):
    if not torch.cuda.is_available():
        assert cli.main(["run", "ch6_lookup", "--config", "gpu"]) == 2
        assert "no CUDA device" in capsys.readouterr().err
    out = tmp_path / "infra.json"
    exp = Experiment(**design(seeds=tuple(range(20)), sd_assumed=0.03,
                              note="Budget cap: a test value."))
    from attn_lessons.experiments.design import gpu_configuration

    big = gpu_configuration(exp, "cpu")
    run_experiment(big, out=out, progress=False)
    loaded = load_results("infra_test", path=out)
    assert len({run["seed"] for run in loaded.runs}) == seeds_required(exp)
    assert loaded.design["settings"]["device"] == "cpu"


def test_settings_device_names_a_bad_device():
    from attn_lessons.experiments._common import settings_device

    assert settings_device({}) == torch.device("cpu")
    assert settings_device({"device": "cpu"}) == torch.device("cpu")
    with pytest.raises(TypeError, match="device"):
        settings_device({"device": 0})
    with pytest.raises(ValueError, match="'gpu0'"):
        settings_device({"device": "gpu0"})
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            settings_device({"device": "cuda"})


def test_the_shared_training_loop_is_seeded_by_its_seed():
    from attn_lessons.experiments._common import fit_adam, recalibrate

    def trained(seed):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                                  torch.nn.Flatten(), torch.nn.Linear(8, 2))
        x = torch.randn(40, 1, 4, 4, generator=torch.Generator().manual_seed(1))
        y = torch.arange(40) % 2
        fit_adam(net, x, y, epochs=2, batch_size=8, lr=1e-2, seed=seed)
        recalibrate(net, x, 8)
        assert not net.training
        return torch.cat([p.detach().flatten() for p in net.parameters()])

    assert torch.equal(trained(3), trained(3))
    assert not torch.equal(trained(3), trained(4))  # the seed orders the batches
