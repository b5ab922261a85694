"""Tests of attn_lessons.insert: attention put into existing networks, and their old weights loaded.

torchvision and timm are not installed here, so their ResNet blocks are re-written below with the
same attribute names and the same forward (torchvision ``models/resnet.py``: ``BasicBlock``,
``Bottleneck``, ``ResNet``; timm ``models/resnet.py``: ``Bottleneck`` with ``act1..act3``,
``drop_block``, ``aa``, an ``se`` slot that is ``None`` without attention, and ``drop_path``).
Every network's BatchNorm layers get random affine parameters and running statistics, as a
trained network has, so that "the same outputs" is a real check.
"""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
from torch import nn

from attn_lessons import (
    InsertedAttention,
    InsertionReport,
    LoadReport,
    find_attention_sites,
    identity_alpha,
    insert_attention,
    load_pretrained,
    mobilenetv2,
    resnet,
)
from attn_lessons.factory import ALL_ATTENTION_KINDS, ATTENTION_KINDS
from attn_lessons.insert import IDENTITY_ALPHA
from attn_lessons.mobilenetv2 import MobileNetV2, mobilenetv2_attention_channels
from attn_lessons.neck import YoloTinyNeck
from attn_lessons.resnet import ResNet50, resnet50_attention_channels
from attn_lessons.se import se_num_params
from attn_lessons.small_cnn import SmallCNN

KINDS = [k for k in ALL_ATTENTION_KINDS if k != "none"]
# Options for the kinds whose authors' defaults do not fit the test networks' 64 to 128 channels
# (their own refusal is tested in their test files): Shuffle Attention's 64 groups need 128k.
KIND_OPTIONS = {"shuffle": {"groups": 16}}
TOLERANCE = 1e-5  # the acceptance bound on the outputs after identity insertion, float32


# ------------------------------------------------------------------------------------------------
# torchvision-shaped ResNet (torchvision/models/resnet.py, attribute names and forward kept)
# ------------------------------------------------------------------------------------------------
def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    """torchvision's ResNet with a base width ``width`` instead of 64, to keep the tests fast."""

    def __init__(self, block, layers, width=16, num_classes=10):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, 2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * width * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ------------------------------------------------------------------------------------------------
# timm-shaped bottleneck (timm/models/resnet.py): other activation names, extra identity slots
# ------------------------------------------------------------------------------------------------
class TimmBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        outplanes = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.drop_block = nn.Identity()
        self.act2 = nn.ReLU(inplace=True)
        self.aa = nn.Identity()
        self.conv3 = nn.Conv2d(planes, outplanes, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(outplanes)
        self.se = None
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = None

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.aa(self.act2(self.drop_block(self.bn2(self.conv2(x)))))
        x = self.bn3(self.conv3(x))
        if self.se is not None:
            x = self.se(x)
        if self.drop_path is not None:
            x = self.drop_path(x)
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        x += shortcut
        return self.act3(x)


class TimmResNet(ResNet):
    """timm's top level names the stem activation ``act1`` and the pooling ``global_pool``."""

    def __init__(self, layers, width=16, num_classes=10):
        super().__init__(TimmBottleneck, layers, width, num_classes)
        self.act1 = self.relu
        del self.relu
        self.global_pool = self.avgpool
        del self.avgpool

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.global_pool(x), 1))


class NeckModel(nn.Module):
    """The YOLO-tiny neck with a one-tensor input, so every network runs the same way."""

    def __init__(self):
        super().__init__()
        self.neck = YoloTinyNeck(num_classes=2, num_anchors=1, in_channels=(64, 128))

    def forward(self, x):
        feat1 = x[:, :64]  # (B, 192, 2h, 2w) -> (B, 64, 2h, 2w)
        feat2 = nn.functional.avg_pool2d(x[:, 64:], 2)  # -> (B, 128, h, w)
        coarse, fine = self.neck(feat1, feat2)
        return torch.cat([coarse.flatten(1), fine.flatten(1)], dim=1)


def randomise_batchnorm(model: nn.Module, seed: int) -> nn.Module:
    """Give every BatchNorm the affine parameters and running statistics of a trained one."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(0.2 + 0.4 * torch.rand(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
    return model


def library_resnet_blocks() -> nn.Sequential:
    """Two of this library's ResNet-50 bottlenecks at a small width."""
    return nn.Sequential(resnet.Bottleneck(64, 16), resnet.Bottleneck(64, 32, stride=2))


def library_mobilenet_blocks() -> nn.Sequential:
    """This library's inverted residuals: t = 1 (no slot at the depthwise position), t = 6 with
    and without the residual sum, and one with the slot at the projection (the ECA placement)."""
    return nn.Sequential(
        mobilenetv2.InvertedResidual(64, 64, 1, 1),
        mobilenetv2.InvertedResidual(64, 64, 1, 6),
        mobilenetv2.InvertedResidual(64, 96, 2, 6),
        mobilenetv2.InvertedResidual(96, 96, 1, 6, position="project"),
    )


# name -> (constructor, input shape, expected where="blocks" sites as (path, channels)). Every
# site has at least 64 channels, so the reduced widths of SE, CBAM and Coordinate Attention are at
# least 4 and a ReLU dead on the whole batch cannot silence a module (a property of the module
# at width 1, not of the insertion).
NETWORKS = {
    "tv_basic": (
        lambda: ResNet(BasicBlock, [1, 1, 1, 1], width=64), (4, 3, 48, 48),
        [("layer1.0.bn2", 64), ("layer2.0.bn2", 128), ("layer3.0.bn2", 256),
         ("layer4.0.bn2", 512)],
    ),
    "tv_bottleneck": (
        lambda: ResNet(Bottleneck, [1, 2, 1, 1]), (4, 3, 48, 48),
        [("layer1.0.bn3", 64), ("layer2.0.bn3", 128), ("layer2.1.bn3", 128),
         ("layer3.0.bn3", 256), ("layer4.0.bn3", 512)],
    ),
    "timm_bottleneck": (
        lambda: TimmResNet([1, 1, 1, 1]), (4, 3, 48, 48),
        [("layer1.0.bn3", 64), ("layer2.0.bn3", 128), ("layer3.0.bn3", 256),
         ("layer4.0.bn3", 512)],
    ),
    "small_cnn": (
        lambda: SmallCNN(3, 4, widths=(64, 64, 96)), (4, 3, 16, 16),
        [("blocks.0.attention", 64), ("blocks.1.attention", 64), ("blocks.2.attention", 96)],
    ),
    "resnet_blocks": (
        library_resnet_blocks, (4, 64, 8, 8), [("0.attention", 64), ("1.attention", 128)],
    ),
    "mobilenet_blocks": (
        library_mobilenet_blocks, (4, 64, 8, 8),
        [("1.attention", 384), ("2.attention", 384), ("3.attention", 96)],
    ),
    "neck": (
        NeckModel, (4, 192, 8, 8),
        [("neck.feat1_attention", 64), ("neck.feat2_attention", 128),
         ("neck.up_attention", 128)],
    ),
    "mobilenetv2": (
        lambda: MobileNetV2(num_classes=10), (2, 3, 64, 64),
        [(f"features.{i + 2}.attention", c)
         for i, c in enumerate(mobilenetv2_attention_channels("depthwise"))],
    ),
    "resnet50": (
        lambda: ResNet50(num_classes=10), (2, 3, 64, 64),
        [(f"layer{s + 1}.{b}.attention", 256 * 2 ** s)
         for s, n in enumerate((3, 4, 6, 3)) for b in range(n)],
    ),
}
SMALL = ["tv_basic", "tv_bottleneck", "timm_bottleneck", "small_cnn", "resnet_blocks",
         "mobilenet_blocks", "neck"]

HEADS = ("fc", "head", "classifier.1", "neck.head_p5.1", "neck.head_p4.1")
LOGIT_SIZE = 20.0  # a trained classifier's largest logits are of this size, not 0.1

_BUILT: dict[str, tuple[nn.Module, torch.Tensor, torch.Tensor]] = {}


def network(name: str, seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A fresh copy of network ``name`` (eval mode), an input and its output before insertion.

    BatchNorm layers get trained-looking statistics and the output layers are scaled so that the
    largest output is ``LOGIT_SIZE``: the tolerance of 1e-5 is then a relative 5e-7.
    """
    key = f"{name}/{seed}"
    if key not in _BUILT:
        make, shape, _ = NETWORKS[name]
        torch.manual_seed(seed)
        model = randomise_batchnorm(make(), seed).eval()
        x = torch.randn(shape, generator=torch.Generator().manual_seed(seed + 100))
        heads = [m for n, m in model.named_modules() if n in HEADS]
        with torch.no_grad():
            scale = LOGIT_SIZE / model(x).abs().max()
            for head in heads:
                for p in head.parameters():
                    p.mul_(scale)
            _BUILT[key] = (model, x, model(x))
    model, x, y = _BUILT[key]
    return copy.deepcopy(model), x, y


def inserted_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    found = {}
    for path, m in model.named_modules():
        if isinstance(m, InsertedAttention):
            for name, p in m.attention.named_parameters():
                found[f"{path}.{m.kind}.{name}"] = p
            if m.alpha is not None:
                found[f"{path}.alpha"] = m.alpha
    return found


# A gradient below this fraction of the largest one in the same inserted module is round-off, not
# learning. Measured on the networks here, under identity and fully open (alpha = 1) insertion: the
# smallest real gradient is 4e-4 of its module's largest; the biases whose effect a BatchNorm
# cancels in training mode (inside the module: Coordinate Attention's conv1.bias; right after it
# in the host network: self-attention's v.bias and out_proj.bias before a 1x1 conv and BN) and
# the key bias that softmax cancels stay below 6e-7.
RELATIVE = 1e-5


def silent_parameters(model: nn.Module, x: torch.Tensor) -> set[str]:
    """The inserted parameters that get no gradient on one training step: ``alpha`` with a zero
    gradient, or a module parameter whose gradient is below ``RELATIVE`` times its module's
    largest."""
    model.train()
    out = model(x)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    (out * weights).sum().backward()
    silent = set()
    for path, m in model.named_modules():
        if not isinstance(m, InsertedAttention):
            continue
        assert all(torch.isfinite(p.grad).all() for p in m.new_parameters())
        if m.alpha is not None and not m.alpha.grad.ne(0).any():
            silent.add(f"{path}.alpha")
        norms = {n: p.grad.norm().item() for n, p in m.attention.named_parameters()}
        if norms:
            largest = max(norms.values())
            silent |= {f"{path}.{m.kind}.{n}" for n, v in norms.items() if v <= RELATIVE * largest}
    return silent


def check_identity_and_gradients(name: str, kind: str) -> None:
    model, x, before = network(name)
    open_model = copy.deepcopy(model)
    torch.manual_seed(0)
    report = insert_attention(model, kind, **KIND_OPTIONS.get(kind, {}))
    assert report.paths == [p for p, _ in NETWORKS[name][2]]
    with torch.no_grad():
        after = model(x)
    diff = (after - before).abs().max().item()
    assert diff <= TOLERANCE, f"{name}/{kind}: outputs moved by {diff:.2e}"
    # One training step. The acceptance criterion: every inserted parameter that receives a
    # gradient under the paper's initialisation also receives one under the identity
    # initialisation (the same random module, init="default": no blend, applied at once).
    silent = silent_parameters(model, x)
    paper_model = copy.deepcopy(open_model)
    torch.manual_seed(0)
    insert_attention(paper_model, kind, init="default", **KIND_OPTIONS.get(kind, {}))
    paper_silent = silent_parameters(paper_model, x)
    assert silent <= paper_silent, (f"{name}/{kind}: silent under the identity initialisation "
                                    f"only: {sorted(silent - paper_silent)}")
    # Stricter, on these networks: the silent ones are what the network ignores in training mode
    # whatever the initialisation: they get none with the module fully open (alpha = 1) either,
    # and are biases (a constant shift that a BatchNorm or a softmax cancels; a weight behind a
    # zero switch that insertion failed to open would not pass).
    if silent:
        torch.manual_seed(0)
        insert_attention(open_model, kind, init=1.0, **KIND_OPTIONS.get(kind, {}))
        ignored = {n for n in silent_parameters(open_model, x) if n.endswith("bias")}
        assert silent <= ignored, f"{name}/{kind}: no gradient for {sorted(silent - ignored)}"


# ------------------------------------------------------------------------------------------------
# Identity insertion: same outputs, and every new parameter learns
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", SMALL)
def test_identity_insertion_keeps_outputs_and_silences_nothing_the_paper_does_not(name, kind):
    check_identity_and_gradients(name, kind)


def test_a_dead_bottleneck_is_silent_under_either_initialisation():
    """The chapter 8 lab's case, where "every inserted parameter learns" is false and the criterion
    holds: SE (reduction 4) inserted into the shipped clutter_none network with seed 0 has a dead
    bottleneck in block 2 (its 4 hidden units negative on the batch), so fc1 and fc2 get no
    gradient under the paper's initialisation and none under the identity initialisation."""
    from attn_lessons import checkpoints

    x, y = checkpoints.train_set().tensors
    silent = {}
    for init in ("identity", "default"):
        torch.manual_seed(0)
        model = checkpoints.load_checkpoint("none")
        insert_attention(model, "se", init=init, reduction=4)
        model.train()
        nn.functional.cross_entropy(model(x[:64]), y[:64]).backward()
        se = model.get_submodule("blocks.1.attention.se")
        silent[init] = {n for n, p in se.named_parameters() if not p.grad.abs().max() > 0}
    assert silent["identity"] == silent["default"] == {"fc1.weight", "fc1.bias", "fc2.weight"}


# What the chapters' modules ignore in training mode, under any initialisation (module docstring).
IGNORED = {"coordatt": {"conv1.bias"}, "self_attention": {"k.bias"}}


@pytest.mark.parametrize("kind", [k for k in ATTENTION_KINDS if k != "none"])
def test_only_what_a_module_ignores_gets_no_gradient(kind):
    """The exemption in the check above covers exactly two parameters of the chapters' modules:
    a bias before BatchNorm, and the key bias that softmax cancels."""
    model, x, _ = network("tv_bottleneck")
    torch.manual_seed(0)
    insert_attention(model, kind, init=1.0)
    silent = {n.split(f".{kind}.", 1)[1] for n in silent_parameters(model, x)}
    assert silent == IGNORED.get(kind, set())


@pytest.mark.parametrize(("name", "kind"), [("resnet50", "se"), ("mobilenetv2", "coordatt")])
def test_identity_insertion_in_the_librarys_imagenet_networks(name, kind):
    """The whole networks with the module their papers test there (every kind: the blocks above,
    and the parameter counts below)."""
    check_identity_and_gradients(name, kind)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_blocks_are_found_by_structure(name):
    model, _, _ = network(name)
    assert find_attention_sites(model) == NETWORKS[name][2]


def test_sites_match_the_librarys_channel_lists():
    assert [c for _, c in NETWORKS["resnet50"][2]] == resnet50_attention_channels()
    model = MobileNetV2(position="project", num_classes=10)
    assert [c for _, c in find_attention_sites(model)] == mobilenetv2_attention_channels("project")


BUILT_WITH = {
    "resnet50": lambda k: ResNet50(k, num_classes=10),
    "mobilenetv2": lambda k: MobileNetV2(k, num_classes=10),
    "mobilenetv2_project": lambda k: MobileNetV2(k, position="project", num_classes=10),
    "neck": lambda k: YoloTinyNeck(k),
    "small_cnn": lambda k: SmallCNN(attention=k),
}


# Field-guide kinds whose authors' defaults do not fit MobileNetV2's narrow stages (16 and 24
# channels): 32 or 64 groups, GroupNorm(16, C), or GC's hidden width 16 // 16 = 1. Building the
# network with them refuses, naming an option that fits; insertion refuses the same way.
DEFAULTS_DO_NOT_FIT = {
    "mobilenetv2": {"sk", "shuffle", "ema"},
    "mobilenetv2_project": {"gc", "sk", "shuffle", "ema", "ela"},
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(BUILT_WITH))
def test_default_insertion_builds_the_librarys_own_attention_network(name, kind):
    """Inserting into the plain network adds what building it with the kind adds, no more."""
    if name == "small_cnn" and kind not in ATTENTION_KINDS:
        pytest.skip("SmallCNN's default widths (8, 16, 32) are below what the field guide's "
                    "defaults need; test_small_cnn.py builds it with options")
    make = BUILT_WITH[name]
    if kind in DEFAULTS_DO_NOT_FIT.get(name, ()):
        with torch.device("meta"):
            with pytest.raises(ValueError, match="channels"):
                make(kind)
            with pytest.raises(ValueError, match="cannot build attention"):
                insert_attention(make("none"), kind, init="default")
        return
    with torch.device("meta"):  # shapes only: nothing is allocated or initialised
        plain, built = make("none"), make(kind)
        before = sum(p.numel() for p in plain.parameters())
        report = insert_attention(plain, kind, init="default")
    count = sum(p.numel() for p in plain.parameters())
    assert count == sum(p.numel() for p in built.parameters())
    assert report.num_new_params == count - before


def test_identity_adds_one_alpha_per_site_and_the_closed_form_count():
    model, _, _ = network("tv_bottleneck")
    report = insert_attention(model, "se", reduction=8)
    widths = [c for _, c in NETWORKS["tv_bottleneck"][2]]
    assert report.num_new_params == sum(se_num_params(c, 8) + 1 for c in widths)
    assert report.num_new_params == sum(p.numel() for p in inserted_parameters(model).values())
    new = report.new_parameters(model)
    assert {id(p) for p in new} == {id(p) for p in inserted_parameters(model).values()}
    with pytest.raises(ValueError, match="not an inserted module"):
        report.new_parameters(network("tv_bottleneck")[0])
    alphas = torch.stack([model.get_submodule(p).alpha.detach() for p in report.paths])
    assert torch.equal(alphas, torch.full((len(report.sites),), IDENTITY_ALPHA))


def test_default_initialisation_changes_the_output():
    """The identity test above can fail: the paper's initialisation moves the outputs."""
    model, x, before = network("tv_bottleneck")
    insert_attention(model, "se", init="default")
    with torch.no_grad():
        assert (model(x) - before).abs().max() > 1e-2


def test_alpha_zero_is_exact_but_the_module_cannot_learn_on_the_first_step():
    """Why init='identity' starts alpha at 2**-24 and not 0 (the module docstring's argument)."""
    model, x, before = network("small_cnn")
    insert_attention(model, "se", init=0.0)
    with torch.no_grad():
        assert torch.equal(model(x), before)
    model.train()
    model(x).square().sum().backward()
    for name, p in inserted_parameters(model).items():
        assert p.grad.ne(0).any() == name.endswith("alpha"), name


def test_self_attentions_own_gamma_is_opened_under_the_blend_only():
    model, _, _ = network("small_cnn")
    report = insert_attention(model, "self_attention")
    assert all(s.reopened == ("gamma",) for s in report.sites)
    assert model.blocks[0].attention.self_attention.gamma.item() == 1.0
    model, _, _ = network("small_cnn")
    report = insert_attention(model, "self_attention", init="default")
    assert all(s.reopened == () for s in report.sites)
    assert model.blocks[0].attention.self_attention.gamma.item() == 0.0


def test_identity_alpha_is_half_the_machine_epsilon():
    assert identity_alpha() == IDENTITY_ALPHA == 2.0**-24
    assert identity_alpha(torch.float64) == 2.0**-53
    one = torch.tensor(1.0)  # float32: 1 + 2**-24 rounds back to 1, 1 + 2**-23 does not
    assert one + identity_alpha() == one and one + 2 * identity_alpha() > one
    with pytest.raises(TypeError, match="floating-point torch.dtype"):
        identity_alpha(torch.int64)


def test_the_saturated_gate_exercise_solution():
    """Exercise ex-ch8-saturated-gate's numbers, on every float32 b between 16 and 17: sigma(b) is
    exactly 1 from the first float32 above 24 ln 2 (16.64) on, with gradient exactly 0; the float32
    just below stores sigma(b) = 1 - 2^-23 and gets the gradient 2^-23 (1 - 2^-23), twice alpha_0
    in size."""
    ends = torch.tensor([16.0, 17.0]).view(torch.int32).tolist()
    b = torch.arange(ends[0], ends[1] + 1, dtype=torch.int32).view(torch.float32)  # 2^19 + 1
    b.requires_grad_()
    s = torch.sigmoid(b)
    s.sum().backward()
    first = int((s == 1).nonzero()[0])
    assert (s[first:] == 1).all() and (s[:first] < 1).all()
    threshold = 24 * math.log(2)
    spacing = 2.0**-19  # between float32 numbers in [16, 32)
    assert b[first - 1].item() <= threshold < b[first].item() + spacing
    assert f"{b[first].item():.2f}" == f"{threshold:.2f}" == "16.64"
    assert (b.grad[first:] == 0).all()  # (a): the dead start
    assert 1 - s[first - 1].item() == 2.0**-23  # (b): the stored gate just below
    assert math.isclose(b.grad[first - 1].item(), 2.0**-23, rel_tol=1e-6)
    assert 1 - s[first - 1].item() == 2 * IDENTITY_ALPHA


def test_new_modules_follow_dtype_and_mode():
    torch.manual_seed(0)
    model = randomise_batchnorm(ResNet(BasicBlock, [1, 1, 1, 1], width=64), 0).double().eval()
    x = torch.randn(2, 3, 40, 40, dtype=torch.float64)
    with torch.no_grad():
        before = model(x)
    model.train()
    model.layer1.eval()
    report = insert_attention(model, "coordatt")
    assert not model.layer1[0].bn2.training and model.layer2[0].bn2.training
    assert report.alpha == 2.0**-53 and model.layer1[0].bn2.alpha.item() == 2.0**-53
    assert all(p.dtype == torch.float64 for p in inserted_parameters(model).values())
    with torch.no_grad():
        assert (model.eval()(x) - before).abs().max() <= 1e-13


def test_new_modules_go_to_the_models_device(device):
    torch.manual_seed(0)
    model = randomise_batchnorm(SmallCNN(3, 4, widths=(64, 64, 64)), 0).to(device).eval()
    x = torch.randn(2, 3, 16, 16, device=device)
    with torch.no_grad():
        before = model(x)
    insert_attention(model, "self_attention")
    assert all(p.device.type == device.type for p in inserted_parameters(model).values())
    with torch.no_grad():
        assert (model(x) - before).abs().max() <= TOLERANCE


# ------------------------------------------------------------------------------------------------
# Loading: a state dict from before the insertion, and round trips after it
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SMALL)
def test_state_dict_from_before_the_insertion_loads(name):
    trained, x, before = network(name, seed=0)
    state = trained.state_dict()
    model, _, _ = network(name, seed=1)  # other weights, to be overwritten
    report = insert_attention(model, "cbam")
    loaded = load_pretrained(model, state)
    assert isinstance(loaded, LoadReport)
    assert loaded.missing == () and loaded.unexpected == ()
    assert set(loaded.new) == set(report.new_keys)
    assert loaded.renamed == report.renamed_keys
    assert set(loaded.loaded) | set(loaded.new) == set(model.state_dict())
    with torch.no_grad():
        assert (model(x) - before).abs().max().item() <= TOLERANCE


def test_the_renaming_scheme():
    """A wrapped BatchNorm's keys gain '.body'; an empty slot's new module has only new keys."""
    model, _, _ = network("tv_bottleneck")
    report = insert_attention(model, "se")
    keys = set(model.state_dict())
    assert "layer1.0.bn3.body.weight" in keys and "layer1.0.bn3.weight" not in keys
    assert report.renamed_keys["layer1.0.bn3.running_var"] == "layer1.0.bn3.body.running_var"
    assert {"layer1.0.bn3.se.fc1.weight", "layer1.0.bn3.alpha"} <= set(report.new_keys)
    small, _, _ = network("small_cnn")
    report = insert_attention(small, "eca")
    assert report.renamed_keys == {}
    assert "blocks.0.attention.eca.conv.weight" in report.new_keys


def test_plain_load_state_dict_is_the_trap_load_pretrained_avoids():
    trained, _, _ = network("tv_basic", seed=0)
    state = trained.state_dict()
    model, _, _ = network("tv_basic", seed=1)
    insert_attention(model, "se")
    with pytest.raises(RuntimeError, match="layer1.0.bn2.body.weight"):
        model.load_state_dict(state)
    model.load_state_dict(state, strict=False)  # silently keeps seed 1's wrapped BatchNorms
    assert not torch.equal(model.layer1[0].bn2.body.weight, trained.layer1[0].bn2.weight)
    load_pretrained(model, state)
    assert torch.equal(model.layer1[0].bn2.body.weight, trained.layer1[0].bn2.weight)


@pytest.mark.parametrize("name", ["tv_bottleneck", "small_cnn", "neck"])
def test_state_dict_round_trip_after_insertion(name):
    model, x, _ = network(name, seed=0)
    insert_attention(model, "coordatt", init="default")
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    other, _, _ = network(name, seed=1)
    insert_attention(other, "coordatt", init="default")
    loaded = load_pretrained(other, state)
    assert loaded.new == () and loaded.renamed == {} and len(loaded.loaded) == len(state)
    copy_ = copy.deepcopy(other)
    copy_.load_state_dict(state)  # the same keys: plain loading works too
    with torch.no_grad():
        assert torch.equal(other(x), model(x)) and torch.equal(copy_(x), model(x))


def test_inserting_twice_nests_and_the_oldest_state_dict_still_loads():
    trained, x, before = network("tv_bottleneck", seed=0)
    model, _, _ = network("tv_bottleneck", seed=1)
    insert_attention(model, "se")
    second = insert_attention(model, "eca")
    assert second.paths == [p for p, _ in NETWORKS["tv_bottleneck"][2]]
    assert "layer1.0.bn3.body.body.weight" in model.state_dict()
    loaded = load_pretrained(model, trained.state_dict())
    assert loaded.renamed["layer1.0.bn3.weight"] == "layer1.0.bn3.body.body.weight"
    with torch.no_grad():
        assert (model(x) - before).abs().max().item() <= TOLERANCE


def test_a_slot_that_already_holds_attention_gets_the_new_module_after_it():
    torch.manual_seed(0)
    model = SmallCNN(attention="se", attention_blocks=(0,))
    state = model.state_dict()
    report = insert_attention(model, "eca")
    assert [s.follows for s in report.sites] == ["blocks.0.attention", None, None]
    assert report.renamed_keys["blocks.0.attention.fc1.weight"] == \
        "blocks.0.attention.body.fc1.weight"
    assert load_pretrained(model, state).missing == ()


# ------------------------------------------------------------------------------------------------
# where=[paths]
# ------------------------------------------------------------------------------------------------
def test_insert_after_named_modules():
    model, x, before = network("tv_basic")
    report = insert_attention(model, "se", ["conv1", "layer2.0.bn1", "layer3.0.conv2"],
                              reduction=4)
    assert [(s.path, s.channels, s.follows) for s in report.sites] == [
        ("conv1", 64, "conv1"), ("layer2.0.bn1", 128, "layer2.0.bn1"),
        ("layer3.0.conv2", 256, "layer3.0.conv2")]
    with torch.no_grad():
        assert (model(x) - before).abs().max().item() <= TOLERANCE


def test_path_channels_from_a_sequential_a_slot_or_channels():
    model, x, before = network("neck")
    report = insert_attention(model, "eca", ["neck.reduce_p5", "neck.up_attention"])
    assert [(s.channels, s.follows) for s in report.sites] == [
        (256, "neck.reduce_p5"), (128, None)]  # a conv-BN-LeakyReLU's BN; a declared slot
    with torch.no_grad():
        assert (model(x) - before).abs().max().item() <= TOLERANCE
    plain = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Identity(), nn.ReLU())
    with pytest.raises(ValueError, match=r"cannot infer the channel count after '1'.*channels="):
        insert_attention(plain, "se", ["1"], reduction=4)
    report = insert_attention(plain, "se", ["1"], channels=8, reduction=4)
    assert report.sites[0].follows is None and isinstance(plain[1], InsertedAttention)


def test_report_reads_as_a_table():
    model, _, _ = network("tv_bottleneck")
    report = insert_attention(model, "eca")
    assert isinstance(report, InsertionReport)
    text = repr(report)
    assert "5 x 'eca'" in text and "layer4.0.bn3" in text and f"{report.num_new_params:,}" in text
    assert text == str(report) and len(text.splitlines()) == 2 + len(report.sites)


# ------------------------------------------------------------------------------------------------
# Every error path
# ------------------------------------------------------------------------------------------------
def unchanged(model: nn.Module, keys: set[str]) -> bool:
    return set(model.state_dict()) == keys and not any(
        isinstance(m, InsertedAttention) for m in model.modules())


@pytest.mark.parametrize(("args", "kwargs", "error", "match"), [
    (("squeeze",), {}, ValueError, r"unknown attention kind 'squeeze'.*'se'"),
    (("none",), {}, ValueError, "inserts nothing"),
    ((3,), {}, ValueError, "unknown attention kind 3"),
    (("se", "layer9.0.bn2"), {}, ValueError, r"where=\['layer9.0.bn2'\]"),
    (("se", ["layer9.0.bn2"]), {}, ValueError, r"no module 'layer9.0.bn2'.*did you mean"),
    (("se", [1]), {}, TypeError, "module paths"),
    (("se", []), {}, ValueError, "empty list"),
    (("se", [""]), {}, ValueError, "whole model"),
    (("se", ["layer1.0.bn2", "layer1.0.bn2"]), {}, ValueError, "twice"),
    (("se", ["layer1.0", "layer1.0.bn2"]), {}, ValueError, "one inside the other"),
    (("se", 3), {}, TypeError, "where must be"),
    (("se",), {"init": "zero"}, ValueError, "init must be"),
    (("se",), {"init": 1.5}, ValueError, "init must be"),
    (("se",), {"init": float("nan")}, ValueError, "init must be"),
    (("se",), {"init": True}, ValueError, "init must be"),
    (("se",), {"channels": 8}, TypeError, "channels= applies to where"),
    (("se", ["conv1"]), {"channels": 0}, ValueError, "channels must be a positive"),
    (("se",), {"reduction": 0}, ValueError, r"'se' for 64 channels at 'layer1.0.bn2'.*reduction"),
    (("eca",), {"kernel": 3}, TypeError, r"'eca' for 64 channels at 'layer1.0.bn2'.*kernel"),
    (("cbam",), {"kernel_size": 4}, ValueError, "kernel_size must be a positive odd"),
])
def test_bad_arguments_raise_and_leave_the_model_alone(args, kwargs, error, match):
    model, _, _ = network("tv_basic")
    keys = set(model.state_dict())
    with pytest.raises(error, match=match):
        insert_attention(model, *args, **kwargs)
    assert unchanged(model, keys)


def test_a_refused_option_at_a_later_site_leaves_the_model_alone():
    model = SmallCNN(widths=(32, 32, 8))  # reduction 16 fits 32 channels, not 8
    keys = set(model.state_dict())
    with pytest.raises(ValueError, match="at 'blocks.2.attention'"):
        insert_attention(model, "se")
    assert unchanged(model, keys)


def test_no_place_found_names_what_was_searched_for():
    plain = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    with pytest.raises(ValueError, match=r"no place for attention in Sequential.*conv1, bn1, "
                                         r"conv2, bn2.*attention_slots.*where=\["):
        insert_attention(plain, "se")
    assert find_attention_sites(plain) == []


@pytest.mark.parametrize("bad", [None, "resnet", nn.Conv2d])
def test_a_non_module_is_refused(bad):
    with pytest.raises(TypeError, match="torch.nn.Module"):
        insert_attention(bad, "se")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        load_pretrained(bad, {})
    with pytest.raises(TypeError, match="torch.nn.Module"):
        find_attention_sites(bad)


def test_shape_mismatch_names_the_key_and_both_shapes_and_loads_nothing():
    trained, _, _ = network("tv_basic", seed=0)
    state = trained.state_dict()
    state["layer1.0.bn2.weight"] = torch.ones(5)
    model, _, _ = network("tv_basic", seed=1)
    insert_attention(model, "se")
    fc_before = model.fc.weight.clone()
    with pytest.raises(ValueError, match=r"'layer1.0.bn2.body.weight': the model has \(64,\), the "
                                         r"state dict has \(5,\) \(under its pre-insertion name "
                                         r"'layer1.0.bn2.weight'\)"):
        load_pretrained(model, state)
    assert torch.equal(model.fc.weight, fc_before)


def test_missing_and_unexpected_keys_raise_unless_not_strict():
    trained, _, _ = network("small_cnn", seed=0)
    state = trained.state_dict()
    del state["head.bias"]
    state["head.scale"] = torch.ones(1)
    model, _, _ = network("small_cnn", seed=1)
    insert_attention(model, "se")
    head_before = model.head.weight.clone()
    with pytest.raises(ValueError, match=r"missing .*'head.bias'.*unexpected.*'head.scale'"):
        load_pretrained(model, state)
    assert torch.equal(model.head.weight, head_before)
    report = load_pretrained(model, state, strict=False)
    assert report.missing == ("head.bias",) and report.unexpected == ("head.scale",)
    assert torch.equal(model.head.weight, trained.head.weight)
    assert "1 missing, 1 unexpected" in repr(report)


def test_attention_weights_of_a_network_built_with_them_are_not_new():
    """Only inserted modules may be absent: a network *built* with SE needs its SE weights."""
    with pytest.raises(ValueError, match="missing.*blocks.0.attention.fc1.weight"):
        load_pretrained(SmallCNN(attention="se"), SmallCNN().state_dict())


def test_a_data_parallel_prefix_gets_a_hint():
    model = SmallCNN()
    state = {f"module.{k}": v for k, v in SmallCNN().state_dict().items()}
    with pytest.raises(ValueError, match="start with 'module.'"):
        load_pretrained(model, state)


@pytest.mark.parametrize(("state", "strict", "match"), [
    ([("head.bias", torch.zeros(4))], True, "mapping"),
    ({"head.bias": [0.0] * 4}, True, "'head.bias' holds list"),
    ({}, "yes", "strict must be True or False"),
])
def test_load_pretrained_bad_arguments(state, strict, match):
    with pytest.raises(TypeError, match=match):
        load_pretrained(SmallCNN(3, 4), state, strict=strict)
