r"""Chapter 3's interactive figure: ECA's kernel size against C, and the band it gives.

:math:`t = (\log_2 C + b)/\gamma` with the paper's :math:`\gamma = 2, b = 1`, and the odd kernel
size :math:`k` of three rules of :func:`attn_lessons.eca.eca_kernel_size`: ``"paper"`` (the
authors' code), ``"round_odd"`` (round, then make odd) and ``"at_least_3"`` (timm's floor of 3).
For the step plot every channel count from 1 to :data:`MAX_CHANNELS` is evaluated and kept as runs
of equal k; for the chosen C the figure draws the C-by-C matrix of the 1-D convolution, non-zero on
the band :math:`|c' - c| \le (k - 1)/2`, whose entry count is :func:`band_entries`.
"""

from __future__ import annotations

import math

from ..eca import eca_kernel_size
from . import register, register_fallback

#: The three rules of the figure, in the order it draws them.
RULES: tuple[str, ...] = ("paper", "round_odd", "at_least_3")
#: The largest channel count of the figure.
MAX_CHANNELS = 2048
#: The channel counts the reader can choose: powers of two, the count just below each, and a
#: logarithmic grid between them (2 ... 2048).
CHOICES: tuple[int, ...] = tuple(sorted(
    {2 ** m for m in range(1, 12)} | {2 ** m - 1 for m in range(2, 12)}
    | {round(2 ** (j / 8)) for j in range(8, 89)}))


def t_value(channels: int, gamma: float = 2, b: float = 1) -> float:
    r""":math:`t = |(\log_2 C + b)/\gamma|`, the number each rule makes odd."""
    return abs((math.log2(channels) + b) / gamma)


def band_entries(channels: int, kernel_size: int) -> int:
    """Entries of the C-by-C matrix of a zero-padded 1-D convolution of odd size k over channels."""
    half = (kernel_size - 1) // 2
    return sum(min(c + half, channels - 1) - max(c - half, 0) + 1 for c in range(channels))


def runs(rule: str) -> list[list[int]]:
    """``[[first C, last C, k], ...]``: the rule's kernel size over C = 1 ... MAX_CHANNELS."""
    out: list[list[int]] = []
    for c in range(1, MAX_CHANNELS + 1):
        k = eca_kernel_size(c, rule=rule)
        if out and out[-1][2] == k:
            out[-1][1] = c
        else:
            out.append([c, c, k])
    return out


@register("eca-kernel-size")
def eca_kernel_size_figure() -> dict:
    """t and the three rules' k for every choosable C, the runs for the plot, the band sizes."""
    return {
        "rules": list(RULES),
        "gamma": 2,
        "b": 1,
        "max_channels": MAX_CHANNELS,
        "choices": list(CHOICES),
        "start": CHOICES.index(64),
        "t": [t_value(c) for c in CHOICES],
        "k": {rule: [eca_kernel_size(c, rule=rule) for c in CHOICES] for rule in RULES},
        "band": {rule: [band_entries(c, eca_kernel_size(c, rule=rule)) for c in CHOICES]
                 for rule in RULES},
        "runs": {rule: runs(rule) for rule in RULES},
    }


@register_fallback("eca-kernel-size")
def draw_eca_kernel_size(data: dict):
    """t and the three rules' k against C; the bands of the paper's rule at C = 16 and C = 64."""
    import matplotlib.pyplot as plt
    import numpy as np

    colours = {"paper": "#0072B2", "round_odd": "#E69F00", "at_least_3": "#009E73"}
    offsets = {"paper": 0.0, "round_odd": 0.12, "at_least_3": -0.12}
    fig = plt.figure(figsize=(10, 3.4))
    grid = fig.add_gridspec(1, 3, width_ratios=[2.2, 1, 1])
    ax = fig.add_subplot(grid[0])
    cs = np.arange(1, data["max_channels"] + 1)
    ax.plot(cs, [(np.log2(c) + data["b"]) / data["gamma"] for c in cs], color="0.5",
            label="t = (log2 C + 1) / 2")
    for rule in data["rules"]:
        xs, ys = [], []
        for first, last, k in data["runs"][rule]:
            xs += [first, last + 1]
            ys += [k + offsets[rule]] * 2
        ax.plot(xs, ys, color=colours[rule], linewidth=2, label=f"k, {rule}")
    ax.set(xscale="log", xlabel="channels C", ylabel="t and k", title="ECA kernel size")
    ax.set_xticks([2 ** m for m in range(0, 12)], [str(2 ** m) for m in range(0, 12)], fontsize=7)
    ax.legend(fontsize=7, loc="upper left")
    for panel, c in zip((grid[1], grid[2]), (16, 64), strict=True):
        k = data["k"]["paper"][data["choices"].index(c)]
        i, j = np.indices((c, c))
        band = np.abs(i - j) <= (k - 1) // 2
        sub = fig.add_subplot(panel)
        sub.imshow(band, cmap="Blues", vmin=0, vmax=1.3, interpolation="nearest")
        sub.set_title(f"C = {c}: band of k = {k}", fontsize=9)
        sub.set_xticks([])
        sub.set_yticks([])
    fig.tight_layout()
    return fig
