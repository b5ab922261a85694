"""Chapter 4's figure: the spatial gate of the trained CBAM over an input the reader picks.

The shipped CBAM network (:func:`attn_lessons.checkpoints.load_checkpoint`, ``"cbam"``) has the
module in blocks 2 and 3 (8 x 8 and 4 x 4 positions). For each offered test image the data hold
the input, its label and the network's prediction, the target's pixels, and the spatial gate
:math:`g^s` of both blocks, captured with the library's forward hooks
(:func:`attn_lessons.small_cnn.capture`, key ``"block{i}.spatial.gate"``). The figure draws the
input and the gate side by side on the fixed scale 0 to 1, and reads out the gate under the
pointer or the focused cell, and the gate's mean on the target over its mean elsewhere.
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
    ratio_on_target,
    rounded,
    trained,
)

__all__ = ["DECIMALS", "FIGURE", "cbam_gate_data", "draw_cbam_gate"]

#: The figure's name (the directive's argument and the JavaScript file's name).
FIGURE = "cbam-spatial-gate"

#: Decimals kept of each gate value in the embedded data.
DECIMALS = 6


@register(FIGURE)
def cbam_gate_data() -> dict[str, Any]:
    """The figure's data: accuracy, images, and per image and block the spatial gate ``(h, w)``."""
    model, accuracy, n_test = trained("cbam")
    indices = picked_images(model)
    images, captured, masks = image_payload(model, indices)
    for n, image in enumerate(images):
        image["gates"], image["target_ratio"] = {}, {}
        for block in BLOCKS:
            gate = captured[f"block{block}.spatial.gate"][n, 0]  # (1, h, w) -> (h, w)
            image["gates"][str(block)] = rounded(gate, DECIMALS)
            image["target_ratio"][str(block)] = round(ratio_on_target(gate, masks[n]), 4)
    return {
        "kind": "cbam",
        "accuracy": accuracy,
        "test_images": n_test,
        "blocks": list(BLOCKS),
        "classes": list(CLASS_NAMES),
        "images": images,
        "cmap": colour_table(),
    }


@register_fallback(FIGURE)
def draw_cbam_gate(data: dict[str, Any]) -> Figure:
    """The static picture: every offered input above its block-2 and block-3 spatial gates."""
    images = data["images"]
    rows = 1 + len(data["blocks"])
    fig, axes = plt.subplots(rows, len(images), figsize=(1.5 * len(images) + 0.8, 1.55 * rows),
                             squeeze=False)
    for col, image in enumerate(images):
        axes[0, col].imshow(image["rgb"], extent=(0, 16, 16, 0), interpolation="nearest")
        draw_target(axes[0, col], image["target"])  # the target on the input too
        truth, guess = data["classes"][image["label"]], data["classes"][image["prediction"]]
        axes[0, col].set_title(f"{truth} -> {guess}", fontsize=8)
        for row, block in enumerate(data["blocks"], start=1):
            ax = axes[row, col]
            shown = ax.imshow(image["gates"][str(block)], cmap=CMAP, vmin=0, vmax=1,
                              extent=(0, 16, 16, 0), interpolation="nearest")
            draw_target(ax, image["target"])
            if col == 0:
                ax.set_ylabel(f"block {block + 1}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Trained CBAM ({100 * data['accuracy']:.1f} % test accuracy): "
                 "spatial gate g^s (white: the target)", fontsize=9)
    fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8, label="gate")
    return fig

