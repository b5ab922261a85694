r"""Chapter 2's interactive figure: what an SE block costs, against C and r.

For each channel count :math:`C` and reduction :math:`r` of a grid, the parameters come from
:func:`attn_lessons.se.se_num_params` (:math:`2CC' + C' + C`, the released models' biases) and the
operation counts from :func:`attn_lessons.se.se_macs`. The bytes moved per image follow from those
counts, for float32 (4 bytes an element):

* the squeeze reads every element of the map once: ``pool_adds + C`` = :math:`CHW` elements;
* the scale reads every element again and writes it: ``2 * scale_muls`` = :math:`2CHW`;
* the two FC layers read their weights and biases once: :math:`P_{\text{SE}}`.

That is :math:`4\,(3CHW + P_{\text{SE}})` bytes, against ``fc_macs`` = :math:`2CC'`
multiply-accumulates: the arithmetic does not grow with :math:`HW`, the traffic does. (The gate
vectors, :math:`C + C' + C` numbers, are left out: they are a rounding error beside the map.) A pair
with :math:`r > C` has no entry (``None``): the library refuses it, the hidden width would be 0.
"""

from __future__ import annotations

from ..se import se_macs, se_num_params
from . import register, register_fallback

#: Channel counts of the figure.
CHANNELS: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 2048)
#: Reduction ratios of the figure (the paper's 16 among them).
REDUCTIONS: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
#: Spatial sizes H = W of the figure (ResNet-50's stages at 224 x 224 among them).
SIZES: tuple[int, ...] = (7, 14, 28, 56, 112)
#: Bytes of one float32 element.
BYTES_PER_ELEMENT = 4


def cost(channels: int, reduction: int, size: int) -> dict[str, int] | None:
    """Parameters, FC MACs and bytes moved of one SE block, or None where the library refuses."""
    if reduction > channels:
        return None
    params = se_num_params(channels, reduction)
    ops = se_macs(channels, size, size, reduction)
    map_elements = (ops["pool_adds"] + channels) + 2 * ops["scale_muls"]  # read; read + write
    return {
        "params": params,
        "fc_macs": ops["fc_macs"],
        "map_bytes": BYTES_PER_ELEMENT * map_elements,
        "weight_bytes": BYTES_PER_ELEMENT * params,
        "bytes": BYTES_PER_ELEMENT * (map_elements + params),
    }


@register("se-cost")
def se_cost() -> dict:
    """The grid and, for every (C, r, H = W), the counts of :func:`cost`."""
    return {
        "channels": list(CHANNELS),
        "reductions": list(REDUCTIONS),
        "sizes": list(SIZES),
        "start": {"channels": CHANNELS.index(256), "reduction": REDUCTIONS.index(16),
                  "size": SIZES.index(56)},
        "hidden": [[c // r if r <= c else None for r in REDUCTIONS] for c in CHANNELS],
        "cost": [[[cost(c, r, s) for s in SIZES] for r in REDUCTIONS] for c in CHANNELS],
        "bytes_per_element": BYTES_PER_ELEMENT,
    }


@register_fallback("se-cost")
def draw_se_cost(data: dict):
    """Parameters against C for every r; bytes moved against C for every H = W (r = 16)."""
    import matplotlib.pyplot as plt

    colours = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"]
    channels = data["channels"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for j, r in enumerate(data["reductions"]):
        points = [(c, data["cost"][i][j][0]["params"]) for i, c in enumerate(channels)
                  if data["cost"][i][j][0] is not None]
        left.plot(*zip(*points, strict=True), "o-", color=colours[j], label=f"r = {r}",
                  linewidth=2.5 if r == 16 else 1.2)
    left.set(xscale="log", yscale="log", xlabel="channels C", ylabel="parameters",
             title="SE parameters")
    left.set_xticks(channels, [str(c) for c in channels], fontsize=7)
    left.legend(fontsize=7)
    j16 = data["reductions"].index(16)
    for k, s in enumerate(data["sizes"]):
        right.plot(channels, [data["cost"][i][j16][k]["bytes"] / 1e6 for i in range(len(channels))],
                   "o-", color=colours[k], label=f"H = W = {s}")
    right.plot(channels, [data["cost"][i][j16][0]["fc_macs"] / 1e6 for i in range(len(channels))],
               "k--", label="FC MACs (millions)")
    right.set(xscale="log", yscale="log", xlabel="channels C", ylabel="MB moved per image",
              title="Bytes moved (float32, r = 16)")
    right.set_xticks(channels, [str(c) for c in channels], fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig
