"""Pictures of what a network computes: feature maps, attention heat maps, gates side by side.

All functions take tensors captured by :func:`attn_lessons.small_cnn.capture` (on any device; they
are moved to the CPU here) and return a matplotlib ``Figure``, so a notebook can show it and a test
can inspect it. A heat map is always brought to the input's size by bilinear upsampling and scaled
to [0, 1] per image, so maps from blocks of different resolution can be laid side by side.

Figure text on a phone: a PNG figure is shown scaled to the page's column, so its text shrinks with
it. :func:`book_style`, inside IPython, makes every PNG a notebook shows record the size of its
smallest text, in pixels of the PNG, in a text chunk of the file (:data:`TEXT_SIZE_KEY`);
the book's build (``book/_ext/figure_text.py``) reads it and never shows the figure smaller than
the width at which that text is 9 px.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from ._validation import check_int, check_tensor
from .factory import ATTENTION_KINDS

#: Colour map of every map and heat map: perceptually uniform, readable with the common colour
#: vision deficiencies and in greyscale (never ``jet``, ``rainbow`` or ``hsv``).
CMAP = "viridis"

#: The figure style of the book: an opaque white figure and axes, whatever the reader's
#: matplotlib defaults, so a figure stays readable on a dark page (the book's dark mode, a dark
#: JupyterLab or Colab theme), and viridis as the default colour map.
BOOK_RC = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "image.cmap": CMAP,
}


def book_style(figure_catalogue: str | Path | None = None) -> None:
    """Apply :data:`BOOK_RC` to matplotlib's defaults (for a notebook's own figures), and, inside
    IPython, record in every PNG figure the notebook shows the size of its smallest text.

    With ``figure_catalogue`` (a ``.po`` file of figure text, English to Chinese), every figure
    shown also carries a copy drawn with its text translated, in its PNG's metadata
    (:mod:`attn_lessons.figure_translation`): the book's Chinese edition shows that copy.

    The functions of this module draw in this style already (inside ``plt.rc_context``). The book's
    build calls this in every notebook's kernel before the first cell (``book/_ext/figure_text.py``
    names ``book/_ext/figure_text_startup.py`` in ``PYTHONSTARTUP``), so no notebook calls it
    itself. Outside IPython only the style is applied.
    """
    plt.rcParams.update(BOOK_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: no display formatter to extend
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        catalogue = None
        if figure_catalogue is not None:
            from .figure_translation import load_catalogue

            catalogue = load_catalogue(figure_catalogue)
        record_text_size_in_shown_figures(shell, catalogue=catalogue)


# ------------------------------------------------------------------------------------------------
# The smallest text of a figure, recorded in its PNG
# ------------------------------------------------------------------------------------------------

#: Keyword of the PNG text chunk (``tEXt``) holding a figure's smallest text size, in pixels of
#: the PNG (``"12.50"``), or ``"none"`` for a figure without text.
TEXT_SIZE_KEY = "attn_lessons smallest text px"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def smallest_text_points(fig: Figure) -> float | None:
    """The font size, in points, of the smallest text that drawing ``fig`` puts on the canvas.

    The figure is drawn once more on a renderer that notes the font of every non-empty string it
    is asked to draw (titles, labels, tick labels, legends, annotations, mathtext), so only text
    that is really drawn counts: not the tick labels of an axis turned off, not an invisible
    artist. ``None`` when the figure draws no text.
    """
    from matplotlib.backends.backend_agg import RendererAgg

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    sizes: list[float] = []

    class _NotingRenderer(RendererAgg):
        def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
            if str(s).strip():
                sizes.append(prop.get_size_in_points())

        def draw_tex(self, gc, x, y, s, prop, angle, *, mtext=None):
            if str(s).strip():
                sizes.append(prop.get_size_in_points())

    width, height = fig.bbox.size  # pixels at the figure's dpi
    fig.draw(_NotingRenderer(max(1, math.ceil(width)), max(1, math.ceil(height)), fig.dpi))
    return min(sizes, default=None)


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """``[(type, data), ...]`` of a PNG file's bytes (ValueError when they are not a PNG)."""
    if not isinstance(png, bytes | bytearray) or not png.startswith(_PNG_SIGNATURE):
        raise ValueError(f"not a PNG file (it starts with {bytes(png[:8])!r})")
    chunks, at = [], len(_PNG_SIGNATURE)
    while at + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        chunks.append((kind, bytes(png[at + 8:at + 8 + length])))
        at += 12 + length  # length, type, data, CRC
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR":
        raise ValueError("not a PNG file: its first chunk is not IHDR")
    return chunks


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_dpi(png: bytes) -> float | None:
    """The resolution a PNG declares (its ``pHYs`` chunk, in dots per inch), or ``None``."""
    for kind, data in _png_chunks(png):
        if kind == b"pHYs" and len(data) == 9 and data[8] == 1:  # unit 1: per metre
            return struct.unpack(">I", data[:4])[0] * 0.0254
    return None


def record_text_chunk(png: bytes, key: str, value: str) -> bytes:
    """``png`` with a ``tEXt`` chunk ``key`` saying ``value`` (Latin-1 text), right after its
    header; an earlier chunk of that key is replaced, the image itself is unchanged."""
    if not isinstance(key, str) or not key or not isinstance(value, str):
        raise TypeError(f"key and value must be str (key non-empty), got {key!r}, {value!r}")
    keyword = key.encode("latin-1")
    chunks = [(k, d) for k, d in _png_chunks(png)
              if not (k == b"tEXt" and d.split(b"\0", 1)[0] == keyword)]
    chunks.insert(1, (b"tEXt", keyword + b"\0" + value.encode("latin-1")))
    return _PNG_SIGNATURE + b"".join(_chunk(k, d) for k, d in chunks)


def recorded_text_chunk(png: bytes | str | Path, key: str) -> str | None:
    """The value of a PNG's ``tEXt`` chunk ``key`` (bytes or a path), or ``None``."""
    if isinstance(png, str | Path):
        png = Path(png).read_bytes()
    prefix = key.encode("latin-1") + b"\0"
    for kind, data in _png_chunks(png):
        if kind == b"tEXt" and data.startswith(prefix):
            return data[len(prefix):].decode("latin-1")
    return None


def record_text_size(png: bytes, px: float | None) -> bytes:
    """``png`` with a ``tEXt`` chunk :data:`TEXT_SIZE_KEY` saying ``px`` (``None``: no text).

    An earlier record is replaced; the image itself is unchanged.
    """
    if px is not None and not (isinstance(px, int | float) and math.isfinite(px) and px > 0):
        raise ValueError(f"px must be a positive number of pixels or None, got {px!r}")
    return record_text_chunk(png, TEXT_SIZE_KEY, "none" if px is None else f"{px:.2f}")


def recorded_text_size(png: bytes | str | Path) -> float | None:
    """The smallest text size recorded in a PNG (bytes or a path), in pixels of the PNG.

    ``math.inf`` for a figure recorded as having no text; ``None`` when nothing is recorded (a
    PNG drawn without :func:`book_style`).
    """
    value = recorded_text_chunk(png, TEXT_SIZE_KEY)
    if value is None:
        return None
    return math.inf if value == "none" else float(value)


def figure_png_with_text_size(fig: Figure, png: bytes) -> bytes:
    """``png``, a picture of ``fig``, with the size of ``fig``'s smallest text recorded in it.

    The size in pixels is the size in points at the resolution the PNG declares (the dpi it was
    saved at), or at the figure's dpi when it declares none.
    """
    points = smallest_text_points(fig)
    dpi = png_dpi(png) or fig.dpi
    return record_text_size(png, None if points is None else points * dpi / 72)


def _recording(formatter: Callable, catalogue: Mapping[str, str] | None = None) -> Callable:
    """An IPython PNG formatter for figures that records the text size in what ``formatter``
    returns (PNG bytes, or base64 text as matplotlib-inline returns it). With a ``catalogue``
    of figure text it returns ``(png, metadata)``, the metadata holding the figure's translated
    copy (:func:`attn_lessons.figure_translation.draw_translated`)."""

    def record(fig):
        shown = formatter(fig)
        if shown is None:
            return shown
        metadata = None
        if isinstance(shown, tuple):  # (data, metadata), as the retina formatter returns
            shown, metadata = shown
        if isinstance(shown, str):
            png = base64.b64decode(shown)
            shown = base64.b64encode(figure_png_with_text_size(fig, png)).decode("ascii")
        else:
            shown = figure_png_with_text_size(fig, bytes(shown))
        if catalogue is not None:
            from .figure_translation import LANGUAGE, METADATA_KEY, draw_translated

            metadata = dict(metadata or {})
            metadata[METADATA_KEY] = {LANGUAGE: draw_translated(fig, formatter, catalogue)}
        return shown if metadata is None else (shown, metadata)

    record.records_text_size = True
    return record


def record_text_size_in_shown_figures(shell, catalogue: Mapping[str, str] | None = None) -> None:
    """Make the PNG of every figure ``shell`` (IPython) shows record its smallest text size (and,
    with a figure-text ``catalogue``, carry its translated copy: :func:`_recording`).

    The shell's PNG formatter for figures is wrapped. matplotlib's inline backend installs its own
    formatter when it is loaded, which pyplot does lazily (usually in the middle of a notebook's
    first plotting cell, whose ``plt.show()`` would then bypass the wrapping): the backend is
    loaded here first. The wrapping is checked again after every execution, should a cell
    install another formatter (``%config InlineBackend.figure_formats``).
    """
    import matplotlib

    plt.switch_backend(matplotlib.get_backend())  # loaded now, if pyplot had not loaded it yet
    png = shell.display_formatter.formatters["image/png"]

    def wrap(*_args) -> None:
        try:
            current = png.lookup_by_type(Figure)
        except KeyError:
            return
        if not getattr(current, "records_text_size", False):
            png.for_type(Figure, _recording(current, catalogue))

    wrap()
    if not getattr(shell, "_attn_records_text_size", False):
        shell.events.register("post_execute", wrap)
        shell._attn_records_text_size = True


def _normalise(m: torch.Tensor) -> torch.Tensor:
    """Scale a map to [0, 1] (a constant map becomes all zeros)."""
    m = m - m.min()
    top = m.max()
    return m / top if top > 0 else m


def upsample(m: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a 2-D map ``(h, w) -> size``."""
    m = check_tensor("map", m, ndim=2)
    return F.interpolate(m[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    # (h, w) -> (1, 1, h, w) -> (1, 1, H, W) -> (H, W)


def as_image(x: torch.Tensor) -> torch.Tensor:
    """An input image ``(C, H, W)`` as something ``imshow`` can draw: ``(H, W, 3)`` or ``(H, W)``.

    One channel is shown in grey, three as RGB; with more channels the first three are used.
    Each image is scaled to [0, 1] for display.
    """
    x = check_tensor("image", x, ndim=3).detach().cpu().float()
    x = x[0] if x.shape[0] < 3 else x[:3].permute(1, 2, 0)  # (3, H, W) -> (H, W, 3)
    return _normalise(x)


def feature_grid(fmap: torch.Tensor, *, max_channels: int = 16, title: str = "") -> Figure:
    """The channels of one feature map ``(C, H, W)`` as a grid of small images."""
    with plt.rc_context(BOOK_RC):
        return _feature_grid(fmap, max_channels=max_channels, title=title)


def _feature_grid(fmap: torch.Tensor, *, max_channels: int, title: str) -> Figure:
    fmap = check_tensor("fmap", fmap, ndim=3).detach().cpu().float()
    max_channels = check_int("max_channels", max_channels)
    if fmap.shape[0] == 0:
        raise ValueError(f"fmap has no channels (shape {tuple(fmap.shape)}): nothing to draw")
    n = min(max_channels, fmap.shape[0])
    cols = min(8, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(fmap[k].numpy(), cmap=CMAP)
            ax.set_title(f"ch {k}", fontsize=7)
    fig.suptitle(title or f"{n} of {fmap.shape[0]} channels, {fmap.shape[1]}x{fmap.shape[2]}")
    return fig


def top_channels_heatmap(
    fmap: torch.Tensor, weights: torch.Tensor, size: tuple[int, int], k: int = 3
) -> torch.Tensor:
    """The ``k`` highest-weighted channels of ``fmap`` ``(C, h, w)``, weighted, summed, upsampled.

    ``weights`` ``(C,)`` are a channel gate (SE, ECA, CBAM's channel gate). Returns ``size`` in
    [0, 1]: where the channels the gate opened most are active.
    """
    fmap = check_tensor("fmap", fmap, ndim=3).detach().cpu().float()
    weights = check_tensor("weights", weights, ndim=1).detach().cpu().float()
    if weights.shape[0] != fmap.shape[0]:
        raise ValueError(
            f"weights has {weights.shape[0]} entries but fmap has {fmap.shape[0]} channels"
        )
    k = min(check_int("k", k), fmap.shape[0])
    top = weights.topk(k).indices
    m = (weights[top, None, None] * fmap[top]).sum(dim=0)  # (k,) -> (k, 1, 1); (k, h, w) -> (h, w)
    return _normalise(upsample(m, size))


def attention_heatmap(
    kind: str,
    captured: Mapping[str, torch.Tensor],
    block: int,
    index: int,
    size: tuple[int, int],
    k: int = 3,
) -> torch.Tensor:
    """Each module's own view of "where", for image ``index`` at ``block``, as a ``size`` map.

    - ``"se"``, ``"eca"``: the gate's ``k`` highest-weighted channels
      (:func:`top_channels_heatmap`);
      a channel gate has no spatial map of its own.
    - ``"cbam"``: the spatial gate ``M_s`` ``(1, h, w)``.
    - ``"coordatt"``: ``a_h(i) a_w(j)`` averaged over channels, the factorised gate.
    - ``"self_attention"``: attention each position *receives*, averaged over queries and heads.
    - ``"none"``: the mean activation over channels, for comparison.
    """
    if kind not in ATTENTION_KINDS:
        raise ValueError(
            f"unknown attention kind {kind!r}; expected one of {list(ATTENTION_KINDS)}"
        )
    pre = captured[f"block{block}.pre"][index].detach().cpu().float()  # (C, h, w)
    if kind in ("se", "eca"):
        gate = captured[f"block{block}.gate"][index].reshape(-1)  # (C,) or (1, C) -> (C,)
        return top_channels_heatmap(pre, gate, size, k)
    if kind in SPATIAL_MAP_KINDS:
        m = spatial_maps(kind, captured, block)[index]  # (B, h, w) -> (h, w)
    else:
        m = pre.mean(dim=0)  # (C, h, w) -> (h, w)
    return _normalise(upsample(m.detach().cpu().float(), size))


#: The kinds whose module computes a spatial map of its own (:func:`spatial_maps`).
SPATIAL_MAP_KINDS = ("cbam", "coordatt", "self_attention")


def spatial_maps(kind: str, captured: Mapping[str, torch.Tensor], block: int) -> torch.Tensor:
    """A module's own spatial map ``(B, h, w)`` at ``block``, raw (not resized, not rescaled).

    ``captured`` is what :func:`~attn_lessons.small_cnn.capture` returned. For ``"cbam"`` the
    spatial gate ``M_s``; for ``"coordatt"`` the product of the directional gates
    ``a_h(i) a_w(j)`` averaged over channels; for ``"self_attention"`` the attention each position
    receives, averaged over queries and heads. Chapter 7 scores these maps against the target,
    and chapter 8 scores them beside Grad-CAM and LayerCAM (:mod:`attn_lessons.heatmaps`).
    """
    if kind not in SPATIAL_MAP_KINDS:
        raise ValueError(f"attention kind {kind!r} has no spatial map of its own; expected one "
                         f"of {list(SPATIAL_MAP_KINDS)}")
    block = check_int("block", block, minimum=0)
    key = f"block{block}.pre"
    if key not in captured:
        raise ValueError(f"captured holds no {key!r}: block {block} was not captured "
                         f"(keys: {sorted(captured)[:6]}...)")
    pre = captured[key]  # (B, C, h, w)
    if kind == "cbam":
        return captured[f"block{block}.spatial.gate"][:, 0]  # (B, 1, h, w) -> (B, h, w)
    if kind == "coordatt":
        a_h = captured[f"block{block}.gate_h"]  # (B, C, h, 1)
        a_w = captured[f"block{block}.gate_w"]  # (B, C, 1, w)
        return (a_h * a_w).mean(dim=1)  # (B, C, h, 1) * (B, C, 1, w) -> (B, C, h, w) -> (B, h, w)
    weights = captured[f"block{block}.weights"]  # (B, heads, hw, hw), rows = queries
    return weights.mean(dim=(1, 2)).reshape(-1, *pre.shape[2:])  # (B, hw) -> (B, h, w)


def compare_attention(
    images: torch.Tensor,
    captured_by_kind: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    block: int = 0,
    k: int = 3,
    alpha: float = 0.55,
    row_titles: Sequence[str] | None = None,
) -> Figure:
    """A grid: one row per image, the input, then each module's heat map overlaid on it.

    ``captured_by_kind`` maps an attention kind to what :func:`~attn_lessons.small_cnn.capture`
    returned for a network of that kind on the same ``images`` ``(B, C, H, W)``. Every heat map
    is in [0, 1] and drawn on that one scale, with one colour bar.
    """
    with plt.rc_context(BOOK_RC):
        return _compare_attention(images, captured_by_kind, block=block, k=k, alpha=alpha,
                                  row_titles=row_titles)


def _compare_attention(images, captured_by_kind, *, block, k, alpha, row_titles) -> Figure:
    images = check_tensor("images", images, ndim=4).detach().cpu()
    block = check_int("block", block, minimum=0)
    if not captured_by_kind:
        raise ValueError("captured_by_kind is empty: capture at least one network")
    size = tuple(images.shape[2:])
    kinds = list(captured_by_kind)
    n = images.shape[0]
    if n == 0:
        raise ValueError(f"images holds no image (shape {tuple(images.shape)}): nothing to draw")
    if row_titles is not None and (isinstance(row_titles, str) or len(row_titles) != n):
        raise ValueError(f"row_titles must hold one title per image ({n}), got {row_titles!r}")
    fig, axes = plt.subplots(
        n, len(kinds) + 1, figsize=(1.6 * (len(kinds) + 1), 1.6 * n + 0.5), squeeze=False
    )
    for i in range(n):
        picture = as_image(images[i]).numpy()
        axes[i, 0].imshow(picture, cmap="gray")
        axes[i, 0].set_ylabel(row_titles[i] if row_titles else f"image {i}", fontsize=8)
        if i == 0:
            axes[i, 0].set_title("input", fontsize=9)
        for j, kind in enumerate(kinds, start=1):
            heat = attention_heatmap(kind, captured_by_kind[kind], block, i, size, k)
            axes[i, j].imshow(picture, cmap="gray")
            shown = axes[i, j].imshow(heat.numpy(), cmap=CMAP, alpha=alpha, vmin=0, vmax=1)
            if i == 0:
                axes[i, j].set_title(kind, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Where each module looks (block {block + 1}; yellow = high)")
    fig.tight_layout()
    # After tight_layout: the bar takes its room from the grid (tight_layout would warn).
    fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8, label="heat, scaled to [0, 1]")
    return fig


def channel_gates(
    captured_by_kind: Mapping[str, Mapping[str, torch.Tensor]], *, block: int = 0, index: int = 0
) -> Figure:
    """Bar charts of each module's per-channel gate for one image (kinds without one are skipped).

    SE and ECA have one gate per channel; CBAM's channel gate is shown; Coordinate Attention's
    ``a_h`` and ``a_w`` are averaged over positions to one value per channel.
    """
    with plt.rc_context(BOOK_RC):
        return _channel_gates(captured_by_kind, block=block, index=index)


def _channel_gates(captured_by_kind, *, block: int, index: int) -> Figure:
    bars = {}
    for kind, captured in captured_by_kind.items():
        if kind in ("se", "eca"):
            bars[kind] = captured[f"block{block}.gate"][index].reshape(-1)
        elif kind == "cbam":
            bars[kind] = captured[f"block{block}.channel.gate"][index]
        elif kind == "coordatt":
            a_h = captured[f"block{block}.gate_h"][index].mean(dim=(1, 2))  # (C, h, 1) -> (C,)
            a_w = captured[f"block{block}.gate_w"][index].mean(dim=(1, 2))  # (C, 1, w) -> (C,)
            bars[kind] = a_h * a_w
    if not bars:
        raise ValueError("none of the captured networks has a channel gate")
    fig, axes = plt.subplots(1, len(bars), figsize=(2.6 * len(bars), 2.4), squeeze=False)
    for ax, (kind, gate) in zip(axes[0], bars.items(), strict=True):
        gate = gate.detach().cpu().float()
        ax.bar(range(len(gate)), gate.tolist())
        ax.set_ylim(0, 1)
        ax.set_title(kind)
        ax.set_xlabel("channel")
    axes[0, 0].set_ylabel("gate value")
    fig.suptitle(f"Channel gates, block {block + 1}, image {index}")
    fig.tight_layout()
    return fig
