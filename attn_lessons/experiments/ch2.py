r"""Chapter 2's experiment: how class-specific are a trained SE network's gates, block by block?

The SE paper (Hu et al., TPAMI 2020, section 7.2 and Fig. 6) reads the gates of one trained
SE-ResNet-50 for four classes and sees gates that hardly depend on the class in early stages,
class-specific gates deeper, and one block (SE_5_2) whose gates are nearly all saturated. Chapter
2 asks the same of the small CNN of its lab, with a score that does not depend on how much a gate
varies at all, and with controls that separate what training on the labels did from what the data
and the initialisation give for free.

Design (paired by seed: a seed fixes the initial weights, the training images and the batch
order of every arm):

- arms: ``trained`` (the lab's network trained on the true labels), ``shuffled`` (the same network,
  same initial weights, same images and steps, trained on labels permuted once at random: it can
  only memorise) and ``init`` (the same network untrained);
- tasks: ``block1``, ``block2``, ``block3``, the block whose gates are read. The three blocks of
  one (arm, seed) come from one trained network: :func:`run_one` trains it once and keeps its
  scores for the other two blocks (:func:`_scores` is cached), so a record costs a training run
  only the first time its network is asked for.

Per record, over the fixed test set of 256 images (``s`` the gate, shape ``(N, C)``):

``class_share``
    :math:`\eta^2`, the share of each channel's gate variance over the images that the class
    explains (between-class sum of squares over total sum of squares), averaged over channels.
    It is scale-free: a channel whose gate moves by 1e-3 and one whose gate moves by 0.5 score
    alike if the class explains the same share of the movement.
``class_share_null``
    the same score with the test labels permuted at random (mean over ``null_permutations``
    permutations, seeded): what a gate with no class information scores, about
    :math:`(K - 1)/(N - 1)` for K classes and N images.
``above_0_9``, ``below_0_1``
    the shares of all gate values above 0.9 and below 0.1, reported apart.
``gate_sd``
    each channel's standard deviation over the images, averaged over channels (the chapter's old,
    absolute score).
``moved_from_init``
    the mean of :math:`|s_c(x) - s^{(0)}_c(x)|` over images and channels, where
    :math:`s^{(0)}` is the same network's gate at initialisation on the same image (0 for
    ``init``).
``gate_mean``
    the mean gate.
``accuracy``
    the network's test accuracy (the same in the three blocks of one network).
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
    "ARMS",
    "BLOCKS",
    "EXPERIMENTS",
    "METRICS",
    "SETTINGS",
    "class_share",
    "run_one",
    "train_network",
]

#: The arms: trained on the true labels, trained on shuffled labels, untrained.
ARMS = ("trained", "shuffled", "init")
#: The tasks: which block's gates a record scores.
BLOCKS = ("block1", "block2", "block3")
METRICS = (
    "class_share",
    "class_share_null",
    "above_0_9",
    "below_0_1",
    "gate_sd",
    "moved_from_init",
    "gate_mean",
    "accuracy",
)

#: The lab's network and training (book/ch2_se/se_lab.ipynb), with the training images drawn per
#: seed (``train_seed + seed``) and one fixed test set.
SETTINGS: dict[str, Any] = {
    "train_n": 768,
    "test_n": 256,
    "size": 20,
    "distractors": 1,
    "noise": 0.05,
    "train_seed": 1000,
    "test_seed": 1,
    "widths": [16, 32, 64],
    "reduction": 4,
    "epochs": 6,
    "batch_size": 32,
    "lr": 5e-3,
    "null_permutations": 20,
}


def class_share(gates: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    r"""Per channel, the share of the gate's variance over the images explained by the class.

    ``gates`` ``(N, C)``, ``labels`` ``(N,)`` with values in ``0..num_classes-1``. Returns
    :math:`\eta^2_c = \sum_k n_k (\bar s_{k,c} - \bar s_c)^2 / \sum_n (s_{n,c} - \bar s_c)^2`,
    shape ``(C,)``, in [0, 1]; computed in float64 so that gates that move by 1e-4 still score
    exactly. A channel whose gate is exactly constant has no variance to explain: it scores 0.
    """
    if gates.ndim != 2 or labels.shape != gates.shape[:1]:
        raise ValueError(
            f"gates must be (N, C) and labels (N,), got {tuple(gates.shape)}, {tuple(labels.shape)}"
        )
    s = gates.double()
    centred = s - s.mean(0)  # (N, C)
    total = (centred**2).sum(0)  # (C,)
    onehot = F.one_hot(labels.long(), num_classes).double()  # (N, K)
    counts = onehot.sum(0)  # (K,)
    class_sums = onehot.T @ centred  # (K, C): per class, the sum of centred gates
    between = (class_sums**2 / counts.clamp(min=1)[:, None]).sum(0)  # (C,) = sum_k n_k mean_k^2
    return torch.where(total > 0, between / total.clamp(min=1e-300), torch.zeros_like(total))


def _data(settings: Mapping[str, Any], seed: int):
    train = clutter_task(
        n=settings["train_n"], size=settings["size"], seed=settings["train_seed"] + seed,
        distractors=settings["distractors"], noise=settings["noise"],
    )
    test = clutter_task(
        n=settings["test_n"], size=settings["size"], seed=settings["test_seed"],
        distractors=settings["distractors"], noise=settings["noise"],
    )
    return train.tensors, test.tensors


def train_network(
    arm: str, seed: int, settings: Mapping[str, Any]
) -> tuple[SmallCNN, SmallCNN, tuple[torch.Tensor, torch.Tensor]]:
    """Build the lab's SE network for ``seed``, train it as ``arm`` asks, return it and its start.

    Returns ``(network, initial, (test_images, test_labels))``: ``initial`` is the same network
    before training (both with BatchNorm recalibrated on the training images). For ``init`` the
    two are the same untrained network.
    """
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; expected one of {list(ARMS)}")
    device = settings_device(settings)
    (x, y), test = _data(settings, seed)
    seed_everything(seed)
    model = SmallCNN(3, 4, widths=tuple(settings["widths"]), attention="se",
                     reduction=settings["reduction"])
    initial = SmallCNN(3, 4, widths=tuple(settings["widths"]), attention="se",
                       reduction=settings["reduction"])
    initial.load_state_dict(model.state_dict())
    if arm == "shuffled":
        # One fixed random relabelling of the training images (balanced classes stay balanced):
        # the network can fit it only by memorising images.
        y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(10_000 + seed))]
    x, y = x.to(device), y.to(device)
    model.to(device)
    initial.to(device)
    test = tuple(t.to(device) for t in test)
    if arm != "init":
        fit_adam(model, x, y, epochs=settings["epochs"], batch_size=settings["batch_size"],
                 lr=settings["lr"], seed=seed)
    for net in (model, initial):
        recalibrate(net, x, settings["batch_size"])
    return model, initial, test


@functools.lru_cache(maxsize=4096)
def _scores(arm: str, seed: int, settings_json: str) -> dict[str, dict[str, float]]:
    """Every block's metrics for one (arm, seed): one training run, kept for the other blocks."""
    settings = json.loads(settings_json)
    with one_thread():
        model, initial, (test_x, test_y) = train_network(arm, seed, settings)
        with torch.no_grad():
            accuracy = (model(test_x).argmax(1) == test_y).double().mean().item()
            gates = {k: v.cpu() for k, v in capture(model, test_x).items()}
            gates0 = {k: v.cpu() for k, v in capture(initial, test_x).items()}
        test_y = test_y.cpu()
    permuter = torch.Generator().manual_seed(20_000 + seed)
    permutations = [torch.randperm(len(test_y), generator=permuter)
                    for _ in range(settings["null_permutations"])]
    out = {}
    for b, block in enumerate(BLOCKS):
        s = gates[f"block{b}.gate"]  # (N, C)
        s0 = gates0[f"block{b}.gate"]  # (N, C), the same images at initialisation
        null = torch.stack([class_share(s, test_y[p], 4).mean() for p in permutations])
        out[block] = {
            "class_share": class_share(s, test_y, 4).mean().item(),
            "class_share_null": null.mean().item(),
            "above_0_9": (s > 0.9).double().mean().item(),
            "below_0_1": (s < 0.1).double().mean().item(),
            "gate_sd": s.double().std(0).mean().item(),
            "moved_from_init": (s.double() - s0.double()).abs().mean().item(),
            "gate_mean": s.double().mean().item(),
            "accuracy": accuracy,
        }
    return out


def run_one(arm: str, task: str, seed: int, settings: Mapping[str, Any]) -> dict[str, float]:
    """One record: the scores of block ``task``'s gates in network ``arm`` of seed ``seed``."""
    if task not in BLOCKS:
        raise ValueError(f"unknown task {task!r}; expected one of {list(BLOCKS)}")
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; expected one of {list(ARMS)}")
    return dict(_scores(arm, int(seed), settings_key(settings))[task])


EXPERIMENTS = (
    Experiment(
        name="ch2_gates",
        chapter="ch2_se",
        question=(
            "How much of each SE gate's variation over the images does the class explain, block by "
            "block, in a network trained on the labels, against the same network trained on "
            "shuffled labels and the same network untrained?"
        ),
        runner="attn_lessons.experiments.ch2:run_one",
        cells=tuple((block, arm) for block in BLOCKS for arm in ARMS),
        settings=SETTINGS,
        metrics=METRICS,
        primary_metric="class_share",
        seeds=tuple(range(60)),
        paired=True,
        comparisons=(
            # The paper's reading predicts gates that hardly depend on the class early on (no
            # effect of training on the labels in block 1) and class-specific gates deeper.
            Comparison("block1", "trained", "shuffled", "control", test="permutation"),
            Comparison("block2", "trained", "shuffled", "prediction", test="permutation"),
            Comparison("block3", "trained", "shuffled", "prediction", test="permutation"),
            Comparison("block1", "trained", "init", "control", test="permutation"),
            Comparison("block2", "trained", "init", "prediction", test="permutation"),
            Comparison("block3", "trained", "init", "prediction", test="permutation"),
        ),
        effect_of_interest=0.1,
        effect_source=(
            "a practical threshold: the class share an untrained network already has (the pilot's "
            "init arm, seeds 0-9: 0.03 to 0.23, about 0.1 on average) is what the data and the "
            "initialisation give for free; an effect of training smaller than that is not one the "
            "text would call class-specific"
        ),
        sd_assumed=0.267,
        sd_source=(
            "pilot (scripts/pilots/ch2_ch3_pilot.py, seeds 0-9, these settings): the largest SD "
            "of the per-seed differences of the family, block 1 trained - init (0.267; block 1 "
            "trained - shuffled 0.254, block 3 0.14, block 2 0.07)"
        ),
        note=(
            "Budget cap: 90 seeds would give 80 % power at 0.1 for block 1's comparisons, whose "
            "differences spread most (networks whose block-1 gate is exactly constant score 0); "
            "the chapters' CPU budget affords 60 (about 6.5 CPU seconds per seed for the three "
            "arms), which detects differences of about 0.12 with 80 % power. Blocks 2 and 3 "
            "spread far less and are sized more than enough."
        ),
    ),
)
