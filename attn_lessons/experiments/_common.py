"""What the chapters' experiment modules share: the training loop, BatchNorm recalibration, the
device a design asks for, one CPU thread, and the key that caches a run by its settings.

Each helper is the code the chapter modules used to repeat, moved here unchanged in what it
computes: on the CPU every recorded run is reproduced exactly (``check_reruns`` is the test).
A design's ``settings`` may name a ``"device"`` (``"cpu"`` when absent, as in every shipped
result file); the larger configuration for a machine with a GPU sets it (``__main__``'s
``--config gpu``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["fit_adam", "one_thread", "recalibrate", "settings_device", "settings_key"]


def settings_key(settings: Mapping[str, Any]) -> str:
    """The settings as canonical JSON: a hashable cache key that two equal settings share."""
    return json.dumps(dict(settings), sort_keys=True)


def settings_device(settings: Mapping[str, Any]) -> torch.device:
    """The device the design's settings ask for (``settings["device"]``, default the CPU).

    Asking for CUDA on a machine without it is a ``ValueError`` naming the value, not a silent
    run on the CPU under a GPU design's name.
    """
    name = settings.get("device", "cpu")
    if not isinstance(name, str):
        raise TypeError(
            f"settings['device'] must be a string such as 'cpu' or 'cuda', got {name!r}"
        )
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"settings['device'] is not a device torch knows: {name!r}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"settings['device'] is {name!r}, but this machine has no CUDA device")
    return device


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one torch thread (as the runner's workers do), then restore the count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def fit_adam(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, batch_size: int,
             lr: float, seed: int) -> None:
    """Train ``model`` in place: Adam at ``lr``, cross-entropy, minibatches of ``batch_size``.

    Each epoch visits the images ``x`` ``(N, ...)`` with labels ``y`` ``(N,)`` in an order drawn
    from a generator seeded with ``seed`` (on the CPU, whatever the data's device, so a GPU run
    sees the same batches). The caller seeds the initial weights.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        permutation = torch.randperm(len(x), generator=order).to(x.device)
        for first in range(0, len(x), batch_size):
            index = permutation[first : first + batch_size]
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def recalibrate(net: nn.Module, images: torch.Tensor, batch_size: int) -> None:
    """Recompute BatchNorm's running statistics over ``images`` (cumulative average), then eval.

    A short run leaves the running statistics behind weights that moved fast; the labs recompute
    them for every network, trained or not, so that arms differ only in their weights.
    """
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    net.train()
    with torch.no_grad():
        for first in range(0, len(images), batch_size):
            net(images[first : first + batch_size])
    net.eval()
