"""attn_lessons: the companion library of the book *Attention, Derived*.

One module per mechanism, each named for it and opening with its paper and equations:

- :mod:`attn_lessons.similarity`: dot products, cosine, Gram matrices, softmax (chapter 1)
- :mod:`attn_lessons.se`: Squeeze-and-Excitation (chapter 2)
- :mod:`attn_lessons.eca`: Efficient Channel Attention and its kernel-size rule (chapter 3)
- :mod:`attn_lessons.cbam`: channel and spatial gates, CBAM (chapter 4)
- :mod:`attn_lessons.coordatt`: Coordinate Attention (chapter 5)
- :mod:`attn_lessons.self_attention`: scaled dot-product, multi-head, cross- and 2-D attention
  (chapter 6), and :mod:`attn_lessons.patches`: images as patch tokens (chapter 6)

and, for chapter 7: :mod:`~attn_lessons.factory` (a module from a name), :mod:`~attn_lessons.cost`
(parameters and FLOPs), :mod:`~attn_lessons.small_cnn`, :mod:`~attn_lessons.resnet`,
:mod:`~attn_lessons.mobilenetv2`, :mod:`~attn_lessons.neck`, :mod:`~attn_lessons.data` (generated
data sets), :mod:`~attn_lessons.train`, :mod:`~attn_lessons.visualize`, :mod:`~attn_lessons.cifar`
and :mod:`~attn_lessons.bench`; for chapter 8, :mod:`~attn_lessons.insert` (attention put into an
existing network, and its old weights loaded). The checkers of the book's exercises are in
:mod:`attn_lessons.exercises`. The experiments behind the book's comparisons are declared in
:mod:`attn_lessons.experiments` (their result files in ``attn_lessons/results``) and analysed with
:mod:`attn_lessons.stats`.
:mod:`~attn_lessons.ledger` records SE, ECA, CBAM and Coordinate Attention as popular code writes
them, each reproduced and tested (chapter 8's paper-versus-popular-code ledger).

The field guide (the part after chapter 7) adds one module per mechanism in the same style, built
by the same factory (:data:`~attn_lessons.factory.FIELD_GUIDE_KINDS`):

- :mod:`attn_lessons.simam`: SimAM, parameter-free, from a closed-form energy
- :mod:`attn_lessons.global_context`: the Global Context block of GCNet (factory name ``"gc"``)
- :mod:`attn_lessons.sk`: Selective Kernel convolution, attention across branches
- :mod:`attn_lessons.bam`: the Bottleneck Attention Module, parallel channel and spatial branches
- :mod:`attn_lessons.triplet`: Triplet Attention, three gates over permuted axes
- :mod:`attn_lessons.shuffle`: Shuffle Attention, grouped channel and spatial gates, channel shuffle
- :mod:`attn_lessons.ema`: Efficient Multi-scale Attention (not an exponential moving average)
- :mod:`attn_lessons.ela`: Efficient Local Attention, Coordinate Attention without the bottleneck

and :mod:`~attn_lessons.comparison`, the guide's table of every kind: cost, time, what it sees.
"""

from .bam import BAM, bam_num_params
from .cbam import CBAM, ChannelGate, SpatialGate, cbam_num_params
from .coordatt import CoordAtt, HSwish, coordatt_num_params
from .cost import FlopCount, count_flops, count_parameters
from .device import describe_device, get_device, seed_everything
from .eca import ECA, eca_kernel_size, eca_num_params
from .ela import ELA, ela_num_params
from .ema import EMA, ema_num_params
from .factory import ATTENTION_KINDS, make_attention
from .global_context import GlobalContext, gc_num_params
from .insert import (
    InsertedAttention,
    InsertedSite,
    InsertionReport,
    LoadReport,
    find_attention_sites,
    identity_alpha,
    insert_attention,
    load_pretrained,
)
from .se import SqueezeExcite, se_num_params
from .self_attention import (
    MultiHeadSelfAttention,
    SelfAttention,
    SelfAttention2d,
    scaled_dot_product_attention,
)
from .shuffle import ShuffleAttention, shuffle_num_params
from .simam import SimAM, simam_num_params
from .similarity import (
    attention_average,
    cosine_similarity,
    dot,
    gram_matrix,
    projection_length,
    softmax,
)
from .sk import SelectiveKernel, sk_num_params
from .triplet import TripletAttention, triplet_num_params

__version__ = "0.1.0"

__all__ = [
    "ATTENTION_KINDS",
    "BAM",
    "CBAM",
    "ECA",
    "ELA",
    "EMA",
    "ChannelGate",
    "CoordAtt",
    "FlopCount",
    "GlobalContext",
    "HSwish",
    "InsertedAttention",
    "InsertedSite",
    "InsertionReport",
    "LoadReport",
    "MultiHeadSelfAttention",
    "SelectiveKernel",
    "SelfAttention",
    "SelfAttention2d",
    "ShuffleAttention",
    "SimAM",
    "SpatialGate",
    "SqueezeExcite",
    "TripletAttention",
    "__version__",
    "attention_average",
    "bam_num_params",
    "cbam_num_params",
    "coordatt_num_params",
    "cosine_similarity",
    "count_flops",
    "count_parameters",
    "describe_device",
    "dot",
    "eca_kernel_size",
    "eca_num_params",
    "ela_num_params",
    "ema_num_params",
    "find_attention_sites",
    "gc_num_params",
    "get_device",
    "gram_matrix",
    "identity_alpha",
    "insert_attention",
    "load_pretrained",
    "make_attention",
    "projection_length",
    "scaled_dot_product_attention",
    "se_num_params",
    "seed_everything",
    "shuffle_num_params",
    "simam_num_params",
    "sk_num_params",
    "softmax",
    "triplet_num_params",
]
