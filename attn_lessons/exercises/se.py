"""Checkers for chapter 2 (Squeeze-and-Excitation).

Each checker runs the reader's function on a few fixed inputs, compares it with the library's
answer and, when the output matches a typical mistake, says which one. None of them raises.
"""

from __future__ import annotations

from typing import Any

import torch

from attn_lessons.se import SqueezeExcite, se_num_params

from ._core import Feedback, Forbidden, autograd_forbidden, check_function, mistake_of
from ._messages import mark, tr

__all__ = [
    "check_se_channels_last",
    "check_se_gate_grad",
    "check_se_reduction_for_budget",
    "check_squeeze",
]


def _fixed(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


# --- squeeze over a padded batch ------------------------------------------------------------
#
# A transfer of the squeeze (SENet, Hu et al., CVPR 2018, eq. 2): images of different sizes are
# padded into one batch, and ``mask`` (B, H, W) marks the real positions. z_c is the mean of
# channel c over the real positions of its own image. The padding holds arbitrary numbers (as
# after a previous layer), so it must be masked out, not just left out of the count.


def _squeeze_reference(u: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask[:, None].to(u.dtype)  # (B, H, W) -> (B, 1, H, W), broadcast over the channels
    return (u * m).sum(dim=(2, 3)) / m.sum(dim=(2, 3))  # (B, C) / (B, 1)


def _squeeze_ignores_mask(u, mask):
    return u.mean(dim=(2, 3))


def _squeeze_masked_over_hw(u, mask):
    m = mask[:, None].to(u.dtype)
    return (u * m).sum(dim=(2, 3)) / (u.shape[2] * u.shape[3])


def _squeeze_padding_not_zeroed(u, mask):
    m = mask[:, None].to(u.dtype)
    return u.sum(dim=(2, 3)) / m.sum(dim=(2, 3))


def _squeeze_batch_count(u, mask):
    m = mask[:, None].to(u.dtype)
    return (u * m).sum(dim=(2, 3)) / m.sum()


def _squeeze_masked_sum(u, mask):
    return (u * mask[:, None].to(u.dtype)).sum(dim=(2, 3))


def _squeeze_masked_max(u, mask):
    return u.masked_fill(~mask[:, None], float("-inf")).amax(dim=(2, 3))


def _squeeze_keepdim(u, mask):
    return _squeeze_reference(u, mask)[:, :, None, None]


def _squeeze_first_mask(u, mask):
    return _squeeze_reference(u, mask[:1].expand_as(mask))


def _squeeze_top_left_crop(u, mask):
    # each image cropped to its first h rows and w columns, h and w counted from the mask
    out = []
    for i in range(u.shape[0]):
        h = int(mask[i].any(dim=1).sum())
        w = int(mask[i].any(dim=0).sum())
        out.append(u[i, :, :h, :w].mean(dim=(1, 2)))
    return torch.stack(out)


def _padded(b: int, c: int, h: int, w: int, sizes: list[tuple[int, int]], seed: int,
            corner: str = "top-left"):
    """u (B, C, H, W) with garbage in the padding, and mask (B, H, W) of the real parts, which sit
    in the given ``corner`` of each padded image."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(b, c, h, w, generator=g, dtype=torch.float64) + 0.5
    mask = torch.zeros(b, h, w, dtype=torch.bool)
    for i, (hi, wi) in enumerate(sizes):
        rows = slice(0, hi) if corner.startswith("top") else slice(h - hi, h)
        cols = slice(0, wi) if corner.endswith("left") else slice(w - wi, w)
        mask[i, rows, cols] = True
        u[i, :, ~mask[i]] += 3.0  # the padding is not zero: a previous layer wrote there
    return u, mask


def _irregular(seed: int):
    """Two images whose real positions are no rectangle: a ring and a checkerboard."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(2, 3, 5, 5, generator=g, dtype=torch.float64) + 0.5
    mask = torch.zeros(2, 5, 5, dtype=torch.bool)
    mask[0, 1:4, 1:4] = True
    mask[0, 2, 2] = False                                   # a ring around a padded centre
    mask[1] = (torch.arange(5)[:, None] + torch.arange(5)[None, :]) % 2 == 0
    u[~mask[:, None].expand_as(u)] += 3.0
    return u, mask


def check_squeeze(fn: Any) -> Feedback:
    """Check ``fn(u, mask)``: per-image channel means over the real positions, shape (B, C).

    ``u`` is (B, C, H, W), ``mask`` a boolean (B, H, W) with at least one True per image.
    """
    cases = [
        _padded(3, 4, 5, 6, [(4, 6), (2, 3), (5, 6)], seed=1),
        _padded(2, 3, 4, 4, [(1, 1), (3, 4)], seed=2),
        _padded(1, 5, 3, 7, [(3, 7)], seed=3),
        _padded(4, 2, 6, 5, [(6, 5), (6, 2), (1, 5), (3, 3)], seed=13),
        # padding at the top and on the left: the real part is the bottom-right corner
        _padded(2, 3, 5, 4, [(3, 2), (2, 4)], seed=14, corner="bottom-right"),
        _irregular(seed=15),
    ]
    return check_function(
        fn, _squeeze_reference, cases, what=tr("your squeeze"),
        wrong_functions=[
            (_squeeze_ignores_mask, tr("that is the mean over all H × W positions, padding "
                                       "included: average over the positions where mask is True "
                                       "only.")),
            (_squeeze_masked_over_hw, tr("you zeroed the padding but still divided by H·W: divide "
                                         "by the number of real positions of each image, "
                                         "mask.sum(dim=(1, 2)).")),
            (_squeeze_padding_not_zeroed, tr("the padding holds numbers too: multiply u by the "
                                             "mask (or select with it) before summing, not only "
                                             "when counting.")),
            (_squeeze_batch_count, tr("you divided by the real positions of the whole batch: each "
                                      "image has its own count, mask.sum(dim=(1, 2)), shape (B, 1) "
                                      "to broadcast.")),
            (_squeeze_masked_sum, tr("that is the masked sum; the squeeze is the mean: divide by "
                                     "each image's number of real positions.")),
            (_squeeze_masked_max, tr("that is a masked global max pooling; SE uses the average.")),
            (_squeeze_keepdim, tr("the values are right but the shape is (B, C, 1, 1): return "
                                  "shape (B, C).")),
            (_squeeze_first_mask, tr("every image used the first image's mask: each image has its "
                                     "own, mask[b] for image b (mask[:, None] broadcasts it over "
                                     "the channels).")),
            (_squeeze_top_left_crop, tr("you cropped each image to its top-left h × w corner: the "
                                        "real positions need not be there (padding may sit at the "
                                        "top or on the left, and a mask need not be a rectangle). "
                                        "Average exactly where mask is True.")),
        ],
        success=tr("z_c is the mean of channel c over the real positions of its image."),
    )


# --- an SE block for a channels-last tensor (a transfer: the layout changes) -----------------
#
# x is (B, H, W, C), as networks built from nn.Linear layers hold their maps; w1 is (C', C), w2
# (C, C'), no biases. The answer is x scaled channel by channel, in the same layout.


def _se_cl_reference(x, w1, w2):
    z = x.mean(dim=(1, 2))                                   # (B, H, W, C) -> (B, C)
    s = torch.sigmoid(torch.relu(z @ w1.T) @ w2.T)            # (B, C)
    return x * s[:, None, None, :]                           # (B, C) -> (B, 1, 1, C)


def _se_cl_reshaped(x, w1, w2):
    b, h, w, c = x.shape
    u = x.reshape(b, c, h, w)                                # not a permute: mixes the axes
    s = torch.sigmoid(torch.relu(u.mean(dim=(2, 3)) @ w1.T) @ w2.T)
    return (u * s[:, :, None, None]).reshape(b, h, w, c)


def _se_cl_axes_copied(x, w1, w2):
    # dim=(2, 3) copied from the channels-first cell: W and C here (runs only when H = C)
    s = torch.sigmoid(torch.relu(x.mean(dim=(2, 3)) @ w1.T) @ w2.T)
    return x * s[:, None, None, :]


def _se_cl_not_permuted_back(x, w1, w2):
    return _se_cl_reference(x, w1, w2).permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)


def _se_cl_gate_only(x, w1, w2):
    return torch.sigmoid(torch.relu(x.mean(dim=(1, 2)) @ w1.T) @ w2.T)


def _se_cl_max_squeeze(x, w1, w2):
    s = torch.sigmoid(torch.relu(x.amax(dim=(1, 2)) @ w1.T) @ w2.T)
    return x * s[:, None, None, :]


def _se_cl_one_axis(x, w1, w2):
    s = torch.sigmoid(torch.relu(x.mean(dim=1) @ w1.T) @ w2.T)   # (B, W, C): one gate per column
    return x * s[:, None]


def _se_cl_other_axis(x, w1, w2):
    s = torch.sigmoid(torch.relu(x.mean(dim=2) @ w1.T) @ w2.T)   # (B, H, C): one gate per row
    return x * s[:, :, None]


def _se_cl_no_relu(x, w1, w2):
    s = torch.sigmoid(x.mean(dim=(1, 2)) @ w1.T @ w2.T)
    return x * s[:, None, None, :]


def _se_cl_softmax(x, w1, w2):
    s = torch.softmax(torch.relu(x.mean(dim=(1, 2)) @ w1.T) @ w2.T, dim=-1)
    return x * s[:, None, None, :]


def _se_cl_no_sigmoid(x, w1, w2):
    s = torch.relu(x.mean(dim=(1, 2)) @ w1.T) @ w2.T
    return x * s[:, None, None, :]


def check_se_channels_last(fn: Any) -> Feedback:
    """Check ``fn(x, w1, w2)``: an SE block (no biases) on a channels-last ``x`` (B, H, W, C).

    ``w1`` is (C', C), ``w2`` (C, C'); the answer is ``x`` scaled by its gates, (B, H, W, C).
    """
    # H = W = C first: there the copied dim=(2, 3) runs, and its mistake can be named.
    cases = [
        (_fixed(3, 4, 4, 4, seed=10, scale=2.0), _fixed(2, 4, seed=11), _fixed(4, 2, seed=12)),
        (_fixed(2, 3, 4, 8, seed=4) + 0.5, _fixed(2, 8, seed=5), _fixed(8, 2, seed=6)),
        (_fixed(1, 2, 5, 6, seed=7), _fixed(3, 6, seed=8), _fixed(6, 3, seed=9)),
    ]
    return check_function(
        fn, _se_cl_reference, cases, what=tr("your channels-last SE block"),
        wrong_functions=[
            (_se_cl_reshaped, tr("reshape to (B, C, H, W) is not a change of layout: it cuts the "
                                 "numbers into new axes without moving them, so a 'channel' mixes "
                                 "channels and positions. Use permute(0, 3, 1, 2), or average over "
                                 "dims (1, 2) directly.")),
            (_se_cl_axes_copied, tr("in a channels-last map dims (2, 3) are W and C, not the "
                                    "spatial axes: average over dims (1, 2).")),
            (_se_cl_not_permuted_back, tr("your output is channels-first (B, C, H, W); return it "
                                          "in the input's layout (B, H, W, C).")),
            (_se_cl_gate_only, tr("you returned the gates s (B, C); the block returns x scaled by "
                                  "them, (B, H, W, C).")),
            (_se_cl_max_squeeze,
             tr("SE's squeeze is the mean over the positions, not the maximum.")),
            (_se_cl_one_axis, tr("the squeeze averages over both spatial axes, dims (1, 2) here: "
                                 "one gate per channel, not one per channel and column.")),
            (_se_cl_other_axis, tr("the squeeze averages over both spatial axes, dims (1, 2) here: "
                                   "one gate per channel, not one per channel and row.")),
            (_se_cl_no_relu, tr("the ReLU δ between the two layers is missing: without it the two "
                                "layers collapse into one linear map W2 W1.")),
            (_se_cl_softmax, tr("a softmax makes the channels compete (the gates sum to 1); SE "
                                "gates each channel on its own with a sigmoid.")),
            (_se_cl_no_sigmoid,
             tr("the final sigmoid σ is missing: the gates must lie in (0, 1).")),
        ],
        success=tr("mean over dims (1, 2), σ(W2 δ(W1 z)), gate broadcast as (B, 1, 1, C)."),
    )


# --- the reduction ratio for a parameter budget ---------------------------------------------------
#
# The inverse of eq-se-params: the smallest ratio r whose block (hidden width C // r) has at most
# ``budget`` parameters. The count is a step function of r, so the answer is not C divided by the
# largest affordable width: every r > C / (C' + 1) already floors to C' or less. When even one
# hidden unit (r = C) is too many, no ratio fits: a ratio above C would leave the zero-width block
# of eq-se-zero-width, so the function refuses with ValueError.


def _count(channels, hidden, bias):
    return 2 * channels * hidden + ((hidden + channels) if bias else 0)


def _ratio_reference(channels, budget, bias):
    for r in range(1, channels + 1):  # se_num_params(C, r) falls as r grows; r = C is one unit
        if se_num_params(channels, r, bias) <= budget:
            return r
    one_unit = se_num_params(channels, channels, bias)
    raise ValueError(f"no ratio fits: one hidden unit needs {one_unit} parameters, more than "
                     f"{budget}")


def _ratio_from_width(channels, budget, bias, *, rule="floor", count=_count, strict=False):
    """The smallest r, or a modelled mistake, from the largest affordable width C'."""
    fits = (lambda n: n < budget) if strict else (lambda n: n <= budget)
    hidden = 0
    while hidden < channels and fits(count(channels, hidden + 1, bias)):
        hidden += 1
    if hidden == 0:
        raise ValueError("no hidden unit fits")
    if rule == "floor":
        return channels // (hidden + 1) + 1
    if rule == "ceil":                  # C / C' rounded up: a ratio that fits, not the smallest
        return -(-channels // hidden)
    if rule == "width":                 # the width instead of the ratio
        return hidden
    if rule == "power_of_two":          # only r = 1, 2, 4, 8, ... tried
        r = 1
        while channels // r > hidden:
            r *= 2
        return r
    raise AssertionError(rule)


def _ratio_continuous(channels, budget, bias):
    # 2 C^2 / r <= budget solved for r, the floor and the biases ignored
    r = -(-2 * channels * channels // budget)
    if r > channels:
        raise ValueError("no hidden unit fits")
    return max(1, r)


def _ratio_biases_2c(channels, budget, bias):
    return _ratio_from_width(channels, budget, bias,
                             count=lambda c, h, b: 2 * c * h + (2 * c if b else 0))


def _ratio_no_bias(channels, budget, bias):
    return _ratio_from_width(channels, budget, False)


#: The reader's own count, not the library's: these solve the exercise in one line.
_RATIO_FORBIDDEN = [
    Forbidden(mark("count the parameters yourself from eq-se-params (2 C C' + C' + C with "
                   "biases, C' = C // r) and invert that count; the library's count is the "
                   "reference."),
              python_functions=((se_num_params, "attn_lessons.se.se_num_params"),
                                (SqueezeExcite.__init__, "attn_lessons.se.SqueezeExcite"))),
]


def check_se_reduction_for_budget(fn: Any) -> Feedback:
    """Check ``fn(channels, budget, bias)``: the smallest reduction ratio r whose SE block
    (hidden width ``channels // r``, biases if ``bias``) has at most ``budget`` parameters, with
    ``ValueError`` when not even one hidden unit fits."""
    # (C, budget, bias, answer): C' = C // r is a step function of r, the boundary budget is
    # allowed (<=), biases change the answer (256, 8400), r need not be a power of 2 or divide C,
    # a budget of exactly one hidden unit is a block, one unit too few is refused.
    cases = [(100, 1500, True),     # width 6: r = 15 (C / C' rounded up: 17; powers of 2: 16)
             (64, 760, True),       # width 5 (4 if the first layer had C biases): r = 11
             (64, 600, False),      # width 4: r = 13, not 16 = 64 / 4
             (64, 512, False),      # exactly 2·64·4: r = 13 (strict < would give 17)
             (256, 8400, True),     # width 15 with biases (16 without): r = 17
             (120, 2000, False),    # width 8: r = 14, not 15 = 120 / 8
             (2048, 524288, False),  # width 128: r = 16, the book's ratio
             (48, 10**6, True),     # everything fits: r = 1
             (24, 73, True),        # exactly one hidden unit (2·24 + 1 + 24): r = 13
             (24, 100, True),       # still one unit: r = 13
             (24, 72, True),        # one parameter short of one unit: refuse
             (8, 10, False)]        # one unit needs 16: refuse
    return check_function(
        fn, _ratio_reference, cases, what=tr("your smallest_reduction"), atol=0.0, rtol=0.0,
        integer=True,
        forbidden=_RATIO_FORBIDDEN,
        wrong_functions=[
            (lambda c, p, b: _ratio_from_width(c, p, b, rule="ceil"), tr(
                "C / C' rounded up is a ratio that fits, not the smallest: C // r stays at most "
                "C' for every r > C / (C' + 1) (for C = 100 and C' = 6, r = 15 already floors to "
                "6, not only r = 17).")),
            (_ratio_continuous, tr(
                "you solved 2 C² / r ≤ budget as if the width were C / r: the width is C // r (a "
                "step function of r), and with biases the count is 2 C C' + C' + C. Find the "
                "largest width that fits first, then the smallest r that floors to it.")),
            (lambda c, p, b: _ratio_from_width(c, p, b, strict=True), tr(
                "a block with exactly `budget` parameters fits: the budget is an upper bound (≤), "
                "not a strict one.")),
            (lambda c, p, b: _ratio_from_width(c, p, b, rule="width"), tr(
                "that is the largest hidden width that fits, C'; the exercise asks for the ratio "
                "r, the smallest with C // r ≤ C'.")),
            (lambda c, p, b: _ratio_from_width(c, p, b, rule="power_of_two"), tr(
                "you tried only powers of two: any whole r is a ratio (for C = 100 and a budget "
                "of 1500 with biases, r = 15 fits and is smaller than 16).")),
            (_ratio_no_bias, tr("the biases count too when bias is True: C' in the first layer "
                                "and C in the second.")),
            (_ratio_biases_2c, tr("the first layer has C' = C // r outputs, so C' biases, not "
                                  "C.")),
        ],
        refusal_hint=tr("when even one hidden unit (r = C) costs more than the budget, no ratio "
                        "gives a working block: a ratio above C leaves C // r = 0, the constant "
                        "gate of the chapter, which does not count as fitting. Refuse it: raise "
                        "ValueError."),
        valid_refused_hint=tr("you refused a budget that one hidden unit fits: for C = 24 with "
                              "biases, r = 13 gives C // r = 1 and 2·24 + 1 + 24 = 73 parameters. "
                              "Refuse only when one unit is too many."),
        success=tr("the largest affordable width C', then the smallest r with C // r ≤ C', "
                   "r = C // (C' + 1) + 1."),
    )


# --- the gate's gradient through the bottleneck ------------------------------------------------


def _gate(z, w1, b1, w2, b2):
    return torch.sigmoid(torch.relu(z @ w1.T + b1) @ w2.T + b2)  # (B, C) -> (B, C') -> (B, C)


def _gate_grad(z, w1, b1, w2, b2, upstream):
    z = z.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((_gate(z, w1, b1, w2, b2) * upstream).sum(), z)
    return grad


def _by_hand(z, w1, b1, w2, b2, g, *, sig="s(1-s)", mask="a>0", order="right", batch="sum",
             upstream=True):
    a = z @ w1.T + b1                           # (B, C'): the hidden pre-activation
    s = torch.sigmoid(torch.relu(a) @ w2.T + b2)
    g = g if upstream else torch.ones_like(g)
    local = {"s(1-s)": s * (1 - s), "s": s, "1": torch.ones_like(s),
             "at_s": torch.sigmoid(s) * (1 - torch.sigmoid(s))}[sig]
    d = g * local                               # dL/d(logit), (B, C)
    m = {"a>0": (a > 0), "none": torch.ones_like(a, dtype=torch.bool),
         "no_bias": (z @ w1.T > 0), "a>=0": (a >= 0)}[mask].to(z.dtype)
    if order == "right":
        out = ((d @ w2) * m) @ w1               # (B, C) @ (C, C') -> (B, C') -> (B, C)
    else:                                       # the weights' roles swapped
        out = ((d @ w1.T) * m) @ w2.T
    return out / z.shape[0] if batch == "mean" else out


def _gate_grad_cases():
    cases = []
    for b, c, hidden, seed in ((3, 8, 2, 1), (2, 24, 1, 2), (4, 16, 4, 3), (2, 6, 3, 4)):
        z = _fixed(b, c, seed=seed)
        w1, b1 = _fixed(hidden, c, seed=seed + 10), _fixed(hidden, seed=seed + 20, scale=0.3)
        w2, b2 = _fixed(c, hidden, seed=seed + 30), _fixed(c, seed=seed + 40, scale=0.3)
        cases.append((z, w1, b1, w2, b2, _fixed(b, c, seed=seed + 50)))
    # every hidden unit off for every image (a very negative first bias): the gradient is exactly 0
    z, w1, b1, w2, b2, g = cases[0]
    cases.append((z, w1, b1 - 50.0, w2, b2, g))
    # a unit exactly at its kink for the first image (z = 0, zero first bias): ReLU'(0) = 0
    z, w1, _, w2, b2, g = cases[2]
    z = z.clone()
    z[0] = 0.0
    cases.append((z, w1, torch.zeros(w1.shape[0], dtype=torch.float64), w2, b2, g))
    return cases


def check_se_gate_grad(fn: Any) -> Feedback:
    """Check ``fn(z, w1, b1, w2, b2, upstream) -> dL/dz``: for the SE gate
    s = sigmoid(W2 relu(W1 z + b1) + b2) of descriptors z (B, C), with W1 (C', C) and W2 (C, C'),
    and the gradient ``upstream`` (B, C) of a loss L with respect to s, the gradient of L with
    respect to z, shape (B, C); the reference is autograd's, and the reader's function must not
    use autograd (the prompt asks for the chain rule by hand)."""
    return check_function(
        fn,
        _gate_grad,
        _gate_grad_cases(),
        what="se_gate_grad",
        forbidden=[autograd_forbidden(tr("derive dL/dz with the chain rule through the sigmoid, "
                                         "the second layer, the ReLU and the first layer, and "
                                         "compute it with tensor operations; the checker runs "
                                         "autograd itself to compare."))],
        wrong_functions=[
            mistake_of(_by_hand, mask="none", hint=tr(
                "the ReLU passes a gradient only through the hidden units that are on: "
                "multiply by 1[W1 z + b1 > 0] between the two layers (with every unit off, the "
                "gradient is exactly 0).")),
            mistake_of(_by_hand, mask="no_bias", hint=tr(
                "the ReLU's switch is its own input, W1 z + b1, bias included; yours tests "
                "W1 z alone.")),
            mistake_of(_by_hand, mask="a>=0", hint=tr(
                "a unit exactly at 0 is off: ReLU'(0) = 0 (PyTorch's convention); yours lets "
                "it pass the gradient.")),
            mistake_of(_by_hand, sig="1", hint=tr(
                "the chain rule goes through the sigmoid: multiply the upstream gradient by "
                "σ' = s (1 − s) first.")),
            mistake_of(_by_hand, sig="s", hint=tr("the sigmoid's derivative is s (1 − s), not s.")),
            mistake_of(_by_hand, sig="at_s", hint=tr(
                "σ' is taken at the logit, where it equals s (1 − s); yours evaluates σ' at "
                "the gate s.")),
            mistake_of(_by_hand, order="swapped", hint=tr(
                "the backward pass goes through W2 first, then W1 (dL/dh = δ W2, dL/dz = "
                "(dL/dh ⊙ mask) W1): yours uses the transposes in the wrong places.")),
            mistake_of(_by_hand, batch="mean", hint=tr(
                "each image's gate depends only on its own z: the gradient is per image, not "
                "divided by the batch size.")),
            mistake_of(_by_hand, upstream=False, hint=tr(
                "multiply by the upstream gradient dL/ds: yours is the gradient of sum(s).")),
        ],
        success=tr("the chain rule through the bottleneck, mask and all, equals autograd's."),
    )
