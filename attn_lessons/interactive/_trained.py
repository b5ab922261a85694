"""What chapters 4 to 6's figures share: the shipped networks, a few test images, their targets.

Each of those figures shows what a trained network computes for an image the reader picks. The
networks are the ones :mod:`attn_lessons.checkpoints` ships (a SmallCNN per kind on ``clutter``,
module in blocks 2 and 3), their test accuracy is measured here on the 1000 generated test images,
and the images offered are the first :data:`FIRST_IMAGES` test images plus the first one the
network gets wrong (a gate of a network is worth looking at where it fails too). The target's
pixels come from the same test images generated without noise, as in chapter 7's
``inside_a_cnn`` notebook: the generator paints the target last, in pure red.
"""

from __future__ import annotations

from typing import Any

import matplotlib
import torch

from .. import checkpoints
from ..data import make_task
from ..heatmaps import target_over_elsewhere
from ..small_cnn import SmallCNN, capture
from ..train import evaluate
from ..visualize import CMAP, as_image

__all__ = [
    "BLOCKS",
    "CLASS_NAMES",
    "FIRST_IMAGES",
    "colour_table",
    "draw_target",
    "image_payload",
    "picked_images",
    "ratio_on_target",
    "rounded",
    "target_masks",
    "trained",
]

#: The clutter task's labels, in the order of its shape bank.
CLASS_NAMES: tuple[str, ...] = ("plus", "x", "square", "corner")

#: How many of the first test images a figure offers (plus the network's first mistake).
FIRST_IMAGES = 5

#: The blocks that hold the attention module in the shipped networks (indices into ``.blocks``).
BLOCKS: tuple[int, ...] = tuple(checkpoints.SETTINGS["attention_blocks"])


def trained(kind: str) -> tuple[SmallCNN, float, int]:
    """The shipped network of ``kind``, its accuracy on the generated test set (measured now, not
    read from the manifest) and the number of test images."""
    model = checkpoints.load_checkpoint(kind)
    test = checkpoints.test_set()
    return model, evaluate(model, test)["accuracy"], len(test)


@torch.no_grad()
def picked_images(model: SmallCNN) -> list[int]:
    """Test-set indices: the first :data:`FIRST_IMAGES`, then the first mistake (if any)."""
    x, y = checkpoints.test_set().tensors
    wrong = (model(x).argmax(dim=1) != y).nonzero().flatten().tolist()
    picks = list(range(FIRST_IMAGES))
    extra = [i for i in wrong if i not in picks][:1]
    return picks + extra


def target_masks(indices: list[int]) -> torch.Tensor:
    """The target's pixels ``(len(indices), S, S)`` (bool) of the chosen test images."""
    settings = checkpoints.SETTINGS
    clean = make_task(settings["task"], n=settings["test_images"], size=settings["size"],
                      seed=settings["test_seed"], noise=1e-9)
    x = clean.tensors[0][indices]  # (N, 3, S, S)
    return (x[:, 0] > 0.5) & (x[:, 1] < 0.5) & (x[:, 2] < 0.5)  # pure red: (N, S, S)


def image_payload(
    model: SmallCNN, indices: list[int]
) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor], torch.Tensor]:
    """Per image: its test index, label, prediction, RGB pixels and target mask; the capture
    (:func:`attn_lessons.small_cnn.capture` on those images); the target masks ``(N, S, S)``.

    Pixels are the input scaled to [0, 1] for display (:func:`attn_lessons.visualize.as_image`),
    as ``rgb[row][col] = [r, g, b]`` rounded to 3 decimals.
    """
    x, y = checkpoints.test_set().tensors
    images = x[indices]
    with torch.no_grad():
        logits = model(images)
    probabilities = logits.softmax(dim=1)
    masks = target_masks(indices)
    captured = capture(model, images)
    out = []
    for n, index in enumerate(indices):
        pixels = as_image(images[n])  # (S, S, 3) in [0, 1]
        out.append({
            "index": index,
            "label": int(y[index]),
            "prediction": int(logits[n].argmax()),
            "confidence": round(float(probabilities[n].max()), 4),
            "rgb": [[[round(float(v), 3) for v in px] for px in row] for row in pixels.tolist()],
            "target": masks[n].int().tolist(),
        })
    return out, captured, masks


def rounded(t: torch.Tensor, decimals: int) -> list:
    """A tensor as nested lists of floats rounded to ``decimals`` (for the embedded JSON)."""
    def walk(value):
        return [walk(v) for v in value] if isinstance(value, list) else round(value, decimals)

    return walk(t.detach().double().tolist())


def draw_target(ax, target: list[list[int]]) -> None:
    """Outline the target's pixels (an ``S x S`` 0/1 grid) in white on an axes of extent S."""
    size = len(target)
    centres = torch.arange(size).numpy() + 0.5
    ax.contour(centres, centres, torch.tensor(target).float().numpy(), levels=[0.5],
               colors="white", linewidths=1)


def colour_table(steps: int = 33) -> list[str]:
    """The book's colour map (viridis) as ``steps`` hex colours from 0 to 1, for the JavaScript."""
    cmap = matplotlib.colormaps[CMAP]
    return [matplotlib.colors.to_hex(cmap(k / (steps - 1))) for k in range(steps)]


def ratio_on_target(gate: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean of a map ``(h, w)`` on the target's cells over its mean elsewhere.

    ``mask`` ``(S, S)`` is max-pooled to the map's resolution first (a cell is a target cell when
    any of its pixels is), as chapter 7 scores the gates: for one image,
    :func:`attn_lessons.heatmaps.target_over_elsewhere`.
    """
    return target_over_elsewhere(gate[None], mask[None])  # (h, w) -> (1, h, w): one image
