"""Chapter 8's experiments: attention inserted into a network that has already learned its task.

Every run starts from the shipped ``clutter_none`` checkpoint (:mod:`attn_lessons.checkpoints`:
the SmallCNN of chapter 7, widths 8, 16, 32, trained for 15 epochs on 3,072 images of the
``clutter`` task) or, in the from-scratch arm, from a fresh network of the same shape, and
fine-tunes on the checkpoint's own training images; the test set is the checkpoint's (1,000
images). A seed fixes the inserted modules' random initialisation (or the fresh network's weights)
and the batch order, the same order for every arm, so the arms are paired by seed. The checkpoint
itself is the same for every seed: these experiments ask what happens to *one* trained network,
the reader's situation.

Fine-tuning is AdamW (``settings["lr"]``, weight decay ``settings["weight_decay"]``, constant
learning rate) on minibatches of ``settings["batch_size"]`` training images in training mode; the
test accuracy is measured in evaluation mode (BatchNorm's running statistics) at the step counts
``settings["eval_steps"]``.

Three experiments, one per question of the chapter:

``ch8_init``
    CBAM or SE inserted in every block with the paper's initialisation (``"<kind>_default"``) or
    the identity initialisation (``"<kind>_identity"``), then everything fine-tuned; the control
    ``"none"`` fine-tunes the network without inserting anything, with the same steps.
``ch8_budget``
    CBAM in every block, at one budget of optimiser steps: inserted with the identity
    initialisation and everything fine-tuned (``"all"``), or the new modules alone for the first
    half and everything for the second (``"modules_then_all"``), against the CBAM network trained
    from scratch with the same number of steps (``"scratch"``); the control ``"none"`` again.
``ch8_retrain``
    ``"all"`` against the CBAM network trained from scratch with the pretraining's steps added
    (``"scratch_total"``, 720 + 120): equal compute counted with the pretraining.
``ch8_where``
    CBAM (identity initialisation) in the first block only (``"early"``), the last block only
    (``"late"``) or every block (``"every"``), everything fine-tuned; the control ``"none"``.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from attn_lessons import checkpoints
from attn_lessons.device import seed_everything
from attn_lessons.experiments._common import settings_device
from attn_lessons.experiments.design import Comparison, Experiment
from attn_lessons.insert import InsertedAttention, insert_attention
from attn_lessons.small_cnn import SmallCNN
from attn_lessons.train import evaluate

TASK = "clutter"

#: What every chapter-8 run shares (the checkpoint's data and architecture are in
#: ``attn_lessons.checkpoints.SETTINGS``; these are the fine-tuning's).
COMMON: dict[str, Any] = {
    "checkpoint": "none",
    "batch_size": 64,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "options": {"se": {"reduction": 4}, "cbam": {"reduction": 4}},
}

#: The fine-tuning budget of every experiment: 120 optimiser steps of 64 images, two and a half
#: passes over the 3,072 training images (the checkpoint was trained with 720).
STEPS = 120

INIT_SETTINGS: dict[str, Any] = {**COMMON, "eval_steps": [0, 10, 30, STEPS]}
BUDGET_SETTINGS: dict[str, Any] = {**COMMON, "eval_steps": [STEPS], "kind": "cbam",
                                   "scratch_lr": 3e-3, "pretraining_steps": 720}
WHERE_SETTINGS: dict[str, Any] = {**COMMON, "eval_steps": [STEPS], "kind": "cbam",
                                  "blocks": {"early": [0], "late": [2], "every": [0, 1, 2]}}

INIT_ARMS = ("none", "se_default", "se_identity", "cbam_default", "cbam_identity")
BUDGET_ARMS = ("none", "all", "modules_then_all", "scratch", "scratch_total")
#: ``ch8_budget`` runs the first four; ``ch8_retrain`` the expensive ``scratch_total`` against
#: ``all`` (same run function and settings), with fewer seeds.
RETRAIN_ARMS = ("all", "scratch_total")
WHERE_ARMS = ("none", "early", "late", "every")


@functools.lru_cache(maxsize=1)
def _data() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    train, test = checkpoints.train_set(), checkpoints.test_set()
    return train.tensors, test.tensors


def _check(arm: str, task: str, arms: tuple[str, ...]) -> None:
    if task != TASK:
        raise ValueError(f"unknown task {task!r}; chapter 8's experiments run on {TASK!r} (the "
                         f"shipped checkpoints' task)")
    if arm not in arms:
        raise ValueError(f"unknown arm {arm!r}; expected one of {list(arms)}")


def _start(arm: str, task: str, seed: int, settings: dict[str, Any],
           arms: tuple[str, ...]) -> torch.device:
    """How every run begins: refuse an ``arm`` not in ``arms`` or a task other than
    :data:`TASK`, then seed everything with ``seed``; return the settings' device.

    Every arm of a seed then loads or builds its network from the same random state.
    """
    _check(arm, task, arms)
    device = settings_device(settings)
    seed_everything(seed)
    return device


def _trained(settings: dict[str, Any], device: torch.device) -> nn.Module:
    """The shipped trained network (weights checked against the manifest), on ``device``."""
    return checkpoints.load_checkpoint(settings["checkpoint"]).to(device)


def _insert(model: nn.Module, kind: str, init: str, settings: dict[str, Any],
            blocks: list[int] | None = None) -> list[nn.Parameter]:
    """Insert ``kind`` into ``model`` (every block, or ``blocks``); return the new parameters."""
    where: Any = "blocks" if blocks is None else [f"blocks.{i}.attention" for i in blocks]
    report = insert_attention(model, kind, where, init=init,
                              **settings["options"].get(kind, {}))
    return report.new_parameters(model)


def mean_alpha(model: nn.Module) -> float:
    """The mean blend weight of the inserted modules (1 without a blend, 0 with none inserted)."""
    values = [1.0 if m.alpha is None else float(m.alpha.detach())
              for m in model.modules() if isinstance(m, InsertedAttention)]
    return sum(values) / len(values) if values else 0.0


def finetune(model: nn.Module, seed: int, settings: dict[str, Any], *,
             stages: list[tuple[int, list[nn.Parameter] | None]] | None = None,
             lr: float | None = None) -> dict[int, float]:
    """Fine-tune ``model`` in place; return the test accuracy at each of ``eval_steps``.

    ``stages`` is a list of ``(steps, parameters)``: each stage makes a fresh AdamW over
    ``parameters`` (``None``: every parameter of the model) and takes ``steps`` steps; the default
    is one stage over everything up to the last evaluation step. The batch order is drawn from a
    generator seeded with ``seed`` and continues across stages and epochs, the same for every arm.
    """
    device = settings_device(settings)
    (train_x, train_y), test = _data()
    train_x, train_y = train_x.to(device), train_y.to(device)
    eval_steps = sorted(int(s) for s in settings["eval_steps"])
    if stages is None:
        stages = [(eval_steps[-1], None)]
    total = sum(steps for steps, _ in stages)
    if total != eval_steps[-1]:
        raise ValueError(f"the stages take {total} steps, but the last evaluation is at step "
                         f"{eval_steps[-1]}")
    batch = int(settings["batch_size"])
    order = torch.Generator().manual_seed(seed)
    permutation, used = torch.randperm(len(train_x), generator=order), 0
    accuracy: dict[int, float] = {}
    step = 0

    def measure() -> None:
        if step in eval_steps:
            accuracy[step] = evaluate(model, test, device=device)["accuracy"]

    measure()
    for steps, params in stages:
        params = list(model.parameters()) if params is None else params
        optimizer = torch.optim.AdamW(params, lr=settings["lr"] if lr is None else lr,
                                      weight_decay=settings["weight_decay"])
        for _ in range(steps):
            if used + batch > len(train_x):  # a new epoch: a new order, no partial batch
                permutation, used = torch.randperm(len(train_x), generator=order), 0
            index = permutation[used : used + batch].to(device)
            used += batch
            model.train()
            loss = F.cross_entropy(model(train_x[index]), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            measure()
    return accuracy


def run_init(arm: str, task: str, seed: int, settings: dict[str, Any]) -> dict[str, float]:
    """``ch8_init``: the test accuracy at each evaluation step (``accuracy_<step>``)."""
    model = _trained(settings, _start(arm, task, seed, settings, INIT_ARMS))
    if arm != "none":
        kind, init = arm.rsplit("_", 1)
        _insert(model, kind, init, settings)
    accuracy = finetune(model, seed, settings)
    return {**{f"accuracy_{step}": value for step, value in accuracy.items()},
            "alpha": mean_alpha(model)}


def run_budget(arm: str, task: str, seed: int, settings: dict[str, Any]) -> dict[str, float]:
    """``ch8_budget``: the test ``accuracy`` after the budget of optimiser steps."""
    device = _start(arm, task, seed, settings, BUDGET_ARMS)
    kind, steps = settings["kind"], int(settings["eval_steps"][-1])
    if arm in ("scratch", "scratch_total"):
        net = checkpoints.SETTINGS
        model = SmallCNN(3, 4, widths=tuple(net["widths"]), attention=kind,
                         **settings["options"].get(kind, {})).to(device)
        total = steps + (int(settings["pretraining_steps"]) if arm == "scratch_total" else 0)
        accuracy = finetune(model, seed, {**settings, "eval_steps": [total]},
                            lr=settings["scratch_lr"])
        return {"accuracy": accuracy[total]}
    else:
        model = _trained(settings, device)
        stages = None
        if arm != "none":
            new = _insert(model, kind, "identity", settings)
            if arm == "modules_then_all":
                stages = [(steps // 2, new), (steps - steps // 2, None)]
        accuracy = finetune(model, seed, settings, stages=stages)
    return {"accuracy": accuracy[steps]}


def run_where(arm: str, task: str, seed: int, settings: dict[str, Any]) -> dict[str, float]:
    """``ch8_where``: the test accuracy at each evaluation step (``accuracy_<step>``)."""
    model = _trained(settings, _start(arm, task, seed, settings, WHERE_ARMS))
    if arm != "none":
        _insert(model, settings["kind"], "identity", settings, settings["blocks"][arm])
    accuracy = finetune(model, seed, settings)
    return {"accuracy": accuracy[int(settings["eval_steps"][-1])], "alpha": mean_alpha(model)}


#: The pilots behind ``sd_assumed``: every cell with seeds 1000-1003 (outside the designs), the SD
#: of the per-seed differences of each comparison, in accuracy units.
#: ``scripts/pilots/ch8_pilot.py`` made the runs (kept in ``ch8_pilot.json`` beside it), and
#: tests/test_experiments_ch8.py recomputes these numbers from them.
PILOT_SD_OF_DIFFERENCES: dict[str, dict[tuple[str, str], float]] = {
    "ch8_init": {
        ("cbam_identity", "cbam_default"): 0.0051, ("se_identity", "se_default"): 0.0026,
        ("cbam_identity", "none"): 0.0005, ("se_identity", "none"): 0.0013,
        ("cbam_default", "none"): 0.0054, ("se_default", "none"): 0.0022,
    },
    "ch8_budget": {
        ("all", "scratch"): 0.0964, ("modules_then_all", "all"): 0.0017,
        ("modules_then_all", "none"): 0.0019,
    },
    "ch8_retrain": {("all", "scratch_total"): 0.0049},
    "ch8_where": {
        ("early", "none"): 0.0010, ("late", "none"): 0.0017, ("every", "none"): 0.0005,
        ("late", "early"): 0.0021,
    },
}
#: The pilot runs of each experiment: ``ch8_retrain``'s two arms are ``ch8_budget``'s pilot runs of
#: them (the same run function, settings and seeds).
PILOT_OF = {"ch8_retrain": "ch8_budget"}

_EFFECT = 0.01
_EFFECT_SOURCE = (
    "One point of test accuracy (10 of the 1,000 test images): about half the errors the trained "
    "network still makes (97.9 % accuracy), and about half the gap between the shipped networks "
    "without attention and with CBAM trained from scratch (97.9 % and 99.6 %, the checkpoint "
    "manifest). A change smaller than that is not worth a module to a reader with this network.")


def _pilot_sd(name: str) -> float:
    table = PILOT_SD_OF_DIFFERENCES[name]
    return max(table.values()) if table else 0.01


def _sd_source(name: str) -> str:
    table = PILOT_SD_OF_DIFFERENCES[name]
    if not table:
        return "placeholder before the pilot"
    (arm, baseline), worst = max(table.items(), key=lambda item: item[1])
    rest = sorted(v for k, v in table.items() if k != (arm, baseline))
    where = ("" if name not in PILOT_OF else
             f" (its two arms' runs in the pilot of {PILOT_OF[name]}, the same settings)")
    others = (f"; the others {rest[0]:.4f} to {rest[-1]:.4f}" if rest else "")
    return (f"A pilot with seeds 1000-1003 (outside the design), every cell, these settings "
            f"(scripts/pilots/ch8_pilot.py, kept in ch8_pilot.json){where}: the largest SD of "
            f"the per-seed differences among the {len(table)} comparison(s), {arm} - {baseline} "
            f"({worst:.4f}{others}; PILOT_SD_OF_DIFFERENCES in this module).")


EXPERIMENTS = (
    Experiment(
        name="ch8_init",
        chapter="ch8_insert",
        question=(
            "Inserted into every block of the trained clutter_none network and fine-tuned, does "
            "the identity initialisation end with a higher test accuracy than the paper's "
            "initialisation, does CBAM then beat fine-tuning without any insertion, and does SE, "
            "whose bias does not fit the task, leave it unchanged?"),
        runner="attn_lessons.experiments.ch8:run_init",
        cells=tuple((TASK, arm) for arm in INIT_ARMS),
        settings=INIT_SETTINGS,
        metrics=(*(f"accuracy_{step}" for step in INIT_SETTINGS["eval_steps"]), "alpha"),
        primary_metric=f"accuracy_{STEPS}",
        seeds=tuple(range(20)),
        paired=True,
        comparisons=(
            Comparison(TASK, "cbam_identity", "cbam_default", "prediction"),
            Comparison(TASK, "se_identity", "se_default", "prediction"),
            Comparison(TASK, "cbam_identity", "none", "prediction"),
            Comparison(TASK, "se_identity", "none", "control"),
            Comparison(TASK, "cbam_default", "none", "question"),
            Comparison(TASK, "se_default", "none", "question"),
        ),
        effect_of_interest=_EFFECT,
        effect_source=_EFFECT_SOURCE,
        sd_assumed=_pilot_sd("ch8_init"),
        sd_source=_sd_source("ch8_init"),
    ),
    Experiment(
        name="ch8_budget",
        chapter="ch8_insert",
        question=(
            "With CBAM and a budget of 120 optimiser steps, does inserting it into the trained "
            "network and fine-tuning everything beat training the CBAM network from scratch with "
            "the same steps; does fine-tuning the new modules alone first, then everything, "
            "differ from fine-tuning everything at once, and from fine-tuning without "
            "insertion?"),
        runner="attn_lessons.experiments.ch8:run_budget",
        cells=tuple((TASK, arm) for arm in BUDGET_ARMS if arm != "scratch_total"),
        settings=BUDGET_SETTINGS,
        metrics=("accuracy",),
        primary_metric="accuracy",
        seeds=tuple(range(20)),
        paired=True,
        comparisons=(
            # bimodal: a network trained from scratch for 120 steps sometimes stalls
            Comparison(TASK, "all", "scratch", "prediction", test="permutation"),
            Comparison(TASK, "modules_then_all", "all", "question"),
            Comparison(TASK, "modules_then_all", "none", "question"),
        ),
        effect_of_interest=_EFFECT,
        effect_source=_EFFECT_SOURCE,
        sd_assumed=_pilot_sd("ch8_budget"),
        sd_source=_sd_source("ch8_budget"),
        note=(
            "Budget cap for one comparison. The network trained from scratch for 120 steps "
            "sometimes stalls (pilot: 79 % to 98 %), so the SD of the all - scratch differences "
            "is about 10 points and 80 % power at 1 point would need about a thousand seeds; "
            "with 20 that comparison detects about 8 points (the pilot's difference was about 8 "
            "points, and its p-value is a sign-flip permutation test). The other two "
            "comparisons (pilot SDs under 0.2 points) have more than 80 % power at 1 point "
            "with the book's floor of 20 seeds."),
    ),
    Experiment(
        name="ch8_retrain",
        chapter="ch8_insert",
        question=(
            "Counting the pretraining's 720 steps as compute too, does inserting CBAM into the "
            "trained network and fine-tuning for 120 steps end below the CBAM network trained "
            "from scratch for all 840 steps?"),
        runner="attn_lessons.experiments.ch8:run_budget",
        cells=tuple((TASK, arm) for arm in RETRAIN_ARMS),
        settings=BUDGET_SETTINGS,
        metrics=("accuracy",),
        primary_metric="accuracy",
        seeds=tuple(range(10)),
        paired=True,
        comparisons=(Comparison(TASK, "all", "scratch_total", "question"),),
        effect_of_interest=_EFFECT,
        effect_source=_EFFECT_SOURCE,
        sd_assumed=_pilot_sd("ch8_retrain"),
        sd_source=_sd_source("ch8_retrain"),
        min_seeds=20,
        note=(
            "Budget cap below the book's floor of 20 seeds. The power calculation asks for "
            "fewer than 10 seeds (80 % power at 1 point at the pilot's SD of the differences, "
            "about half a point); the floor would double the most expensive runs of the chapter "
            "(each scratch_total run trains 840 steps, seven times a fine-tuning run), so this "
            "design keeps 10 seeds and reports its minimum detectable effect."),
    ),
    Experiment(
        name="ch8_where",
        chapter="ch8_insert",
        question=(
            "Inserted with the identity initialisation and fine-tuned for 120 steps, does CBAM "
            "in the first block only, the last block only or every block raise the trained "
            "network's test accuracy over fine-tuning without insertion, and does late differ "
            "from early?"),
        runner="attn_lessons.experiments.ch8:run_where",
        cells=tuple((TASK, arm) for arm in WHERE_ARMS),
        settings=WHERE_SETTINGS,
        metrics=("accuracy", "alpha"),
        primary_metric="accuracy",
        seeds=tuple(range(20)),
        paired=True,
        comparisons=(
            Comparison(TASK, "early", "none", "question"),
            Comparison(TASK, "late", "none", "question"),
            Comparison(TASK, "every", "none", "question"),
            Comparison(TASK, "late", "early", "question"),
        ),
        effect_of_interest=_EFFECT,
        effect_source=_EFFECT_SOURCE,
        sd_assumed=_pilot_sd("ch8_where"),
        sd_source=_sd_source("ch8_where"),
    ),
)
