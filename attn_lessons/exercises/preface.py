"""Checker for the preface notebook's exercise: a first attention-weighted average."""

from __future__ import annotations

from typing import Any

import torch

from ._core import Feedback, check_function

__all__ = ["check_attend", "reference_attend"]


def reference_attend(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """softmax(keys @ query) @ values, for query (d,), keys (n, d), values (n, d_v) -> (d_v,)."""
    weights = torch.softmax(keys @ query, dim=0)  # (n, d) @ (d,) -> (n,)
    return weights @ values  # (n,) @ (n, d_v) -> (d_v,)


def _cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1234)
    cases = []
    for n, d, d_v in [(5, 4, 3), (3, 2, 6), (7, 8, 3)]:
        query = torch.randn(d, generator=g, dtype=torch.float64)
        keys = torch.randn(n, d, generator=g, dtype=torch.float64)
        values = torch.randn(n, d_v, generator=g, dtype=torch.float64)
        cases.append((query, keys, values))
    return cases


def _raw_scores(query, keys, values):
    return (keys @ query) @ values


def _plain_mean(query, keys, values):
    return values.mean(dim=0)


def _unnormalised(query, keys, values):
    return torch.exp(keys @ query) @ values


def _scaled(query, keys, values):
    return torch.softmax(keys @ query / query.shape[-1] ** 0.5, dim=0) @ values


def _weights_only(query, keys, values):
    return torch.softmax(keys @ query, dim=0)


def _hard_attention(query, keys, values):
    return values[torch.argmax(keys @ query)]


def check_attend(attend: Any) -> Feedback:
    """Check ``attend(query, keys, values)``: the softmax-weighted average of the values."""
    return check_function(
        attend,
        reference_attend,
        _cases(),
        what="attend",
        wrong_functions=[
            (_raw_scores, "you weighted the values by the raw scores: turn the scores into "
                          "weights with a softmax first, so they are positive and sum to 1."),
            (_plain_mean, "that is the plain average of the values: the weights should come "
                          "from the scores keys @ query, so they depend on the query."),
            (_unnormalised, "the weights exp(score) do not sum to 1: divide by their sum "
                            "(that is what softmax does)."),
            (_scaled, "there is no 1/√d scale in this exercise (chapter 6 adds it): the "
                      "weights are softmax(keys @ query)."),
            (_weights_only, "you returned the weights, one per key: return their weighted "
                            "average of the value rows, weights @ values."),
            (_hard_attention, "that is the value of the single best-matching key (hard "
                              "attention): average all the values with the softmax weights."),
        ],
        success="your attend() is softmax(keys @ query) @ values.",
    )
