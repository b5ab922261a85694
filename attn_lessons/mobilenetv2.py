r"""MobileNetV2 (width 1.0) with attention in its inverted residual blocks, without torchvision.

Sandler, Howard, Zhu, Zhmoginov and Chen, "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018, arXiv:1801.04381.

An inverted residual block with expansion :math:`t` maps :math:`x` (C_in channels) to

.. math:: y = [\,x\,] + \mathrm{BN}\circ\mathrm{conv}_{1\times1}^{\,tC_\text{in}\to C_\text{out}}
          \circ A_\text{dw} \circ \mathrm{ReLU6}\circ\mathrm{BN}\circ\mathrm{dwconv}_{3\times3}
          \circ \mathrm{ReLU6}\circ\mathrm{BN}
          \circ\mathrm{conv}_{1\times1}^{\,C_\text{in}\to tC_\text{in}}(x)

(the first 1x1 expansion is absent when :math:`t = 1`; the identity term only when the stride is 1
and :math:`C_\text{in} = C_\text{out}`). Where the attention module goes is ``position``:

* ``"depthwise"`` (default): after the depthwise convolution's ReLU6, on the :math:`tC_\text{in}`
  expanded channels, in the blocks with :math:`t \ne 1`. This is where Coordinate Attention puts it
  (Hou, Zhou and Feng, CVPR 2021, arXiv:2103.02907, Fig. 3(a); the authors' ``mbv2_ca.py`` inserts
  ``CoordAtt(hidden_dim, hidden_dim)`` between the depthwise and the projection convolutions of
  every block except the first, whose expansion is 1), and where its paper puts SE and CBAM for
  the comparison it tabulates.
* ``"project"``: after the projection's BatchNorm, on the :math:`C_\text{out}` output channels,
  before the residual sum, in every block: where the ECA authors' ``eca_mobilenetv2.py`` puts
  ECA (with kernel size 1 for blocks of at most 96 output channels and 3 above).

Stem: 3x3 convolution (32 channels, stride 2); 17 inverted residual blocks; a 1x1 convolution to
1280 channels; global average pooling; dropout and a linear classifier. Plain, with 1000 classes,
3,504,872 parameters, as in torchvision.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_choice, check_int, check_probability
from .factory import AttentionKwargs, make_attention, resolve_attention_kwargs

__all__ = [
    "MOBILENETV2_SETTINGS",
    "InvertedResidual",
    "MobileNetV2",
    "mobilenetv2_attention_channels",
]

#: (expansion t, output channels c, repeats n, first stride s) of MobileNetV2's seven stages.
MOBILENETV2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

POSITIONS = ("depthwise", "project")



def _blocks() -> list[tuple[int, int, int, int]]:
    """(in_channels, out_channels, stride, expansion) of the 17 blocks, in order."""
    blocks, in_channels = [], 32
    for t, c, n, s in MOBILENETV2_SETTINGS:
        for i in range(n):
            blocks.append((in_channels, c, s if i == 0 else 1, t))
            in_channels = c
    return blocks


def mobilenetv2_attention_channels(position: str = "depthwise") -> list[int]:
    """Channel counts of the attention modules MobileNetV2 holds for ``position``, in order.

    ``"depthwise"``: the expanded widths ``t * C_in`` of the 16 blocks with ``t = 6``;
    ``"project"``: the output widths of all 17 blocks.
    """
    position = check_choice("position", position, POSITIONS)
    if position == "project":
        return [c_out for _, c_out, _, _ in _blocks()]
    return [t * c_in for c_in, _, _, t in _blocks() if t != 1]




def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
             groups: int = 1, relu6: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2,
                  groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu6:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: expand (1x1), depthwise 3x3, attention, project (1x1), residual.

    Args:
        in_channels, out_channels: channels in and out.
        stride: 1 or 2 (on the depthwise convolution).
        expansion: t; the hidden width is ``t * in_channels``.
        attention: factory name; built for the hidden width (``position="depthwise"``, skipped when
            ``expansion == 1``) or for ``out_channels`` (``position="project"``).
        attention_kwargs: options for the module (a mapping or a function of the channel count).
        position: ``"depthwise"`` or ``"project"`` (see the module docstring).

    Submodules: ``expand`` (absent when t = 1), ``depthwise``, ``attention``, ``project``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expansion: int,
        attention: str = "none",
        attention_kwargs: AttentionKwargs = None,
        position: str = "depthwise",
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels)
        out_channels = check_int("out_channels", out_channels)
        stride = check_int("stride", stride)
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        expansion = check_int("expansion", expansion)
        position = check_choice("position", position, POSITIONS)
        hidden = expansion * in_channels
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = _conv_bn(in_channels, hidden, 1) if expansion != 1 else nn.Identity()
        self.depthwise = _conv_bn(hidden, hidden, 3, stride, groups=hidden)
        self.project = _conv_bn(hidden, out_channels, 1, relu6=False)
        if position == "depthwise":
            kind = attention if expansion != 1 else "none"
            att_channels = hidden
        else:
            kind, att_channels = attention, out_channels
        kwargs = resolve_attention_kwargs(attention_kwargs, att_channels) if kind != "none" else {}
        self.attention = make_attention(kind, att_channels, **kwargs)
        self.position = position
        #: Where :func:`attn_lessons.insert.insert_attention` puts attention, and its width: none
        #: at the depthwise position of a block with t = 1, as ``attention=`` builds it.
        has_slot = position == "project" or expansion != 1
        self.attention_slots = {"attention": att_channels} if has_slot else {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"InvertedResidual expects a (B, {self.in_channels}, H, W) input, got shape "
                f"{tuple(x.shape)}"
            )
        out = self.depthwise(self.expand(x))  # (B, C_in, H, W) -> (B, t C_in, H/s, W/s)
        if self.position == "depthwise":
            out = self.project(self.attention(out))  # -> (B, C_out, H/s, W/s)
        else:
            out = self.attention(self.project(out))
        return x + out if self.use_residual else out


class MobileNetV2(nn.Module):
    """MobileNetV2 with width multiplier 1.0 and an attention module in its blocks.

    Args:
        attention: factory name (``"none"``: plain MobileNetV2, 3,504,872 parameters).
        attention_kwargs: options for every module: a mapping or a function of the channel count.
        position: ``"depthwise"`` (Coordinate Attention's placement, default) or ``"project"``
            (the ECA authors' placement).
        num_classes: size of the classifier.
        dropout: dropout probability before the classifier (torchvision: 0.2).

    Input (B, 3, H, W) with H, W >= 32; output (B, num_classes).
    """

    def __init__(
        self,
        attention: str = "none",
        attention_kwargs: AttentionKwargs = None,
        position: str = "depthwise",
        num_classes: int = 1000,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        num_classes = check_int("num_classes", num_classes)
        dropout = check_probability("dropout", dropout)
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, stride=2)]
        for c_in, c_out, stride, t in _blocks():
            layers.append(
                InvertedResidual(c_in, c_out, stride, t, attention, attention_kwargs, position)
            )
        layers.append(_conv_bn(320, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(
                f"MobileNetV2 expects a (B, 3, H, W) image batch, got {tuple(x.shape)}"
            )
        x = self.features(x)  # (B, 3, H, W) -> (B, 1280, H/32, W/32)
        x = x.mean(dim=(2, 3))  # global average pooling: (B, 1280, h, w) -> (B, 1280)
        return self.classifier(x)
