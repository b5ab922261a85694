r"""What a module costs: parameters, operations (FLOPs and MACs), and a layer-by-layer table.

Three questions are asked of every attention module in chapter 7:

* **How many parameters?** :func:`count_parameters` sums ``p.numel()`` over the module's
  parameters (each shared tensor once). BatchNorm's running mean and variance are *buffers*, not
  parameters, and are not counted, the convention of every paper the book reproduces.
* **How many operations?** :func:`count_flops` runs one forward pass under PyTorch's own
  :class:`torch.utils.flop_counter.FlopCounterMode` and returns a :class:`FlopCount`.
* **Where do they sit?** :func:`summary_table` wraps :func:`torchinfo.summary` for a printed table
  of layers, output shapes and parameter counts.

FLOPs versus MACs
-----------------
A **MAC** (multiply-accumulate) is one ``acc += a * b``. PyTorch's counter counts a matrix
product of an (M, K) by a (K, N) matrix as :math:`2MKN` **FLOPs**, one multiply and one add per
MAC; convolutions likewise count :math:`2 \times` (output elements) :math:`\times` (inputs per
output). So for everything it counts, ``macs = flops / 2`` exactly. Papers on CNNs (ResNet, SE,
ECA, CBAM, MobileNetV2, Coordinate Attention) write "FLOPs" or "MAdds" but report *MACs*:
ResNet-50's "3.86 GFLOPs" are about 3.86 G multiply-adds, 7.7 G FLOPs in PyTorch's sense. Compare
a paper's figure with :attr:`FlopCount.macs`, never with :attr:`FlopCount.flops`.

What the counter counts, and what it does not
---------------------------------------------
Counted: convolutions (``aten.convolution``, any dimension, including the 1-D convolution of ECA and
depthwise convolutions), matrix products (``mm``, ``addmm``, ``bmm``, ``baddbmm``, hence
``nn.Linear`` and attention's :math:`QK^\top` and :math:`AV`), and PyTorch's fused attention kernels
(:math:`QK^\top` and :math:`AV` of their inputs). Bias additions inside ``addmm`` and convolutions
are *not* added on top.

Fused attention is counted as the attention it computes. PyTorch registers no formula for the
CPU's fused (flash) kernel, which its counter would therefore count as 0 FLOPs: :func:`count_flops`
adds that formula. And the library's attention modules built with ``fused=True``
(:class:`~attn_lessons.self_attention.SelfAttention`, ``MultiHeadSelfAttention``,
``SelfAttention2d``) are counted on their written-out path, which computes the same attention:
where query/key and value widths differ, the fused path zero-pads q and k to the value width
first (see ``self_attention._attend``), and counting the padded kernel would charge the zero
columns. So a module gets the same count with ``fused=True`` as with ``fused=False``, on every
device.

**Not counted at all**: elementwise operations (the multiply by a gate, additions, residual
sums), activations (ReLU, sigmoid, h-swish), softmax, pooling of every kind (average, max,
adaptive), mean and max reductions, BatchNorm, concatenation and reshapes. For an attention module
these are most of its work *in time*: SE's two tiny FC layers are counted, but its global pooling
and its scaling of every element of the feature map are not, and those read and write the whole
tensor. A module with "almost zero FLOPs" can therefore cost real time: see
:mod:`attn_lessons.bench` and the chapter's cost notebook.

Exact counts without running the network
----------------------------------------
The counter needs only shapes. A network built under ``with torch.device("meta"):`` and given a
meta input is counted exactly, with no memory for weights and no arithmetic; this is how the book
counts ResNet-50 at 224x224 in a fraction of a second. The counts equal those of a real CPU run
(a test checks it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

__all__ = ["FlopCount", "count_flops", "count_parameters", "summary_table"]


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements of ``module`` (each shared tensor counted once).

    With ``trainable_only=True`` only parameters with ``requires_grad=True`` are counted (frozen
    layers are left out). Buffers such as BatchNorm's running statistics are never counted.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(trainable_only, bool):
        raise TypeError(f"trainable_only must be True or False, got {trainable_only!r}")
    return sum(
        p.numel() for p in module.parameters() if p.requires_grad or not trainable_only
    )


@dataclass(frozen=True)
class FlopCount:
    """Operation count of one forward pass, as :class:`FlopCounterMode` measures it.

    Attributes:
        flops: total FLOPs (one multiply-add = 2 FLOPs), for the whole batch given.
        by_operator: FLOPs per ATen operator, e.g. ``{"aten.convolution": ..., "aten.addmm": ...}``.
    """

    flops: int
    by_operator: dict[str, int] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        """Multiply-accumulates, ``flops // 2``: exact, each counted operation being one."""
        return self.flops // 2

    def __str__(self) -> str:
        parts = ", ".join(f"{op}: {n:,}" for op, n in sorted(self.by_operator.items()))
        return f"{self.flops:,} FLOPs = {self.macs:,} MACs ({parts or 'nothing counted'})"


def _fused_cpu_attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None,
                               **kwargs) -> int:
    """FLOPs of the CPU's fused attention: QK^T and AV, as PyTorch counts its GPU kernels."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _fused_cpu_attention_backward_flops(grad_out_shape, query_shape, key_shape, value_shape,
                                        *args, out_shape=None, **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


def _extra_formulas() -> dict[Any, Any]:
    """Formulas PyTorch's counter lacks: the CPU's fused (flash) attention kernel, both ways."""
    aten = torch.ops.aten
    formulas = {}
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        formulas[aten._scaled_dot_product_flash_attention_for_cpu] = _fused_cpu_attention_flops
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu_backward"):
        formulas[aten._scaled_dot_product_flash_attention_for_cpu_backward] = (
            _fused_cpu_attention_backward_flops)
    return formulas


@contextlib.contextmanager
def _written_out(module: nn.Module) -> Iterator[None]:
    """Run the library's fused attention modules inside ``module`` on their written-out path."""
    from .self_attention import MultiHeadSelfAttention, SelfAttention, SelfAttention2d

    fused = [m for m in module.modules()
             if isinstance(m, SelfAttention | MultiHeadSelfAttention | SelfAttention2d) and m.fused]
    try:
        for m in fused:
            m.fused = False
        yield
    finally:
        for m in fused:
            m.fused = True


def count_flops(module: nn.Module, *inputs: Any, **kwargs: Any) -> FlopCount:
    """Count the FLOPs of ``module(*inputs, **kwargs)`` with :class:`FlopCounterMode`.

    The forward pass runs under ``torch.no_grad()``; put the module in the mode you want counted
    (``.eval()`` for inference) beforehand. The counts are for the batch given: divide by the batch
    size for a per-image figure. Inputs and module may live on the ``meta`` device (see the module
    docstring); the counts are the same. The library's attention modules count the same with
    ``fused=True`` as with ``fused=False`` (module docstring, "What the counter counts"). Read the
    module docstring for what is *not* counted.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    counter = FlopCounterMode(display=False, custom_mapping=_extra_formulas())
    with torch.no_grad(), _written_out(module), counter:
        module(*inputs, **kwargs)
    totals = counter.get_flop_counts().get("Global", {})
    by_operator = {str(op): int(n) for op, n in totals.items() if n}
    return FlopCount(flops=int(counter.get_total_flops()), by_operator=by_operator)


def summary_table(
    module: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]],
    depth: int = 3,
    device: str | torch.device = "cpu",
    **kwargs: Any,
):
    """A :func:`torchinfo.summary` of ``module`` for one input of shape ``input_size``.

    Returns torchinfo's ``ModelStatistics``; ``print()`` it for the table of layers, output shapes
    and parameter counts. Nothing is printed by this function itself (``verbose=0``). Note that
    torchinfo's own "Mult-Adds" column follows torchinfo's conventions (for instance it counts
    BatchNorm's affine parameters as operations), so it does not match :func:`count_flops`; the book
    quotes operation counts from :func:`count_flops` only.
    """
    from torchinfo import summary  # imported here: only this function needs torchinfo

    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    options = {
        "col_names": ("output_size", "num_params"),
        "row_settings": ("var_names",),
        "verbose": 0,
    }
    options.update(kwargs)
    return summary(module, input_size=input_size, depth=depth, device=device, **options)
