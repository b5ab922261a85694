"""Training loops: they learn, they repeat exactly under a seed, and the statistics are right."""

from __future__ import annotations

import math
import statistics

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from attn_lessons.train import SeedResults, TrainResult, evaluate, mean_std, run_seeds, train_model


def _blobs(n: int, seed: int) -> TensorDataset:
    """Two classes told apart by the sign of the image mean: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 1, 6, 6, generator=g) * 0.5 + (2.0 * y - 1.0)[:, None, None, None]
    return TensorDataset(x, y)


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 16, 2))


def test_training_learns_and_repeats_exactly():
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        results.append(train_model(_net(), _blobs(64, 0), _blobs(32, 1), epochs=3, batch_size=16,
                                   seed=7, device="cpu", progress=False))
    a, b = results
    assert len(a.train_loss) == len(a.test_accuracy) == 3
    assert a.final_test_accuracy > 0.9
    assert a.train_loss[-1] < a.train_loss[0]
    assert a.train_loss == b.train_loss and a.test_accuracy == b.test_accuracy


def test_another_seed_changes_the_batch_order():
    losses = []
    for seed in (0, 1):
        torch.manual_seed(0)
        losses.append(train_model(_net(), _blobs(64, 0), epochs=1, batch_size=16, seed=seed,
                                  device="cpu", progress=False).train_loss)
    assert losses[0] != losses[1]


def test_evaluate_counts_correctly_and_restores_mode():
    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return torch.tensor([[0.0, 1.0]]).expand(len(x), 2) + self.w

    model = Constant().train()
    y = torch.tensor([1, 1, 0, 1])
    got = evaluate(model, (torch.zeros(4, 1), y), batch_size=3)
    assert got["accuracy"] == 0.75
    expected = nn.functional.cross_entropy(torch.tensor([[0.0, 1.0]] * 4), y).item()
    assert got["loss"] == pytest.approx(expected)
    assert model.training


def test_plain_dataset_is_accepted():
    class Pairs(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return torch.full((1, 6, 6), float(i % 2) * 2 - 1), i % 2

    torch.manual_seed(0)
    result = train_model(_net(), Pairs(), Pairs(), epochs=2, batch_size=4, device="cpu",
                         progress=False)
    assert len(result.test_accuracy) == 2


def test_run_seeds_statistics():
    results = run_seeds(_net, _blobs(48, 0), _blobs(32, 1), seeds=(0, 1, 2), epochs=2,
                        batch_size=16, device="cpu", progress=False)
    assert [r.seed for r in results.runs] == [0, 1, 2]
    accs = results.accuracies
    assert results.mean == pytest.approx(statistics.fmean(accs))
    assert results.std == pytest.approx(statistics.stdev(accs))
    again = run_seeds(_net, _blobs(48, 0), _blobs(32, 1), seeds=(0, 1, 2), epochs=2,
                      batch_size=16, device="cpu", progress=False)
    assert again.accuracies == accs  # the seed fixes initial weights and batch order


def test_mean_std_uses_the_sample_standard_deviation():
    assert mean_std([0.8468, 0.8538]) == pytest.approx((0.8503, 0.0049497), rel=1e-4)
    mean, std = mean_std([0.5])
    assert mean == 0.5 and math.isnan(std)  # one run has no standard deviation
    with pytest.raises(ValueError, match="at least one value"):
        mean_std([])
    runs = [TrainResult(0, test_accuracy=[0.5]), TrainResult(1, test_accuracy=[0.7])]
    text = str(SeedResults(runs))
    assert text == "60.0 ± 14.1 % over 2 seeds"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"epochs": 0}, ValueError, "epochs must be a positive integer"),
        ({"lr": -1.0}, ValueError, "lr must be a positive finite number"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay must be >= 0"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
    ],
)
def test_bad_training_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        train_model(_net(), _blobs(8, 0), device="cpu", progress=False, **kwargs)


def test_bad_data_and_seeds():
    with pytest.raises(TypeError, match="train_data must be a TensorDataset"):
        train_model(_net(), [1, 2, 3], device="cpu", progress=False)
    with pytest.raises(ValueError, match="as many labels as images"):
        train_model(_net(), (torch.zeros(3, 1, 6, 6), torch.zeros(2)), device="cpu",
                    progress=False)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        run_seeds(_net, _blobs(8, 0), _blobs(8, 1), seeds=(1, 1))
    with pytest.raises(ValueError, match="at least one seed"):
        run_seeds(_net, _blobs(8, 0), _blobs(8, 1), seeds=())
