"""Checker for the preface notebook's exercise: attention for many queries at once.

The notebook computes ``softmax(keys @ query) @ values`` for one query. The exercise transfers it
to a batch of queries, one per row of ``queries``: the reader must decide along which axis the
softmax normalises (over the keys, for each query) and keep the rows in order. This is the
matrix form softmax(Q K^T) V of Vaswani et al., "Attention is all you need" (2017), eq. (1),
without its 1/sqrt(d) scale, which chapter 6 adds. The prompt asks for no Python loop over the
queries; the checker enforces it by counting the answer's torch calls for one query and for six.
"""

from __future__ import annotations

from typing import Any

import torch

from ._core import Feedback, Vectorised, check_function
from ._messages import tr

__all__ = ["check_attend", "reference_attend"]


def reference_attend(queries: torch.Tensor, keys: torch.Tensor,
                     values: torch.Tensor) -> torch.Tensor:
    """softmax(queries @ keys.T, over the keys) @ values: (m, d), (n, d), (n, d_v) -> (m, d_v)."""
    weights = torch.softmax(queries @ keys.T, dim=1)  # (m, d) @ (d, n) -> (m, n), rows sum to 1
    return weights @ values  # (m, n) @ (n, d_v) -> (m, d_v)


def _cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1234)
    cases = []
    # The first case is square (m = n) so that a transposed answer still has the right shape and
    # its mistake can be named; m = 1 is the notebook's single query as a row.
    for m, n, d, d_v in [(5, 5, 4, 3), (3, 7, 2, 6), (1, 4, 8, 3), (6, 2, 3, 5)]:
        queries = torch.randn(m, d, generator=g, dtype=torch.float64)
        keys = torch.randn(n, d, generator=g, dtype=torch.float64)
        values = torch.randn(n, d_v, generator=g, dtype=torch.float64)
        cases.append((queries, keys, values))
    return cases


def _loop_probe() -> Vectorised:
    """One query, then six, against the same keys and values: a vectorised answer makes the same
    torch calls for both, a loop over the queries makes more for six."""
    g = torch.Generator().manual_seed(99)
    keys = torch.randn(5, 4, generator=g, dtype=torch.float64)
    values = torch.randn(5, 3, generator=g, dtype=torch.float64)
    queries = torch.randn(6, 4, generator=g, dtype=torch.float64)
    return Vectorised(
        (queries[:1], keys, values), (queries, keys, values),
        tr("the values are right, but your function makes more torch calls for six queries than "
           "for one: it loops over the queries. Compute all m × n scores at once, queries @ "
           "keys.T, and one softmax along the keys."))


def _over_queries(queries, keys, values):
    return torch.softmax(queries @ keys.T, dim=0) @ values


def _weights_not_transposed(queries, keys, values):
    # right weights, (n, m) with one column per query, multiplied without transposing them
    return torch.softmax(keys @ queries.T, dim=0) @ values


def _raw_scores(queries, keys, values):
    return (queries @ keys.T) @ values


def _plain_mean(queries, keys, values):
    return values.mean(dim=0).expand(queries.shape[0], -1)


def _unnormalised(queries, keys, values):
    return torch.exp(queries @ keys.T) @ values


def _scaled(queries, keys, values):
    return torch.softmax(queries @ keys.T / queries.shape[-1] ** 0.5, dim=1) @ values


def _weights_only(queries, keys, values):
    return torch.softmax(queries @ keys.T, dim=1)


def _first_query_only(queries, keys, values):
    return (torch.softmax(keys @ queries[0], dim=0) @ values).expand(queries.shape[0], -1)


def _global_softmax(queries, keys, values):
    scores = queries @ keys.T
    return torch.softmax(scores.flatten(), dim=0).reshape(scores.shape) @ values


def check_attend(attend: Any) -> Feedback:
    """Check ``attend(queries, keys, values)``: one softmax-weighted average per query row."""
    return check_function(
        attend,
        reference_attend,
        _cases(),
        what="attend",
        wrong_functions=[
            (_over_queries, tr("your softmax normalised each key's scores over the queries "
                               "(dim=0): each query's weights must sum to 1 over the keys, so "
                               "normalise each row of queries @ keys.T (dim=1).")),
            (_weights_not_transposed, tr("softmax(keys @ queries.T, dim=0) has one column per "
                                         "query, shape (n, m): transpose it before multiplying "
                                         "(weights.T @ values), or use queries @ keys.T.")),
            (_global_softmax, tr("one softmax over all m·n scores makes the queries share one set "
                                 "of weights summing to 1: take a softmax per query row (dim=1).")),
            (_first_query_only, tr("every row of your answer is the first query's average: each "
                                   "row of queries needs its own weights.")),
            (_raw_scores, tr("you weighted the values by the raw scores: turn the scores into "
                             "weights with a softmax first, so they are positive and sum to 1.")),
            (_plain_mean, tr("that is the plain average of the values: the weights should come "
                             "from the scores queries @ keys.T, so they depend on the query.")),
            (_unnormalised, tr("the weights exp(score) do not sum to 1: divide each row by its sum "
                               "(that is what softmax does).")),
            (_scaled, tr("there is no 1/√d scale in this exercise (chapter 6 adds it): the weights "
                         "are softmax(queries @ keys.T) along the keys.")),
            (_weights_only, tr("you returned the weights, one row per query and one column per "
                               "key: return their averages of the value rows, weights @ values.")),
        ],
        vectorised=_loop_probe(),
        success=tr("your attend() is softmax(queries @ keys.T, dim=1) @ values."),
    )
