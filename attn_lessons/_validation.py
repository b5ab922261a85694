"""Argument checks shared by every module.

Each check raises a ``TypeError`` (wrong kind of value) or a ``ValueError`` (right kind, bad value)
whose message names the argument and the value it got, so a reader sees at once what to change.
None of them uses ``assert``: asserts vanish under ``python -O``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import torch


def check_int(name: str, value: object, *, minimum: int | None = 1) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer ``>= minimum``.

    ``bool`` is refused although it subclasses ``int``: ``channels=True`` is a bug, not a 1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        if minimum == 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` after checking it is ``True`` or ``False`` (not merely truthy).

    ``bias="no"`` or ``bias=0`` would otherwise be read by truthiness: a non-empty string is true.
    """
    if not isinstance(value, bool):
        raise TypeError(
            f"{name} must be True or False, got {value!r} of type {type(value).__name__}"
        )
    return value


def check_odd_kernel(name: str, value: object) -> int:
    """Return ``value`` after checking it is a positive odd integer (a 'same'-padding kernel)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive odd integer, got {value!r} of type {type(value).__name__}"
        )
    value = int(value)
    if value < 1 or value % 2 == 0:
        raise ValueError(f"{name} must be a positive odd integer, got {value}")
    return value


def check_positive_float(name: str, value: object) -> float:
    """Return ``value`` as a ``float`` after checking it is a finite number ``> 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def check_nonnegative_float(name: str, value: object) -> float:
    """Return ``value`` as a ``float`` after checking it is a finite number ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {value!r} of type "
                        f"{type(value).__name__}")
    value = float(value)
    if not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be >= 0 and finite, got {value}")
    return value


def check_probability(name: str, value: object) -> float:
    """Return ``value`` as a ``float`` after checking it is a probability in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a probability in [0, 1), got {value!r} of type "
                        f"{type(value).__name__}")
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be a probability in [0, 1), got {value}")
    return value


#: The largest seed PyTorch's generators take (an unsigned 64-bit integer).
MAX_SEED = 2**64 - 1


def check_seed(name: str, value: object) -> int:
    """Return ``value`` after checking it is an integer seed in [0, 2**64 - 1] (PyTorch's range)."""
    value = check_int(name, value, minimum=0)
    if value > MAX_SEED:
        raise ValueError(f"{name} must be at most 2**64 - 1 = {MAX_SEED} (PyTorch's generators "
                         f"take 64-bit seeds), got {value}")
    return value


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` after checking it is one of ``choices`` (listed in the error)."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_tensor(name: str, x: object, *, ndim: int | None = None) -> torch.Tensor:
    """Check ``x`` is a floating-point tensor, of rank ``ndim`` when given."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D tensor, got {x.ndim}-D with shape {tuple(x.shape)}"
        )
    return x


def check_feature_map(x: object, channels: int | None = None, name: str = "x") -> torch.Tensor:
    """Check ``x`` is a float feature map of shape (B, C, H, W), with ``C == channels`` if given.

    C, H and W must be at least 1 (an empty *batch*, B = 0, is allowed): a map with no channel,
    row or column has nothing to pool, and a module in training mode would write NaN into its
    BatchNorm statistics before PyTorch raised anything. This check runs before any of that.
    """
    x = check_tensor(name, x)
    if x.ndim != 4:
        raise ValueError(
            f"{name} must be a 4-D feature map (B, C, H, W), got {x.ndim}-D with shape "
            f"{tuple(x.shape)}"
        )
    empty = [axis for axis, size in zip("CHW", x.shape[1:], strict=True) if size == 0]
    if empty:
        raise ValueError(
            f"{name} has {' and '.join(f'{a} = 0' for a in empty)} (shape {tuple(x.shape)}): a "
            f"feature map needs C, H, W >= 1; only the batch may be empty"
        )
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{name} has {x.shape[1]} channels but the module was built for {channels} "
            f"(shape {tuple(x.shape)})"
        )
    return x


def check_nonempty_feature_map(
    x: object, channels: int | None = None, name: str = "x"
) -> torch.Tensor:
    """:func:`check_feature_map`, and refuse an empty batch too (B = 0).

    A zero-size map would otherwise give NaN means or a convolution error far from the cause.
    """
    x = check_feature_map(x, channels, name)
    if x.numel() == 0:
        raise ValueError(
            f"{name} is an empty batch (shape {tuple(x.shape)}): this module needs at least one "
            "image (its normalisation or pooling has nothing to work on)"
        )
    return x


def reduced_width(channels: int, reduction: int, min_width: int = 1) -> int:
    """Width of a bottleneck: ``max(min_width, channels // reduction)``, never 0.

    With the default ``min_width=1`` a reduction larger than the channel count is refused,
    because ``channels // reduction`` would be 0 and the gate would not depend on the input: the
    constant ``sigmoid(b_2)`` of the second layer's bias (``sigmoid(0) = 0.5`` without biases, and
    at PyTorch's initialisation, where that bias starts at 0). A ``min_width > 1`` is the
    documented floor some libraries use instead (e.g. 8 in Coordinate Attention).
    """
    channels = check_int("channels", channels)
    reduction = check_int("reduction", reduction)
    min_width = check_int("min_width", min_width)
    width = channels // reduction
    if width < 1 and min_width <= 1:
        raise ValueError(
            f"reduction={reduction} is larger than channels={channels}: channels // reduction "
            f"would be 0 and the gate would ignore the input (sigmoid of the second layer's bias, "
            f"0.5 without biases). Use reduction <= {channels}, or set "
            f"min_width to floor the hidden width"
        )
    return max(min_width, width)
