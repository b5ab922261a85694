"""A tiny, fast runner for the experiment-infrastructure tests (not a book experiment).

``run_one`` returns deterministic metrics from (arm, task, seed, settings): a seeded numpy draw
shifted by the arm's effect, so a file written once can be re-run exactly anywhere.
"""

from __future__ import annotations

import numpy as np


def run_one(arm: str, task: str, seed: int, settings: dict) -> dict[str, float]:
    effects = settings["effects"]
    rng = np.random.default_rng([seed, sum(map(ord, task))])  # the same draw for every arm
    base = float(rng.normal(0.5, settings["sd"]))
    noise = float(np.random.default_rng([seed, sum(map(ord, task + arm))]).normal(0, 0.01))
    accuracy = base + effects.get(arm, 0.0) + noise
    return {"accuracy": accuracy, "loss": 1.0 - accuracy}


def run_wrong_metrics(arm: str, task: str, seed: int, settings: dict) -> dict[str, float]:
    return {"accuracy": 0.5, "surprise": 1.0}
