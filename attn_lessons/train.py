"""Seeded, device-aware training and evaluation, and the same run repeated over seeds.

One training run gives one number, and one number cannot say whether a module helped: a second
seed (another initialisation, another shuffling order) moves it too. :func:`run_seeds` trains the
same configuration once per seed and reports every seed's result with the mean and the sample
standard deviation, the figures chapter 7 compares variants with.

The data sets of this book are small enough to live on the device whole, so batches are cut from
tensors by index rather than through a ``DataLoader``: on a CPU that removes most of the overhead
of a tiny model.
"""

from __future__ import annotations

import itertools
import math
import numbers
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from ._validation import (
    check_bool,
    check_int,
    check_nonnegative_float,
    check_positive_float,
    check_seed,
)
from .device import get_device, seed_everything
from .progress import progress_bar


def _label(item: object, index: int, name: str) -> int:
    """The class index of one ``(image, label)`` item of a Dataset: an integer, never a float."""
    if not isinstance(item, tuple | list) or len(item) < 2:
        raise TypeError(f"{name}[{index}] must be an (image, label) pair, got "
                        f"{type(item).__name__}")
    label = item[1]
    if isinstance(label, torch.Tensor) and label.numel() == 1 and not label.is_floating_point() \
            and label.dtype not in (torch.bool, torch.complex64, torch.complex128):
        return int(label)
    if isinstance(label, numbers.Integral) and not isinstance(label, bool):
        return int(label)
    raise TypeError(f"{name}[{index}] has label {label!r}: labels must be integer class indices "
                    f"(0, 1, 2, ...), not {type(label).__name__}")


def _tensors(data: Dataset | tuple[torch.Tensor, torch.Tensor], name: str):
    """``(x, y)`` tensors of a data set: a ``TensorDataset``, an ``(x, y)`` pair or any Dataset.

    A ``TensorDataset`` may hold more tensors after the labels (targets, masks): they are not
    used here. Labels must be integers: float labels are refused rather than truncated (0.9 would
    silently become class 0).
    """
    if isinstance(data, TensorDataset):
        if len(data.tensors) < 2:
            raise ValueError(f"{name} must hold images and labels, got a TensorDataset of "
                             f"{len(data.tensors)} tensor(s)")
        x, y = data.tensors[0], data.tensors[1]
    elif isinstance(data, tuple) and len(data) == 2:
        x, y = data
    elif isinstance(data, Dataset):
        items = [data[i] for i in range(len(data))]
        if not items:
            raise ValueError(f"{name} is empty")
        y = torch.as_tensor([_label(item, i, name) for i, item in enumerate(items)])
        x = torch.stack([torch.as_tensor(item[0]) for item in items])
    else:
        raise TypeError(
            f"{name} must be a TensorDataset, an (x, y) pair of tensors or a Dataset, "
            f"got {type(data).__name__}"
        )
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must hold tensors, got {type(x).__name__}, {type(y).__name__}")
    if y.ndim != 1 or x.ndim == 0:
        raise ValueError(f"{name} must hold one label per image, a 1-D tensor, got images of "
                         f"shape {tuple(x.shape)} and labels of shape {tuple(y.shape)}")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{name} must hold as many labels as images (> 0), got {len(x)}, {len(y)}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} has labels of dtype {y.dtype}: labels must be integer class "
                        f"indices (an integer dtype such as torch.int64), not floats, which "
                        f"would be truncated (0.9 read as class 0)")
    return x, y.long()


def _model_device(model: nn.Module, x: torch.Tensor) -> torch.device:
    """The device of the model's first parameter or buffer; the data's for a model with none."""
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    return x.device if first is None else first.device


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: Dataset | tuple[torch.Tensor, torch.Tensor],
    *,
    device: torch.device | str | None = None,
    batch_size: int = 512,
) -> dict[str, float]:
    """Mean cross-entropy ``loss`` and ``accuracy`` (fraction correct) of ``model`` on ``data``.

    The model is put in eval mode (BatchNorm uses its running statistics) and left in the mode it
    was in before.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    batch_size = check_int("batch_size", batch_size)
    x, y = _tensors(data, "data")
    device = torch.device(device) if device is not None else _model_device(model, x)
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    try:
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size].to(device)
            yb = y[start : start + batch_size].to(device)
            logits = model(xb)
            total_loss += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.argmax(dim=1) == yb).sum())
    finally:
        model.train(was_training)
    return {"loss": total_loss / len(x), "accuracy": correct / len(x)}


@dataclass
class TrainResult:
    """What one training run produced. ``history`` has one entry per epoch."""

    seed: int
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def final_test_accuracy(self) -> float:
        return self.test_accuracy[-1] if self.test_accuracy else math.nan


def train_model(
    model: nn.Module,
    train_data: Dataset | tuple[torch.Tensor, torch.Tensor],
    test_data: Dataset | tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> TrainResult:
    """Train ``model`` with AdamW and a cosine learning-rate schedule; evaluate after each epoch.

    The batch order comes from a generator seeded with ``seed``, so two calls with the same seed,
    model initialisation and device give the same result. ``progress=False`` hides the tqdm bar.
    Returns a :class:`TrainResult` (losses and accuracies as Python floats, accuracies in [0, 1]).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    epochs = check_int("epochs", epochs)
    batch_size = check_int("batch_size", batch_size)
    lr = check_positive_float("lr", lr)
    weight_decay = check_nonnegative_float("weight_decay", weight_decay)
    seed = check_seed("seed", seed)
    progress = check_bool("progress", progress)
    device = get_device() if device is None else torch.device(device)
    x, y = _tensors(train_data, "train_data")
    # The test set is read (and checked) before the first epoch, not found empty after it.
    test_data = None if test_data is None else _tensors(test_data, "test_data")
    x, y = x.to(device), y.to(device)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    # A last batch of a single image is skipped when batch_size > 1 and earlier batches exist
    # (BatchNorm cannot train on one value per channel); with batch_size=1 every batch is one
    # image by request and each one is trained on.
    drop_last_one = batch_size > 1 and len(x) > batch_size and len(x) % batch_size == 1
    steps_per_epoch = math.ceil(len(x) / batch_size) - int(drop_last_one)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    order = torch.Generator().manual_seed(seed)
    result = TrainResult(seed=seed)
    start = time.perf_counter()
    # progress_bar also hides the bar when TQDM_DISABLE=1 (set by the book build).
    hide = {} if progress else {"disable": True}
    bar = progress_bar(range(epochs), desc=desc or "training", leave=False, **hide)
    for _ in bar:
        model.train()
        permutation = torch.randperm(len(x), generator=order).to(device)
        loss_sum, correct, seen = 0.0, 0, 0
        for first in range(0, len(x), batch_size):
            index = permutation[first : first + batch_size]
            if drop_last_one and first + batch_size >= len(x):  # the final batch of one
                continue
            logits = model(x[index])
            loss = nn.functional.cross_entropy(logits, y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(index)
            correct += int((logits.argmax(dim=1) == y[index]).sum())
            seen += len(index)
        result.train_loss.append(loss_sum / seen)
        result.train_accuracy.append(correct / seen)
        postfix = {"loss": f"{loss_sum / seen:.3f}"}
        if test_data is not None:
            result.test_accuracy.append(evaluate(model, test_data, device=device)["accuracy"])
            postfix["test acc"] = f"{result.test_accuracy[-1]:.3f}"
        bar.set_postfix(postfix)
    result.seconds = time.perf_counter() - start
    return result


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and *sample* standard deviation (divisor n - 1) of ``values``.

    One value has no sample standard deviation (n - 1 = 0): the std is then ``nan``, not 0,
    so that a single run can never pass for a run without spread.
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std needs at least one value")
    if not all(math.isfinite(v) for v in values):
        # statistics.stdev fails on NaN and inf (it converts them to fractions); a diverged run
        # gives a NaN mean (an infinite one for inf) and no standard deviation.
        return sum(values) / len(values), math.nan
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return statistics.fmean(values), std


@dataclass
class SeedResults:
    """One configuration trained once per seed: every run, and the final test accuracy's spread."""

    runs: list[TrainResult]

    @property
    def accuracies(self) -> list[float]:
        return [run.final_test_accuracy for run in self.runs]

    @property
    def mean(self) -> float:
        return mean_std(self.accuracies)[0]

    @property
    def std(self) -> float:
        return mean_std(self.accuracies)[1]

    def __str__(self) -> str:
        if len(self.runs) == 1:
            return f"{100 * self.mean:.1f} % from one seed (no standard deviation)"
        return f"{100 * self.mean:.1f} ± {100 * self.std:.1f} % over {len(self.runs)} seeds"


def run_seeds(
    build_model: Callable[[], nn.Module],
    train_data: Dataset | tuple[torch.Tensor, torch.Tensor],
    test_data: Dataset | tuple[torch.Tensor, torch.Tensor],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    progress: bool = True,
    desc: str | None = None,
    **train_kwargs,
) -> SeedResults:
    """Train a fresh ``build_model()`` once per seed and collect the results.

    Before each run every random number generator is seeded with the seed
    (:func:`attn_lessons.device.seed_everything`), so the seed fixes the initial weights as well
    as the batch order. ``train_kwargs`` go to :func:`train_model` (``epochs``, ``lr``, ...).
    """
    if test_data is None:
        raise TypeError(
            "run_seeds compares the final test accuracy of each seed: test_data is required "
            "(got None); call train_model directly to train without a test set"
        )
    seeds = [check_seed("seed", s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    runs = []
    for seed in seeds:
        seed_everything(seed)
        model = build_model()
        label = f"{desc or 'run'} seed {seed}"
        runs.append(
            train_model(
                model, train_data, test_data, seed=seed, progress=progress, desc=label,
                **train_kwargs,
            )
        )
    return SeedResults(runs)
