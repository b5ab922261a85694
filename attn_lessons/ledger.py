r"""The paper-versus-popular-code ledger: SE, ECA, CBAM and Coordinate Attention as run.

A module a reader copies is rarely the paper's equations. For each of the four mechanisms of
chapters 2 to 5 this module records the versions in wide use (the paper, the authors' code,
timm, Ultralytics, bubbliiiing's detector repositories and the External-Attention collection),
each with the repository, commit, file and lines it was read from, what it changes relative to
the paper in one sentence, and a way to build it:

* where the popular code is *exactly* one configuration of this library, the entry builds that
  configuration (``make_attention("cbam", C, reduction=8)`` is bubbliiiing's ``cbam_block``);
* otherwise it builds one of the small modules below, each written from the popular code's
  forward pass (its tests compare it with that forward written out in plain tensor operations,
  in float64, on copied weights).

:func:`ledger_param_counts` counts every entry's parameters at 64, 256 and 512 channels from the
built modules (``sum(p.numel())``), and each entry carries a closed form of the same count
(:attr:`LedgerEntry.closed_form`), tested against it.

Differences that change behaviour, not only the count
-----------------------------------------------------
* **Hidden widths without a floor.** ``channels // reduction`` is 0 below ``reduction``
  channels. Where the bottleneck is ``nn.Linear`` (bubbliiiing's and External-Attention's SE, the
  CBAM authors' MLP) PyTorch builds the zero-width layers, with a warning, and runs them: every
  gate is then a constant, :math:`\sigma(0) = 0.5` (or :math:`\sigma(b_2)` with biases),
  whatever the input. Where it is a 1x1 ``nn.Conv2d`` (bubbliiiing's ``CA_Block`` below 16
  channels and ``cbam_block`` below 8, External-Attention's ``CBAMBlock`` below 16) the
  construction warns and the first forward pass raises a ``RuntimeError`` (PyTorch 2.13). The
  modules here refuse a zero width when they are built (``ValueError``), and
  :meth:`LedgerEntry.hidden` reports the width the popular code would build.
* **Widths rounded to multiples of 8.** timm's SE, CBAM and Coordinate Attention derive the
  hidden width with ``make_divisible`` (:func:`timm_make_divisible`), not ``C // r``; its
  ``CoordAttn`` also multiplies the ratio by 2/3 (r = 24 in effect, not the paper's 32).
* **Activation.** bubbliiiing's ``CA_Block`` uses a ReLU where the paper uses h-swish, so every
  negative normalised value becomes 0 instead of a small negative number.
* **A residual.** External-Attention's ``CBAMBlock`` returns ``CBAM(x) + x``: its output is
  never smaller than the input where the input is positive, unlike the paper's gate.
* **Ultralytics' channel gate** has no bottleneck, no ReLU and no max pooling: one C-by-C layer
  with a bias on the average-pooled descriptor, :math:`C^2 + C` parameters instead of
  :math:`2C^2/16`.
* **A bias in ECA** (External-Attention's ``ECAAttention``): the convolution over channels gets a
  bias, so a zero descriptor no longer gives the gate 0.5; and the kernel size is fixed at 3.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ._validation import (
    check_bool,
    check_choice,
    check_feature_map,
    check_int,
    check_odd_kernel,
)
from .cbam import CBAM, SpatialGate, _check_pooling
from .coordatt import HSwish
from .eca import eca_kernel_size
from .factory import make_attention

__all__ = [
    "LEDGER",
    "LEDGER_WIDTHS",
    "MECHANISMS",
    "ChannelThenSpatial",
    "CoordAttVariant",
    "ECAWithBias",
    "FullChannelGate",
    "LedgerEntry",
    "Residual",
    "Source",
    "WidthChannelGate",
    "ledger_entry",
    "ledger_param_counts",
    "ledger_rows",
    "matches_library",
    "timm_make_divisible",
]

#: The four mechanisms of the ledger, in the book's order.
MECHANISMS: tuple[str, ...] = ("SE", "ECA", "CBAM", "CoordAtt")
#: The channel counts at which the ledger reports parameters.
LEDGER_WIDTHS: tuple[int, ...] = (64, 256, 512)


def timm_make_divisible(
    value: float, divisor: int = 8, min_value: int | None = None, round_limit: float = 0.9
) -> int:
    r"""timm's channel rounding (``timm/layers/helpers.py``, ``make_divisible``), restated.

    ``value`` rounded to the nearest multiple of ``divisor`` (halves up), at least ``min_value``
    (default: ``divisor``), and one ``divisor`` more if the result fell below
    ``round_limit * value``. timm's attention modules call it with ``round_limit=0``, so only the
    nearest multiple and the floor matter: :math:`\max(d, d \lfloor v/d + 1/2 \rfloor)`.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"value must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"value must be a positive finite number, got {value}")
    divisor = check_int("divisor", divisor)
    floor = divisor if min_value is None else check_int("min_value", min_value)
    rounded = max(floor, divisor * math.floor(value / divisor + 0.5))
    if rounded < round_limit * value:
        rounded += divisor
    return rounded


def _check_hidden(hidden: object, channels: int) -> int:
    hidden = check_int("hidden", hidden, minimum=None)
    if hidden < 1:
        raise ValueError(
            f"hidden width {hidden} for channels={channels}: a zero-width bottleneck has no "
            f"weights; built from nn.Linear it makes every gate a constant (sigmoid(0) = 0.5 "
            f"without biases), from a 1x1 convolution it fails at the first forward pass"
        )
    return hidden


# --------------------------------------------------------------------------------------------
# Modules for the variants that are not one of the library's configurations
# --------------------------------------------------------------------------------------------


class WidthChannelGate(nn.Module):
    r"""An SE / CBAM channel gate whose hidden width is given, not derived from a ratio.

    :math:`s = \sigma\bigl(\sum_{p \in \text{pooling}} W_2 \delta(W_1 z^p + b_1) + b_2\bigr)`,
    output :math:`s_c u_c`. With ``pooling=("avg",)`` it is SE's excitation, with
    ``("avg", "max")`` CBAM's channel gate. Any library's width rule (timm's
    :func:`timm_make_divisible`, a plain ``C // r``) gives ``hidden``. The submodules are named
    as in :class:`~attn_lessons.se.SqueezeExcite` and :class:`~attn_lessons.cbam.ChannelGate`
    (``fc1``, ``act``, ``fc2``, ``gate``), so state dicts move between them when widths agree.

    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(
        self,
        channels: int,
        hidden: int,
        bias: bool = True,
        pooling: Sequence[str] = ("avg",),
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.hidden = _check_hidden(hidden, self.channels)
        self.bias = check_bool("bias", bias)
        self.pooling = _check_pooling(pooling)
        self.fc1 = nn.Linear(self.channels, self.hidden, bias=bias)  # W_1: (C', C)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(self.hidden, self.channels, bias=bias)  # W_2: (C, C')
        self.gate = nn.Sigmoid()

    def gate_values(self, x: torch.Tensor) -> torch.Tensor:
        """The gate of shape (B, C)."""
        x = check_feature_map(x, self.channels)
        logits = 0
        for name in self.pooling:
            # (B, C, H, W) -> (B, C)
            z = x.mean(dim=(2, 3)) if name == "avg" else x.amax(dim=(2, 3))
            logits = logits + self.fc2(self.act(self.fc1(z)))  # (B, C) -> (B, C') -> (B, C)
        return self.gate(logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate_values(x)[:, :, None, None]  # (B, C) -> (B, C, 1, 1), broadcast

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, hidden={self.hidden}, bias={self.bias}, "
                f"pooling={self.pooling}")


class FullChannelGate(nn.Module):
    r"""Ultralytics' channel attention: one C-by-C layer on the channel means, no bottleneck.

    :math:`s = \sigma(W z + b)`, :math:`z_c` the mean of channel c, output :math:`s_c u_c`;
    :math:`W \in \mathbb{R}^{C \times C}` has no rank limit and there is no ReLU, so this is
    logistic regression of each gate on all channel means: :math:`C^2 + C` parameters.
    Submodules ``fc`` (``nn.Linear(C, C)``) and ``gate``. Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, bias: bool = True) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.bias = check_bool("bias", bias)
        self.fc = nn.Linear(self.channels, self.channels, bias=bias)  # W: (C, C)
        self.gate = nn.Sigmoid()

    def gate_values(self, x: torch.Tensor) -> torch.Tensor:
        """The gate of shape (B, C)."""
        x = check_feature_map(x, self.channels)
        return self.gate(self.fc(x.mean(dim=(2, 3))))  # (B, C, H, W) -> (B, C) -> (B, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate_values(x)[:, :, None, None]  # (B, C) -> (B, C, 1, 1), broadcast

    def extra_repr(self) -> str:
        return f"channels={self.channels}, bias={self.bias}"


class ChannelThenSpatial(nn.Module):
    """A channel gate, then a spatial gate on its output: CBAM's order, any two gates.

    Submodules ``channel`` and ``spatial``, named as in :class:`~attn_lessons.cbam.CBAM`, so a
    state dict moves between the two when the gates' parameters agree.
    """

    def __init__(self, channel: nn.Module, spatial: nn.Module) -> None:
        super().__init__()
        for name, value in (("channel", channel), ("spatial", spatial)):
            if not isinstance(value, nn.Module):
                raise TypeError(f"{name} must be an nn.Module, got {type(value).__name__}")
        self.channel = channel
        self.spatial = spatial

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


class Residual(nn.Module):
    """``x + body(x)``: a gate turned into a residual branch (External-Attention's ``CBAMBlock``).

    The output is the input plus the gated input, :math:`(1 + g)\\,x` elementwise for a gate
    :math:`g \\in (0, 1)`: it scales each element by 1 to 2 instead of 0 to 1.
    """

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        if not isinstance(body, nn.Module):
            raise TypeError(f"body must be an nn.Module, got {type(body).__name__}")
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ECAWithBias(nn.Module):
    r"""ECA with a bias in its 1-D convolution and a kernel size given, not derived from C.

    :math:`\omega = \sigma(w \ast y + b)` over the channel means :math:`y`, output
    :math:`\omega_c x_c`: :math:`k + 1` parameters. Submodules ``conv``
    (``nn.Conv1d(1, 1, k, padding=(k - 1) // 2)``) and ``gate``.
    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.kernel_size = check_odd_kernel("kernel_size", kernel_size)
        self.conv = nn.Conv1d(1, 1, self.kernel_size, padding=(self.kernel_size - 1) // 2)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_feature_map(x, self.channels)
        y = x.mean(dim=(2, 3))[:, None, :]  # (B, C, H, W) -> (B, C) -> (B, 1, C)
        w = self.gate(self.conv(y))[:, 0, :]  # (B, 1, C) -> (B, C)
        return x * w[:, :, None, None]  # (B, C) -> (B, C, 1, 1), broadcast over H and W

    def extra_repr(self) -> str:
        return f"channels={self.channels}, kernel_size={self.kernel_size}"


#: Activations :class:`CoordAttVariant` accepts.
_COORD_ACTS: tuple[str, ...] = ("hswish", "relu")


class CoordAttVariant(nn.Module):
    r"""Coordinate Attention with a given hidden width and activation.

    The equations of :class:`~attn_lessons.coordatt.CoordAtt`, with :math:`m` = ``hidden`` given
    directly (any width rule) and :math:`\delta` = ``act``: ``"hswish"`` (the paper) or
    ``"relu"`` (bubbliiiing's ``CA_Block``). Submodules are named as in ``CoordAtt``
    (``conv1``, ``bn1``, ``act``, ``conv_h``, ``conv_w``, ``gate_h``, ``gate_w``).
    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(
        self, channels: int, hidden: int, act: str = "hswish", bias: bool = True
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.hidden = _check_hidden(hidden, self.channels)
        self.act_name = check_choice("act", act, _COORD_ACTS)
        self.bias = check_bool("bias", bias)
        self.conv1 = nn.Conv2d(self.channels, self.hidden, 1, bias=bias)  # (C -> m)
        self.bn1 = nn.BatchNorm2d(self.hidden)
        self.act = HSwish() if act == "hswish" else nn.ReLU()
        self.conv_h = nn.Conv2d(self.hidden, self.channels, 1, bias=bias)  # (m -> C)
        self.conv_w = nn.Conv2d(self.hidden, self.channels, 1, bias=bias)  # (m -> C)
        self.gate_h = nn.Sigmoid()
        self.gate_w = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_feature_map(x, self.channels)
        h, w = x.shape[2], x.shape[3]
        z_h = x.mean(dim=3, keepdim=True)  # (B, C, H, W) -> (B, C, H, 1)
        z_w = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (B, C, H, W) -> (B, C, W, 1)
        z = torch.cat([z_h, z_w], dim=2)  # -> (B, C, H + W, 1)
        f = self.act(self.bn1(self.conv1(z)))  # (B, C, H + W, 1) -> (B, m, H + W, 1)
        f_h, f_w = torch.split(f, [h, w], dim=2)  # -> (B, m, H, 1), (B, m, W, 1)
        g_h = self.gate_h(self.conv_h(f_h))  # (B, m, H, 1) -> (B, C, H, 1)
        g_w = self.gate_w(self.conv_w(f_w.transpose(2, 3)))  # (B, m, 1, W) -> (B, C, 1, W)
        return x * g_h * g_w  # broadcast -> (B, C, H, W)

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, hidden={self.hidden}, act={self.act_name!r}, "
                f"bias={self.bias}")


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a variant was read: a repository at a commit, a file and lines (or a paper)."""

    repository: str
    commit: str | None
    path: str
    lines: str

    def __str__(self) -> str:
        if self.commit is None:
            return f"{self.repository}, {self.path}"
        return f"{self.repository}@{self.commit[:10]}, {self.path}, lines {self.lines}"


@dataclass(frozen=True)
class LedgerEntry:
    """One version of a mechanism as readers run it.

    ``build(C)`` returns the module for C channels; ``closed_form(C)`` its parameter count in
    closed form; ``hidden_rule(C)`` the hidden width the *popular code* builds (``None`` where
    there is none, as in ECA), which may be 0 where the code has no floor. ``library`` is the
    ``(kind, kwargs)`` of :func:`~attn_lessons.factory.make_attention` that this variant equals
    at every width (``exact=True``), or that it equals only at some widths (``exact=False``,
    see :func:`matches_library`), or ``None``.
    """

    mechanism: str
    variant: str
    source: Source
    change: str
    build: Callable[[int], nn.Module] = field(repr=False)
    closed_form: Callable[[int], int] = field(repr=False)
    hidden_rule: Callable[[int], int] | None = field(default=None, repr=False)
    library: tuple[str, Mapping[str, Any]] | None = None
    exact: bool = False

    def hidden(self, channels: int) -> int | None:
        """The hidden width the popular code builds for ``channels`` (0: no floor; None: none)."""
        channels = check_int("channels", channels)
        return None if self.hidden_rule is None else self.hidden_rule(channels)

    def library_call(self) -> str | None:
        """The library configuration as code, e.g. ``make_attention("cbam", C, reduction=8)``."""
        if self.library is None:
            return None
        kind, kwargs = self.library
        args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
        return f'make_attention("{kind}", C{args})'


def _config(kind: str, **kwargs: Any) -> Callable[[int], nn.Module]:
    def build(channels: int) -> nn.Module:
        return make_attention(kind, channels, **kwargs)
    return build


# Hidden-width rules of the popular code (restated; 0 where the code has no floor).
def _floor_div(r: int) -> Callable[[int], int]:
    return lambda c: c // r


def _timm_se_hidden(c: int) -> int:
    return timm_make_divisible(c / 16, 8, round_limit=0.0)


def _timm_cbam_hidden(c: int) -> int:
    return timm_make_divisible(c / 16, 1, round_limit=0.0)


def _timm_coord_hidden(c: int) -> int:
    return timm_make_divisible(c / 16 * 2 / 3, 8, round_limit=0.0)


def _coord_paper_hidden(c: int) -> int:
    return max(8, c // 32)


def _se_closed(hidden: Callable[[int], int], bias: bool) -> Callable[[int], int]:
    # 2 C C' weights, C' + C biases
    return lambda c: 2 * c * hidden(c) + ((hidden(c) + c) if bias else 0)


def _cbam_closed(
    hidden: Callable[[int], int], mlp_bias: bool, k: int, spatial_extra: int
) -> Callable[[int], int]:
    # shared MLP 2 C C' (+ C' + C biases), spatial conv 2 k^2 (+ bias 1, BatchNorm 2)
    return lambda c: 2 * c * hidden(c) + ((hidden(c) + c) if mlp_bias else 0) + 2 * k * k \
        + spatial_extra


def _coord_closed(hidden: Callable[[int], int], bias: bool) -> Callable[[int], int]:
    # three 1x1 convolutions 3 C m, BatchNorm 2 m, biases m + 2 C
    return lambda c: 3 * c * hidden(c) + 2 * hidden(c) + ((hidden(c) + 2 * c) if bias else 0)


_TIMM = "huggingface/pytorch-image-models"
_TIMM_AT = "aa4b5850c1543fa488abf260f18390eda46cf85d"
_BUBB = "bubbliiiing/yolov4-tiny-pytorch"
_BUBB_AT = "1bbb2f281b09aaf7522ab871a9abf417e8e19587"
_EXT = "xmu-xiaoma666/External-Attention-pytorch"
_EXT_AT = "d75848e40233ed56fa503c888472bab8b17c568c"
_ULTRA = "ultralytics/ultralytics"
_ULTRA_AT = "c1c106e59e4af600d4e615cd71a9fde8ac52e24c"


def _entries() -> tuple[LedgerEntry, ...]:
    se16 = _floor_div(16)
    return (
        # ---------------------------------------------------------------- SE
        LedgerEntry(
            "SE", "paper", Source("Hu et al., CVPR 2018", None, "arXiv:1709.01507", ""),
            "The reference: r = 16, hidden C/r, the excitation written without biases.",
            _config("se", reduction=16, bias=False), _se_closed(se16, False), se16,
            ("se", {"reduction": 16, "bias": False}), True),
        LedgerEntry(
            "SE", "authors' code (Caffe)",
            Source("hujie-frank/SENet", "0262d43d44c561fd53c3dba210cc8bacfc60500d",
                   "models/SE-ResNet-50.prototxt", "167-211, 242-249"),
            "Both FC layers are 1x1 convolutions with biases (Caffe's default).",
            _config("se", reduction=16, bias=True), _se_closed(se16, True), se16,
            ("se", {"reduction": 16, "bias": True}), True),
        LedgerEntry(
            "SE", "timm SEModule",
            Source(_TIMM, _TIMM_AT, "timm/layers/squeeze_excite.py", "21-63"),
            "Hidden width C/16 rounded to the nearest multiple of 8, at least 8; biases.",
            lambda c: WidthChannelGate(c, _timm_se_hidden(c), bias=True),
            _se_closed(_timm_se_hidden, True), _timm_se_hidden,
            ("se", {"reduction": 16, "bias": True, "min_width": 8}), False),
        LedgerEntry(
            "SE", "bubbliiiing se_block",
            Source(_BUBB, _BUBB_AT, "nets/attention.py", "5-20"),
            "The paper's SE without biases, hidden C // 16 with no floor (0 below 16 channels).",
            _config("se", reduction=16, bias=False), _se_closed(se16, False), se16,
            ("se", {"reduction": 16, "bias": False}), True),
        LedgerEntry(
            "SE", "External-Attention SEAttention",
            Source(_EXT, _EXT_AT, "model/attention/SEAttention.py", "8-39"),
            "As bubbliiiing's: no biases, hidden C // 16 with no floor (its README passes r = 8).",
            _config("se", reduction=16, bias=False), _se_closed(se16, False), se16,
            ("se", {"reduction": 16, "bias": False}), True),
        # ---------------------------------------------------------------- ECA
        LedgerEntry(
            "ECA", "paper", Source("Wang et al., CVPR 2020", None, "arXiv:1910.03151", ""),
            "The reference: kernel k = psi(C) from the channel count, no bias.",
            _config("eca"), eca_kernel_size, None, ("eca", {}), True),
        LedgerEntry(
            "ECA", "authors' eca_layer",
            Source("BangguWu/ECANet", "b332f6b3e6e2afe8a3287dc8ee8440a0fbec74c4",
                   "models/eca_module.py", "5-28"),
            "A fixed k_size = 3 whatever C (its checkpoints set k per stage in the network).",
            _config("eca", kernel_size=3), lambda c: 3, None, ("eca", {"kernel_size": 3}), True),
        LedgerEntry(
            "ECA", "timm EcaModule",
            Source(_TIMM, _TIMM_AT, "timm/layers/eca.py", "46-105"),
            "The paper's kernel rule with a floor of 3 (k = 1 below 8 channels otherwise).",
            _config("eca", rule="at_least_3"),
            lambda c: eca_kernel_size(c, rule="at_least_3"), None,
            ("eca", {"rule": "at_least_3"}), True),
        LedgerEntry(
            "ECA", "bubbliiiing eca_block",
            Source(_BUBB, _BUBB_AT, "nets/attention.py", "68-82"),
            "The paper's module and kernel rule, unchanged.",
            _config("eca"), eca_kernel_size, None, ("eca", {}), True),
        LedgerEntry(
            "ECA", "External-Attention ECAAttention",
            Source(_EXT, _EXT_AT, "model/attention/ECAAttention.py", "9-37"),
            "A fixed k = 3 and a bias in the 1-D convolution.",
            lambda c: ECAWithBias(c, 3), lambda c: 3 + 1, None, None, False),
        # ---------------------------------------------------------------- CBAM
        LedgerEntry(
            "CBAM", "paper", Source("Woo et al., ECCV 2018", None, "arXiv:1807.06521", ""),
            "The reference: r = 16 shared MLP without biases, 7x7 spatial convolution on "
            "[avg; max].",
            _config("cbam"), _cbam_closed(se16, False, 7, 0), se16, ("cbam", {}), True),
        LedgerEntry(
            "CBAM", "authors' code",
            Source("Jongchan/attention-module", "459efad0e05ee7dde50c41ca10a3d0800bc3792a",
                   "MODELS/cbam.py", "6-95"),
            "MLP biases, spatial input [max; mean], BatchNorm (momentum 0.01) before the "
            "spatial sigmoid.",
            _config("cbam", bias=True, concat_order="max_avg", batch_norm=True),
            _cbam_closed(se16, True, 7, 2), se16,
            ("cbam", {"bias": True, "concat_order": "max_avg", "batch_norm": True}), True),
        LedgerEntry(
            "CBAM", "timm CbamModule",
            Source(_TIMM, _TIMM_AT, "timm/layers/cbam.py", "21-48, 75-92, 115-146"),
            "BatchNorm (momentum 0.1) before the spatial sigmoid; hidden C/16 rounded to the "
            "nearest integer.",
            lambda c: ChannelThenSpatial(
                WidthChannelGate(c, _timm_cbam_hidden(c), bias=False, pooling=("avg", "max")),
                SpatialGate(7, batch_norm=True, bn_momentum=0.1)),
            _cbam_closed(_timm_cbam_hidden, False, 7, 2), _timm_cbam_hidden,
            ("cbam", {"batch_norm": True, "bn_momentum": 0.1}), False),
        LedgerEntry(
            "CBAM", "Ultralytics CBAM",
            Source(_ULTRA, _ULTRA_AT, "ultralytics/nn/modules/conv.py", "540-650"),
            "Channel gate: average pool only, one C x C 1x1 convolution with bias, no ReLU.",
            lambda c: ChannelThenSpatial(FullChannelGate(c, bias=True), SpatialGate(7)),
            lambda c: c * c + c + 2 * 7 * 7, None, None, False),
        LedgerEntry(
            "CBAM", "bubbliiiing cbam_block",
            Source(_BUBB, _BUBB_AT, "nets/attention.py", "22-66"),
            "r = 8 instead of 16, hidden C // 8 with no floor; otherwise the paper's module.",
            _config("cbam", reduction=8), _cbam_closed(_floor_div(8), False, 7, 0),
            _floor_div(8), ("cbam", {"reduction": 8}), True),
        LedgerEntry(
            "CBAM", "External-Attention CBAMBlock",
            Source(_EXT, _EXT_AT, "model/attention/CBAM.py", "8-71"),
            "Returns CBAM(x) + x; spatial input [max; avg] through a 49x49 convolution with bias.",
            lambda c: Residual(CBAM(c, 16, kernel_size=49, concat_order="max_avg",
                                    spatial_bias=True)),
            _cbam_closed(se16, False, 49, 1), se16, None, False),
        # ---------------------------------------------------------------- Coordinate Attention
        LedgerEntry(
            "CoordAtt", "paper and authors' code",
            Source("houqb/CoordAttention", "7619bea9acbe260b3793833cc78cef3f124c8112",
                   "coordatt.py", "22-58"),
            "The reference: m = max(8, C // 32), h-swish, BatchNorm, biases on the three "
            "1x1 convolutions.",
            _config("coordatt"), _coord_closed(_coord_paper_hidden, True), _coord_paper_hidden,
            ("coordatt", {}), True),
        LedgerEntry(
            "CoordAtt", "timm CoordAttn (2025)",
            Source(_TIMM, _TIMM_AT, "timm/layers/coord_attn.py", "23-98"),
            "No biases; m = C/24 (ratio 1/16 times 2/3) rounded to a multiple of 8, at least 8.",
            lambda c: CoordAttVariant(c, _timm_coord_hidden(c), act="hswish", bias=False),
            _coord_closed(_timm_coord_hidden, False), _timm_coord_hidden, None, False),
        LedgerEntry(
            "CoordAtt", "bubbliiiing CA_Block",
            Source(_BUBB, _BUBB_AT, "nets/attention.py", "84-121"),
            "ReLU instead of h-swish, no biases, m = C // 16 with no floor (0 below 16 "
            "channels).",
            lambda c: CoordAttVariant(c, c // 16, act="relu", bias=False),
            _coord_closed(_floor_div(16), False), _floor_div(16), None, False),
        LedgerEntry(
            "CoordAtt", "External-Attention CoordAtt",
            Source(_EXT, _EXT_AT, "model/attention/CoordAttention.py", "21-57"),
            "A copy of the authors' module, unchanged.",
            _config("coordatt"), _coord_closed(_coord_paper_hidden, True), _coord_paper_hidden,
            ("coordatt", {}), True),
    )


#: Every entry, grouped by mechanism in :data:`MECHANISMS` order.
LEDGER: tuple[LedgerEntry, ...] = _entries()


def ledger_entry(mechanism: str, variant: str) -> LedgerEntry:
    """The entry for ``mechanism`` (one of :data:`MECHANISMS`) and ``variant``."""
    mechanism = check_choice("mechanism", mechanism, MECHANISMS)
    variants = [e.variant for e in LEDGER if e.mechanism == mechanism]
    variant = check_choice(f"variant of {mechanism}", variant, variants)
    return next(e for e in LEDGER if e.mechanism == mechanism and e.variant == variant)


def _check_widths(widths: object) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Iterable):
        raise TypeError(f"widths must be a sequence of channel counts, got {widths!r}")
    widths = tuple(check_int("width", w) for w in widths)
    if not widths:
        raise ValueError("widths must name at least one channel count, got none")
    return widths


def ledger_param_counts(
    widths: Iterable[int] = LEDGER_WIDTHS,
) -> dict[tuple[str, str], dict[int, int]]:
    """Parameters of every entry at each width, counted on the built module.

    Returns ``{(mechanism, variant): {C: sum(p.numel() for p in module.parameters())}}`` in
    :data:`LEDGER` order. BatchNorm's running statistics are buffers and are not counted.
    """
    widths = _check_widths(widths)
    return {
        (e.mechanism, e.variant): {
            c: sum(p.numel() for p in e.build(c).parameters()) for c in widths
        }
        for e in LEDGER
    }


def matches_library(entry: LedgerEntry, channels: int, seed: int = 0) -> bool:
    """Whether ``entry`` at ``channels`` computes exactly its library configuration.

    Builds both, and answers ``False`` if their parameters differ in names or shapes; otherwise
    copies the variant's state (parameters and BatchNorm statistics, randomised first) into the
    library module and compares the two outputs, in float64 and evaluation mode, on a seeded
    input (equal to 1e-12). ``False`` for an entry with no library configuration.
    """
    if not isinstance(entry, LedgerEntry):
        raise TypeError(f"entry must be a LedgerEntry, got {type(entry).__name__}")
    channels = check_int("channels", channels)
    if entry.library is None:
        return False
    kind, kwargs = entry.library
    variant, library = entry.build(channels), make_attention(kind, channels, **kwargs)
    state = variant.state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    if shapes != {k: tuple(v.shape) for k, v in library.state_dict().items()}:
        return False
    g = torch.Generator().manual_seed(seed)
    variant = variant.double().eval()
    with torch.no_grad():
        for name, tensor in variant.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=g, dtype=torch.float64) + 0.5
                tensor.copy_(values if "var" in name else values - 1.0)
    library = library.double().eval()
    library.load_state_dict(variant.state_dict())
    x = torch.randn(2, channels, 5, 4, generator=g, dtype=torch.float64)
    with torch.no_grad():
        return bool(torch.allclose(variant(x), library(x), rtol=0.0, atol=1e-12))


def ledger_rows(widths: Iterable[int] = LEDGER_WIDTHS) -> list[dict[str, Any]]:
    """The ledger as table rows, for a page to render: one dict per entry, in :data:`LEDGER` order.

    Keys: ``mechanism``, ``variant``, ``source`` (``str`` of the :class:`Source`), ``change``,
    ``params`` (``{C: count}`` counted on the built modules, :func:`ledger_param_counts`),
    ``library`` (the configuration as code, or ``None``) and ``equals_library`` (``{C: bool}``
    from :func:`matches_library`, so "exact at 64, 256, 512 but not in general" is visible).
    """
    widths = _check_widths(widths)
    counts = ledger_param_counts(widths)
    return [
        {
            "mechanism": e.mechanism,
            "variant": e.variant,
            "source": str(e.source),
            "change": e.change,
            "params": counts[(e.mechanism, e.variant)],
            "library": e.library_call(),
            "equals_library": {c: matches_library(e, c) for c in widths},
        }
        for e in LEDGER
    ]
