r"""Putting attention into a network you already have, and loading its old weights.

The three papers the book reproduces place their module on the residual branch of a block, after
the branch's last BatchNorm and *before* the identity is added (SE: Hu et al., CVPR 2018,
arXiv:1709.01507, Fig. 3, "SE-ResNet module"; ECA: Wang et al., CVPR 2020, the authors'
``eca_resnet.py``; CBAM: Woo et al., ECCV 2018, Fig. 3). :func:`insert_attention` puts a module
there in a network somebody else wrote, and :func:`load_pretrained` loads that network's trained
weights into the result, saying which keys are new.

Where: ``where="blocks"``
-------------------------
Blocks are found by their *structure*, not by their class, so torchvision's and timm's ResNets
qualify without importing either:

* **a residual block laid out as torchvision's and timm's** ``BasicBlock`` and ``Bottleneck``:
  children ``conv1, bn1, conv2, bn2`` (``nn.Conv2d`` and ``nn.BatchNorm2d``), and ``conv3, bn3``
  for a bottleneck. Their forward computes ``bn2(conv2(...))`` (or ``bn3(conv3(...))``), then adds
  the identity (or ``downsample(x)``): the attention goes right after the last BatchNorm,
  ``bn2`` or ``bn3``. (timm's blocks also apply their own ``se`` right after that BatchNorm when
  they have one; an inserted module comes before it.)
* **a module of this library that declares attention slots**: ``attention_slots``, a mapping
  from a child's name to the channel count it sees (``ConvBlock``, ``Bottleneck``,
  ``InvertedResidual`` and ``YoloTinyNeck`` set it). An empty slot (``nn.Identity``) is
  replaced; a slot that already holds a module gets the new one after it.

A foreign block's forward cannot be changed, so the module it follows is *wrapped*: ``bn3``
becomes an :class:`InsertedAttention` that runs the old ``bn3`` (its child ``body``) and then the
attention module. A model in which neither pattern occurs is an error that names what was
searched for; ``where=[paths]`` then names the modules to insert after (their channel count is
inferred from the module, see :func:`insert_attention`).

State-dict keys
---------------
The wrapper adds one level, ``body``, to the keys of the module it wraps, and keeps the new
module's keys under the kind's name (as timm names its SE modules ``se``)::

    layer1.0.bn3.weight           ->  layer1.0.bn3.body.weight           (renamed)
    (none)                        ->  layer1.0.bn3.se.fc1.weight, ...    (new)
    (none)                        ->  layer1.0.bn3.alpha                 (new, init="identity")
    blocks.0.attention  (an empty nn.Identity slot, no keys)
                                  ->  blocks.0.attention.se.fc1.weight, blocks.0.attention.alpha

A state dict saved *before* the insertion therefore does not load with ``load_state_dict``:
``strict=True`` fails on the renamed keys, and ``strict=False`` would silently leave every wrapped
BatchNorm at its initial values. :func:`load_pretrained` knows the scheme: it walks each key of
the model through the wrappers, drops ``body`` and finds the key's pre-insertion name. A state
dict saved *after* the insertion has the model's own keys and loads directly (insert first, the
same way, then load). Why rename at all? The ways to keep the old keys (a forward hook on ``bn3``
that calls the new module, or changing ``bn3``'s class in place) hide the new module from
``print(model)``, break pickling or fool tools that treat BatchNorm layers specially (folding
them into the convolution before them); a wrapper is plain PyTorch, and the rename is one rule.

The identity initialisation
---------------------------
A trained network should compute the same function right after the insertion, so it keeps its
accuracy, and still be able to learn the new module. With ``init="identity"`` the inserted module
:math:`A` (with the paper's own initialisation) is blended with the identity by one learnable
scalar :math:`\alpha` (ReZero, Bachlechner et al., 2020, arXiv:2003.04887, does this for whole
residual branches; CaiT's LayerScale, Touvron et al., 2021, arXiv:2103.17239, per channel):

.. math:: y = u + \alpha\,\bigl(A(u) - u\bigr), \qquad
          \alpha_0 = \tfrac{1}{2}\,\varepsilon_\text{dtype} \;(= 2^{-24} \text{ in float32}),

where :math:`\varepsilon_\text{dtype}` is the machine epsilon of the parameters' dtype
(:func:`identity_alpha`), so :math:`\alpha = 1` is the paper's module and :math:`\alpha = 0` the
identity.

*Why not* :math:`\alpha_0 = 0`? Because :math:`\partial y / \partial \theta_A = \alpha\,
\partial A / \partial \theta_A`: at :math:`\alpha = 0` the model is exactly unchanged but *no*
parameter of :math:`A` receives a gradient on the first step. That is general: an exact identity
for every input needs a factor that is zero at the start, and whatever sits behind that factor
gets no gradient. The other classic trick, a sigmoid gate whose bias saturates at 1, fails in
float32 for the same reason: once :math:`\sigma(b)` rounds to 1 (:math:`b \gtrsim 17`), PyTorch's
gradient :math:`\sigma(1 - \sigma)` is exactly 0, and before it rounds the output moves by at
least the amount a small :math:`\alpha_0` gives; it also needs a bias, which ECA does not have.

*Why this* :math:`\alpha_0`? For a gate, :math:`A(u) = s \odot u` with :math:`s \in [0, 1]`, so
:math:`|\alpha_0 (A(u) - u)| \le 2^{-24} |u|`: each activation moves by at most one unit in the
last place, the size of a single rounding error, and the network computes the same function to
float round-off (the tests: at most :math:`10^{-5}` on the outputs of every test network, for every
kind). Meanwhile every parameter of :math:`A` gets :math:`\alpha_0` times a gradient of normal size,
non-zero, and :math:`\alpha` a full-sized one,
:math:`\partial L/\partial\alpha = \langle \partial L/\partial y, A(u) - u\rangle`, so the module
opens as fast as the loss asks, up to the optimiser's step (under Adam, about the learning rate
per step: chapter 8's ``ch8_init`` experiment finds a short fine-tune leaves the module nearly
closed; give ``alpha`` a larger learning rate of its own to open it faster)
(``scripts/measure_insertion_init.py`` measures the change, the
gradients and one epoch of fine-tuning on trained networks, against the paper's initialisation).
The rule holds for every kind: channel and spatial gates, self-attention (whose :math:`A(u) - u`
is not bounded by :math:`|u|`, so a few units in the last place), and modules without parameters,
whose :math:`\alpha` is then the one thing to learn. Some biases get no gradient under *any*
initialisation, because in training mode the network's output does not depend on them: a bias
followed by BatchNorm (Coordinate Attention's ``conv1.bias``; or a module's output bias when the
host network applies a 1x1 convolution and BatchNorm right after it), and the key projection's
bias in self-attention (softmax ignores a constant added to every score of a query).

A module that starts as the identity *itself* (self-attention's zero-initialised :math:`\gamma`,
or a module whose last layer is zero-initialised) would block its own gradients behind that zero.
Under the blend, :math:`\alpha` does that job, so such a switch is opened: a probe (one backward
pass on a random input) finds the parameters that get no gradient, and each all-zero parameter is
set to its non-zero initial value (a layer's own ``reset_parameters()``, or ones for a bare
scale) when that unblocks others; :attr:`InsertedSite.reopened` lists what was set. (The tests
check, for every kind of the factory, that every inserted parameter then gets a gradient on real
networks.)

``init="default"`` inserts the module with the paper's initialisation and no blend (the output
changes at once); a number ``init=a`` in [0, 1] starts the blend at :math:`\alpha_0 = a`
(``init=0.0`` is ReZero's exact start).

Loading
-------
:func:`load_pretrained` loads every key the model has, under its own name or its pre-insertion
name; returns what it loaded, which keys were renamed, which are *new* (the inserted modules',
left at their initialisation) and which were missing or unexpected. It refuses, before changing
anything, a tensor whose shape differs (naming the key and both shapes), and, unless
``strict=False``, a key the model needs that is neither in the state dict nor an inserted
module's, and a key of the state dict that the model does not use: a partial load is never
silent.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ._validation import check_int
from .factory import ALL_ATTENTION_KINDS, make_attention

__all__ = [
    "IDENTITY_ALPHA",
    "InsertedAttention",
    "InsertedSite",
    "InsertionReport",
    "LoadReport",
    "find_attention_sites",
    "identity_alpha",
    "insert_attention",
    "load_pretrained",
]


def identity_alpha(dtype: torch.dtype = torch.float32) -> float:
    """The blend's starting value under ``init="identity"``: half the machine epsilon of ``dtype``
    (``2**-24`` for float32, ``2**-53`` for float64; see the module docstring)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return torch.finfo(dtype).eps / 2


#: :func:`identity_alpha` for float32, the usual case.
IDENTITY_ALPHA: float = 2.0**-24

#: What ``where="blocks"`` looks for, quoted in the error when it finds nothing.
BLOCK_PATTERNS = (
    "residual blocks laid out as torchvision's and timm's BasicBlock/Bottleneck (children conv1, "
    "bn1, conv2, bn2 [, conv3, bn3] that are nn.Conv2d and nn.BatchNorm2d; the attention goes "
    "after the last of bn2/bn3), and this library's attention slots (a module's "
    "`attention_slots`, as in SmallCNN, ResNet50, MobileNetV2 and YoloTinyNeck)"
)

_NORMS = (nn.BatchNorm2d, nn.SyncBatchNorm)
_PROBE_SIZE = 4  # side of the random feature maps the gradient probe uses
_PROBE_BATCH = 4


class InsertedAttention(nn.Module):
    r"""An attention module inserted into an existing network, after the module it wraps.

    Computes :math:`u = \text{body}(x)` (:math:`u = x` at an empty slot), then
    :math:`y = u + \alpha (A(u) - u)` with a learnable scalar ``alpha`` (``init="identity"`` or a
    number), or :math:`y = A(u)` (``init="default"``, ``alpha`` is ``None``).

    Args:
        kind: the factory name of ``attention``; the child is registered under it, so its keys
            read ``<path>.se.fc1.weight``.
        attention: the attention module :math:`A`, shape (B, C, H, W) kept.
        channels: C.
        body: the module the attention follows, kept as the child ``body`` (its state-dict keys
            gain ``.body``), or ``None`` for an empty slot.
        alpha: starting value of the blend, or ``None`` for no blend.
    """

    def __init__(
        self,
        kind: str,
        attention: nn.Module,
        channels: int,
        body: nn.Module | None = None,
        alpha: float | None = None,
    ) -> None:
        super().__init__()
        if kind in ("body", "alpha") or not kind.isidentifier():
            raise ValueError(f"kind {kind!r} cannot name a child of InsertedAttention")
        self.kind = kind
        self.channels = check_int("channels", channels)
        self.register_module("body", body)  # None at an empty slot
        self.add_module(kind, attention)
        if alpha is None:
            self.register_parameter("alpha", None)
        else:
            self.alpha = nn.Parameter(torch.tensor(float(alpha)))

    @property
    def attention(self) -> nn.Module:
        """The inserted attention module (the child named by :attr:`kind`)."""
        return self._modules[self.kind]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x if self.body is None else self.body(x)  # (B, C, H, W)
        a = self._modules[self.kind](u)  # (B, C, H, W) -> (B, C, H, W)
        if self.alpha is None:
            return a
        return u + self.alpha * (a - u)  # the blend: u at alpha = 0, A(u) at alpha = 1

    def new_parameters(self) -> Iterable[nn.Parameter]:
        """The parameters the insertion added: the attention module's and ``alpha``."""
        yield from self.attention.parameters()
        if self.alpha is not None:
            yield self.alpha

    def extra_repr(self) -> str:
        blend = "none" if self.alpha is None else f"{float(self.alpha.detach()):.3g}"
        return f"kind={self.kind!r}, channels={self.channels}, alpha={blend}"


@dataclass(frozen=True)
class InsertedSite:
    """One place :func:`insert_attention` put a module.

    ``path``: the :class:`InsertedAttention` in the model; ``follows``: the module it wraps, now at
    ``path + ".body"`` (``None`` for an empty slot); ``num_params``: the parameters added there
    (the module's and ``alpha``); ``reopened``: the module's zero-initialised parameters set to a
    non-zero value so that every parameter learns (see the module docstring).
    """

    path: str
    kind: str
    channels: int
    num_params: int
    follows: str | None
    reopened: tuple[str, ...] = ()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


@dataclass(frozen=True)
class InsertionReport:
    """What :func:`insert_attention` did: the sites, the new and the renamed state-dict keys.

    ``renamed_keys`` maps each key of the model as it was just before the insertion to its new name
    (the wrapped modules' keys gain ``.body``); ``new_keys`` are the inserted modules' keys.
    ``str(report)`` is a table of the sites.
    """

    kind: str
    init: str | float
    alpha: float | None
    sites: tuple[InsertedSite, ...]
    renamed_keys: Mapping[str, str] = field(default_factory=dict)
    new_keys: tuple[str, ...] = ()

    @property
    def paths(self) -> list[str]:
        """The paths of the inserted :class:`InsertedAttention` modules, in order."""
        return [s.path for s in self.sites]

    @property
    def num_new_params(self) -> int:
        """Parameters added by the insertion, all sites together."""
        return sum(s.num_params for s in self.sites)

    def new_parameters(self, model: nn.Module) -> list[nn.Parameter]:
        """The parameters this insertion added to ``model`` (to train only them, for example)."""
        found = []
        for path in self.paths:
            wrapper = model.get_submodule(path)
            if not isinstance(wrapper, InsertedAttention):
                raise ValueError(f"{path!r} of this model is not an inserted module: was the "
                                 f"report made for another model?")
            found.extend(wrapper.new_parameters())
        return found

    def __str__(self) -> str:
        blend = "no blend" if self.alpha is None else f"alpha starts at {self.alpha:g}"
        head = (f"InsertionReport: {len(self.sites)} x {self.kind!r}, init={self.init!r} "
                f"({blend}), {self.num_new_params:,} new parameters, "
                f"{len(self.renamed_keys)} keys renamed")
        rows = [(s.path, s.channels, s.follows if s.follows is not None else "(empty slot)",
                 f"{s.num_params:,}", ", ".join(s.reopened) or "-") for s in self.sites]
        header = ("path", "channels", "follows", "parameters", "reopened")
        return "\n".join([head, *_table(header, rows, right={1, 3})])

    __repr__ = __str__


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_pretrained` did with each key.

    ``loaded``: the model's keys that received a tensor; ``renamed``: state-dict key -> model key
    for those found under their pre-insertion name; ``new``: the inserted modules' keys the state
    dict did not have (left at their initialisation); ``missing``: other keys of the model it did
    not have and ``unexpected``: its keys the model does not use (both empty unless
    ``strict=False``).
    """

    loaded: tuple[str, ...]
    renamed: Mapping[str, str]
    new: tuple[str, ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]

    def __str__(self) -> str:
        lines = [f"LoadReport: {len(self.loaded)} keys loaded ({len(self.renamed)} under their "
                 f"pre-insertion name), {len(self.new)} new, {len(self.missing)} missing, "
                 f"{len(self.unexpected)} unexpected"]
        for title, keys in (("new (inserted, left at their initialisation)", self.new),
                            ("missing", self.missing), ("unexpected", self.unexpected)):
            if keys:
                shown = ", ".join(keys[:6]) + (f", ... ({len(keys) - 6} more)"
                                               if len(keys) > 6 else "")
                lines.append(f"  {title}: {shown}")
        return "\n".join(lines)

    __repr__ = __str__


# ------------------------------------------------------------------------------------------------
# Finding the sites
# ------------------------------------------------------------------------------------------------
def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _unwrap(module: nn.Module | None) -> nn.Module | None:
    """The module an :class:`InsertedAttention` (or a chain of them) finally wraps."""
    while isinstance(module, InsertedAttention) and module.body is not None:
        module = module.body
    return module


def _residual_norm(module: nn.Module) -> tuple[str, int] | None:
    """``(name, channels)`` of the last BatchNorm of a torchvision/timm-shaped residual block."""
    children = module._modules

    def conv(name: str) -> bool:
        return isinstance(children.get(name), nn.Conv2d)

    def norm(name: str) -> bool:
        return isinstance(_unwrap(children.get(name)), _NORMS)

    if not (conv("conv1") and norm("bn1") and conv("conv2") and norm("bn2")):
        return None
    last = "bn3" if conv("conv3") and norm("bn3") else "bn2"
    return last, _unwrap(children[last]).num_features


@dataclass(frozen=True)
class _Site:
    path: str
    channels: int


def find_attention_sites(model: nn.Module) -> list[tuple[str, int]]:
    """The ``(path, channels)`` pairs ``insert_attention(model, kind)`` would use, in order.

    See the module docstring for the two patterns; an empty list when neither occurs.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [(s.path, s.channels) for s in _find_blocks(model)]


def _find_blocks(model: nn.Module) -> list[_Site]:
    sites: list[_Site] = []

    def visit(module: nn.Module, prefix: str) -> None:
        if isinstance(module, InsertedAttention):  # never look inside an inserted module
            if module.body is not None:
                visit(module.body, _join(prefix, "body"))
            return
        slots = getattr(module, "attention_slots", None)
        if isinstance(slots, Mapping) and slots:
            for name, channels in slots.items():
                if name not in module._modules:
                    raise ValueError(
                        f"{type(module).__name__} at {prefix or '(the model)'!r} declares an "
                        f"attention slot {name!r} but has no child of that name"
                    )
                sites.append(_Site(_join(prefix, name), check_int("channels", channels)))
            for name, child in module.named_children():
                if name not in slots:
                    visit(child, _join(prefix, name))
            return
        found = _residual_norm(module)
        if found is not None:
            name, channels = found
            sites.append(_Site(_join(prefix, name), channels))
            return
        for name, child in module.named_children():
            visit(child, _join(prefix, name))

    visit(model, "")
    return sites


def _infer_channels(module: nn.Module) -> int | None:
    """Output channels of ``module``: its own ``channels``, a conv's ``out_channels``, a norm's
    ``num_features``/``num_channels``, or those of the last such layer it holds."""
    if isinstance(module, InsertedAttention):
        return module.channels
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        return module.out_channels
    if isinstance(module, nn.BatchNorm2d | nn.SyncBatchNorm | nn.InstanceNorm2d):
        return module.num_features
    if isinstance(module, nn.GroupNorm):
        return module.num_channels
    own = getattr(module, "channels", None)
    if isinstance(own, int) and not isinstance(own, bool) and own > 0:
        return own
    for child in reversed(list(module.children())):
        channels = _infer_channels(child)
        if channels is not None:
            return channels
    return None


def _path_sites(model: nn.Module, where: Sequence[object], channels: int | None) -> list[_Site]:
    if len(where) == 0:
        raise ValueError("where is an empty list: name at least one module to insert after")
    names = {name for name, _ in model.named_modules() if name}
    sites = []
    for path in where:
        if not isinstance(path, str):
            raise TypeError(f"where must hold module paths (strings), got {path!r}")
        if path == "":
            raise ValueError("where holds '', the whole model: name a module inside it")
        if path not in names:
            close = difflib.get_close_matches(path, sorted(names), n=3)
            hint = f"; did you mean {close}?" if close else ""
            raise ValueError(f"{type(model).__name__} has no module {path!r}{hint}")
        if channels is not None:
            width = channels
        else:
            parent_path, _, name = path.rpartition(".")
            parent = model.get_submodule(parent_path)
            declared = getattr(parent, "attention_slots", None)
            width = (declared.get(name) if isinstance(declared, Mapping) else None)
            if width is None:
                width = _infer_channels(model.get_submodule(path))
            if width is None:
                raise ValueError(
                    f"cannot infer the channel count after {path!r} "
                    f"({type(model.get_submodule(path)).__name__}: no conv or norm layer and no "
                    f"`channels`); pass channels="
                )
        sites.append(_Site(path, width))
    seen = [s.path for s in sites]
    for i, a in enumerate(seen):
        for b in seen[i + 1:]:
            if a == b:
                raise ValueError(f"where names {a!r} twice")
            if b.startswith(a + ".") or a.startswith(b + "."):
                raise ValueError(f"where names {a!r} and {b!r}, one inside the other: insert "
                                 f"into one of them at a time")
    return sites


# ------------------------------------------------------------------------------------------------
# The gradient probe behind init="identity"
# ------------------------------------------------------------------------------------------------
def _reference_tensor(*modules: nn.Module) -> torch.Tensor | None:
    for module in modules:
        for t in (*module.parameters(), *module.buffers()):
            if t.is_floating_point():
                return t
    return None


def _blocked(module: nn.Module, channels: int, like: torch.Tensor | None) -> set[str]:
    """Names of ``module``'s parameters that get no gradient on a random input (eval mode)."""
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if not params:
        return set()
    g = torch.Generator().manual_seed(0)
    kwargs = {} if like is None else {"dtype": like.dtype}
    # Maps whose channels have different means in each image, so pooled descriptors vary and a
    # ReLU inside the module is rarely dead on the whole probe.
    shape = (_PROBE_BATCH, channels, _PROBE_SIZE, _PROBE_SIZE)
    x = torch.randn(shape, generator=g, **kwargs)
    x = x + 2 * torch.randn((*shape[:2], 1, 1), generator=g, **kwargs)
    if like is not None:
        x = x.to(like.device)
    was_training = module.training
    module.eval()  # BatchNorm inside the module reads its running statistics, never writes them
    try:
        with torch.enable_grad():
            out = module(x)
            weights = torch.randn(out.shape, generator=g, dtype=out.dtype).to(out.device)
            grads = torch.autograd.grad((out * weights).sum(), [p for _, p in params],
                                        allow_unused=True)
    finally:
        module.train(was_training)
    pairs = zip(params, grads, strict=True)
    return {n for (n, _), gr in pairs if gr is None or not bool(gr.ne(0).any())}


def _open_switch(module: nn.Module, name: str) -> None:
    """Give the zero-initialised parameter ``name`` of ``module`` its non-zero initial value."""
    owner_name, _, _ = name.rpartition(".")
    owner = module.get_submodule(owner_name)
    with torch.no_grad():
        if owner is not module and hasattr(owner, "reset_parameters"):
            owner.reset_parameters()
        else:
            module.get_parameter(name).fill_(1.0)


def _reopen(module: nn.Module, channels: int, like: torch.Tensor | None) -> tuple[str, ...]:
    """Open the zero switches that block ``module``'s own gradients; return their names."""
    blocked = _blocked(module, channels, like)
    if not blocked:
        return ()
    reopened = []
    for name, p in list(module.named_parameters()):
        if not blocked or name in blocked or bool(p.ne(0).any()):
            continue
        owner = module.get_submodule(name.rpartition(".")[0])
        saved = [v.detach().clone() for v in owner.parameters(recurse=False)]
        _open_switch(module, name)
        still = _blocked(module, channels, like)
        if len(still) < len(blocked):
            reopened.append(name)
            blocked = still
        else:  # not a switch: put it back
            with torch.no_grad():
                for v, old in zip(owner.parameters(recurse=False), saved, strict=True):
                    v.copy_(old)
    # Whatever is still blocked is not behind a zero switch (e.g. a ReLU dead on the probe's
    # input); it is left alone: the tests check every kind's gradients on real networks.
    return tuple(reopened)


# ------------------------------------------------------------------------------------------------
# insert_attention
# ------------------------------------------------------------------------------------------------
def _check_init(init: object) -> str | float:
    if isinstance(init, str):
        if init in ("identity", "default"):
            return init
    elif isinstance(init, numbers.Real) and not isinstance(init, bool):
        value = float(init)
        if math.isfinite(value) and 0.0 <= value <= 1.0:
            return value
    raise ValueError(
        f"init must be 'identity' (the same function, every parameter learning), 'default' "
        f"(the paper's initialisation) or a number in [0, 1] (the blend's starting alpha), "
        f"got {init!r}"
    )


def insert_attention(
    model: nn.Module,
    kind: str,
    where: str | Sequence[str] = "blocks",
    *,
    init: str | float = "identity",
    channels: int | None = None,
    **options: Any,
) -> InsertionReport:
    """Insert a module of attention ``kind`` into ``model``, in place, and report what changed.

    Args:
        model: any ``nn.Module``; changed in place (nothing is changed when an error is raised).
        kind: a factory name (:data:`attn_lessons.factory.ALL_ATTENTION_KINDS`, not ``"none"``).
        where: ``"blocks"`` (every residual block or attention slot, found by structure, see the
            module docstring), or a list of module paths (``"layer1.0.conv1"``) to insert after.
            A path's channel count is its parent's declared slot width, or the module's
            ``channels``, a convolution's ``out_channels``, a norm's ``num_features``, or those
            of the last such layer inside it (e.g. the BatchNorm of a conv-BN-ReLU
            ``nn.Sequential``); pass ``channels=`` when that is not what the module outputs.
        init: ``"identity"`` (default: the same function to float round-off, and every new
            parameter learning), ``"default"`` (the paper's initialisation, no blend) or a number
            in [0, 1], the blend's starting :math:`\\alpha`.
        channels: the channel count for every path of ``where=[...]`` (not with ``"blocks"``).
        **options: passed to the module's constructor (``reduction=8``, ``kernel_size=3``, ...).

    Returns an :class:`InsertionReport`. The new modules take the device, dtype and train/eval
    mode of the module they follow. Raises ``TypeError`` for a non-module or a wrong kind of
    argument and ``ValueError`` for an unknown or ``"none"`` kind, a bad path, no place found, a
    bad ``init`` or an option the kind's constructor refuses (the message names the site).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(kind, str) or kind not in ALL_ATTENTION_KINDS:
        raise ValueError(
            f"unknown attention kind {kind!r}; expected one of {list(ALL_ATTENTION_KINDS[1:])}"
        )
    if kind == "none":
        raise ValueError(
            f"kind 'none' inserts nothing; pick one of {list(ALL_ATTENTION_KINDS[1:])}"
        )
    init = _check_init(init)
    if channels is not None:
        channels = check_int("channels", channels)
    if isinstance(where, str):
        if where != "blocks":
            raise ValueError(
                f"where must be 'blocks' or a list of module paths, got the string {where!r}; "
                f"to insert after one module write where=[{where!r}]"
            )
        if channels is not None:
            raise TypeError("channels= applies to where=[paths]; 'blocks' reads each block's width")
        sites = _find_blocks(model)
        if not sites:
            raise ValueError(
                f"found no place for attention in {type(model).__name__}: searched for "
                f"{BLOCK_PATTERNS}. Name the modules to insert after with where=[...]"
            )
    elif isinstance(where, Sequence):
        sites = _path_sites(model, where, channels)
    else:
        raise TypeError(
            f"where must be 'blocks' or a list of module paths, got {type(where).__name__}"
        )

    # Build every module first: a refused option leaves the model untouched.
    built = []
    for site in sites:
        parent_path, _, child = site.path.rpartition(".")
        parent = model.get_submodule(parent_path)
        old = parent._modules[child]
        empty = isinstance(old, nn.Identity)
        like = _reference_tensor(old, parent, model)
        try:
            module = make_attention(kind, site.channels, **options)
        except (TypeError, ValueError) as err:
            raise type(err)(
                f"cannot build attention {kind!r} for {site.channels} channels at "
                f"{site.path!r}: {err}"
            ) from err
        if like is not None:
            module.to(device=like.device, dtype=like.dtype)
        if init == "default":
            alpha = None
        elif init == "identity":
            alpha = identity_alpha(like.dtype if like is not None else torch.float32)
        else:
            alpha = init
        built.append((site, parent, child, old, empty, like, module, alpha))

    # Under a blend, open the modules' own zero switches. The probe runs on the narrowest module
    # (cheapest); the switches' names do not depend on the width, so the others follow by name.
    switches: tuple[str, ...] = ()
    if init != "default":
        narrowest = min(built, key=lambda b: b[0].channels)
        switches = _reopen(narrowest[6], narrowest[0].channels, narrowest[5])
        for entry in built:
            if entry is not narrowest:
                for param_name in switches:
                    _open_switch(entry[6], param_name)

    report_sites, renamed, new_keys = [], {}, []
    for site, parent, child, old, empty, like, module, alpha in built:
        wrapper = InsertedAttention(kind, module, site.channels,
                                    body=None if empty else old, alpha=alpha)
        if like is not None:
            wrapper.to(device=like.device, dtype=like.dtype)
        wrapper.train((parent if empty else old).training)
        if not empty:
            for key in old.state_dict():
                renamed[f"{site.path}.{key}"] = f"{site.path}.body.{key}"
        for key in wrapper.attention.state_dict():
            new_keys.append(f"{site.path}.{kind}.{key}")
        if wrapper.alpha is not None:
            new_keys.append(f"{site.path}.alpha")
        setattr(parent, child, wrapper)
        report_sites.append(InsertedSite(
            path=site.path, kind=kind, channels=site.channels,
            num_params=sum(p.numel() for p in wrapper.new_parameters()),
            follows=None if empty else site.path, reopened=switches,
        ))
    return InsertionReport(kind=kind, init=init, alpha=built[0][7], sites=tuple(report_sites),
                           renamed_keys=renamed, new_keys=tuple(new_keys))


# ------------------------------------------------------------------------------------------------
# load_pretrained
# ------------------------------------------------------------------------------------------------
def _origin(model: nn.Module, path: str) -> str | None:
    """The pre-insertion name of a key (or module path) of ``model``; ``None`` if it is new.

    Walks the dotted path through the modules: ``body`` after an :class:`InsertedAttention` is
    dropped, and the inserted module's subtree and ``alpha`` are new.
    """
    parts = path.split(".") if path else []
    module: nn.Module | None = model
    kept = []
    for part in parts:
        if isinstance(module, InsertedAttention):
            if part == "body":
                module = module.body
                continue
            if part in (module.kind, "alpha"):
                return None
        kept.append(part)
        module = module._modules.get(part) if module is not None else None
    return ".".join(kept)


def load_pretrained(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], *, strict: bool = True
) -> LoadReport:
    """Load ``state_dict`` into ``model``, following the renames of :func:`insert_attention`.

    Each key of the model is looked up under its own name, then under its pre-insertion name
    (``layer1.0.bn3.body.weight`` under ``layer1.0.bn3.weight``). The inserted modules' keys may be
    absent: they are reported as ``new`` and keep their initialisation. Before anything is copied:

    * a tensor whose shape differs from the model's raises ``ValueError`` naming the key (and its
      name in the state dict) and both shapes;
    * with ``strict=True`` (default), a key the model needs that is neither in the state dict nor
      an inserted module's (*missing*), or a key of the state dict the model does not use
      (*unexpected*), raises ``ValueError`` listing them. ``strict=False`` loads the rest and
      returns them in the report.

    Returns a :class:`LoadReport`. Raises ``TypeError`` for a non-module, a state dict that is not a
    mapping of strings to tensors or a non-boolean ``strict``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of keys to tensors, got "
                        f"{type(state_dict).__name__}")
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be True or False, got {strict!r}")
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise TypeError(f"state_dict must map strings to tensors; {key!r} holds "
                            f"{type(value).__name__}")

    target = model.state_dict()
    source_of: dict[str, str] = {}
    new, missing = [], []
    for key in target:
        if key in state_dict:
            source_of[key] = key
            continue
        old = _origin(model, key)
        if old is None:
            new.append(key)
        elif old != key and old in state_dict:
            source_of[key] = old
        else:
            missing.append(key)
    used = set(source_of.values())
    unexpected = [k for k in state_dict if k not in used]

    mismatched = [
        f"{key!r}: the model has {tuple(target[key].shape)}, the state dict has "
        f"{tuple(state_dict[src].shape)}" + (f" (under its pre-insertion name {src!r})"
                                              if src != key else "")
        for key, src in source_of.items() if target[key].shape != state_dict[src].shape
    ]
    if mismatched:
        raise ValueError("shape mismatch, nothing was loaded: " + "; ".join(mismatched))
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"missing from the state dict (and not inserted): {missing}")
        if unexpected:
            parts.append(f"unexpected (the model has no such key): {unexpected}")
        hint = ""
        if unexpected and all(k.startswith("module.") for k in state_dict):
            hint = (" The state dict's keys start with 'module.' (saved from a DataParallel or "
                    "DistributedDataParallel wrapper): strip that prefix first.")
        raise ValueError("nothing was loaded; " + "; ".join(parts) + "." + hint +
                         " Pass strict=False to load the rest and get these in the report.")

    remapped: OrderedDict[str, torch.Tensor] = OrderedDict(
        (key, state_dict[src]) for key, src in source_of.items()
    )
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:  # module versions, used by e.g. BatchNorm's loader
        mapped = OrderedDict()
        for path, _ in model.named_modules():
            old = _origin(model, path)
            if old is not None and old in metadata:
                mapped[path] = metadata[old]
        remapped._metadata = mapped  # type: ignore[attr-defined]
    result = model.load_state_dict(remapped, strict=False)
    left = set(result.missing_keys) - set(new) - set(missing)
    if left or result.unexpected_keys:
        raise RuntimeError(  # a bug here, not in the caller's input
            f"load_pretrained disagrees with load_state_dict: {sorted(left)}, "
            f"{result.unexpected_keys}"
        )
    renamed = {src: key for key, src in source_of.items() if src != key}
    return LoadReport(loaded=tuple(source_of), renamed=renamed, new=tuple(new),
                      missing=tuple(missing), unexpected=tuple(unexpected))
