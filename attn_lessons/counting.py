r"""MAC counters applying thop's and fvcore's documented counting rules, without either package.

Chapter 4 explains why three tools report three different "FLOPs" for one CBAM block. The book
installs neither third-party tool, so this module implements the part of their documented rules
that matters here, and the tests (``tests/test_counting.py``) check every rule against its hand
formula, and against the real packages where they are installed (skipped otherwise). The rules
are thop's as in its original project (Lyken17/pytorch-OpCounter, thop 0.1.1) and fvcore's as in
fvcore 0.1.5. thop is maintained today by Ultralytics as ``ultralytics-thop``, whose rules have
since changed in places (a lookup that follows subclasses rather than the exact type, average
pooling charged by the windows it reads, more module types counted); none of these changes the
counts of the CBAM modules of chapter 4. Both counters count **multiply-accumulates (MACs)**, one
per multiply-add, not 2 FLOPs per MAC as ``torch.utils.flop_counter.FlopCounterMode`` does.

:func:`count_thop_style` follows thop (Lyken17/pytorch-OpCounter, ``thop/profile.py``,
``thop/vision/basic_hooks.py`` and ``thop/vision/calc_func.py``): a forward hook on every *leaf
module* whose type has a rule. Work done by plain tensor operations in a ``forward`` (``x.mean``,
``torch.cat``, ``torch.sigmoid``, ``*``) is invisible to it. Rules (``y`` the output, ``x`` the
input):

* ``nn.Conv1d/2d/3d``: ``y.numel() * (in_channels // groups) * prod(kernel_size)`` (no bias term);
* ``nn.Linear``: ``in_features * y.numel()``;
* ``nn.AdaptiveAvgPool1d/2d/3d``: ``(prod(x spatial / y spatial) + 1) * y.numel()``
  (the additions of one window plus one division, per output);
* ``nn.AvgPool1d/2d/3d``: ``y.numel()``;
* ``nn.BatchNorm1d/2d/3d``: ``2 * x.numel()``, doubled when the layer is affine;
* ``nn.LeakyReLU``: ``x.numel()``;
* zero: ``nn.ReLU``, ``nn.ReLU6``, ``nn.Dropout``, max pooling, adaptive max pooling,
  ``nn.Identity``;
* any other leaf module (``nn.Sigmoid``, ``nn.Hardswish``, ...): no rule; thop counts 0 and warns,
  here it counts 0 and is listed in :attr:`OpCount.uncounted`;
* a module that is not a leaf but computes with parameters of its own, outside its children
  (``nn.MultiheadAttention``, whose ``out_proj`` never runs as a module): thop sees none of that
  work and counts 0 for it; here it is listed in :attr:`OpCount.uncounted` too, so a count of 0
  never looks complete.

A module called with keyword arguments (``self.fc(input=x)``) is counted like one called with
positional ones.

:func:`count_fvcore_style` follows fvcore (facebookresearch/fvcore, ``fvcore/nn/flop_count.py``,
``_DEFAULT_SUPPORTED_OPS``, and ``fvcore/nn/jit_handles.py``): it counts *operators*, whether a
module or a tensor expression called them. fvcore traces the model with ``torch.jit`` and reads the
``aten::`` operators; this counter sees the same operator calls at the level of PyTorch's
``__torch_function__`` protocol (a :class:`torch.overrides.TorchFunctionMode`), one count per
outermost call. Rules:

* linear, ``mm``, ``addmm``, ``matmul``, ``@``: ``prod(input shape) * out_features`` (for a
  product ``A @ B``: ``prod(A.shape) * B.shape[-1]``); ``bmm``: ``n * c * t * d``. A product with
  a 1-D operand (``x @ w`` with ``w`` of shape (K,)), on which fvcore's handler stops with an
  assertion, is counted as what it computes: ``y.numel() * K`` MACs;
* convolution: ``batch * prod(weight.shape) * prod(y spatial)`` (no bias term);
* ``adaptive_avg_pool2d``: ``x.numel()`` (one operation per input element);
* ``batch_norm``: in evaluation mode ``x.numel()``, doubled when affine; in training mode
  ``x.numel()`` times 5 (affine) or 4;
* ``group_norm``, ``layer_norm``: ``x.numel()`` times 5 (affine) or 4;
* everything else (``mean``, ``amax``, ``sigmoid``, ``relu``, ``cat``, ``mul``, ...): not counted,
  listed in :attr:`OpCount.uncounted` (fvcore reports them as unsupported or ignored operators).

Arguments given by keyword (``F.linear(input=x, weight=w)``) are read like positional ones.

The consequence chapter 4 measures: a CBAM that pools with ``x.mean(dim=(2, 3))`` gets the same
count from both rules, a CBAM that pools with an ``nn.AdaptiveAvgPool2d`` module does not.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = ["OpCount", "count_fvcore_style", "count_thop_style"]


@dataclass
class OpCount:
    """A MAC count: ``total``, the count per rule (``by_rule``) and what no rule counted.

    ``uncounted`` maps the name of each module type (thop rules) or operator (fvcore rules) that
    ran but has no rule to the number of times it ran.
    """

    total: int = 0
    by_rule: Counter = field(default_factory=Counter)
    uncounted: Counter = field(default_factory=Counter)

    def add(self, rule: str, count: int) -> None:
        count = int(count)
        self.total += count
        self.by_rule[rule] += count


def _check_module(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _check_inputs(inputs: tuple) -> tuple:
    if not inputs:
        raise ValueError("give at least one input tensor to run the model on, got none")
    return inputs


# ---------------------------------------------------------------------------------------------
# thop: hooks on leaf modules
# ---------------------------------------------------------------------------------------------
def _thop_conv(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    return y.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)


def _thop_linear(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    return m.in_features * y.numel()


def _thop_adaptive_avg(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    window = math.prod(a / b for a, b in zip(x.shape[2:], y.shape[2:], strict=True))  # in / out
    return int((window + 1) * y.numel())


def _thop_avg(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    return y.numel()


def _thop_batch_norm(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    return 2 * x.numel() * (2 if m.affine else 1)


def _thop_elementwise(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    return x.numel()


def _thop_zero(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    return 0


_THOP_RULES: tuple[tuple[tuple[type, ...], str, Callable[..., int]], ...] = (
    ((nn.Conv1d, nn.Conv2d, nn.Conv3d), "conv", _thop_conv),
    ((nn.Linear,), "linear", _thop_linear),
    ((nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d), "adaptive_avg_pool",
     _thop_adaptive_avg),
    ((nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d), "avg_pool", _thop_avg),
    ((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), "batch_norm", _thop_batch_norm),
    ((nn.LeakyReLU,), "leaky_relu", _thop_elementwise),
    ((nn.ReLU, nn.ReLU6, nn.Dropout, nn.Identity, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d,
      nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d), "zero", _thop_zero),
)


def _thop_rule(module: nn.Module) -> tuple[str, Callable[..., int]] | None:
    for types, name, rule in _THOP_RULES:
        if type(module) in types:  # thop looks up the exact type, not subclasses
            return name, rule
    return None


def count_thop_style(model: nn.Module, *inputs: torch.Tensor) -> OpCount:
    """MACs of ``model(*inputs)`` by thop's rules, hooks on leaf modules (see the module doc).

    Runs the model once under ``torch.no_grad()`` in its current mode; a module called twice is
    counted twice. Raises ``TypeError`` if ``model`` is not an ``nn.Module``, ``ValueError``
    without inputs.
    """
    model = _check_module(model)
    inputs = _check_inputs(inputs)
    count = OpCount()
    handles = []

    def note(m: nn.Module, args: tuple, kwargs: dict, out: Any) -> None:
        count.uncounted[type(m).__name__] += 1

    for module in model.modules():
        found = _thop_rule(module)
        if any(True for _ in module.children()):  # thop hooks leaf modules only ...
            if found is None and any(True for _ in module.parameters(recurse=False)):
                # ... so the work a module does with its own parameters is never seen: say so
                handles.append(module.register_forward_hook(note, with_kwargs=True))
            continue
        if found is None:
            handles.append(module.register_forward_hook(note, with_kwargs=True))
            continue
        name, rule = found

        def hook(m: nn.Module, args: tuple, kwargs: dict, out: Any, name: str = name,
                 rule=rule) -> None:
            x = args[0] if args else next(iter(kwargs.values()))  # self.fc(input=x)
            count.add(name, rule(m, x, out))
        handles.append(module.register_forward_hook(hook, with_kwargs=True))
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return count


# ---------------------------------------------------------------------------------------------
# fvcore: operators, seen through __torch_function__
# ---------------------------------------------------------------------------------------------
def _shape(value: Any) -> tuple[int, ...]:
    return tuple(value.shape)


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    """Argument ``index`` of a call, whether given by position or by keyword ``name``."""
    return args[index] if len(args) > index else kwargs.get(name, default)


def _fv_linear(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    x, weight = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "weight")
    return math.prod(_shape(x)) * weight.shape[0]  # weight: (out_features, in_features)


def _product_macs(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> int:
    """MACs of ``a @ b``: fvcore's ``prod(A.shape) * B.shape[-1]`` for 2-D and batched operands;
    with a 1-D operand (where fvcore asserts) what is computed, ``out.numel() * K``."""
    if a.ndim == 1 or b.ndim == 1:
        return out.numel() * a.shape[-1]  # (..., K) @ (K,) -> (...); (K,) @ (..., K, N) -> (..., N)
    return math.prod(_shape(a)) * b.shape[-1]


def _fv_matmul(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    # torch.matmul(input, other), torch.mm(input, mat2), Tensor.__matmul__(self, other)
    a = _arg(args, kwargs, 0, "input")
    b = args[1] if len(args) > 1 else kwargs.get("other", kwargs.get("mat2"))
    return _product_macs(a, b, out)


def _fv_addmm(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    a, b = _arg(args, kwargs, 1, "mat1"), _arg(args, kwargs, 2, "mat2")  # addmm(bias, a, b)
    return math.prod(_shape(a)) * b.shape[-1]


def _fv_bmm(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    n, c, t = _shape(_arg(args, kwargs, 0, "input"))
    return n * c * t * _arg(args, kwargs, 1, "mat2").shape[-1]


def _fv_conv(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    x, weight = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "weight")
    return x.shape[0] * math.prod(_shape(weight)) * math.prod(_shape(out)[2:])


def _fv_input_numel(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    return _arg(args, kwargs, 0, "input").numel()


def _fv_batch_norm(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    # F.batch_norm(input, running_mean, running_var, weight, bias, training, ...)
    affine = _arg(args, kwargs, 3, "weight") is not None
    x = _arg(args, kwargs, 0, "input")
    if _arg(args, kwargs, 5, "training", False):
        return x.numel() * (5 if affine else 4)
    return x.numel() * (2 if affine else 1)


def _fv_norm(weight_index: int) -> Callable[[tuple, dict, torch.Tensor], int]:
    def rule(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
        affine = _arg(args, kwargs, weight_index, "weight") is not None
        return _arg(args, kwargs, 0, "input").numel() * (5 if affine else 4)
    return rule


_FVCORE_RULES: dict[Callable, tuple[str, Callable[[tuple, dict, torch.Tensor], int]]] = {
    F.linear: ("linear", _fv_linear),
    torch.mm: ("matmul", _fv_matmul),
    torch.matmul: ("matmul", _fv_matmul),
    torch.Tensor.matmul: ("matmul", _fv_matmul),
    torch.Tensor.__matmul__: ("matmul", _fv_matmul),
    torch.Tensor.mm: ("matmul", _fv_matmul),
    torch.addmm: ("matmul", _fv_addmm),
    torch.bmm: ("bmm", _fv_bmm),
    torch.Tensor.bmm: ("bmm", _fv_bmm),
    F.conv1d: ("conv", _fv_conv),
    F.conv2d: ("conv", _fv_conv),
    F.conv3d: ("conv", _fv_conv),
    F.adaptive_avg_pool2d: ("adaptive_avg_pool2d", _fv_input_numel),
    F.batch_norm: ("batch_norm", _fv_batch_norm),
    F.group_norm: ("group_norm", _fv_norm(2)),  # group_norm(input, num_groups, weight, ...)
    F.layer_norm: ("layer_norm", _fv_norm(2)),  # layer_norm(input, shape, weight, ...)
}


def _returns_tensor(out: Any) -> bool:
    if isinstance(out, torch.Tensor):
        return True
    return isinstance(out, tuple) and any(isinstance(o, torch.Tensor) for o in out)


class _FvcoreMode(TorchFunctionMode):
    def __init__(self, count: OpCount) -> None:
        super().__init__()
        self.count = count

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)  # the mode is off inside: inner calls are not seen
        found = _FVCORE_RULES.get(func)
        if found is not None:
            name, rule = found
            self.count.add(name, rule(args, kwargs, out))
        elif _returns_tensor(out):
            self.count.uncounted[getattr(func, "__name__", repr(func))] += 1
        return out


def count_fvcore_style(model: nn.Module, *inputs: torch.Tensor) -> OpCount:
    """MACs of ``model(*inputs)`` by fvcore's default operator rules (see the module doc).

    Runs the model once under ``torch.no_grad()`` in its current mode. Raises ``TypeError`` if
    ``model`` is not an ``nn.Module``, ``ValueError`` without inputs.
    """
    model = _check_module(model)
    inputs = _check_inputs(inputs)
    count = OpCount()
    with torch.no_grad(), _FvcoreMode(count):
        model(*inputs)
    return count
