"""Chapter 7's figure: what each attention module adds to ResNet-50 and MobileNetV2, stage by stage.

Where a module goes decides what it costs. For the two networks the book counts
(:class:`~attn_lessons.resnet.ResNet50` with the module at the end of every bottleneck's residual
branch, :class:`~attn_lessons.mobilenetv2.MobileNetV2` with it after every depthwise convolution
of an expanding block), at 224 x 224, the data hold per stage: the blocks' own parameters and MACs,
and the parameters and MACs one module of each kind adds there, for each offered reduction ratio
where the kind has one. All counts come from the library: :func:`attn_lessons.cost.count_parameters`
and :func:`attn_lessons.cost.count_flops` (MACs, i.e. what papers call FLOPs; elementwise work,
pooling and softmax are not counted, see :mod:`attn_lessons.cost`), on networks and modules built
on PyTorch's ``meta`` device, which counts exactly without allocating weights. The place and the
shape of each module are read from the network itself, by a forward hook on every block's
``attention`` slot.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from ..cost import count_flops, count_parameters
from ..factory import make_attention
from ..mobilenetv2 import MOBILENETV2_SETTINGS, InvertedResidual, MobileNetV2
from ..resnet import Bottleneck, ResNet50
from . import register, register_fallback

__all__ = [
    "FIGURE",
    "IMAGE_SIZE",
    "KINDS",
    "NETWORKS",
    "REDUCTIONS",
    "attention_cost_data",
    "attention_sites",
    "draw_attention_cost",
    "module_options",
]

#: The figure's name (the directive's argument and the JavaScript file's name).
FIGURE = "attention-cost"

#: Input side of the counted networks (ImageNet's 224 x 224).
IMAGE_SIZE = 224

#: The modules offered, in the order the book introduces them.
KINDS: tuple[str, ...] = ("se", "eca", "cbam", "coordatt", "self_attention")

#: Reduction ratios offered for the kinds that have one (SE, CBAM, Coordinate Attention).
REDUCTIONS: tuple[int, ...] = (4, 8, 16, 32)

#: The kinds with a reduction ratio, and each one's paper default.
REDUCTION_DEFAULTS: dict[str, int] = {"se": 16, "cbam": 16, "coordatt": 32}


def _resnet(kind: str, kwargs: dict[str, Any]) -> nn.Module:
    return ResNet50(kind, attention_kwargs=kwargs or None)


def _mobilenet(kind: str, kwargs: dict[str, Any]) -> nn.Module:
    return MobileNetV2(kind, attention_kwargs=kwargs or None, position="depthwise")


def _resnet_stages() -> list[int]:
    # layer1..layer4 hold 3, 4, 6, 3 bottlenecks
    return [s for s, n in enumerate((3, 4, 6, 3)) for _ in range(n)]


def _mobilenet_stages() -> list[int]:
    return [s for s, (_, _, n, _) in enumerate(MOBILENETV2_SETTINGS) for _ in range(n)]


#: name -> (label, builder(kind, attention kwargs), block type, stage index of each block in order,
#: number of stages)
NETWORKS: dict[str, tuple[str, Callable[[str, dict], nn.Module], type, list[int], int]] = {
    "resnet50": ("ResNet-50", _resnet, Bottleneck, _resnet_stages(), 4),
    "mobilenetv2": ("MobileNetV2", _mobilenet, InvertedResidual, _mobilenet_stages(),
                    len(MOBILENETV2_SETTINGS)),
}


def module_options(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """``(key, attention kwargs)`` for each setting the figure offers for ``kind``.

    Kinds with a reduction get one entry per ratio in :data:`REDUCTIONS` (key ``"r4"``, ...);
    ECA (kernel size from C by the paper's rule) and self-attention have one, key ``"default"``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown attention kind {kind!r}; expected one of {list(KINDS)}")
    if kind in REDUCTION_DEFAULTS:
        return [(f"r{r}", {"reduction": r}) for r in REDUCTIONS]
    return [("default", {})]


def _check_network(network: str) -> None:
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}; expected one of {list(NETWORKS)}")


def attention_sites(network: str, kind: str = "se") -> list[dict[str, int]]:
    """Every block of ``network`` in order: its stage, its input shape, and the shape its
    ``attention`` slot sees (``None`` values when the block holds no module of ``kind``).

    Read with forward pre-hooks from one meta-device forward pass at 224 x 224.
    """
    _check_network(network)
    _, build, block_type, stages, _ = NETWORKS[network]
    with torch.device("meta"):
        model = build(kind, {}).eval()
        x = torch.empty(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    blocks = [m for m in model.modules() if isinstance(m, block_type)]
    found: list[dict[str, Any]] = [{} for _ in blocks]
    handles = []
    for k, block in enumerate(blocks):
        def on_block(_m, inputs, k=k):
            found[k]["input"] = tuple(inputs[0].shape[1:])  # (C, H, W) of the block's input

        def on_attention(m, inputs, k=k):
            if not isinstance(m, nn.Identity):
                found[k]["site"] = tuple(inputs[0].shape[1:])  # (C, H, W) the module sees

        handles.append(block.register_forward_pre_hook(on_block))
        handles.append(block.attention.register_forward_pre_hook(on_attention))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    out = []
    for k, info in enumerate(found):
        c, h, w = info.get("site", (None, None, None))
        out.append({"stage": stages[k], "input": list(info["input"]), "channels": c,
                    "height": h, "width": w})
    return out


@functools.cache
def _module_cost(kind: str, options: tuple, c: int, h: int, w: int) -> tuple[int, int]:
    """Parameters and MACs of one module of ``kind`` (keyword arguments ``options``, as sorted
    pairs) on a (1, c, h, w) map, on the meta device."""
    with torch.device("meta"):
        module = make_attention(kind, c, **dict(options)).eval()
        x = torch.empty(1, c, h, w)
    return count_parameters(module), count_flops(module, x).macs


def _block_costs(network: str) -> list[tuple[int, int]]:
    """Parameters and MACs of each plain block of ``network`` (no attention), in order."""
    _, build, block_type, _, _ = NETWORKS[network]
    sites = attention_sites(network, "none")
    with torch.device("meta"):
        model = build("none", {}).eval()
    blocks = [m for m in model.modules() if isinstance(m, block_type)]
    costs = []
    for block, site in zip(blocks, sites, strict=True):
        with torch.device("meta"):
            x = torch.empty(1, *site["input"])
        costs.append((count_parameters(block), count_flops(block, x).macs))
    return costs


def network_totals(network: str) -> tuple[int, int]:
    """Parameters and MACs of the whole plain ``network`` at 224 x 224."""
    _check_network(network)
    _, build, _, _, _ = NETWORKS[network]
    with torch.device("meta"):
        model = build("none", {}).eval()
        x = torch.empty(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    return count_parameters(model), count_flops(model, x).macs


@register(FIGURE)
def attention_cost_data() -> dict[str, Any]:
    """The figure's data: per network its totals and stages; per kind and setting the added
    parameters and MACs of every stage."""
    networks = {}
    for name, (label, _, _, _, n_stages) in NETWORKS.items():
        params, macs = network_totals(name)
        blocks = _block_costs(name)
        plain_sites = attention_sites(name, "none")
        stages = []
        for s in range(n_stages):
            members = [k for k, site in enumerate(plain_sites) if site["stage"] == s]
            stages.append({
                "blocks": len(members),
                "params": sum(blocks[k][0] for k in members),
                "macs": sum(blocks[k][1] for k in members),
            })
        # the slots and their shapes are the same for every kind: read them once, with SE
        sites = attention_sites(name, "se")
        added: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for kind in KINDS:
            added[kind] = {}
            for key, kwargs in module_options(kind):
                per_stage = [{"params": 0, "macs": 0, "modules": 0, "channels": [],
                              "size": None} for _ in range(n_stages)]
                for site in sites:
                    if site["channels"] is None:
                        continue
                    p, m = _module_cost(kind, tuple(sorted(kwargs.items())), site["channels"],
                                        site["height"],
                                        site["width"])
                    entry = per_stage[site["stage"]]
                    entry["params"] += p
                    entry["macs"] += m
                    entry["modules"] += 1
                    # the widths the stage's modules see (MobileNetV2's first block of a stage
                    # expands the previous stage's width) and their one map size
                    if site["channels"] not in entry["channels"]:
                        entry["channels"].append(site["channels"])
                    entry["size"] = [site["height"], site["width"]]
                added[kind][key] = per_stage
        networks[name] = {"label": label, "params": params, "macs": macs, "stages": stages,
                          "added": added}
    return {
        "image_size": IMAGE_SIZE,
        "kinds": list(KINDS),
        "reductions": list(REDUCTIONS),
        "reduction_defaults": dict(REDUCTION_DEFAULTS),
        "networks": networks,
    }


@register_fallback(FIGURE)
def draw_attention_cost(data: dict[str, Any]) -> Figure:
    """The static picture: for both networks, each module's added parameters and MACs (paper
    default settings) as a percentage of the plain network's."""
    kinds = data["kinds"]
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.0), sharey=True)
    for ax, what in zip(axes, ("params", "macs"), strict=True):
        top = 0.0
        for n, net in enumerate(data["networks"].values()):
            values = []
            for kind in kinds:
                r = data["reduction_defaults"].get(kind)
                stages = net["added"][kind][f"r{r}" if r else "default"]
                values.append(100 * sum(s[what] for s in stages) / net[what])
            ys = [k + 0.2 * (1 if n else -1) for k in range(len(kinds))]
            bars = ax.barh(ys, values, height=0.38, label=net["label"],
                           color=("#0072B2", "#E69F00")[n])
            ax.bar_label(bars, [f"{v:.3g} %" if v >= 0.01 else f"{v:.1e} %" for v in values],
                         fontsize=7, padding=2)
            top = max(top, max(values))
        ax.set_xscale("log")
        ax.set_xlim(right=top * 40)
        ax.set_title("added parameters" if what == "params" else "added MACs", fontsize=9)
        ax.set_xlabel("% of the plain network")
    axes[0].set_yticks(range(len(kinds)), kinds)
    axes[0].invert_yaxis()
    fig.suptitle(f"What one module in every block adds at {data['image_size']} x "
                 f"{data['image_size']} (paper defaults)", fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=8, loc="lower center", ncols=2, frameon=False)
    return fig
