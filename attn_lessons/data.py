"""Small generated image data sets, each built so that one inductive bias matters.

Chapter 7 asks whether an attention module *helps*. A fair test needs tasks where we can say in
advance what a module could contribute, and data that every reader can make on a CPU in a fraction
of a second without downloading anything. Each generator below returns a
:class:`torch.utils.data.TensorDataset` of images ``(N, C, S, S)`` (float32) and labels ``(N,)``
(int64), deterministic from ``seed``: the same seed gives the same tensors on every machine, because
all randomness comes from one CPU ``torch.Generator``. Train and test sets are two seeds.

The five tasks, and the module each is designed to favour (a hypothesis, measured in the
``measuring_effects`` notebook for chapter 7's four, :data:`CH7_TASKS`, and in the field guide's
``trained`` notebook for ``scale``, not a promise):

``"channel"`` (favours SE and ECA)
    Four input channels, each a noisy stripe pattern, horizontal or vertical at random. One channel
    is brighter *on average* than all the others; the label is the orientation of its stripes. Under
    the pixel noise a small patch shows only unreliably which channel is the brightest; the channel
    means show it clearly:
    that is exactly the descriptor an SE or ECA gate is computed from
    (z_c, the global average of channel c), so the gate can open the informative channel and close
    the three distractors before the features are pooled and mixed.
``"clutter"`` (favours CBAM's spatial gate, and self-attention)
    One red shape (plus, x, square outline or corner; the label) among several distractor shapes of
    the same four kinds in other colours. Global average pooling mixes the target with the clutter;
    a spatial gate can keep the pixels where the red target is and suppress the rest.
``"axis"`` (favours Coordinate Attention)
    Two small squares, one in the left third and one in the right third of the image; label 1 when
    they lie on the same rows, 0 when their rows differ. The two squares are far apart: in the
    small CNN only the last block's receptive field spans both, at coarse resolution, while a module
    that pools a whole row while keeping the row index, as Coordinate Attention's pooling along W
    does, can compare their heights in any block.
``"relation"`` (favours self-attention)
    Two glyphs from a fixed set of two, one in the left half and one in the right half; label 1
    when they are the same glyph. The answer is a relation between two distant parts; in
    self-attention a position's output is a weighted average over all positions, with weights that
    grow with how similar their features are, whatever the distance.
``"scale"`` (favours Selective Kernel; the field guide's, not chapter 7's)
    One of the clutter task's four 5x5 shapes (the label) in grey, enlarged by nearest-neighbour
    upsampling by 1, 2 or 3 (5, 10 or 15 pixels, strokes 1, 2 or 3 pixels wide), the scale drawn
    independently of the label, at a random position, under pixel noise. The same shape needs a
    different receptive field at each size: a 3x3 filter on the input sees a stroke's edges and
    ends at scale 1 and mostly the flat inside of a stroke at scale 3, where a dilated 3x3 filter
    (a 5x5 field) still spans it. SK chooses, per channel and per image, between a 3x3 and a
    dilated 3x3 branch from the channel means, which the object's size changes; the plain network
    must cover every size with the same filters. The noise (std 0.5) was set with a pilot
    (``scripts/pilots/guide_scale_pilot.py``) so that the plain network of chapter 7's budget
    sits near 75 %, far from both chance (25 %) and 100 %. Where its errors are is not what the
    receptive-field argument suggests: by size (``--by-size``, seeds 0-2) the plain network
    scores 43 % at scale 1, 83 % at scale 2 and 100 % at scale 3, so the task is hardest where a
    one-pixel stroke is hard to see under the noise, not where a stroke is wider than a 3x3
    filter; SK scores 48, 96 and 100 %, most of its gain at scale 2.

Every generator takes ``n`` (number of images), ``size`` (side ``S`` in pixels) and ``seed``. The
defaults (noise levels, number of channels and glyphs) were chosen so that the small CNN of
:mod:`attn_lessons.small_cnn` can learn each task within a few CPU seconds at ``size=16``, while
the hard part (a global statistic, a target among clutter, a long-range comparison) stays hard for
the baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils.data import TensorDataset

from ._validation import check_choice, check_int, check_positive_float, check_seed

#: The default pixel noise of the scale task (see :func:`scale_task`).
NOISE_SCALE = 0.5


@dataclass(frozen=True)
class TaskInfo:
    """What a generated task is: its shape, its classes, and the module it should favour."""

    name: str
    in_channels: int
    num_classes: int
    favours: tuple[str, ...]
    why: str


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(check_seed("seed", seed))


def _check_common(n: int, size: int, min_size: int) -> tuple[int, int]:
    n = check_int("n", n)
    size = check_int("size", size)
    if size < min_size:
        raise ValueError(f"size must be at least {min_size} pixels for this task, got {size}")
    return n, size


def _balanced_labels(n: int, num_classes: int, g: torch.Generator) -> torch.Tensor:
    """``n`` labels with each class as equally often as possible, in random order."""
    labels = torch.arange(n) % num_classes
    return labels[torch.randperm(n, generator=g)]


# ---------------------------------------------------------------------------------------------
# "channel": the label is carried by one of many channels, named by its mean brightness.
# ---------------------------------------------------------------------------------------------
def channel_task(
    n: int = 1024,
    size: int = 24,
    seed: int = 0,
    *,
    channels: int = 4,
    brightness_gap: float = 0.5,
    noise: float = 0.5,
) -> TensorDataset:
    """Images ``(n, channels, size, size)``; label = stripe orientation of the brightest channel.

    Each channel holds stripes ``sin(pi/2 * t + phase)`` of period 4 pixels along rows (label 0,
    horizontal stripes) or columns (label 1, vertical stripes), orientations drawn independently
    per channel, plus a constant brightness ``b_c`` and Gaussian pixel noise of std ``noise``.
    The informative channel gets ``b = max(other b) + brightness_gap``; the others are uniform in
    ``[0, 1)``. A 3x3 patch estimates ``b_c`` with std ``noise / 3``, the whole channel with std
    ``noise / size``, so only a global average separates the channels reliably.
    """
    n, size = _check_common(n, size, 4)
    channels = check_int("channels", channels, minimum=2)
    brightness_gap = check_positive_float("brightness_gap", brightness_gap)
    noise = check_positive_float("noise", noise)
    g = _generator(seed)
    labels = _balanced_labels(n, 2, g)
    informative = torch.randint(channels, (n,), generator=g)
    orientation = torch.randint(2, (n, channels), generator=g)
    orientation[torch.arange(n), informative] = labels  # the informative channel carries the label
    brightness = torch.rand(n, channels, generator=g)
    brightness[torch.arange(n), informative] = -1.0
    brightness[torch.arange(n), informative] = brightness.max(dim=1).values + brightness_gap
    phase = torch.rand(n, channels, 1, 1, generator=g) * 2 * torch.pi
    t = torch.arange(size, dtype=torch.float32)
    rows = t[:, None].expand(size, size)  # (S, S), row index i at (i, j)
    cols = t[None, :].expand(size, size)  # (S, S), column index j at (i, j)
    coord = torch.where(orientation[:, :, None, None] == 0, rows, cols)  # (N, C, S, S)
    stripes = torch.sin(torch.pi / 2 * coord + phase)
    x = stripes + brightness[:, :, None, None]  # (N, C) -> (N, C, 1, 1), broadcast over S x S
    x = x + noise * torch.randn(n, channels, size, size, generator=g)
    return TensorDataset(x, labels)


# ---------------------------------------------------------------------------------------------
# Shapes for "clutter": four 5x5 binary glyphs.
# ---------------------------------------------------------------------------------------------
def _shape_bank() -> torch.Tensor:
    """The four 5x5 shapes of the clutter task: plus, x, square outline, corner ``(4, 5, 5)``."""
    bank = torch.zeros(4, 5, 5)
    bank[0, 2, :] = 1
    bank[0, :, 2] = 1  # plus
    idx = torch.arange(5)
    bank[1, idx, idx] = 1
    bank[1, idx, 4 - idx] = 1  # x
    bank[2, 0, :] = bank[2, 4, :] = bank[2, :, 0] = bank[2, :, 4] = 1  # square outline
    bank[3, 0, :] = 1
    bank[3, :, 0] = 1  # corner (an L turned over)
    return bank


#: Colours of the clutter task's distractors: every mix of R, G, B but pure red, the target's.
_DISTRACTOR_COLOURS = torch.tensor(
    [[0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=torch.float32
)


def clutter_task(
    n: int = 1024,
    size: int = 24,
    seed: int = 0,
    *,
    distractors: int = 6,
    noise: float = 0.2,
) -> TensorDataset:
    """RGB images ``(n, 3, size, size)``: one pure-red shape (the label, 4 classes) among clutter.

    ``distractors`` shapes of random kind and non-red colour (yellow, magenta and white contain
    red, so "any red" is not enough: the target is red *and* not green or blue) are drawn first at
    random positions, then the target on top, then Gaussian noise of std ``noise``.
    """
    n, size = _check_common(n, size, 5)
    distractors = check_int("distractors", distractors, minimum=0)
    noise = check_positive_float("noise", noise)
    g = _generator(seed)
    bank = _shape_bank()
    labels = _balanced_labels(n, 4, g)
    x = torch.zeros(n, 3, size, size)
    span = size - 5 + 1
    red = torch.tensor([1.0, 0.0, 0.0])
    for k in range(n):
        kinds = torch.randint(4, (distractors,), generator=g).tolist()
        colours = torch.randint(len(_DISTRACTOR_COLOURS), (distractors,), generator=g).tolist()
        pos = torch.randint(span, (distractors + 1, 2), generator=g).tolist()
        for kind, colour, (i, j) in zip(kinds, colours, pos[:-1], strict=True):
            _paint(x[k], bank[kind], _DISTRACTOR_COLOURS[colour], i, j)
        i, j = pos[-1]
        _paint(x[k], bank[int(labels[k])], red, i, j)
    x = x + noise * torch.randn(x.shape, generator=g)
    return TensorDataset(x, labels)


def _paint(image: torch.Tensor, glyph: torch.Tensor, colour: torch.Tensor, i: int, j: int) -> None:
    """Draw ``glyph`` (h, w) in ``colour`` (3,) onto ``image`` (3, S, S), corner at (i, j)."""
    h, w = glyph.shape
    patch = image[:, i : i + h, j : j + w]  # (3, h, w), a view into image
    mask = glyph.bool()[None]  # (h, w) -> (1, h, w)
    patch.copy_(torch.where(mask, colour[:, None, None], patch))  # colour (3,) -> (3, 1, 1)


# ---------------------------------------------------------------------------------------------
# "axis": are two distant squares on the same rows?
# ---------------------------------------------------------------------------------------------
def axis_task(
    n: int = 1024,
    size: int = 24,
    seed: int = 0,
    *,
    square: int = 2,
    min_row_gap: int = 3,
    noise: float = 0.3,
) -> TensorDataset:
    """Grey images ``(n, 1, size, size)``: label 1 when two squares share their rows, else 0.

    One ``square x square`` square lies in the left third, one in the right third (columns drawn
    at random there). For label 1 both have the same top row; for label 0 the rows differ by at
    least ``min_row_gap``. The columns, hence the distance, are random, so the label is a
    statement about position along the vertical axis only.
    """
    n, size = _check_common(n, size, 9)
    square = check_int("square", square)
    min_row_gap = check_int("min_row_gap", min_row_gap)
    noise = check_positive_float("noise", noise)
    third = size // 3
    rows = size - square + 1
    # The first square's row r1 is drawn from all rows; a label-0 image needs a row at least
    # min_row_gap away, which the middle row has only if (rows - 1) - (rows - 1) // 2 >= gap.
    widest_gap = (rows - 1) - (rows - 1) // 2
    if third < square or widest_gap < min_row_gap:
        raise ValueError(
            f"size={size} is too small for square={square} and min_row_gap={min_row_gap}: "
            f"the largest gap every row has is {widest_gap} rows (size - square + 1 = {rows} "
            f"rows; square must fit in size // 3 = {third} columns)"
        )
    g = _generator(seed)
    labels = _balanced_labels(n, 2, g)
    x = torch.zeros(n, 1, size, size)
    for k in range(n):
        r1 = int(torch.randint(rows, (1,), generator=g))
        if labels[k] == 1:
            r2 = r1
        else:
            far = [r for r in range(rows) if abs(r - r1) >= min_row_gap]
            r2 = far[int(torch.randint(len(far), (1,), generator=g))]
        c1 = int(torch.randint(third - square + 1, (1,), generator=g))
        c2 = size - third + int(torch.randint(third - square + 1, (1,), generator=g))
        x[k, 0, r1 : r1 + square, c1 : c1 + square] = 1.0
        x[k, 0, r2 : r2 + square, c2 : c2 + square] = 1.0
    x = x + noise * torch.randn(x.shape, generator=g)
    return TensorDataset(x, labels)


# ---------------------------------------------------------------------------------------------
# "relation": are two distant glyphs the same?
# ---------------------------------------------------------------------------------------------
def glyph_bank(count: int = 4, glyph: int = 4) -> torch.Tensor:
    """``count`` distinct random binary glyphs ``(count, glyph, glyph)``, the same for every seed.

    Drawn once from a fixed generator (seed 1234) so that train and test sets share the glyphs;
    each glyph has about half its pixels on.
    """
    count = check_int("count", count, minimum=2)
    glyph = check_int("glyph", glyph, minimum=2)
    distinct = 2 ** (glyph * glyph)
    if count > distinct // 2:
        raise ValueError(
            f"count={count} is too many glyphs of {glyph}x{glyph} pixels: there are only "
            f"{distinct} distinct ones, and drawing more than half of them at random would take "
            f"ever longer; use count <= {distinct // 2} or a larger glyph"
        )
    g = torch.Generator().manual_seed(1234)
    bank: list[torch.Tensor] = []
    seen: set[bytes] = set()
    while len(bank) < count:
        candidate = (torch.rand(glyph, glyph, generator=g) < 0.5).float()
        key = candidate.to(torch.uint8).numpy().tobytes()
        if key not in seen:
            seen.add(key)
            bank.append(candidate)
    return torch.stack(bank)


def relation_task(
    n: int = 1024,
    size: int = 24,
    seed: int = 0,
    *,
    glyphs: int = 2,
    noise: float = 0.1,
) -> TensorDataset:
    """Grey images ``(n, 1, size, size)``: label 1 when the left and right glyphs are the same.

    A glyph from :func:`glyph_bank` is placed at random in the left half, another in the right
    half; half the images (label 1) repeat the first glyph, the others use a different one.
    Counting all glyphs cannot solve it (every image holds exactly two), and neither can a linear
    read-out of per-glyph counts after global pooling: "some glyph appears twice" is not a linear
    function of the counts (with two glyphs it is an exclusive or).
    """
    n, size = _check_common(n, size, 10)
    noise = check_positive_float("noise", noise)
    glyphs = check_int("glyphs", glyphs, minimum=2)  # named here: glyph_bank calls it count
    bank = glyph_bank(glyphs)
    side = bank.shape[-1]
    g = _generator(seed)
    labels = _balanced_labels(n, 2, g)
    first = torch.randint(glyphs, (n,), generator=g)
    shift = torch.randint(1, glyphs, (n,), generator=g)  # a different glyph: first + 1..glyphs-1
    second = torch.where(labels == 1, first, (first + shift) % glyphs)
    half = size // 2
    x = torch.zeros(n, 1, size, size)
    for k in range(n):
        i1, i2 = torch.randint(size - side + 1, (2,), generator=g).tolist()
        j1 = int(torch.randint(half - side + 1, (1,), generator=g))
        j2 = half + int(torch.randint(size - half - side + 1, (1,), generator=g))
        x[k, 0, i1 : i1 + side, j1 : j1 + side] = bank[first[k]]
        x[k, 0, i2 : i2 + side, j2 : j2 + side] = bank[second[k]]
    x = x + noise * torch.randn(x.shape, generator=g)
    return TensorDataset(x, labels)


# ---------------------------------------------------------------------------------------------
# "scale": which shape, drawn at one of several sizes?
# ---------------------------------------------------------------------------------------------
def scale_task(
    n: int = 1024,
    size: int = 24,
    seed: int = 0,
    *,
    scales: tuple[int, ...] = (1, 2, 3),
    noise: float = NOISE_SCALE,
) -> TensorDataset:
    """Grey images ``(n, 1, size, size)``: one shape of the clutter task (the label, 4 classes)
    drawn at a scale drawn from ``scales``, independently of the label.

    The shape is one of :func:`_shape_bank`'s 5x5 glyphs (plus, x, square outline, corner),
    enlarged by nearest-neighbour upsampling by a factor ``s`` (a ``5s x 5s`` glyph with strokes
    ``s`` pixels wide: the whole object grows, as a nearer object does), at a random position,
    plus Gaussian noise of std ``noise``. The label is the shape; the scale is a nuisance drawn
    uniformly and independently of it, so no single receptive-field size fits every object.
    """
    n, size = _check_common(n, size, 5)
    if not isinstance(scales, tuple | list) or not scales:
        raise ValueError(f"scales must be a non-empty tuple of positive integers, got {scales!r}")
    scales = tuple(check_int("scales", s) for s in scales)
    if len(set(scales)) != len(scales):
        raise ValueError(f"scales must be distinct, got {scales!r}")
    if 5 * max(scales) > size:
        raise ValueError(f"size={size} is too small for scales={scales!r}: the largest glyph is "
                         f"5 * {max(scales)} = {5 * max(scales)} pixels wide")
    noise = check_positive_float("noise", noise)
    g = _generator(seed)
    bank = _shape_bank()
    labels = _balanced_labels(n, 4, g)
    scale = torch.tensor(scales)[torch.randint(len(scales), (n,), generator=g)]
    x = torch.zeros(n, 1, size, size)
    for k in range(n):
        s = int(scale[k])
        glyph = torch.kron(bank[int(labels[k])], torch.ones(s, s))  # (5, 5) -> (5s, 5s)
        i, j = torch.randint(size - 5 * s + 1, (2,), generator=g).tolist()
        x[k, 0, i : i + 5 * s, j : j + 5 * s] = glyph
    x = x + noise * torch.randn(x.shape, generator=g)
    return TensorDataset(x, labels)


#: The tasks by name: generator and description.
TASKS: dict[str, tuple[Callable[..., TensorDataset], TaskInfo]] = {
    "channel": (
        channel_task,
        TaskInfo("channel", 4, 2, ("se", "eca"),
                 "the informative channel is named by its global mean, the statistic SE and "
                 "ECA gates are computed from"),
    ),
    "clutter": (
        clutter_task,
        TaskInfo("clutter", 3, 4, ("cbam", "self_attention"),
                 "a spatial gate can keep the target's pixels and suppress the clutter before "
                 "global pooling mixes them"),
    ),
    "axis": (
        axis_task,
        TaskInfo("axis", 1, 2, ("coordatt",),
                 "pooling a whole row while keeping the row index compares the heights of two "
                 "distant squares, which a plain CNN can do only in its coarse last block"),
    ),
    "relation": (
        relation_task,
        TaskInfo("relation", 1, 2, ("self_attention",),
                 "attention weights grow with feature similarity at any distance, so matching "
                 "glyphs can find each other"),
    ),
    "scale": (
        scale_task,
        TaskInfo("scale", 1, 4, ("sk",),
                 "the same shape comes at three sizes, so the receptive field that fits it "
                 "depends on the image, which SK chooses per channel between a 3x3 and a dilated "
                 "3x3 branch"),
    ),
}

#: The tasks of chapter 7 (its experiments, figures and checkpoints iterate over these only);
#: ``"scale"`` was added for the field guide's Selective Kernel.
CH7_TASKS = ("channel", "clutter", "axis", "relation")


def task_info(name: str) -> TaskInfo:
    """The :class:`TaskInfo` of task ``name`` (one of ``TASKS``)."""
    return TASKS[check_choice("task", name, TASKS)][1]


def make_task(name: str, n: int = 1024, size: int = 24, seed: int = 0, **kwargs) -> TensorDataset:
    """Generate task ``name`` (one of ``TASKS``) with ``n`` images of side ``size``."""
    return TASKS[check_choice("task", name, TASKS)][0](n, size, seed, **kwargs)


# ---------------------------------------------------------------------------------------------
# "distractor": which half holds the brightest square, when every channel holds a square?
# (chapter 4's order experiment; not in TASKS, because it also returns where the answer is)
# ---------------------------------------------------------------------------------------------
def distractor_task(
    n: int = 512,
    size: int = 8,
    seed: int = 0,
    *,
    channels: int = 8,
    signal: float = 2.0,
    distractor: float = 1.0,
    noise: float = 0.5,
    square: int = 2,
) -> TensorDataset:
    """Images ``(n, channels, size, size)``; label = the half (0 left, 1 right) of the target.

    Every channel holds one ``square x square`` square in its left or right half, at a random row
    and column; one channel per image, the *target* (drawn at random), holds it at amplitude
    ``signal``, the others (distractors) at ``distractor``, with halves drawn independently.
    Gaussian noise of std ``noise`` on every pixel. A readout that sums right-minus-left over all
    channels sees the distractors' squares as noise; a channel gate can find the target channel
    by its maximum, a spatial gate the target's pixels by the channel-wise maximum.

    Returns a :class:`~torch.utils.data.TensorDataset` of four tensors: images, labels ``(n,)``,
    the target channel ``(n,)`` and the target square's mask ``(n, size, size)`` (bool), so that a
    gate can be scored against where the answer is.
    """
    n, size = _check_common(n, size, 4)
    channels = check_int("channels", channels, minimum=2)
    signal = check_positive_float("signal", signal)
    distractor = check_positive_float("distractor", distractor)
    noise = check_positive_float("noise", noise)
    square = check_int("square", square)
    half = size // 2
    if square > half:
        raise ValueError(f"square={square} does not fit in half of size={size}")
    g = _generator(seed)
    labels = _balanced_labels(n, 2, g)
    target = torch.randint(channels, (n,), generator=g)
    rows = torch.randint(size - square + 1, (n, channels), generator=g)
    side = torch.randint(2, (n, channels), generator=g)
    side[torch.arange(n), target] = labels  # the target's square is in the labelled half
    cols = side * half + torch.randint(half - square + 1, (n, channels), generator=g)
    amplitude = torch.full((n, channels), distractor)
    amplitude[torch.arange(n), target] = signal
    t = torch.arange(size)
    in_rows = (t >= rows[..., None]) & (t < rows[..., None] + square)  # (N, C, S): rows covered
    in_cols = (t >= cols[..., None]) & (t < cols[..., None] + square)  # (N, C, S): columns covered
    squares = in_rows[..., :, None] & in_cols[..., None, :]  # (N, C, S, S)
    x = noise * torch.randn(n, channels, size, size, generator=g)
    x = x + amplitude[..., None, None] * squares  # (N, C) -> (N, C, 1, 1)
    mask = squares[torch.arange(n), target]  # (N, S, S): the target's square
    return TensorDataset(x, labels, target, mask)


# "lookup": token sequences in which one query token must find the one key that matches it.
# ---------------------------------------------------------------------------------------------
def lookup_task(
    n: int = 1024,
    length: int = 12,
    seed: int = 0,
    *,
    num_classes: int = 4,
    noise: float = 0.1,
) -> TensorDataset:
    """Token sequences ``(n, length, 2 (length - 1) + num_classes)``, labels and target positions.

    Every token is ``[cue | key | value]``: a one-hot cue over ``S = length - 1`` symbols, a one-hot
    key over the same symbols, a one-hot value over ``num_classes`` classes. Token 0 is the query:
    it carries a cue ``s`` and nothing else. Tokens 1 to ``length - 1`` carry the ``S`` keys in a
    random order (each exactly once) and random values; the label is the value of the one token
    whose key is ``s``, and its position is returned as the third tensor, so attention weights can
    be scored where the data know the answer. Gaussian noise of standard deviation ``noise`` is
    added to every entry. The token at the target position is the only one that matters: a model
    that averages all tokens with equal weights sees the values' counts, not which one is asked for.

    Returns a :class:`~torch.utils.data.TensorDataset` of ``tokens`` (float32), ``labels`` and
    ``targets`` (int64, ``1 <= target < length``), deterministic from ``seed``.
    """
    n = check_int("n", n)
    length = check_int("length", length, minimum=3)
    num_classes = check_int("num_classes", num_classes, minimum=2)
    noise = 0.0 if noise == 0 else check_positive_float("noise", noise)  # 0: exact one-hot tokens
    g = _generator(seed)
    symbols = length - 1
    labels = _balanced_labels(n, num_classes, g)
    cue = torch.randint(symbols, (n,), generator=g)
    keys = torch.argsort(torch.rand(n, symbols, generator=g), dim=1)  # (n, S): a permutation each
    values = torch.randint(num_classes, (n, symbols), generator=g)    # (n, S)
    slot = (keys == cue[:, None]).float().argmax(1)                   # (n,) index of the match
    values[torch.arange(n), slot] = labels
    tokens = torch.zeros(n, length, 2 * symbols + num_classes)
    tokens[torch.arange(n), 0, cue] = 1.0                             # the query's cue
    rest = tokens[:, 1:]                                              # (n, S, width), a view
    rest.scatter_(2, (symbols + keys)[:, :, None], 1.0)
    rest.scatter_(2, (2 * symbols + values)[:, :, None], 1.0)
    tokens = tokens + noise * torch.randn(tokens.shape, generator=g)
    return TensorDataset(tokens, labels, slot + 1)
