"""Chapter 8 heat-map checker: accepts LayerCAM written several ways, names each mistake."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from attn_lessons.exercises import heatmaps as ex
from attn_lessons.heatmaps import layer_cam

from ._checker_checks import assert_named, assert_passes, assert_refused_without_raising


def test_reference_is_the_library_layer_cam():
    """On a layer whose output is the input itself and a linear score, dy/dA is the weight: the
    checker's reference given (A, dy/dA) equals the library's layer_cam of that model."""
    for activation, gradient in ex._cases():
        batch = activation.shape[0]
        model = nn.Sequential(nn.Identity(), nn.Flatten(), nn.Linear(gradient[0].numel(), 1))
        for n in range(batch):
            with torch.no_grad():
                model[2].weight.copy_(gradient[n].reshape(1, -1))
            torch.testing.assert_close(layer_cam(model, model[0], activation[n:n + 1], 0),
                                       ex._layer_cam(activation[n:n + 1], gradient[n:n + 1]))


def test_cases_have_negative_activations_and_gradients_and_non_square_maps():
    cases = ex._cases()
    assert all((a < 0).any() and (g < 0).any() for a, g in cases)
    assert any(a.shape[2] != a.shape[3] for a, _ in cases)
    assert any(a.shape[1] == 1 for a, _ in cases)


@pytest.mark.parametrize("answer", [
    lambda a, g: torch.relu((torch.relu(g) * a).sum(dim=1)),
    lambda a, g: torch.einsum("bkhw,bkhw->bhw", g.clamp(min=0), a).clamp(min=0),
    lambda a, g: torch.from_numpy(np.maximum((np.maximum(np.asarray(g), 0)
                                              * np.asarray(a)).sum(axis=1), 0)),
    lambda a, g: torch.where(g > 0, g * a, 0.0).sum(1).clamp(min=0),
])
def test_correct_answers_pass(answer):
    assert_passes(ex.check_layer_cam, answer)


@pytest.mark.parametrize(("mistake", "hint"), ex.MISTAKES)
def test_each_modelled_mistake_gets_its_hint(mistake, hint):
    assert_named(ex.check_layer_cam, mistake, hint)


def test_unmodelled_wrong_answer_and_errors_never_raise():
    assert_refused_without_raising(ex.check_layer_cam, [
        lambda a, g: a.sum(1) * 2,
        lambda a, g: 1 / 0,
        ...,
        "relu(sum(relu(g) * a))",
    ])
