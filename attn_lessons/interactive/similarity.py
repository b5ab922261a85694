r"""Chapter 1's interactive figure: the softmax of one score vector as the temperature moves.

The weights :math:`\operatorname{softmax}_T(\mathbf{s})_i = e^{s_i/T} / \sum_j e^{s_j/T}` are
computed with :func:`attn_lessons.similarity.softmax` for a fixed score vector at every
temperature of a logarithmic grid; the figure also marks the two limits, the one-hot arg-max
(:math:`T \to 0`) and the uniform :math:`1/n` (:math:`T \to \infty`).
"""

from __future__ import annotations

import torch

from ..similarity import softmax
from . import register, register_fallback

#: The score vector of the figure (one clear winner, a runner-up, a tail).
SCORES: tuple[float, ...] = (2.0, 1.2, 0.5, 0.0, -1.0)
#: Temperatures :math:`T = 10^{k/20}` for k = -26 ... 26, rounded to 3 significant digits:
#: 0.0501 ... 20.0, with T = 1 in the middle.
TEMPERATURES: tuple[float, ...] = tuple(float(f"{10 ** (k / 20):.3g}") for k in range(-26, 27))
#: The temperatures the static picture shows.
FALLBACK_TEMPERATURES: tuple[float, ...] = (0.251, 1.0, 3.98)


def weights_at(temperature: float) -> list[float]:
    """The softmax weights of :data:`SCORES` at ``temperature`` (float64, the library's softmax)."""
    scores = torch.tensor(SCORES, dtype=torch.float64)
    return softmax(scores, temperature=temperature).tolist()


@register("softmax-temperature")
def softmax_temperature() -> dict:
    """Scores, the temperature grid and the weights at each temperature, with both limits."""
    n = len(SCORES)
    winner = max(range(n), key=lambda i: SCORES[i])
    return {
        "scores": list(SCORES),
        "temperatures": list(TEMPERATURES),
        "start": TEMPERATURES.index(1.0),
        "weights": [weights_at(t) for t in TEMPERATURES],
        "argmax": [1.0 if i == winner else 0.0 for i in range(n)],
        "uniform": 1.0 / n,
    }


@register_fallback("softmax-temperature")
def draw_softmax_temperature(data: dict):
    """Three panels of bars: the weights at a low, the standard and a high temperature."""
    import matplotlib.pyplot as plt

    temperatures = data["temperatures"]
    n = len(data["scores"])
    fig, axes = plt.subplots(1, len(FALLBACK_TEMPERATURES), figsize=(9, 2.8), sharey=True)
    for ax, t in zip(axes, FALLBACK_TEMPERATURES, strict=True):
        weights = data["weights"][temperatures.index(t)]
        ax.bar(range(n), weights, color="#0072B2", label="softmax weight")
        ax.plot(range(n), data["argmax"], "v", color="#D55E00", label="arg-max limit")
        ax.axhline(data["uniform"], color="#009E73", linestyle="--", label="uniform limit 1/n")
        ax.set_title(f"T = {t:g}")
        ax.set_xticks(range(n), [f"s={s:g}" for s in data["scores"]], fontsize=8)
        ax.set_ylim(0, 1.08)
    axes[0].set_ylabel("weight")
    axes[-1].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
