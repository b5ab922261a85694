r"""Chapter 5's figure: the trained Coordinate Attention's h- and w-gates for a picked input.

The shipped CoordAtt network (:func:`attn_lessons.checkpoints.load_checkpoint`, ``"coordatt"``)
has the module in blocks 2 and 3. For each offered test image and block the data hold, per
channel :math:`c`, the two gates captured by the library's forward hooks
(:func:`attn_lessons.small_cnn.capture`, keys ``"block{i}.gate_h"`` of shape (C, H, 1) and
``"block{i}.gate_w"`` of shape (C, 1, W)): :math:`g^h_c(i)` and :math:`g^w_c(j)`. The effective
2-D gate of channel :math:`c` is their outer product :math:`g^h_c(i)\,g^w_c(j)`, which the browser
forms; for the view "mean over channels" the data also hold that product averaged over channels
(the map chapter 7 draws) and the channel means of the two gates. The mean of a 2-D gate on the
target's cells over its mean elsewhere is held for the mean map and for each channel's map, so
the readout follows the channel the reader picks.
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

__all__ = ["DECIMALS", "FIGURE", "coordatt_gates_data", "draw_coordatt_gates"]

#: The figure's name (the directive's argument and the JavaScript file's name).
FIGURE = "coordatt-gates"

#: Decimals kept of each gate value in the embedded data.
DECIMALS = 5


@register(FIGURE)
def coordatt_gates_data() -> dict[str, Any]:
    """The figure's data: accuracy, images, and per image and block ``g_h`` (C, H), ``g_w`` (C, W),
    their channel means, the channel mean of the outer products (H, W), and the target ratio of
    that mean map and of each channel's product (C,)."""
    model, accuracy, n_test = trained("coordatt")
    indices = picked_images(model)
    images, captured, masks = image_payload(model, indices)
    for n, image in enumerate(images):
        image["blocks"] = {}
        for block in BLOCKS:
            g_h = captured[f"block{block}.gate_h"][n, :, :, 0]  # (C, H, 1) -> (C, H)
            g_w = captured[f"block{block}.gate_w"][n, :, 0, :]  # (C, 1, W) -> (C, W)
            products = g_h[:, :, None] * g_w[:, None, :]  # (C, H) x (C, W) -> (C, H, W)
            product = products.mean(dim=0)  # (C, H, W) -> (H, W)
            image["blocks"][str(block)] = {
                "g_h": rounded(g_h, DECIMALS),
                "g_w": rounded(g_w, DECIMALS),
                "g_h_mean": rounded(g_h.mean(dim=0), DECIMALS),  # (C, H) -> (H,)
                "g_w_mean": rounded(g_w.mean(dim=0), DECIMALS),  # (C, W) -> (W,)
                "product_mean": rounded(product, DECIMALS),
                "target_ratio": round(ratio_on_target(product, masks[n]), 4),
                # the same ratio for each channel's own 2-D gate, which the readout shows when the
                # reader picks that channel
                "target_ratio_channels": [round(ratio_on_target(p, masks[n]), 4)
                                          for p in products],
            }
    channels = {str(b): int(captured[f"block{b}.gate_h"].shape[1]) for b in BLOCKS}
    return {
        "kind": "coordatt",
        "accuracy": accuracy,
        "test_images": n_test,
        "blocks": list(BLOCKS),
        "channels": channels,
        "classes": list(CLASS_NAMES),
        "images": images,
        "cmap": colour_table(),
    }


@register_fallback(FIGURE)
def draw_coordatt_gates(data: dict[str, Any]) -> Figure:
    """The static picture: each offered input above block 2's h-gate, w-gate and their product,
    all averaged over channels."""
    images = data["images"]
    block = str(data["blocks"][0])
    fig, axes = plt.subplots(2, len(images), figsize=(1.5 * len(images) + 0.8, 3.4),
                             squeeze=False)
    for col, image in enumerate(images):
        axes[0, col].imshow(image["rgb"], extent=(0, 16, 16, 0), interpolation="nearest")
        draw_target(axes[0, col], image["target"])  # the target on the input too
        truth, guess = data["classes"][image["label"]], data["classes"][image["prediction"]]
        axes[0, col].set_title(f"{truth} -> {guess}", fontsize=8)
        gates = image["blocks"][block]
        ax = axes[1, col]
        shown = ax.imshow(gates["product_mean"], cmap=CMAP, vmin=0, vmax=1,
                          extent=(0, 16, 16, 0), interpolation="nearest")
        draw_target(ax, image["target"])
        # the two 1-D gates as strips along the left and the top edge
        ax.imshow([[v] for v in gates["g_h_mean"]], cmap=CMAP, vmin=0, vmax=1,
                  extent=(-2.5, -0.5, 16, 0), interpolation="nearest")
        ax.imshow([gates["g_w_mean"]], cmap=CMAP, vmin=0, vmax=1,
                  extent=(0, 16, -0.5, -2.5), interpolation="nearest")
        ax.set_xlim(-2.5, 16)
        ax.set_ylim(16, -2.5)
    axes[1, 0].set_ylabel(f"block {int(block) + 1}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
    fig.suptitle(f"Trained Coordinate Attention ({100 * data['accuracy']:.1f} % test "
                 "accuracy): g_h (left strip), g_w (top strip), mean of g_h g_w", fontsize=9)
    fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8, label="gate")
    return fig
