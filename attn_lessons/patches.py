r"""Images as patch tokens (Dosovitskiy et al., ICLR 2021, arXiv:2010.11929, section 3.1).

An image :math:`x \in \mathbb{R}^{C \times H \times W}` is cut into non-overlapping
:math:`p \times p` patches; each patch, flattened to :math:`C p^2` numbers, is mapped to a
token of width d by one matrix :math:`E \in \mathbb{R}^{C p^2 \times d}` (plus a bias):

.. math::

    n = \frac{HW}{p^2}, \qquad z_i = \mathrm{vec}(x_{\text{patch } i})^\top E + b
                                                          (patch tokens, a (n, d) matrix)

which is exactly a convolution with kernel p and stride p (no two windows overlap, so each output
position sees one patch): ``nn.Conv2d(C, d, p, stride=p)``. A learned class token
:math:`z_{\text{cls}}` is prepended, and a position vector added to every token:

.. math::

    Z_0 = [z_{\text{cls}}; z_1; \dots; z_n] + P, \qquad P \in \mathbb{R}^{(n + 1) \times d}.

``positions="learned"`` makes P a parameter (ViT's choice: one learned vector per position,
1-D, the grid not built in); ``positions="sincos"`` uses the fixed 2-D sinusoid
:func:`sincos_2d_positions` with the Transformer's geometric frequencies
:math:`\omega_f = b^{-f/(d/4)}` (the class token's position vector is 0); ``positions="none"``
adds nothing. ViT initialises the class token and learned positions with a truncated normal of
standard deviation 0.02; here a normal of that standard deviation (the tails make no difference
at this size).
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import (
    check_bool,
    check_choice,
    check_feature_map,
    check_int,
    check_positive_float,
)

__all__ = [
    "POSITIONS",
    "PatchEmbedding",
    "patch_attention_macs",
    "patch_embedding_num_params",
    "sincos_2d_positions",
]

#: The kinds of position vector :class:`PatchEmbedding` can add.
POSITIONS = ("learned", "sincos", "none")


def sincos_2d_positions(height: int, width: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    r"""Fixed 2-D sinusoidal positions, (height·width, dim), rows in row-major order (r·W + c).

    With :math:`F = d/4` frequencies :math:`\omega_f = b^{-f/F}`, :math:`f = 0, \dots, F-1`
    (from 1 down to nearly :math:`1/b`, a geometric series: the Transformer's schedule
    :math:`10000^{-2i/d}` for each of the two axes), the vector of position (r, c) is
    ``[sin(ω r), cos(ω r), sin(ω c), cos(ω c)]``, each block of F entries. Its dot product with
    the vector of (r', c') is :math:`\sum_f \cos \omega_f (r - r') + \cos \omega_f (c - c')`,
    a function of the offset alone. ``dim`` must be a positive multiple of 4.
    """
    height = check_int("height", height)
    width = check_int("width", width)
    dim = check_int("dim", dim)
    base = check_positive_float("base", base)
    if dim % 4 != 0:
        raise ValueError(f"dim must be a multiple of 4 (sin and cos of rows and columns), "
                         f"got {dim}")
    f = dim // 4
    omega = base ** (-torch.arange(f, dtype=torch.float64) / f)              # (F,)
    r, c = torch.meshgrid(torch.arange(height, dtype=torch.float64),
                          torch.arange(width, dtype=torch.float64), indexing="ij")
    r, c = r.reshape(-1, 1) * omega, c.reshape(-1, 1) * omega                 # (HW, F) each
    return torch.cat([r.sin(), r.cos(), c.sin(), c.cos()], dim=1).float()    # (HW, 4F = dim)


class PatchEmbedding(nn.Module):
    r"""Patch tokens: a stride-p convolution, a class token, position vectors (module docstring).

    ``x`` (B, C, H, W) -> tokens (B, 1 + n, dim) with ``class_token=True`` (token 0 is the class
    token), (B, n, dim) without, :math:`n = HW/p^2` in row-major patch order. H and W must be
    multiples of ``patch_size``. ``positions="learned"`` needs the grid fixed in advance:
    ``image_size`` (H, W) or an int for a square image; inputs of another size are refused.
    """

    def __init__(
        self,
        in_channels: int,
        dim: int,
        patch_size: int,
        image_size: int | tuple[int, int] | None = None,
        class_token: bool = True,
        positions: str = "learned",
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels)
        self.dim = check_int("dim", dim)
        self.patch_size = check_int("patch_size", patch_size)
        self.class_token = check_bool("class_token", class_token)
        self.positions = check_choice("positions", positions, POSITIONS)
        if image_size is not None:
            size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
            if len(size) != 2:
                raise ValueError(f"image_size must be an int or (H, W), got {image_size!r}")
            self.image_size = tuple(check_int("image_size", s) for s in size)
            self._check_divisible(*self.image_size)
        else:
            self.image_size = None
        if self.positions == "learned" and self.image_size is None:
            raise ValueError("positions='learned' needs image_size: one learned vector per patch "
                             "position, so the number of patches must be known")
        if self.positions == "sincos" and self.dim % 4 != 0:
            raise ValueError(f"positions='sincos' needs dim a multiple of 4, got {self.dim}")
        p = self.patch_size
        self.proj = nn.Conv2d(self.in_channels, self.dim, kernel_size=p, stride=p)
        self.cls = nn.Parameter(torch.randn(1, 1, self.dim) * 0.02) if self.class_token else None
        if self.positions == "learned":
            n = self.num_patches
            self.pos = nn.Parameter(torch.randn(1, n + int(self.class_token), self.dim) * 0.02)
        else:
            self.pos = None

    def _check_divisible(self, height: int, width: int) -> None:
        p = self.patch_size
        if height % p or width % p:
            raise ValueError(f"the image's height and width must be multiples of patch_size={p}, "
                             f"got {height} x {width}")

    @property
    def num_patches(self) -> int:
        """n = HW / p² for the fixed ``image_size`` (ValueError without one)."""
        if self.image_size is None:
            raise ValueError("num_patches needs image_size")
        h, w = self.image_size
        return (h // self.patch_size) * (w // self.patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_feature_map(x, self.in_channels)
        b, _, h, w = x.shape
        self._check_divisible(h, w)
        if self.positions == "learned" and (h, w) != self.image_size:
            raise ValueError(f"this module learned positions for {self.image_size[0]} x "
                             f"{self.image_size[1]} images, got {h} x {w}")
        tokens = self.proj(x)                          # (B, C, H, W) -> (B, d, H/p, W/p)
        gh, gw = tokens.shape[2], tokens.shape[3]
        tokens = tokens.flatten(2).transpose(1, 2)     # (B, d, H/p, W/p) -> (B, n, d)
        if self.class_token:
            cls = self.cls.expand(b, -1, -1)           # (1, 1, d) -> (B, 1, d)
            tokens = torch.cat([cls, tokens], dim=1)   # -> (B, 1 + n, d)
        if self.positions == "learned":
            tokens = tokens + self.pos                 # (1, [1 +] n, d) broadcast over B
        elif self.positions == "sincos":
            pos = sincos_2d_positions(gh, gw, self.dim).to(tokens)  # (n, d)
            if self.class_token:
                pos = torch.cat([pos.new_zeros(1, self.dim), pos])   # (1 + n, d)
            tokens = tokens + pos                      # broadcast over B
        return tokens

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, dim={self.dim}, patch_size={self.patch_size}, "
                f"image_size={self.image_size}, class_token={self.class_token}, "
                f"positions={self.positions!r}")


def patch_embedding_num_params(
    in_channels: int,
    dim: int,
    patch_size: int,
    num_patches: int | None = None,
    class_token: bool = True,
    positions: str = "learned",
) -> int:
    r"""Parameters of :class:`PatchEmbedding`: :math:`C p^2 d + d` for the convolution, plus d for
    the class token, plus :math:`(n + 1) d` learned positions (:math:`n d` without a class token).
    ``num_patches`` (n) is needed only for ``positions="learned"``."""
    in_channels = check_int("in_channels", in_channels)
    dim = check_int("dim", dim)
    patch_size = check_int("patch_size", patch_size)
    class_token = check_bool("class_token", class_token)
    positions = check_choice("positions", positions, POSITIONS)
    count = in_channels * patch_size**2 * dim + dim + (dim if class_token else 0)
    if positions == "learned":
        if num_patches is None:
            raise ValueError("positions='learned' needs num_patches (n = HW / p²)")
        count += (check_int("num_patches", num_patches) + int(class_token)) * dim
    return count


def patch_attention_macs(
    height: int, width: int, patch_size: int, dim: int, in_channels: int = 3
) -> dict[str, int]:
    r"""Multiply-adds of the patch embedding and of one attention layer on its n = HW/p² tokens
    (one head or many: the total does not depend on h), by part, without the class token:

    - ``"patchify"``: :math:`n \cdot C p^2 \cdot d = HWCd`, independent of p (every pixel is
      read once);
    - ``"projections"``: :math:`4 n d^2` (queries, keys, values and the output);
    - ``"scores_and_average"``: :math:`2 n^2 d = 2 (HW)^2 d / p^4` (:math:`QK^\top` and
      :math:`AV`).
    """
    height, width = check_int("height", height), check_int("width", width)
    patch_size, dim = check_int("patch_size", patch_size), check_int("dim", dim)
    in_channels = check_int("in_channels", in_channels)
    if height % patch_size or width % patch_size:
        raise ValueError(f"height and width must be multiples of patch_size={patch_size}, got "
                         f"{height} x {width}")
    n = height * width // patch_size**2
    return {"patchify": n * in_channels * patch_size**2 * dim, "projections": 4 * n * dim * dim,
            "scores_and_average": 2 * n * n * dim}
