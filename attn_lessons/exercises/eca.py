"""Checkers for chapter 3 (ECA). Each takes the reader's function and returns a Feedback."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ._core import Feedback, Forbidden, autograd_forbidden, check_function
from ._messages import mark, tr

__all__ = ["check_eca_channel_range", "check_eca_gate_circular", "check_eca_kernel_grad",
           "check_eca_toeplitz_dilated"]


# --- which channel counts share a kernel size ------------------------------------------------


def _t(channels: int) -> float:
    return (math.log2(channels) + 1) / 2


def _paper_k(channels: int) -> int:
    t = int(_t(channels))
    return t if t % 2 else t + 1


def _odd_k(k: Any) -> int:
    """``k`` as an int if it is an odd positive integer, else ``ValueError`` (no C gets it)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0:
        raise ValueError(f"no channel count gets kernel size {k!r}")
    return k


def _channel_range(k: int) -> torch.Tensor:
    # k = 2m + 1 exactly when int(t) is 2m or 2m + 1, i.e. t in [2m, 2m + 2):
    # log2 C in [4m - 1, 4m + 3), C in [2^(4m-1), 2^(4m+3) - 1] (and C >= 1).
    m = (_odd_k(k) - 1) // 2
    return torch.tensor([max(1, math.ceil(2.0 ** (4 * m - 1))), 2 ** (4 * m + 3) - 1])


def _range_ties_down(k: int) -> torch.Tensor:
    first, last = _channel_range(k).tolist()
    return torch.tensor([first + 1 if first > 1 else 1, last + 1])


def _range_last_exclusive(k: int) -> torch.Tensor:
    return _channel_range(k) + torch.tensor([0, 1])


def _range_round_then_odd(k: int) -> torch.Tensor:
    # floor(t + 1/2) in {2m, 2m + 1}: t in [2m - 1/2, 2m + 3/2), log2 C in [4m - 2, 4m + 2)
    m = (_odd_k(k) - 1) // 2
    return torch.tensor([max(1, math.ceil(2.0 ** (4 * m - 2))), 2 ** (4 * m + 2) - 1])


def _range_floor_3(k: int) -> torch.Tensor:
    if _odd_k(k) == 1:
        raise ValueError("timm's rule never gives 1")
    return torch.tensor([1, 127]) if k == 3 else _channel_range(k)


def _range_natural_log(k: int) -> torch.Tensor:
    m = (_odd_k(k) - 1) // 2
    return torch.tensor([max(1, math.ceil(math.exp(4 * m - 1))),
                         math.ceil(math.exp(4 * m + 3)) - 1])


def _range_powers_of_two(k: int) -> torch.Tensor:
    m = (_odd_k(k) - 1) // 2
    return torch.tensor([max(1, math.ceil(2.0 ** (4 * m - 1))), 2 ** (4 * m + 2)])


def _range_swapped(k: int) -> torch.Tensor:
    return _channel_range(k).flip(0)


# k = 3 first: each modelled mistake fails there or on k = 5, 1, 7; then k = 11, whose range runs
# to C = 8,388,607 (a search bounded at 2**20 or 10**6 stops inside it); then the refusals.
_RANGE_CASES = [(3,), (5,), (1,), (7,), (9,), (11,), (4,), (2,), (0,), (-3,)]


def _range_diagnose(args, got, error):
    """A search over C that stops before the end of k's range gives the right first C and too
    small a last one, or finds no C at all and refuses a k that some C gets."""
    (k,) = args
    first, last = _channel_range(k).tolist()
    if isinstance(error, ValueError):
        stopped = True
    elif error is None and got is not None:
        try:
            got_first, got_last = (int(v) for v in list(got)[:3])
        except Exception:
            return None
        stopped = got_first == first and got_last < last
    else:
        return None
    if not stopped:
        return None
    return (tr('your search over C stops too early: k = {k} runs from C = {first:,} to C = '
               '{last:,}. Search further (double C until the rule gives a larger k), or use the '
               'closed form.', k=k, first=first, last=last))


def check_eca_channel_range(fn: Any) -> Feedback:
    """Check ``fn(k) -> (first, last)``: the smallest and the largest channel count C that the
    paper's rule (gamma = 2, b = 1, ties up) maps to kernel size k; ``ValueError`` for a k that no
    C gets (even, or below 1)."""
    return check_function(
        fn,
        _channel_range,
        _RANGE_CASES,
        what="channel_range",
        atol=0,
        rtol=0,
        wrong_functions=[
            (_range_ties_down, tr("the ties go up: C = 8, 128, 2048 (t an even integer) get the "
                                  "larger kernel, so each range starts at a tie, k = 3 at C = 8, "
                                  "not 9.")),
            (_range_last_exclusive, tr("last is the largest C that gets k, not the first one that "
                                       "does not: k = 3 ends at 127, since C = 128 already gets "
                                       "5.")),
            (_range_round_then_odd, tr("the paper's code takes int(t), it does not round t: C = 64 "
                                       "(t = 3.5) gets 3, so k = 3 runs from 8 to 127.")),
            (_range_floor_3, tr("that is timm's rule with its floor of 3; the paper's rule gives k "
                                "= 1 to C = 1, ..., 7, so k = 3 starts at C = 8.")),
            (_range_natural_log, tr("the rule uses log2 C, not the natural logarithm.")),
            (_range_powers_of_two, tr("every channel count counts, not only powers of two: C = 100 "
                                      "gets k = 3 as well, and the last C with k = 3 is 127, not "
                                      "64.")),
            (_range_swapped, tr("return (first, last), the smallest channel count first.")),
        ],
        refusal_hint=tr("no channel count gets an even kernel size (the rule always makes k odd) "
                        "or one below 1: raise ValueError for those k."),
        diagnose=_range_diagnose,
        success=tr("the channel counts of each kernel size, ties and all."),
    )


# --- the gate's gradient with respect to the kernel, by hand -----------------------------


def _gate(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    out = F.conv1d(y[:, None, :], kernel.reshape(1, 1, k), padding=(k - 1) // 2)
    return torch.sigmoid(out)[:, 0, :]


def _kernel_grad(y: torch.Tensor, kernel: torch.Tensor, upstream: torch.Tensor) -> torch.Tensor:
    w = kernel.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((_gate(y, w) * upstream).sum(), w)
    return grad


def _shifted(y: torch.Tensor, k: int, sign: int = 1, circular: bool = False) -> torch.Tensor:
    """``out[b, j, c] = y[b, c + sign * (j - h)]``, zero (or wrapped) outside: (B, k, C)."""
    c, h = y.shape[1], (k - 1) // 2
    idx = torch.arange(c)[None, :] + sign * (torch.arange(k)[:, None] - h)  # (k, C)
    if circular:
        return y[:, idx % c]
    inside = (idx >= 0) & (idx < c)
    return torch.where(inside, y[:, idx.clamp(0, c - 1)], torch.zeros((), dtype=y.dtype))


def _grad_formula(y, kernel, upstream, local, sign=1, circular=False, reduce="sum"):
    k = kernel.numel()
    omega = _gate(y, kernel)
    delta = upstream * local(omega)                                  # (B, C)
    per_sample = (delta[:, None, :] * _shifted(y, k, sign, circular)).sum(-1)  # (B, k)
    return per_sample.sum(0) if reduce == "sum" else per_sample.mean(0)


def _grad_no_sigmoid(y, kernel, upstream):
    return _grad_formula(y, kernel, upstream, torch.ones_like)


def _grad_sigma_not_derivative(y, kernel, upstream):
    return _grad_formula(y, kernel, upstream, lambda o: o)


def _grad_derivative_at_gate(y, kernel, upstream):
    return _grad_formula(y, kernel, upstream, lambda o: torch.sigmoid(o) * (1 - torch.sigmoid(o)))


def _grad_flipped(y, kernel, upstream):
    return _grad_formula(y, kernel, upstream, lambda o: o * (1 - o), sign=-1)


def _grad_circular(y, kernel, upstream):
    return _grad_formula(y, kernel, upstream, lambda o: o * (1 - o), circular=True)


def _grad_batch_mean(y, kernel, upstream):
    return _grad_formula(y, kernel, upstream, lambda o: o * (1 - o), reduce="mean")


def _grad_per_sample(y, kernel, upstream):
    omega = _gate(y, kernel)
    delta = upstream * omega * (1 - omega)
    return (delta[:, None, :] * _shifted(y, kernel.numel())).sum(-1)  # (B, k)


def _grad_no_upstream(y, kernel, upstream):
    return _grad_formula(y, kernel, torch.ones_like(upstream), lambda o: o * (1 - o))


def _grad_wrt_y(y, kernel, upstream):
    y = y.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((_gate(y, kernel) * upstream).sum(), y)
    return grad


def _kernel_grad_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(37)
    cases = []
    for b, c, kernel in [(2, 10, torch.tensor([0.5, -1.0, 2.0])),
                         (3, 7, torch.tensor([0.3, 0.1, -0.7, 1.2, 0.4])),
                         (1, 16, torch.randn(5, generator=g)),
                         (2, 2, torch.tensor([1.0, -0.5, 0.8, 0.2, -1.5]))]:
        y = torch.randn(b, c, generator=g, dtype=torch.float64)
        upstream = torch.randn(b, c, generator=g, dtype=torch.float64)
        cases.append((y, kernel.to(torch.float64), upstream))
    return cases


def check_eca_kernel_grad(fn: Any) -> Feedback:
    """Check ``fn(y, kernel, upstream) -> dL/dw``: for the ECA gate omega(y, w) of descriptors
    y (B, C) and a kernel w (k,), and the gradient ``upstream`` (B, C) of a loss L with respect to
    omega, the gradient of L with respect to w, shape (k,); the reference is autograd's, and the
    reader's function must not use autograd (the prompt asks for it derived by hand)."""
    return check_function(
        fn,
        _kernel_grad,
        _kernel_grad_cases(),
        what="kernel_grad",
        forbidden=[autograd_forbidden(tr("derive dL/dw_j from the chain rule through the sigmoid "
                                         "and the convolution, and compute it with tensor "
                                         "operations; the checker runs autograd itself to "
                                         "compare."))],
        wrong_functions=[
            (_grad_no_sigmoid, tr("the chain rule goes through the sigmoid: multiply the upstream "
                                  "gradient by sigma'(z) = omega (1 - omega) first.")),
            (_grad_sigma_not_derivative, tr("the sigmoid's derivative is omega (1 - omega), not "
                                            "omega.")),
            (_grad_derivative_at_gate, tr("sigma' is taken at the logits z, where it is sigma(z)(1 "
                                          "- sigma(z)) = omega (1 - omega); yours evaluates it at "
                                          "omega.")),
            (_grad_flipped, tr("tap w_j multiplies y[c + j - h] (conv1d does not flip the kernel); "
                               "yours pairs it with y[c - j + h].")),
            (_grad_circular, tr("ECA pads with zeros: a tap that reads past the first or the last "
                                "channel reads 0 and gets nothing from there; yours wraps "
                                "around.")),
            (_grad_batch_mean, tr("the loss sums over the batch, so its gradient is the sum of the "
                                  "samples' gradients, not their mean.")),
            (_grad_per_sample, tr("the kernel is shared by all samples and all channels: sum over "
                                  "the batch as well, to get one gradient of shape (k,).")),
            (_grad_no_upstream, tr("multiply by the upstream gradient dL/d omega: yours is the "
                                   "gradient of sum(omega).")),
            (_grad_wrt_y, tr("that is the gradient with respect to the descriptor y; the exercise "
                             "asks for the kernel's, shape (k,).")),
        ],
        success=tr("the kernel's gradient by hand equals autograd's."),
    )


# --- the banded matrix of a dilated convolution -------------------------------------------


def _toeplitz_dilated(kernel: torch.Tensor, channels: int, dilation: int) -> torch.Tensor:
    # column c' of W is the convolution of the unit vector e_c'
    k = kernel.numel()
    eye = torch.eye(channels, dtype=kernel.dtype)
    out = F.conv1d(eye[:, None, :], kernel.reshape(1, 1, k), padding=dilation * (k - 1) // 2,
                   dilation=dilation)
    return out[:, 0, :].T


def _band(kernel, channels, offset_of_tap, wrap=False, cols=None):
    k = kernel.numel()
    w = torch.zeros(channels, channels if cols is None else cols, dtype=kernel.dtype)
    for c in range(channels):
        for j in range(k):
            cp = c + offset_of_tap(j)
            if wrap:
                w[c, cp % channels] += kernel[j]
            elif 0 <= cp < w.shape[1]:
                w[c, cp] = kernel[j]
    return w


def _dilated_ignored(kernel, channels, dilation):
    h = (kernel.numel() - 1) // 2
    return _band(kernel, channels, lambda j: j - h)


def _dilated_transposed(kernel, channels, dilation):
    return _toeplitz_dilated(kernel, channels, dilation).T


def _dilated_holes(kernel, channels, dilation):
    h = (kernel.numel() - 1) // 2
    return _band(kernel, channels, lambda j: (dilation + 1) * (j - h))


def _dilated_padding_h(kernel, channels, dilation):
    h = (kernel.numel() - 1) // 2
    return _band(kernel, channels, lambda j: dilation * j - h)


def _dilated_circulant(kernel, channels, dilation):
    h = (kernel.numel() - 1) // 2
    return _band(kernel, channels, lambda j: dilation * (j - h), wrap=True)


def _dilated_filled(kernel, channels, dilation):
    # the span of the dilated kernel filled, each tap repeated over the gap that follows it
    h = (kernel.numel() - 1) // 2
    w = torch.zeros(channels, channels, dtype=kernel.dtype)
    for c in range(channels):
        for j in range(kernel.numel()):
            for s in range(dilation if j < kernel.numel() - 1 else 1):
                cp = c + dilation * (j - h) + s
                if 0 <= cp < channels:
                    w[c, cp] = kernel[j]
    return w


def _dilated_padded(kernel, channels, dilation):
    k = kernel.numel()
    return _band(kernel, channels, lambda j: dilation * j, cols=channels + dilation * (k - 1))


_DILATED_CASES = [
    (torch.tensor([1.0, 2.0, 3.0]), 8, 2),
    (torch.tensor([0.5, -1.0, 2.0, 4.0, -3.0]), 12, 3),
    (torch.tensor([1.0, -2.0, 5.0]), 6, 1),
    (torch.tensor([2.0, 1.0, -1.0]), 4, 3),
    (torch.tensor([7.0]), 3, 2),
    # taps beyond the other end: offsets ±3 with only 2 channels touch no entry at all
    (torch.tensor([1.0, 2.0, 3.0]), 2, 3),
]


def _dilated_diagnose(args, got, error):
    kernel, channels, dilation = args
    half = (kernel.numel() - 1) // 2
    if isinstance(error, RuntimeError) and dilation * half > channels:
        return (tr('with C = {channels}, k = {k} and d = {dilation}, the outer taps sit {offset} '
                   'channels away, beyond the other end: a tap with |d (j - h)| >= C touches no '
                   'entry of W (and torch.ones(C - |offset|) has a negative length). Skip such '
                   'taps.', channels=channels, k=kernel.numel(), dilation=dilation,
                   offset=dilation * half))
    return None


def check_eca_toeplitz_dilated(fn: Any) -> Feedback:
    """Check ``fn(kernel, channels, dilation) -> W`` (channels, channels) with ``W @ y`` equal to
    ``conv1d`` of y with the kernel, ``dilation`` and zero padding ``dilation * (k - 1) // 2``."""
    return check_function(
        fn,
        _toeplitz_dilated,
        _DILATED_CASES,
        what="toeplitz_dilated",
        wrong_functions=[
            (_dilated_ignored, tr("with dilation d the taps are d channels apart: W[c, c + d (j - "
                                  "h)] = w[j]; yours is the ordinary band (d = 1).")),
            (_dilated_transposed, tr("row c must hold the weights that produce output c: W[c, c + "
                                     "d (j - h)] = w[j]; yours is transposed, which is also the "
                                     "matrix of the reversed kernel (conv1d does not flip it).")),
            (_dilated_holes, tr("dilation d puts the taps d channels apart (d - 1 skipped channels "
                                "between them, as conv1d's dilation=d does), not d + 1.")),
            (_dilated_padding_h, tr("the padding of a dilated kernel is d (k - 1) / 2, so the band "
                                    "stays centred: tap j reads channel c + d (j - h), not c + d j "
                                    "- h.")),
            (_dilated_circulant, tr("zero padding: taps that fall outside the channels are "
                                    "dropped, they do not wrap around to the other end.")),
            (_dilated_filled, tr("a dilated kernel still has k taps: the channels between them get "
                                 "0, so the band has holes.")),
            (_dilated_padded, tr("that is the matrix acting on the zero-padded descriptor; drop "
                                 "the padding columns to get C x C.")),
        ],
        diagnose=_dilated_diagnose,
        success=tr("the banded matrix of a dilated convolution."),
    )


# --- circular padding (timm's CecaModule) -------------------------------------------------------


def _gate_circular(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    p = (k - 1) // 2
    padded = F.pad(y[:, None, :], (p, p), mode="circular")
    return torch.sigmoid(F.conv1d(padded, kernel.reshape(1, 1, k)))[:, 0, :]


def _gate_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(31)
    return [
        (torch.randn(2, 10, generator=g), torch.tensor([0.5, -1.0, 2.0])),
        (torch.randn(1, 16, generator=g), torch.randn(5, generator=g)),
        (torch.randn(3, 7, generator=g), torch.tensor([0.3, 0.1, -0.7, 1.2, 0.4])),
        # k = 1 (the paper's rule gives it to every C <= 7): nothing to pad
        (torch.randn(2, 5, generator=g), torch.tensor([0.7])),
    ]


def _gate_circular_minus_zero(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    # the ring built with y[:, -half:], which for half = 0 is all of y, not nothing
    k = kernel.numel()
    half = (k - 1) // 2
    ring = torch.cat([y[:, -half:], y, y[:, :half]], dim=1)
    return torch.sigmoid(F.conv1d(ring[:, None, :], kernel.reshape(1, 1, k)))[:, 0, :]


#: The prompt asks for the padding by hand: a Conv module (with or without padding_mode) is out.
_CIRCULAR_FORBIDDEN = [
    Forbidden(mark("pad the descriptor yourself (torch.cat of its two ends, or F.pad) and call "
                   "F.conv1d on the result, as the prompt asks: no Conv1d module, no "
                   "padding_mode."),
              python_functions=((torch.nn.Conv1d.forward, mark(
                  "an nn.Conv1d module")),
                                (torch.nn.Conv2d.forward, mark(
                                    "an nn.Conv2d module")))),
]


def _gate_circular_zero_pad_both(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return _gate(y, kernel)


def _gate_circular_one_side(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    padded = F.pad(y[:, None, :], (k - 1, 0), mode="circular")
    return torch.sigmoid(F.conv1d(padded, kernel.reshape(1, 1, k)))[:, 0, :]


def _gate_circular_reflect(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    p = (k - 1) // 2
    padded = F.pad(y[:, None, :], (p, p), mode="reflect")
    return torch.sigmoid(F.conv1d(padded, kernel.reshape(1, 1, k)))[:, 0, :]


def _gate_circular_flipped(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return _gate_circular(y, kernel.flip(0))


def _gate_circular_no_sigmoid(y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.numel()
    p = (k - 1) // 2
    padded = F.pad(y[:, None, :], (p, p), mode="circular")
    return F.conv1d(padded, kernel.reshape(1, 1, k))[:, 0, :]


def check_eca_gate_circular(fn: Any) -> Feedback:
    """Check ``fn(y, kernel) -> omega`` for ECA with circular padding: channel C - 1 and channel 0
    are neighbours (timm's ``CecaModule``), for every odd k, k = 1 included; the padding is the
    reader's own (a Conv module, with or without ``padding_mode``, is refused)."""
    return check_function(
        fn,
        _gate_circular,
        _gate_cases(),
        what="eca_gate_circular",
        wrong_functions=[
            (_gate_circular_zero_pad_both, tr("that is the zero-padded gate of the chapter: here "
                                              "the channel axis wraps around, so the first "
                                              "channel's left neighbour is the last one.")),
            (_gate_circular_one_side, tr("the padding must be split, (k - 1) // 2 on each side; "
                                         "all of it on one side shifts every gate by (k - 1) / 2 "
                                         "channels.")),
            (_gate_circular_reflect, tr("reflect padding mirrors the channels next to the edge; "
                                        "circular padding wraps around to the other end.")),
            (_gate_circular_flipped,
             tr("your kernel is reversed: conv1d does not flip the kernel.")),
            (_gate_circular_no_sigmoid, tr("the gate is the sigmoid of the convolution's output.")),
            (_gate_circular_minus_zero, tr("for k = 1, half = 0 and y[:, -0:] is all of y (-0 is "
                                           "0), so your ring has 2C channels: pad only when half > "
                                           "0.")),
        ],
        forbidden=_CIRCULAR_FORBIDDEN,
        success=tr("with circular padding, the gates of the first and the last channels see each "
                   "other."),
    )
