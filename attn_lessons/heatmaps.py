r"""Heat maps of what a network uses: Grad-CAM, LayerCAM, and a score against a known target.

Write :math:`A^k` for channel :math:`k` of a layer's feature map (shape :math:`h \times w`),
:math:`y^c` for the network's score of class :math:`c` *before* the softmax, and :math:`Z = hw`.

**Grad-CAM** (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017, arXiv:1610.02391) weights each channel by its gradient
averaged over the positions:

.. math::

    \alpha^c_k = \frac{1}{Z} \sum_{i,j} \frac{\partial y^c}{\partial A^k_{ij}}, \qquad
    L^c_{\text{Grad-CAM}} = \mathrm{ReLU}\Big(\sum_k \alpha^c_k A^k\Big).

:func:`grad_cam` computes it with Captum's ``LayerGradCam`` (``relu_attributions=True``); the
tests check Captum against these two lines written out.

**LayerCAM** (Jiang, Zhang, Hou, Cheng and Wei, "LayerCAM: Exploring Hierarchical Class
Activation Maps for Localization", IEEE Transactions on Image Processing 30, 2021) keeps one
weight per *position*: the gradient there, with its negative part removed,

.. math::

    w^{kc}_{ij} = \mathrm{ReLU}\Big(\frac{\partial y^c}{\partial A^k_{ij}}\Big), \qquad
    L^c_{\text{LayerCAM}}(i, j) = \mathrm{ReLU}\Big(\sum_k w^{kc}_{ij} A^k_{ij}\Big).

A channel that supports the class at one place and opposes it at another is averaged away by
Grad-CAM's :math:`\alpha^c_k` but kept where it supports the class by LayerCAM, which is why
LayerCAM gives usable maps at early layers too. Captum has no LayerCAM; :func:`layer_cam` is
the equation above, with the gradient from ``torch.autograd.grad``.

**The score.** Where the data say where the target is (the generated tasks paint it), a map
is scored as chapter 7 scores a gate: its mean on the target's cells over its mean elsewhere
(:func:`target_over_elsewhere`), 1 when the map has no preference for the target. The mask is
max-pooled to the map's resolution (a cell is a target cell when any of its pixels is). Each
map is first divided by its own maximum, so every image weighs the same and the score does not
depend on the map's scale (a Grad-CAM map's size changes with the logit's); a map that is zero
everywhere has no preference to score and is left out (:func:`score_maps` counts them).
:func:`score_maps` adds a percentile bootstrap interval over the images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_int, check_probability, check_seed, check_tensor

__all__ = [
    "MapScore",
    "grad_cam",
    "layer_cam",
    "score_maps",
    "target_cells",
    "target_over_elsewhere",
]


def _check_model_layer(model: object, layer: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(layer, nn.Module):
        raise TypeError(f"layer must be a torch.nn.Module inside model, got "
                        f"{type(layer).__name__}")
    if not any(sub is layer for sub in model.modules()):
        raise ValueError(f"layer {type(layer).__name__} is not a submodule of model "
                         f"{type(model).__name__}: pass one of model.modules()")


def _check_target(target: object, batch: int) -> torch.Tensor:
    """``target`` as a ``(batch,)`` long tensor: an int for every image, or one per image."""
    if isinstance(target, bool) or not isinstance(target, int | torch.Tensor):
        raise TypeError(f"target must be a class index (int) or a 1-D tensor of class indices, "
                        f"got {type(target).__name__}")
    if isinstance(target, int):
        return torch.full((batch,), target, dtype=torch.long)
    if target.is_floating_point() or target.dtype == torch.bool or target.ndim != 1:
        raise TypeError(f"target must be a 1-D integer tensor of class indices, got dtype "
                        f"{target.dtype} and shape {tuple(target.shape)}")
    if len(target) != batch:
        raise ValueError(f"target holds {len(target)} class indices for {batch} images")
    return target.long()


def _forward_with_layer(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target):
    """``(y^c (B,), A (B, K, h, w), classes)``: the class scores and the layer's output, on one
    graph, and the model's number of classes."""
    inputs = check_tensor("inputs", inputs, ndim=4)
    if len(inputs) == 0:
        raise ValueError(f"inputs holds no image (shape {tuple(inputs.shape)})")
    target = _check_target(target, len(inputs))
    kept: dict[str, torch.Tensor] = {}

    def keep(_module, _args, output):
        kept["A"] = output

    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            logits = model(inputs.detach().requires_grad_(True))  # (B, classes)
    finally:
        handle.remove()
    if "A" not in kept:
        raise ValueError(f"layer {type(layer).__name__} did not run in model's forward pass")
    activation = kept["A"]
    if not isinstance(activation, torch.Tensor) or activation.ndim != 4:
        raise ValueError(f"layer {type(layer).__name__} must output a feature map (B, K, h, w), "
                         f"got {getattr(activation, 'shape', type(activation).__name__)}")
    if logits.ndim != 2:
        raise ValueError(f"model must return class scores (B, classes), got shape "
                         f"{tuple(logits.shape)}")
    bad = (target < 0) | (target >= logits.shape[1])
    if bad.any():
        raise ValueError(f"target holds class index {int(target[bad][0])}, outside 0.."
                         f"{logits.shape[1] - 1} for a model with {logits.shape[1]} classes")
    score = logits.gather(1, target.to(logits.device)[:, None])[:, 0]  # (B, classes) -> (B,)
    return score, activation, logits.shape[1]


def layer_cam(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target) -> torch.Tensor:
    r"""LayerCAM of class ``target`` at ``layer`` (Jiang et al., IEEE TIP 2021): ``(B, h, w)``.

    :math:`L^c(i, j) = \mathrm{ReLU}(\sum_k \mathrm{ReLU}(\partial y^c / \partial A^k_{ij})\,
    A^k_{ij})`, with :math:`y^c` the model's output for class ``target`` (an int for every image,
    or a ``(B,)`` tensor) and :math:`A` the output of ``layer``, a submodule of ``model``. The
    model runs in eval mode (BatchNorm uses its running statistics), and its mode is restored.
    The map has the layer's resolution; it is not resized or rescaled.
    """
    _check_model_layer(model, layer)
    was_training = model.training
    try:
        model.eval()
        score, activation, _ = _forward_with_layer(model, layer, inputs, target)
        # The images are independent in eval mode, so the gradient of the sum is each image's own.
        (grad,) = torch.autograd.grad(score.sum(), activation)  # (B, K, h, w)
    finally:
        model.train(was_training)
    weights = grad.clamp(min=0)  # w_ij^kc = ReLU(dy^c / dA^k_ij): (B, K, h, w)
    return (weights * activation).sum(dim=1).clamp(min=0).detach()  # (B, K, h, w) -> (B, h, w)


def grad_cam(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target) -> torch.Tensor:
    r"""Grad-CAM of class ``target`` at ``layer`` (Selvaraju et al., ICCV 2017): ``(B, h, w)``.

    :math:`L^c = \mathrm{ReLU}(\sum_k \alpha^c_k A^k)` with
    :math:`\alpha^c_k = \frac{1}{hw}\sum_{i,j} \partial y^c / \partial A^k_{ij}`, computed by
    Captum's ``LayerGradCam`` with ``relu_attributions=True``. Arguments and mode as
    :func:`layer_cam`.
    """
    from captum.attr import LayerGradCam

    _check_model_layer(model, layer)
    was_training = model.training
    try:
        model.eval()
        inputs = check_tensor("inputs", inputs, ndim=4)
        target = _check_target(target, len(inputs))
        # A forward pass of our own on one image checks the layer's output and the class count.
        _, _, classes = _forward_with_layer(model, layer, inputs[:1], target[:1])
        bad = (target < 0) | (target >= classes)
        if bad.any():
            raise ValueError(f"target holds class index {int(target[bad][0])}, outside 0.."
                             f"{classes - 1} for a model with {classes} classes")
        cam = LayerGradCam(model, layer).attribute(
            inputs.detach(), target=target.tolist(), relu_attributions=True
        )  # (B, 1, h, w)
    finally:
        model.train(was_training)
    return cam[:, 0].detach()  # (B, 1, h, w) -> (B, h, w)


# ------------------------------------------------------------------------------------------------
# Scoring a map against the target's position
# ------------------------------------------------------------------------------------------------


def _check_masks(masks: object) -> torch.Tensor:
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f"masks must be a torch.Tensor, got {type(masks).__name__}")
    if masks.dtype != torch.bool:
        raise TypeError(f"masks must be a bool tensor (True on the target's pixels), got dtype "
                        f"{masks.dtype}")
    if masks.ndim != 3:
        raise ValueError(f"masks must be a 3-D tensor (N, S, S), got shape {tuple(masks.shape)}")
    return masks.cpu()


def target_cells(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The target's cells ``(N, h, w)`` (bool) of pixel masks ``(N, S, S)`` at a map's ``size``.

    Max-pooled as chapter 7 does: a cell is a target cell when any of its pixels is. ``S`` must
    be a multiple of ``h`` and ``w``.
    """
    masks = _check_masks(masks)
    h, w = (check_int("size", s) for s in size)
    if masks.shape[1] % h or masks.shape[2] % w:
        raise ValueError(f"masks of {tuple(masks.shape[1:])} pixels do not pool to a "
                         f"{h} x {w} map: the sizes must divide evenly")
    kernel = (masks.shape[1] // h, masks.shape[2] // w)
    pooled = F.max_pool2d(masks[:, None].float(), kernel)  # (N, 1, S, S) -> (N, 1, h, w)
    return pooled[:, 0].bool()  # (N, 1, h, w) -> (N, h, w)


def _sums(maps: torch.Tensor, masks: torch.Tensor):
    """Per image: the map (divided by its maximum) summed on and off the target, the two cell
    counts, and which maps are not zero everywhere. All ``(N,)`` NumPy arrays."""
    maps = check_tensor("maps", maps, ndim=3).detach().cpu().double()
    masks = _check_masks(masks)
    if len(maps) != len(masks) or len(maps) == 0:
        raise ValueError(f"maps and masks must hold the same number of images (> 0), got "
                         f"{len(maps)} maps and {len(masks)} masks")
    if not torch.isfinite(maps).all():
        raise ValueError("maps hold a NaN or an infinity: nothing to score")
    if (maps < 0).any():
        raise ValueError(f"maps must be non-negative (a gate, or a map after its ReLU), got a "
                         f"minimum of {float(maps.min()):.3g}")
    cells = target_cells(masks, tuple(maps.shape[1:]))  # (N, h, w)
    on_count = cells.flatten(1).sum(1)
    if (on_count == 0).any() or (on_count == cells[0].numel()).any():
        first = int(((on_count == 0) | (on_count == cells[0].numel())).nonzero()[0])
        raise ValueError(f"mask {first} covers no cell or every cell: the target must have an "
                         f"inside and an outside")
    top = maps.flatten(1).amax(1)  # (N, h, w) -> (N,)
    live = top > 0
    scaled = maps / torch.where(live, top, 1.0)[:, None, None]  # each map's maximum is 1
    on = (scaled * cells).flatten(1).sum(1)  # (N,)
    off = (scaled * ~cells).flatten(1).sum(1)  # (N,)
    off_count = cells[0].numel() - on_count
    return on.numpy(), off.numpy(), on_count.double().numpy(), off_count.double().numpy(), \
        live.numpy()


def _ratio(on, off, on_count, off_count) -> float:
    elsewhere = off.sum() / off_count.sum()
    return float("inf") if elsewhere == 0 else float((on.sum() / on_count.sum()) / elsewhere)


def target_over_elsewhere(maps: torch.Tensor, masks: torch.Tensor) -> float:
    r"""Chapter 7's score: the mean of the maps on the target's cells over their mean elsewhere.

    ``maps`` ``(N, h, w)`` are non-negative; ``masks`` ``(N, S, S)`` the target's pixels, pooled
    to the maps' cells by :func:`target_cells`. Each map is divided by its own maximum first
    (which leaves one image's score unchanged), maps that are zero everywhere are left out, and
    the means are taken over all cells of all the remaining images:

    .. math::

        \text{score} = \frac{\sum_n \sum_{(i,j) \in T_n} \tilde m_n(i,j) \,/\, \sum_n |T_n|}
                            {\sum_n \sum_{(i,j) \notin T_n} \tilde m_n(i,j) \,/\,
                             \sum_n (hw - |T_n|)},
        \qquad \tilde m_n = m_n / \max m_n.

    1 means no preference for the target; ``inf`` when the maps are zero everywhere off the
    target. Raises ``ValueError`` when every map is zero (there is nothing to score).
    """
    on, off, on_count, off_count, live = _sums(maps, masks)
    if not live.any():
        raise ValueError(f"all {len(live)} maps are zero everywhere: they prefer nothing, and "
                         f"the score is undefined")
    return _ratio(on[live], off[live], on_count[live], off_count[live])


@dataclass(frozen=True)
class MapScore:
    """:func:`target_over_elsewhere` of a set of maps with a bootstrap interval over images."""

    score: float
    low: float
    high: float
    level: float
    images: int  # images scored (maps not zero everywhere)
    empty: int  # maps zero everywhere, left out

    def __str__(self) -> str:
        return (f"{self.score:.2f} [{self.low:.2f}, {self.high:.2f}] "
                f"({self.images} images, {self.empty} empty)")


def score_maps(
    maps: torch.Tensor,
    masks: torch.Tensor,
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> MapScore:
    """:func:`target_over_elsewhere` with a percentile bootstrap interval over the images.

    The images (those whose map is not zero everywhere) are drawn with replacement
    ``resamples`` times, from a generator seeded with ``seed``, and the score recomputed on each
    draw; the interval holds the central ``level`` of those scores.
    """
    level = check_probability("level", level)
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    resamples = check_int("resamples", resamples, minimum=100)
    seed = check_seed("seed", seed)
    on, off, on_count, off_count, live = _sums(maps, masks)
    if not live.any():
        raise ValueError(f"all {len(live)} maps are zero everywhere: they prefer nothing, and "
                         f"the score is undefined")
    on, off, on_count, off_count = on[live], off[live], on_count[live], off_count[live]
    score = _ratio(on, off, on_count, off_count)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(on), size=(resamples, len(on)))  # (R, N) image indices
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = ((on[draws].sum(1) / on_count[draws].sum(1))
                  / (off[draws].sum(1) / off_count[draws].sum(1)))  # (R,)
    ratios = np.where(np.isnan(ratios), np.inf, ratios)
    tail = (1 - level) / 2
    low, high = np.quantile(ratios, [tail, 1 - tail])
    return MapScore(score=score, low=float(low), high=float(high), level=level,
                    images=int(live.sum()), empty=int((~live).sum()))

