r"""Chapter 3's experiments: SE against ECA against no attention, and what ECA's kernels learn.

Both train the small CNN of chapter 3's lab (``SmallCNN``, widths 16, 32, 64, attention in every
block; SE with :math:`r = 4`, ECA with the paper's rule, which gives :math:`k = 3` for these
widths) on a hard version of the clutter task (16×16 pixels, three distractors, noise 0.2) for
four epochs, so that no variant reaches the ceiling. A seed fixes the training images
(``train_seed + seed``), the batch order and the initial weights; the 512 test images are the same
for every run. Every arm of one seed therefore sees the same images in the same order: the designs
are paired by seed.

``ch3_modules`` (:func:`run_module`)
    arms ``none``, ``se``, ``eca`` on task ``clutter``; metrics ``accuracy`` and ``loss`` on the
    test set.
``ch3_kernels`` (:func:`run_kernel`)
    the ECA network of the same seed, ``trained`` or at ``init``, read block by block (tasks
    ``block1``, ``block2``, ``block3``): its kernel taps ``tap_left``, ``tap_centre``,
    ``tap_right`` (the weights :math:`w_1, w_2, w_3` of eq-eca-conv: the gate of channel
    :math:`c` reads :math:`w_1 y_{c-1} + w_2 y_c + w_3 y_{c+1}`), ``centre_share``
    (:math:`|w_2| / \sum_j |w_j|`: 1 for a gate that reads only its own channel, about 1/3 for
    equal taps), ``tap_norm`` (:math:`\lVert w \rVert_2`), ``neighbour_excess`` (the mean absolute
    correlation over test images of neighbouring channels' descriptors minus that of channels
    further apart) and the network's ``accuracy``. The trained ECA network is the same one
    ``ch3_modules`` trains for that seed (the same function, the same settings), and the three
    blocks of one network come from one training run (cached).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from ..data import clutter_task
from ..device import seed_everything
from ..small_cnn import SmallCNN, capture
from ._common import fit_adam, one_thread, recalibrate, settings_device, settings_key
from .design import Comparison, Experiment

__all__ = [
    "BLOCKS",
    "EXPERIMENTS",
    "KERNEL_ARMS",
    "KERNEL_METRICS",
    "MODULE_ARMS",
    "MODULE_METRICS",
    "SETTINGS",
    "neighbour_excess",
    "run_kernel",
    "run_module",
    "train_network",
]

MODULE_ARMS = ("none", "se", "eca")
MODULE_METRICS = ("accuracy", "loss")
KERNEL_ARMS = ("trained", "init")
BLOCKS = ("block1", "block2", "block3")
KERNEL_METRICS = (
    "tap_left",
    "tap_centre",
    "tap_right",
    "centre_share",
    "tap_norm",
    "neighbour_excess",
    "accuracy",
)

#: The lab's short training run (book/ch3_eca/eca_lab.ipynb).
SETTINGS: dict[str, Any] = {
    "train_n": 512,
    "test_n": 512,
    "size": 16,
    "distractors": 3,
    "noise": 0.2,
    "train_seed": 10,
    "test_seed": 1,
    "widths": [16, 32, 64],
    "se_reduction": 4,
    "epochs": 4,
    "batch_size": 32,
    "lr": 5e-3,
}


def _build(kind: str, settings: Mapping[str, Any]) -> SmallCNN:
    extra = {"reduction": settings["se_reduction"]} if kind == "se" else {}
    return SmallCNN(3, 4, widths=tuple(settings["widths"]), attention=kind, **extra)


def train_network(
    kind: str, seed: int, settings: Mapping[str, Any], *, train: bool = True
) -> tuple[SmallCNN, tuple[torch.Tensor, torch.Tensor]]:
    """The lab's network with attention ``kind`` for ``seed``, trained (or not), and the test set.

    BatchNorm's running statistics are recomputed over the training images before evaluation,
    trained or not, so an untrained network differs from its trained copy only in its weights.
    """
    if kind not in MODULE_ARMS:
        raise ValueError(f"unknown attention kind {kind!r}; expected one of {list(MODULE_ARMS)}")
    data = dict(size=settings["size"], distractors=settings["distractors"], noise=settings["noise"])
    x, y = clutter_task(n=settings["train_n"], seed=settings["train_seed"] + seed, **data).tensors
    test = clutter_task(n=settings["test_n"], seed=settings["test_seed"], **data).tensors
    device = settings_device(settings)
    seed_everything(seed)
    model = _build(kind, settings).to(device)
    x, y = x.to(device), y.to(device)
    test = tuple(t.to(device) for t in test)
    if train:
        fit_adam(model, x, y, epochs=settings["epochs"], batch_size=settings["batch_size"],
                 lr=settings["lr"], seed=seed)
    recalibrate(model, x, settings["batch_size"])
    return model, test


def neighbour_excess(descriptors: torch.Tensor) -> float:
    """Mean |corr| of neighbouring channels' descriptors minus that of channels further apart.

    ``descriptors`` ``(N, C)``: one channel mean per image and channel. Channels whose descriptor
    is constant over the images (a dead ReLU channel) have no correlation and are left out.
    """
    live = descriptors.double().std(0) > 0  # (C,)
    index = torch.arange(descriptors.shape[1])[live]
    corr = torch.corrcoef(descriptors.double()[:, live].T).abs()  # (C_live, C_live)
    gap = (index[:, None] - index[None]).abs()
    return (corr[gap == 1].mean() - corr[gap > 1].mean()).item()


@functools.lru_cache(maxsize=4096)
def _trained(kind: str, seed: int, settings_json: str, train: bool):
    settings = json.loads(settings_json)
    with one_thread():
        model, (test_x, test_y) = train_network(kind, seed, settings, train=train)
        with torch.no_grad():
            logits = model(test_x).cpu()
            store = {k: v.cpu() for k, v in capture(model, test_x).items()}
        test_y = test_y.cpu()
    metrics = {
        "accuracy": (logits.argmax(1) == test_y).double().mean().item(),
        "loss": F.cross_entropy(logits.double(), test_y).item(),
    }
    blocks = {}
    if kind == "eca":
        for b, block in enumerate(BLOCKS):
            w = model.blocks[b].attention.conv.weight.detach().double()
            w = w.flatten()  # (1, 1, k) -> (k,)
            if w.numel() != 3:
                raise ValueError(
                    f"the kernel metrics assume k = 3, block {b + 1} has k = {w.numel()}"
                )
            y = store[f"block{b}.pre"].mean(dim=(2, 3))  # (N, C, H, W) -> (N, C)
            blocks[block] = {
                "tap_left": w[0].item(),
                "tap_centre": w[1].item(),
                "tap_right": w[2].item(),
                "centre_share": (w[1].abs() / w.abs().sum()).item(),
                "tap_norm": w.norm().item(),
                "neighbour_excess": neighbour_excess(y),
                "accuracy": metrics["accuracy"],
            }
    return metrics, blocks


def run_module(arm: str, task: str, seed: int, settings: Mapping[str, Any]) -> dict[str, float]:
    """One record of ``ch3_modules``: test accuracy and loss with attention ``arm``."""
    if task != "clutter":
        raise ValueError(f"unknown task {task!r}; expected 'clutter'")
    if arm not in MODULE_ARMS:
        raise ValueError(f"unknown arm {arm!r}; expected one of {list(MODULE_ARMS)}")
    return dict(_trained(arm, int(seed), settings_key(settings), True)[0])


def run_kernel(arm: str, task: str, seed: int, settings: Mapping[str, Any]) -> dict[str, float]:
    """One record of ``ch3_kernels``: block ``task`` of the ECA network, trained or at init."""
    if task not in BLOCKS:
        raise ValueError(f"unknown task {task!r}; expected one of {list(BLOCKS)}")
    if arm not in KERNEL_ARMS:
        raise ValueError(f"unknown arm {arm!r}; expected one of {list(KERNEL_ARMS)}")
    return dict(_trained("eca", int(seed), settings_key(settings), arm == "trained")[1][task])


EXPERIMENTS = (
    Experiment(
        name="ch3_modules",
        chapter="ch3_eca",
        question=(
            "Does ECA (k = 3) do at least as well as SE (r = 4), and does either beat the same "
            "network without attention, on a hard clutter task with a short training budget?"
        ),
        runner="attn_lessons.experiments.ch3:run_module",
        cells=tuple(("clutter", arm) for arm in MODULE_ARMS),
        settings=SETTINGS,
        metrics=MODULE_METRICS,
        primary_metric="accuracy",
        seeds=tuple(range(100)),
        paired=True,
        comparisons=(
            Comparison("clutter", "eca", "se", "prediction"),
            Comparison("clutter", "se", "none", "prediction"),
            Comparison("clutter", "eca", "none", "prediction"),
        ),
        effect_of_interest=0.01,
        effect_source=(
            "the paper's gains, about one point of top-1 accuracy: ECA-Net 50 against SE-ResNet-50 "
            "+0.77 and SE-ResNet-50 against ResNet-50 +1.51 on ImageNet (Wang et al. 2020, "
            "Table 3; one training run each)"
        ),
        sd_assumed=0.0697,
        sd_source=(
            "pilot (scripts/pilots/ch2_ch3_pilot.py, seeds 0-9, these settings): the largest SD "
            "of the per-seed differences of the family, SE - none (0.0697; ECA - none 0.0545, "
            "ECA - SE 0.0438)"
        ),
        note=(
            "Budget cap: 80 % power at one point would need about 510 seeds per arm (three arms, "
            "about 3.4 CPU seconds per seed: 29 CPU minutes); the chapters' budget affords 100 "
            "seeds, which detect about 2.3 points with 80 % power (about 1.4 points for the "
            "comparison whose differences spread least, ECA - SE). The paper-sized question "
            "cannot be settled here."
        ),
    ),
    Experiment(
        name="ch3_kernels",
        chapter="ch3_eca",
        question=(
            "What do the trained ECA kernels look like, block by block, against their own values "
            "at initialisation: does training give the centre tap (a channel's own mean) the "
            "weight, or arrange neighbouring channels to be alike?"
        ),
        runner="attn_lessons.experiments.ch3:run_kernel",
        cells=tuple((block, arm) for block in BLOCKS for arm in KERNEL_ARMS),
        settings=SETTINGS,
        metrics=KERNEL_METRICS,
        primary_metric="tap_centre",
        seeds=tuple(range(30)),
        paired=True,
        comparisons=tuple(
            Comparison(block, "trained", "init", "question") for block in BLOCKS
        ),
        effect_of_interest=0.1,
        effect_source=(
            "a practical threshold: PyTorch draws each tap uniformly from +-1/sqrt(3) (SD 0.33); "
            "a change of 0.1, under a third of that spread, is the smallest the text would call "
            "a change of the kernel"
        ),
        sd_assumed=0.039,
        sd_source=(
            "pilot (scripts/pilots/ch2_ch3_pilot.py, seeds 0-9, these settings): the largest SD "
            "of the per-seed change of the centre tap, block 1 (0.039; blocks 2 and 3 0.027 and "
            "0.024)"
        ),
    ),
)
