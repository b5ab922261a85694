r"""Checkers for chapter 8's heat maps.

``check_layer_cam(fn)``: ``fn(activation, gradient)`` returns the LayerCAM map ``(B, h, w)`` of a
layer's output ``activation`` ``(B, K, h, w)`` and the gradient of the class score with respect
to it, ``gradient`` of the same shape (the page's ``eq-layercam-weights`` and
``eq-layercam-map``): :math:`\mathrm{ReLU}(\sum_k \mathrm{ReLU}(g^k_{ij})\,A^k_{ij})`. The cases
have negative activations as well as negative gradients (a layer before its ReLU), maps that are
not square, and one channel, so each mistake below shows.
"""

from __future__ import annotations

import torch

from ._core import Feedback, check_function
from ._messages import mark, tr

__all__ = ["check_layer_cam"]


def _layer_cam(activation, gradient):
    return (gradient.clamp(min=0) * activation).sum(dim=1).clamp(min=0)  # (B, K, h, w) -> (B, h, w)


def _cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(28)
    cases = []
    for batch, channels, h, w in ((2, 3, 4, 5), (1, 6, 3, 3), (3, 1, 2, 4), (2, 4, 5, 2)):
        activation = torch.randn(batch, channels, h, w, generator=g)
        gradient = torch.randn(batch, channels, h, w, generator=g)
        cases.append((activation, gradient))
    return cases


#: Typical mistakes and the hint each one gets.
MISTAKES = (
    (lambda a, g: (g.mean(dim=(2, 3), keepdim=True) * a).sum(1).clamp(min=0),
     mark("That is Grad-CAM: you averaged the gradient over the positions. LayerCAM keeps one "
          "weight per channel and position, the gradient at that position.")),
    (lambda a, g: (g * a).sum(1).clamp(min=0),
     mark("The gradient's negative part is kept: LayerCAM's weight is ReLU(gradient), so a channel "
     "counts only where it supports the class.")),
    (lambda a, g: (g.clamp(min=0) * a).sum(1),
     mark("Your map has negative values: LayerCAM ends with a ReLU of the sum over channels.")),
    (lambda a, g: (g * a).clamp(min=0).sum(1),
     mark("You rectified each product gradient x activation: where both are negative the product "
     "is positive and counts. Rectify the gradient, then the sum over channels.")),
    (lambda a, g: (g.clamp(min=0) * a).mean(1).clamp(min=0),
     mark("Your map is K times too small: sum over the channels, do not average.")),
    (lambda a, g: (g.abs() * a).sum(1).clamp(min=0),
     mark("You took the gradient's absolute value: a negative gradient means the channel counts "
     "against the class there, and LayerCAM sets its weight to 0, not to |gradient|.")),
    (lambda a, g: (g.clamp(min=0) * a.clamp(min=0)).sum(1).clamp(min=0),
     mark("You rectified the activation too: LayerCAM multiplies the rectified gradient by the "
     "activation as it is, and rectifies only the sum.")),
    (lambda a, g: (g.clamp(min=0) * a).sum(1).clamp(min=0).transpose(1, 2),
     mark("Your map is transposed: keep the layout (B, h, w) of the activation's rows and "
          "columns.")),
)


def check_layer_cam(fn) -> Feedback:
    """``fn(activation, gradient)`` against LayerCAM on four cases."""
    return check_function(
        fn, _layer_cam, _cases(), what=tr("layer_cam_map(activation, gradient)"), atol=1e-6,
        rtol=1e-5, wrong_functions=MISTAKES,
        success=tr("each position keeps the channels whose gradient supports the class there, "
                   "weighted by that gradient, and the sum is rectified."),
    )
