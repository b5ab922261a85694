r"""ResNet-50 with an attention module in every bottleneck, written without torchvision.

He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, arXiv:1512.03385.

A bottleneck block maps :math:`x` to

.. math:: y = \mathrm{ReLU}\big(A(F(x)) + P(x)\big), \qquad
          F = \mathrm{BN}\circ\mathrm{conv}_{1\times1}\circ\mathrm{ReLU}\circ\mathrm{BN}\circ
              \mathrm{conv}_{3\times3}\circ\mathrm{ReLU}\circ\mathrm{BN}\circ\mathrm{conv}_{1\times1}

where :math:`P` is the identity or, when the shape changes, a strided 1x1 convolution and BatchNorm,
and :math:`A` is the attention module (the identity for ``attention="none"``). Placing :math:`A` on
the residual branch, after the last BatchNorm and *before* the addition, is where all three papers
the book reproduces put it: SE (Hu et al., CVPR 2018, arXiv:1709.01507, Fig. 3 "SE-ResNet module"),
ECA (Wang et al., CVPR 2020, arXiv:1910.03151, code ``eca_resnet.py``) and CBAM (Woo et al., ECCV
2018, arXiv:1807.06521, Fig. 3). Attention then rescales what the block adds, never the identity
path, so a gate near 0 leaves the block close to the identity map.

v1 versus v1.5
--------------
The original ResNet-50 (Caffe, "v1") downsamples with the *first* 1x1 convolution of a stage's
first block (stride 2). torchvision and most PyTorch code ("v1.5") move the stride to the 3x3
convolution. Parameters are identical (25,557,032); operations are not: the first 1x1 convolution
of the first block of stages 2-4 then runs at its input's resolution, four times the positions, so
v1.5 costs about 4.09 G MACs against about 3.86 G for v1 at 224x224. The SE paper's "3.86 GFLOPs"
for ResNet-50 is the v1 figure (its models were trained in Caffe). The authors' PyTorch code of ECA
and CBAM has the stride on the 3x3 convolution, i.e. v1.5, yet both papers quote v1 figures (3.86 G,
3.858 G): the chapter's notebook sets our counts of both variants beside theirs.
``variant="v1.5"`` is the default here, as in torchvision.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_choice, check_int
from .factory import AttentionKwargs, make_attention, resolve_attention_kwargs

__all__ = [
    "RESNET50_STAGES",
    "Bottleneck",
    "ResNet50",
    "resnet50_attention_channels",
]

#: (width, number of blocks, stride of the first block) of ResNet-50's four stages. A block's
#: output, where attention sits, has ``4 * width`` channels.
RESNET50_STAGES: tuple[tuple[int, int, int], ...] = (
    (64, 3, 1),
    (128, 4, 2),
    (256, 6, 2),
    (512, 3, 2),
)


VARIANTS = ("v1", "v1.5")


def resnet50_attention_channels() -> list[int]:
    """Channel counts of the 16 places ResNet-50 puts an attention module, in order.

    ``[256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3``: the added parameters of any attention kind
    are the sum of its closed-form count over this list.
    """
    return [4 * width for width, blocks, _ in RESNET50_STAGES for _ in range(blocks)]




class Bottleneck(nn.Module):
    """ResNet bottleneck (1x1, 3x3, 1x1) with ``attention`` on the residual branch before the sum.

    Args:
        in_channels: channels of the block's input.
        width: channels of the two inner convolutions; the output has ``4 * width``.
        stride: 1, or 2 to halve the resolution.
        attention: factory name (``"none"``, ``"se"``, ``"eca"``, ``"cbam"``, ``"coordatt"``,
            ``"self_attention"``), built for ``4 * width`` channels.
        attention_kwargs: options for the attention module (see :data:`AttentionKwargs`).
        variant: ``"v1.5"`` puts the stride on the 3x3 convolution, ``"v1"`` on the first 1x1.

    Submodules: ``conv1, bn1, conv2, bn2, conv3, bn3``, ``attention``, ``shortcut`` (identity or
    1x1 convolution and BatchNorm), ``relu``.
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        attention: str = "none",
        attention_kwargs: AttentionKwargs = None,
        variant: str = "v1.5",
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels)
        width = check_int("width", width)
        stride = check_int("stride", stride)
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        variant = check_choice("variant", variant, VARIANTS)
        out_channels = self.expansion * width
        self.out_channels = out_channels
        stride_1x1, stride_3x3 = (stride, 1) if variant == "v1" else (1, stride)
        self.conv1 = nn.Conv2d(in_channels, width, 1, stride=stride_1x1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride_3x3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.attention = make_attention(
            attention, out_channels, **resolve_attention_kwargs(attention_kwargs, out_channels)
        )
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        #: Where :func:`attn_lessons.insert.insert_attention` puts attention, and its width.
        self.attention_slots = {"attention": out_channels}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Bottleneck expects a (B, {self.in_channels}, H, W) input, got shape "
                f"{tuple(x.shape)}"
            )
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = self.attention(out)  # rescale the residual branch, (B, 4w, H', W') kept
        return self.relu(out + self.shortcut(x))


class ResNet50(nn.Module):
    """ResNet-50 for 224x224 ImageNet images with an attention module in each of its 16 blocks.

    Args:
        attention: factory name of the module in every bottleneck (``"none"``: plain ResNet-50,
            25,557,032 parameters with ``num_classes=1000``).
        attention_kwargs: options for every attention module: a mapping, or a function of the
            block's output channel count returning one.
        num_classes: size of the final fully connected layer.
        variant: ``"v1.5"`` (default, torchvision) or ``"v1"`` (the original, stride on the first
            1x1 convolution); see the module docstring.

    Stem: 7x7 convolution (stride 2), BatchNorm, ReLU, 3x3 max-pool (stride 2); then ``layer1`` to
    ``layer4``; global average pooling and ``fc``. Any input of at least 32x32 pixels works; the
    output is ``(B, num_classes)``.
    """

    def __init__(
        self,
        attention: str = "none",
        attention_kwargs: AttentionKwargs = None,
        num_classes: int = 1000,
        variant: str = "v1.5",
    ) -> None:
        super().__init__()
        num_classes = check_int("num_classes", num_classes)
        self.variant = check_choice("variant", variant, VARIANTS)
        self.attention_kind = attention
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = 64
        stages = []
        for width, blocks, stride in RESNET50_STAGES:
            layers = []
            for i in range(blocks):
                layers.append(
                    Bottleneck(in_channels, width, stride if i == 0 else 1, attention,
                               attention_kwargs, variant)
                )
                in_channels = width * Bottleneck.expansion
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"ResNet50 expects a (B, 3, H, W) image batch, got {tuple(x.shape)}")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 3, H, W) -> (B, 64, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # -> (B, 2048, H/32, W/32)
        x = x.mean(dim=(2, 3))  # global average pooling: (B, 2048, h, w) -> (B, 2048)
        return self.fc(x)
