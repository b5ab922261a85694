"""Chapter 7's interactive figure: what each module adds to ResNet-50 and MobileNetV2 per stage
(attn_lessons.interactive.networks). The per-stage sums are checked against whole networks built
with the module (parameters: the closed-form counts of every chapter; MACs: the whole network
counted with and without it) and against the paper-known totals of the plain networks."""

from __future__ import annotations

import json

import pytest
import torch

from attn_lessons.cbam import cbam_num_params
from attn_lessons.coordatt import coordatt_num_params
from attn_lessons.cost import count_flops, count_parameters
from attn_lessons.eca import eca_num_params
from attn_lessons.interactive import (
    FALLBACKS,
    FIGURES,
    MAX_DATA_BYTES,
    draw_fallback,
    to_json,
)
from attn_lessons.interactive.networks import FIGURE, module_options
from attn_lessons.mobilenetv2 import MobileNetV2, mobilenetv2_attention_channels
from attn_lessons.resnet import ResNet50, resnet50_attention_channels
from attn_lessons.se import se_num_params
from attn_lessons.self_attention import self_attention2d_num_params

from .conftest import figure_data_once

CLOSED_FORM = {
    "se": lambda c, kw: se_num_params(c, **kw),
    "eca": lambda c, kw: eca_num_params(c),
    "cbam": lambda c, kw: cbam_num_params(c, **kw),
    "coordatt": lambda c, kw: coordatt_num_params(c, **kw),
    "self_attention": lambda c, kw: self_attention2d_num_params(c),
}
CHANNELS = {"resnet50": resnet50_attention_channels(),
            "mobilenetv2": mobilenetv2_attention_channels("depthwise")}
BUILD = {"resnet50": lambda kind, kw: ResNet50(kind, attention_kwargs=kw or None),
         "mobilenetv2": lambda kind, kw: MobileNetV2(kind, attention_kwargs=kw or None)}


@pytest.fixture(scope="module")
def data():
    return figure_data_once(FIGURE)


def totals(stages):
    return sum(s["params"] for s in stages), sum(s["macs"] for s in stages)


def macs_of(network, kind, kwargs):
    with torch.device("meta"):
        model = BUILD[network](kind, kwargs).eval()
        x = torch.empty(1, 3, 224, 224)
    return count_flops(model, x).macs


def test_registered_and_small(data):
    assert FIGURE in FIGURES and FIGURE in FALLBACKS
    text = to_json(data)
    assert json.loads(text) == data
    assert len(text.encode()) < MAX_DATA_BYTES


def test_plain_networks(data):
    resnet, mobilenet = data["networks"]["resnet50"], data["networks"]["mobilenetv2"]
    assert resnet["params"] == 25_557_032 and mobilenet["params"] == 3_504_872
    assert round(resnet["macs"] / 1e9, 2) == 4.09  # v1.5, see attn_lessons.resnet
    assert [s["blocks"] for s in resnet["stages"]] == [3, 4, 6, 3]
    assert [s["blocks"] for s in mobilenet["stages"]] == [1, 2, 3, 4, 3, 3, 1]
    for name, net in data["networks"].items():
        with torch.device("meta"):
            model = BUILD[name]("none", {})
        # the blocks hold most of the network; stem, head and classifier the rest
        assert sum(s["params"] for s in net["stages"]) < count_parameters(model) == net["params"]
        assert sum(s["macs"] for s in net["stages"]) < net["macs"]


@pytest.mark.parametrize("network", ["resnet50", "mobilenetv2"])
@pytest.mark.parametrize("kind", ["se", "eca", "cbam", "coordatt", "self_attention"])
def test_added_parameters_equal_the_closed_forms(data, network, kind):
    for key, kwargs in module_options(kind):
        stages = data["networks"][network]["added"][kind][key]
        expected = sum(CLOSED_FORM[kind](c, kwargs) for c in CHANNELS[network])
        assert totals(stages)[0] == expected, (key, kwargs)
        assert sum(s["modules"] for s in stages) == len(CHANNELS[network])


@pytest.mark.parametrize("network", ["resnet50", "mobilenetv2"])
@pytest.mark.parametrize("kind", ["se", "eca", "cbam", "coordatt", "self_attention"])
def test_added_macs_equal_the_whole_network_difference(data, network, kind):
    key, kwargs = module_options(kind)[-1]  # one setting per kind: the whole net is slow to count
    net = data["networks"][network]
    with torch.device("meta"):
        with_module = BUILD[network](kind, kwargs)
    assert totals(net["added"][kind][key])[0] == count_parameters(with_module) - net["params"]
    assert totals(net["added"][kind][key])[1] == macs_of(network, kind, kwargs) - net["macs"]


def test_stage_shapes_follow_the_networks(data):
    resnet = data["networks"]["resnet50"]["added"]["se"]["r16"]
    assert [s["channels"] for s in resnet] == [[256], [512], [1024], [2048]]
    assert [s["size"] for s in resnet] == [[56, 56], [28, 28], [14, 14], [7, 7]]
    mobilenet = data["networks"]["mobilenetv2"]["added"]["coordatt"]["r32"]
    assert mobilenet[0] == {"params": 0, "macs": 0, "modules": 0, "channels": [],
                            "size": None}  # the first block has t = 1: no module
    assert [s["modules"] for s in mobilenet] == [0, 2, 3, 4, 3, 3, 1]
    # the widths are those of the library's list for the depthwise position
    widths = {c for s in mobilenet for c in s["channels"]}
    assert widths == set(mobilenetv2_attention_channels("depthwise"))
    assert mobilenet[1]["channels"] == [96, 144] and mobilenet[1]["size"] == [56, 56]


def test_reduction_options():
    assert [k for k, _ in module_options("se")] == ["r4", "r8", "r16", "r32"]
    assert module_options("eca") == [("default", {})]
    with pytest.raises(ValueError, match="unknown attention kind"):
        module_options("none")


def test_fallback_png(data, tmp_path):
    path = draw_fallback(FIGURE, data, tmp_path / "cost.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
