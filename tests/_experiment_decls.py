"""A stand-in chapter module for the registry tests (``EXPERIMENTS`` of two tiny experiments)."""

from attn_lessons.experiments import Comparison, Experiment

_COMMON = dict(
    chapter="tests", question="Does the gate raise accuracy?",
    runner="tests._experiment_runner:run_one",
    cells=(("t", "none"), ("t", "gate")), settings={"effects": {"gate": 0.05}, "sd": 0.05},
    metrics=("accuracy", "loss"), primary_metric="accuracy", seeds=tuple(range(20)), paired=True,
    comparisons=(Comparison("t", "gate", "none", "prediction"),), effect_of_interest=0.02,
    effect_source="a test value", sd_assumed=0.015, sd_source="a test value")

EXPERIMENTS = (Experiment(name="decl_one", **_COMMON), Experiment(name="decl_two", **_COMMON))
