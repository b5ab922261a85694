r"""Chapter 6's figure: a query position of the trained self-attention layer and its attention row.

The shipped self-attention network (:func:`attn_lessons.checkpoints.load_checkpoint`,
``"self_attention"``) has a :class:`~attn_lessons.self_attention.SelfAttention2d` in blocks 2 and
3 (64 and 16 positions). :func:`attn_lessons.small_cnn.capture` asks each for its weights
(``return_weights=True``, key ``"block{i}.weights"``, shape (heads, HW, HW)): row :math:`p` is the
softmax :math:`A_{p,\cdot}`, how much query position :math:`p` draws from every key position, and
sums to 1. The data hold these rows (averaged over heads, of which the shipped layers have one) in
multiples of the uniform weight :math:`1 / HW`, so 1 means "no preference", rounded to
:data:`DECIMALS`; the browser draws the row of the query under the pointer or the focused cell and
reads out its maximum and where it lies.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..visualize import CMAP
from . import register, register_fallback
from ._trained import (
    BLOCKS,
    CLASS_NAMES,
    colour_table,
    draw_target,
    image_payload,
    picked_images,
    rounded,
    trained,
)

__all__ = ["DECIMALS", "FIGURE", "attention_rows", "draw_self_attention_rows",
           "self_attention_rows_data"]

#: The figure's name (the directive's argument and the JavaScript file's name).
FIGURE = "self-attention-row"

#: Decimals kept of each weight, in multiples of the uniform weight 1 / HW.
DECIMALS = 3


def attention_rows(captured: dict, block: int):
    """The attention weights of ``block`` averaged over heads: (N, HW, HW), rows are queries."""
    return captured[f"block{block}.weights"].mean(dim=1)  # (N, heads, HW, HW) -> (N, HW, HW)


@register(FIGURE)
def self_attention_rows_data() -> dict[str, Any]:
    """The figure's data: accuracy, images, per image and block the (HW, HW) weights times HW."""
    model, accuracy, n_test = trained("self_attention")
    indices = picked_images(model)
    images, captured, _ = image_payload(model, indices)
    shapes, scale = {}, {}
    for block in BLOCKS:
        pre = captured[f"block{block}.pre"]  # (N, C, h, w)
        h, w = int(pre.shape[2]), int(pre.shape[3])
        rows = attention_rows(captured, block) * (h * w)  # in multiples of 1 / HW
        shapes[str(block)] = [h, w]
        scale[str(block)] = h * w  # the fixed colour scale: all the weight on one position
        for n, image in enumerate(images):
            image.setdefault("weights", {})[str(block)] = rounded(rows[n], DECIMALS)
    heads = int(captured[f"block{BLOCKS[0]}.weights"].shape[1])
    return {
        "kind": "self_attention",
        "accuracy": accuracy,
        "test_images": n_test,
        "blocks": list(BLOCKS),
        "shapes": shapes,
        "heads": heads,
        "scale_max": scale,  # per block: the largest possible value, HW
        "classes": list(CLASS_NAMES),
        "images": images,
        "cmap": colour_table(),
    }


@register_fallback(FIGURE)
def draw_self_attention_rows(data: dict[str, Any]) -> Figure:
    """The static picture: for the first image, block 2, the rows of four query positions."""
    block = str(data["blocks"][0])
    h, w = data["shapes"][block]
    image = data["images"][0]
    queries = [(1, 1), (1, w - 2), (h - 2, 1), (h - 2, w - 2)]
    cell = 16 / h
    fig, axes = plt.subplots(2, len(queries), figsize=(1.7 * len(queries) + 0.8, 3.7),
                             squeeze=False)
    for col, (qi, qj) in enumerate(queries):
        top = axes[0, col]
        top.imshow(image["rgb"], extent=(0, 16, 16, 0), interpolation="nearest")
        draw_target(top, image["target"])  # the target outlined on the input as on the map
        top.add_patch(plt.Rectangle((qj * cell, qi * cell), cell, cell, fill=False,
                                    edgecolor="white", linewidth=2))
        top.set_title(f"query ({qi}, {qj})", fontsize=8)
        row = data["images"][0]["weights"][block][qi * w + qj]
        grid = [row[r * w:(r + 1) * w] for r in range(h)]
        bottom = axes[1, col]
        shown = bottom.imshow(grid, cmap=CMAP, vmin=0, vmax=data["scale_max"][block],
                              extent=(0, 16, 16, 0), interpolation="nearest")
        draw_target(bottom, image["target"])
        bottom.add_patch(plt.Rectangle((qj * cell, qi * cell), cell, cell, fill=False,
                                       edgecolor="white", linewidth=1, linestyle="--"))
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    truth = data["classes"][image["label"]]
    fig.suptitle(f"Trained self-attention ({100 * data['accuracy']:.1f} % test accuracy), "
                 f"block {int(block) + 1}, a {truth}: attention row of each query, "
                 "x uniform (white outline: the target, on the image and the map)", fontsize=8)
    fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8, label="weight x HW")
    return fig
