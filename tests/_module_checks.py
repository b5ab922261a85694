"""Checks every field-guide module's tests make the same way, written once.

Each test file states what is particular to its module (the authors' forward pass, its argument
errors, its gate's shape); what every attention module of the book must also do is here: refuse
the same bad feature maps with the same messages, refuse a bad argument alike in its class, the
factory and its parameter count, compute the same on CUDA as on the CPU, learn inside the
``SmallCNN`` (every parameter a finite gradient), and add exactly its closed-form count to the
book's ResNet-50, MobileNetV2 and YOLO-tiny neck.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
import torch
from torch import nn

from attn_lessons.factory import make_attention
from attn_lessons.mobilenetv2 import MobileNetV2, mobilenetv2_attention_channels
from attn_lessons.neck import YoloTinyNeck
from attn_lessons.resnet import ResNet50, resnet50_attention_channels
from attn_lessons.small_cnn import SmallCNN

RESNET50_PLAIN, MOBILENETV2_PLAIN = 25_557_032, 3_504_872  # tests/test_networks.py
NECK_PLAIN = 2_426_878  # tests/test_neck.py
NECK_CHANNELS = (256, 512, 128)  # where the neck puts its attention modules


def bad_maps(channels: int, side: int = 3) -> list[tuple[torch.Tensor, type, str]]:
    """``(x, error, message)`` for the bad maps every module refuses: wrong C, 3-D, integers."""
    half = channels // 2
    return [
        (torch.randn(2, half, side, side), ValueError,
         f"x has {half} channels but the module was built for {channels}"),
        (torch.randn(channels, side, side), ValueError, "x must be a 4-D feature map"),
        (torch.ones(2, channels, side, side, dtype=torch.long), TypeError, "floating-point"),
    ]


def refuses_bad_maps(module: nn.Module, channels: int,
                     extra: Iterable[tuple[torch.Tensor, type, str]] = ()) -> None:
    """``module`` refuses :func:`bad_maps` and every ``(x, error, message)`` of ``extra``."""
    for x, error, message in [*bad_maps(channels, side=5), *extra]:
        with pytest.raises(error, match=message):
            module(x)


def refused_everywhere(cls: type, kind: str, kwargs: dict[str, Any], error: type, match: str,
                       num_params: Callable[..., int] | None = None) -> None:
    """The class, the factory (``kind``) and the parameter count refuse ``kwargs`` alike."""
    builders: list[Callable[..., Any]] = [cls, lambda **k: make_attention(kind, **k)]
    if num_params is not None:
        builders.append(num_params)
    for build in builders:
        with pytest.raises(error, match=match):
            build(**kwargs)


def one_image_training_says_why(build: Callable[[], nn.Module], channels: int = 16) -> None:
    """Training on one image is refused with the reason; evaluating one image works."""
    x = torch.randn(1, channels, 4, 4)
    with pytest.raises(ValueError,
                       match=rf"batch of at least 2 images, got shape \(1, {channels}, 4, 4\)"):
        build().train()(x)
    assert build().eval()(x).shape == x.shape


def cuda_matches_cpu(module: nn.Module, channels: int) -> None:
    """The module computes on CUDA what it computes on the CPU (float32 tolerances)."""
    torch.manual_seed(0)
    x = torch.randn(2, channels, 7, 5)
    torch.testing.assert_close(module.cuda()(x.cuda()).cpu(), module.cpu()(x),
                               atol=1e-5, rtol=1e-4)


def trains_in_small_cnn(kind: str, *, nonzero: bool = True,
                        prepare: Callable[[SmallCNN], None] | None = None,
                        **options: Any) -> tuple[SmallCNN, torch.Tensor]:
    """Build ``SmallCNN(3, 5, (8, 16, 32), kind, **options)``, run a backward pass, check grads.

    Every parameter gets a finite gradient (and a non-zero one unless ``nonzero=False``).
    ``prepare`` may change the network first (e.g. move weights off a zero initialisation).
    Returns the network and its input, for checks of the captured gates.
    """
    torch.manual_seed(0)
    cnn = SmallCNN(3, 5, (8, 16, 32), kind, **options)
    if prepare is not None:
        prepare(cnn)
    x = torch.randn(2, 3, 12, 12)
    cnn(x).logsumexp(dim=1).sum().backward()
    for name, p in cnn.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if nonzero:
            assert p.grad.abs().sum() > 0, name
    return cnn, x


def book_networks_add(kind: str, resnet_added: int, mobile_added: int, neck_added: int,
                      mobile_options: dict[str, Any] | None = None) -> None:
    """ResNet-50, MobileNetV2 and the YOLO-tiny neck accept ``kind`` and grow by the counts."""
    with torch.device("meta"):  # shapes only: no memory for the weights, no arithmetic
        resnet = ResNet50(kind).eval()
        mobile = (MobileNetV2(kind, mobile_options) if mobile_options else MobileNetV2(kind)).eval()
        assert resnet(torch.empty(1, 3, 64, 64)).shape == (1, 1000)
        assert mobile(torch.empty(1, 3, 64, 64)).shape == (1, 1000)
    assert sum(p.numel() for p in resnet.parameters()) == RESNET50_PLAIN + resnet_added
    assert sum(p.numel() for p in mobile.parameters()) == MOBILENETV2_PLAIN + mobile_added
    neck = YoloTinyNeck(kind, num_classes=2, num_anchors=1).eval()
    coarse, fine = neck(torch.randn(1, 256, 8, 6), torch.randn(1, 512, 4, 3))
    assert coarse.shape == (1, 7, 4, 3) and fine.shape == (1, 7, 8, 6)
    assert sum(p.numel() for p in YoloTinyNeck(kind).parameters()) == NECK_PLAIN + neck_added


def added_by(num_params: Callable[[int], int], mobile_options: dict[str, Any] | None = None
             ) -> tuple[int, int, int]:
    """What one module per attention place adds to ResNet-50, MobileNetV2 and the neck."""
    mobile = (lambda c: num_params(c, **mobile_options)) if mobile_options else num_params
    return (sum(num_params(c) for c in resnet50_attention_channels()),
            sum(mobile(c) for c in mobilenetv2_attention_channels("depthwise")),
            sum(num_params(c) for c in NECK_CHANNELS))
