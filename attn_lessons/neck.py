r"""A YOLOv4-tiny style detector neck with attention where such necks put it.

Bochkovskiy, Wang and Liao, "YOLOv4: Optimal Speed and Accuracy of Object Detection",
arXiv:2004.10934 (the tiny variant is described in the authors' Darknet configuration).

YOLOv4-tiny's backbone hands two feature maps to the neck: ``feat1`` at stride 16 (256 channels;
26x26 for a 416x416 image) and ``feat2`` at stride 32 (512 channels; 13x13). The neck

1. squeezes ``feat2`` with a 1x1 convolution to :math:`P_5` (256 channels) and predicts boxes from
   it with a 3x3 convolution and a 1x1 output convolution (the coarse head);
2. reduces :math:`P_5` to 128 channels (1x1), upsamples it by 2 (nearest neighbour), concatenates
   it with ``feat1`` (128 + 256 = 384 channels) and predicts from that (the fine head).

Attention goes at the three places where features enter or merge, as the widely used PyTorch
re-implementations of YOLOv4-tiny with attention do: on ``feat1`` and ``feat2`` as they arrive
from the backbone, and on the upsampled path before the concatenation. One argument picks the kind
for all three (``"none"``, ``"se"``, ``"eca"``, ``"cbam"``, ``"coordatt"``, ``"self_attention"``).
Each head outputs ``num_anchors * (5 + num_classes)`` channels: per anchor, four box offsets, an
objectness score and the class scores.

Convolution blocks are convolution (no bias), BatchNorm and LeakyReLU(0.1), as in Darknet; the two
output convolutions have biases.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_feature_map, check_int
from .factory import AttentionKwargs, make_attention, resolve_attention_kwargs

__all__ = ["ConvBNLeaky", "YoloTinyNeck"]


class ConvBNLeaky(nn.Sequential):
    """Convolution (no bias, 'same' padding), BatchNorm, LeakyReLU(0.1): Darknet's basic block."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(0.1, inplace=True),
        )


class YoloTinyNeck(nn.Module):
    """YOLOv4-tiny neck and heads with one kind of attention at its three merge points.

    Args:
        attention: factory name of the attention kind used at all three points.
        num_classes: classes to predict (80 for COCO).
        num_anchors: anchors per head position (3 in YOLOv4-tiny).
        in_channels: channels of ``(feat1, feat2)`` from the backbone (YOLOv4-tiny: 256, 512).
        attention_kwargs: options for every attention module: a mapping, or a function of the
            module's channel count returning one (as for ResNet-50 and MobileNetV2).

    Submodules: ``feat1_attention``, ``feat2_attention``, ``up_attention`` (the attention modules),
    ``reduce_p5``, ``head_p5``, ``upsample``, ``head_p4``.

    ``forward(feat1, feat2)`` takes (B, C1, 2h, 2w) and (B, C2, h, w) and returns
    ``(out_coarse, out_fine)`` of shapes (B, A(5 + K), h, w) and (B, A(5 + K), 2h, 2w).
    """

    def __init__(
        self,
        attention: str = "none",
        num_classes: int = 80,
        num_anchors: int = 3,
        in_channels: tuple[int, int] = (256, 512),
        attention_kwargs: AttentionKwargs = None,
    ) -> None:
        super().__init__()
        num_classes = check_int("num_classes", num_classes)
        num_anchors = check_int("num_anchors", num_anchors)
        if not isinstance(in_channels, tuple | list) or len(in_channels) != 2:
            raise TypeError(f"in_channels must be a pair (C1, C2), got {in_channels!r}")
        c1 = check_int("in_channels[0]", in_channels[0])
        c2 = check_int("in_channels[1]", in_channels[1])
        self.in_channels = (c1, c2)
        out = num_anchors * (5 + num_classes)
        self.feat1_attention = make_attention(
            attention, c1, **resolve_attention_kwargs(attention_kwargs, c1))
        self.feat2_attention = make_attention(
            attention, c2, **resolve_attention_kwargs(attention_kwargs, c2))
        self.reduce_p5 = ConvBNLeaky(c2, 256, 1)
        self.head_p5 = nn.Sequential(ConvBNLeaky(256, 512, 3), nn.Conv2d(512, out, 1))
        self.upsample = nn.Sequential(ConvBNLeaky(256, 128, 1), nn.Upsample(scale_factor=2))
        self.up_attention = make_attention(
            attention, 128, **resolve_attention_kwargs(attention_kwargs, 128))
        self.head_p4 = nn.Sequential(ConvBNLeaky(128 + c1, 256, 3), nn.Conv2d(256, out, 1))
        #: Where :func:`attn_lessons.insert.insert_attention` puts attention, and their widths.
        self.attention_slots = {"feat1_attention": c1, "feat2_attention": c2, "up_attention": 128}

    def forward(
        self, feat1: torch.Tensor, feat2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        feat1 = check_feature_map(feat1, self.in_channels[0], name="feat1")
        feat2 = check_feature_map(feat2, self.in_channels[1], name="feat2")
        if feat1.shape[2:] != (2 * feat2.shape[2], 2 * feat2.shape[3]):
            raise ValueError(
                f"feat1 must have twice the height and width of feat2, got {tuple(feat1.shape)} "
                f"and {tuple(feat2.shape)}"
            )
        feat1 = self.feat1_attention(feat1)
        p5 = self.reduce_p5(self.feat2_attention(feat2))  # (B, C2, h, w) -> (B, 256, h, w)
        out_coarse = self.head_p5(p5)  # (B, 256, h, w) -> (B, A(5+K), h, w)
        up = self.up_attention(self.upsample(p5))  # (B, 256, h, w) -> (B, 128, 2h, 2w)
        p4 = torch.cat([up, feat1], dim=1)  # -> (B, 128 + C1, 2h, 2w)
        out_fine = self.head_p4(p4)  # -> (B, A(5+K), 2h, 2w)
        return out_coarse, out_fine
