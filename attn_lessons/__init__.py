"""attn_lessons: the companion library of the book *Attention, Derived*.

One module per mechanism, each named for it and opening with its paper and equations:

- :mod:`attn_lessons.similarity`: dot products, cosine, Gram matrices, softmax (chapter 1)
- :mod:`attn_lessons.se`: Squeeze-and-Excitation (chapter 2)
- :mod:`attn_lessons.eca`: Efficient Channel Attention and its kernel-size rule (chapter 3)
- :mod:`attn_lessons.cbam`: channel and spatial gates, CBAM (chapter 4)
- :mod:`attn_lessons.coordatt`: Coordinate Attention (chapter 5)
- :mod:`attn_lessons.self_attention`: scaled dot-product, multi-head and 2-D self-attention
  (chapter 6)

and, for chapter 7: :mod:`~attn_lessons.factory` (a module from a name), :mod:`~attn_lessons.cost`
(parameters and FLOPs), :mod:`~attn_lessons.small_cnn`, :mod:`~attn_lessons.resnet`,
:mod:`~attn_lessons.mobilenetv2`, :mod:`~attn_lessons.neck`, :mod:`~attn_lessons.data` (generated
data sets), :mod:`~attn_lessons.train`, :mod:`~attn_lessons.visualize`, :mod:`~attn_lessons.cifar`
and :mod:`~attn_lessons.bench`. The checkers of the book's exercises are in
:mod:`attn_lessons.exercises`. The experiments behind the book's comparisons are declared in
:mod:`attn_lessons.experiments` (their result files in ``attn_lessons/results``) and analysed with
:mod:`attn_lessons.stats`.
"""

from .cbam import CBAM, ChannelGate, SpatialGate, cbam_num_params
from .coordatt import CoordAtt, HSwish, coordatt_num_params
from .cost import FlopCount, count_flops, count_parameters
from .device import describe_device, get_device, seed_everything
from .eca import ECA, eca_kernel_size, eca_num_params
from .factory import ATTENTION_KINDS, make_attention
from .se import SqueezeExcite, se_num_params
from .self_attention import (
    MultiHeadSelfAttention,
    SelfAttention,
    SelfAttention2d,
    scaled_dot_product_attention,
)
from .similarity import (
    attention_average,
    cosine_similarity,
    dot,
    gram_matrix,
    projection_length,
    softmax,
)

__version__ = "0.1.0"

__all__ = [
    "ATTENTION_KINDS",
    "CBAM",
    "ECA",
    "ChannelGate",
    "CoordAtt",
    "FlopCount",
    "HSwish",
    "MultiHeadSelfAttention",
    "SelfAttention",
    "SelfAttention2d",
    "SpatialGate",
    "SqueezeExcite",
    "__version__",
    "attention_average",
    "cbam_num_params",
    "coordatt_num_params",
    "cosine_similarity",
    "count_flops",
    "count_parameters",
    "describe_device",
    "dot",
    "eca_kernel_size",
    "eca_num_params",
    "get_device",
    "gram_matrix",
    "make_attention",
    "projection_length",
    "scaled_dot_product_attention",
    "se_num_params",
    "seed_everything",
    "softmax",
]
