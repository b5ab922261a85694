"""Selective Kernel equals the authors' Caffe unit and timm's port, counts, refuses bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attn_lessons.cost import count_flops
from attn_lessons.factory import make_attention
from attn_lessons.sk import SelectiveKernel, sk_macs, sk_num_params

from ._module_checks import bad_maps, one_image_training_says_why


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)  # the inputs drawn with torch.randn below are the same on every run


# --- the two references, written with plain tensor operations ----------------------------------

def _bn(x, p, prefix, training, eps=1e-5):
    """BatchNorm by its definition: batch statistics (biased variance) or the running ones."""
    dims = [0, *range(2, x.ndim)]
    if training:
        mean = x.mean(dim=dims)
        var = ((x - mean.view(1, -1, *[1] * (x.ndim - 2))) ** 2).mean(dim=dims)
    else:
        mean, var = p[f"{prefix}.running_mean"], p[f"{prefix}.running_var"]
    shape = (1, -1, *[1] * (x.ndim - 2))
    scale = p[f"{prefix}.weight"] / torch.sqrt(var + eps)
    return (x - mean.view(shape)) * scale.view(shape) + p[f"{prefix}.bias"].view(shape)


def _softmax(t, dim):
    e = torch.exp(t - t.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim, keepdim=True)


def caffe_sk_unit(x, p, groups, training):
    """The SK unit of the authors' released SKNet-50, as its Caffe prototxt computes it.

    implus/SKNet @ 17dd7086d4959be0c8c6ccce52e4fd8187836770, models/sknet50.prototxt, unit
    conv2_1: branch "3x3g32" (3x3, pad 1, group G, no bias) + BN + ReLU and branch "3x3g32d2"
    (3x3, pad 2, dilation 2) + BN + ReLU, lines 150-272; Eltwise SUM 273-282; global AVE
    pooling 283-293; B_fc1 (1x1, no bias) + BN + ReLU 294-353; B_fc2 (1x1 to 2C, no bias)
    354-373; Reshape (0, 2, -1, 0) and Softmax over axis 1, 374-396; Slice, Scale and Axpy:
    a0 * branch0 + a1 * branch1, 397-466.
    """
    b, c = x.shape[:2]
    u0 = F.conv2d(x, p["paths.0.conv.weight"], padding=1, groups=groups)
    u0 = torch.clamp(_bn(u0, p, "paths.0.bn", training), min=0)
    u1 = F.conv2d(x, p["paths.1.conv.weight"], padding=2, dilation=2, groups=groups)
    u1 = torch.clamp(_bn(u1, p, "paths.1.bn", training), min=0)
    s = (u0 + u1).sum(dim=(2, 3)) / (x.shape[2] * x.shape[3])  # (B, C)
    d = p["attn.fc_reduce.weight"].shape[0]
    z = s @ p["attn.fc_reduce.weight"].reshape(d, c).T  # (B, d)
    z = torch.clamp(_bn(z, p, "attn.bn", training), min=0)
    logits = (z @ p["attn.fc_select.weight"].reshape(2 * c, d).T).reshape(b, 2, c)
    a = _softmax(logits, dim=1)  # (B, 2, C)
    return a[:, 0, :, None, None] * u0 + a[:, 1, :, None, None] * u1


def timm_selective_kernel(x, p, kernel_sizes, groups, split_input, keep_3x3, training):
    """timm's SelectiveKernel forward, re-stated.

    huggingface/pytorch-image-models @ aa4b5850c1543fa488abf260f18390eda46cf85d,
    timm/layers/selective_kernel.py: SelectiveKernel.__init__ lines 110-137 (keep_3x3: kernel
    3 with dilation (k - 1) // 2; padding of timm's create_conv2d: dilation * (k - 1) // 2),
    forward lines 139-149 (split or shared input, ConvNormAct per path, stack on dim 1),
    SelectiveKernelAttn.forward lines 48-58 (sum over paths, mean over H and W, fc_reduce, bn,
    act, fc_select, view (B, M, C, H, W), softmax over dim 1), then x * attn summed over dim 1.
    """
    b, c = x.shape[:2]
    m = len(kernel_sizes)
    if keep_3x3:
        shapes = [(3, (k - 1) // 2) for k in kernel_sizes]
    else:
        shapes = [(k, 1) for k in kernel_sizes]
    inputs = torch.split(x, c // m, 1) if split_input else [x] * m
    paths = []
    for i, ((k, dil), xi) in enumerate(zip(shapes, inputs, strict=True)):
        y = F.conv2d(xi, p[f"paths.{i}.conv.weight"], padding=dil * (k - 1) // 2,
                     dilation=dil, groups=groups)
        paths.append(torch.clamp(_bn(y, p, f"paths.{i}.bn", training), min=0))
    feats = torch.stack(paths, dim=1)  # (B, M, C, H, W)
    s = feats.sum(1).mean((2, 3), keepdim=True)  # (B, C, 1, 1)
    d = p["attn.fc_reduce.weight"].shape[0]
    z = torch.einsum("bcij,dc->bdij", s, p["attn.fc_reduce.weight"].reshape(d, c))
    z = torch.clamp(_bn(z, p, "attn.bn", training), min=0)
    logits = torch.einsum("bdij,ed->beij", z, p["attn.fc_select.weight"].reshape(m * c, d))
    attn = _softmax(logits.view(b, m, c, 1, 1), dim=1)
    return (feats * attn).sum(dim=1)


def timm_parameter_shapes(in_channels, kernel_sizes, groups, split_input, keep_3x3, rd_channels):
    """The parameters timm's constructor creates (same file, lines 108-137 and 40-46)."""
    m = len(kernel_sizes)
    conv_in = in_channels // m if split_input else in_channels
    shapes = {}
    for i, k in enumerate(kernel_sizes):
        k = 3 if keep_3x3 else k
        shapes[f"paths.{i}.conv.weight"] = (in_channels, conv_in // groups, k, k)
        shapes[f"paths.{i}.bn.weight"] = (in_channels,)
        shapes[f"paths.{i}.bn.bias"] = (in_channels,)
    shapes["attn.fc_reduce.weight"] = (rd_channels, in_channels, 1, 1)
    shapes["attn.bn.weight"] = (rd_channels,)
    shapes["attn.bn.bias"] = (rd_channels,)
    shapes["attn.fc_select.weight"] = (in_channels * m, rd_channels, 1, 1)
    return shapes


def timm_make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    """timm/layers/helpers.py, make_divisible (same commit), re-stated."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def _random_state(module, seed):
    """Random weights, BN scales, shifts and running statistics, in float64, by name."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, t in module.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = t
        elif name.endswith("running_var") or name.endswith("bn.weight"):
            state[name] = 0.5 + torch.rand(t.shape, generator=g, dtype=torch.float64)
        else:
            state[name] = torch.randn(t.shape, generator=g, dtype=torch.float64) * 0.3
    return state


# --- equality with the references ---------------------------------------------------------------

@pytest.mark.parametrize(("shape", "groups"), [((2, 64, 6, 5), 32), ((3, 32, 1, 1), 8),
                                               ((2, 16, 4, 9), 4)])
@pytest.mark.parametrize("training", [False, True])
def test_equals_the_authors_caffe_unit(shape, groups, training):
    c = shape[1]
    module = SelectiveKernel(c, groups=groups, min_width=8).double()
    state = _random_state(module, seed=c)
    module.load_state_dict(state)
    module.train(training)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    torch.testing.assert_close(module(x), caffe_sk_unit(x, state, groups, training),
                               atol=1e-10, rtol=0)


TIMM_OPTIONS = [  # (channels, kernel_sizes, groups, split_input, keep_3x3, reduction, min_width)
    (32, (3, 5), 32, False, True, 16, 32),  # skresnext50_32x4d's configuration
    (16, (3, 5), 1, True, True, 8, 8),  # skresnet's split input
    (12, (3, 5, 7), 3, False, True, 4, 4),  # three branches
    (8, (3, 5), 2, False, False, 2, 4),  # a real 5x5 kernel
    (8, (3, 5), 4, True, False, 4, 3),  # dense kernels, split input
]


@pytest.mark.parametrize(("c", "ks", "g", "split", "keep", "r", "L"), TIMM_OPTIONS)
@pytest.mark.parametrize("training", [False, True])
def test_equals_timms_port(c, ks, g, split, keep, r, L, training):
    module = SelectiveKernel(c, ks, g, r, L, dilate=keep, split_input=split).double()
    state = _random_state(module, seed=c + len(ks))
    module.load_state_dict(state)
    module.train(training)
    x = torch.randn(2, c, 5, 7, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    want = timm_selective_kernel(x, state, ks, g, split, keep, training)
    torch.testing.assert_close(module(x), want, atol=1e-10, rtol=0)


# --- parameter counts ---------------------------------------------------------------------------

def test_first_unit_of_sknet50_has_the_caffe_models_parameter_count():
    # Learned blobs of unit conv2_1 (prototxt lines 150-373): two convolutions with
    # num_output 128, group 32, kernel 3 -> (128, 4, 3, 3) each; CuDNNBatchNorm's scale and bias
    # (its mean and variance have lr_mult 0: statistics, not parameters) -> 2 x 128 twice and
    # 2 x 32; B_fc1 num_output 32 -> (32, 128, 1, 1); B_fc2 num_output 256 -> (256, 32, 1, 1).
    caffe = 2 * (128 * 4 * 9) + 2 * (2 * 128) + 32 * 128 + 2 * 32 + 256 * 32
    module = SelectiveKernel(128)
    assert module.hidden == 32
    assert sum(p.numel() for p in module.parameters()) == caffe == sk_num_params(128) == 22_080


@pytest.mark.parametrize(("c", "ks", "g", "split", "keep", "r", "L"), TIMM_OPTIONS)
def test_parameter_names_and_shapes_are_timms(c, ks, g, split, keep, r, L):
    module = SelectiveKernel(c, ks, g, r, L, dilate=keep, split_input=split)
    shapes = timm_parameter_shapes(c, ks, g, split, keep, rd_channels=module.hidden)
    assert {n: tuple(p.shape) for n, p in module.named_parameters()} == shapes
    total = sum(math.prod(s) for s in shapes.values())
    assert sk_num_params(c, ks, g, r, L, keep, split) == total
    assert sum(p.numel() for p in module.parameters()) == total


@pytest.mark.parametrize("channels", [128, 256, 512, 1024, 2048])
def test_hidden_width_is_timms_for_sknet_widths(channels):
    # The paper's d = max(C / 16, 32) and timm's make_divisible(C / 16, 32) for skresnext50.
    assert SelectiveKernel(channels).hidden == timm_make_divisible(channels / 16, divisor=32)


# --- properties ---------------------------------------------------------------------------------

def _small(**kwargs):
    options = {"groups": 4, "min_width": 8, **kwargs}
    return SelectiveKernel(16, **options)


def test_branch_weights_are_a_softmax_across_branches():
    module = _small(kernel_sizes=(3, 5, 7)).eval()
    x = torch.randn(2, 16, 6, 6)
    w = module.branch_weights(x)
    assert w.shape == (2, 3, 16) and (w > 0).all()
    torch.testing.assert_close(w.sum(dim=1), torch.ones(2, 16))
    feats = module.branches(x)
    torch.testing.assert_close(module(x), (feats * w[..., None, None]).sum(dim=1))


def test_equal_logits_average_the_branches_and_a_dominant_one_selects_it():
    module = _small().eval()
    x = torch.randn(2, 16, 5, 5)
    feats = module.branches(x)
    with torch.no_grad():
        module.attn.fc_select.weight.zero_()
    torch.testing.assert_close(module(x), feats.mean(dim=1))
    with torch.no_grad():  # branch 1's logits: a large positive bias through a constant z
        module.attn.bn.weight.zero_()
        module.attn.bn.bias.fill_(1.0)
        module.attn.fc_select.weight[16:].fill_(50.0)
    torch.testing.assert_close(module(x), feats[:, 1])


def test_hook_on_the_gate_sees_the_branch_weights():
    module, seen = _small().eval(), []
    module.attn.gate.register_forward_hook(lambda m, i, o: seen.append(o))
    x = torch.randn(3, 16, 4, 4)
    module(x)
    assert seen[0].shape == (3, 2, 16, 1, 1)
    torch.testing.assert_close(seen[0].flatten(2), module.branch_weights(x))


def test_gradcheck():
    module = SelectiveKernel(4, groups=2, min_width=2).double().eval()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.5)
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,), fast_mode=True)


@pytest.mark.parametrize("split_input", [False, True])
def test_every_parameter_gets_a_finite_gradient(split_input):
    module = _small(split_input=split_input).train()
    module(torch.randn(4, 16, 5, 5)).square().mean().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize(("c", "h", "w", "options"), [
    (64, 7, 5, {}),
    (32, 3, 3, {"groups": 8, "kernel_sizes": (3, 5, 7)}),
    (16, 4, 6, {"groups": 2, "split_input": True, "dilate": False}),
])
def test_macs_closed_form_equals_the_counter(c, h, w, options):
    module = SelectiveKernel(c, **options).eval()
    counted = count_flops(module, torch.randn(2, c, h, w)).macs
    macs = sk_macs(c, h, w, **options)
    assert counted == 2 * macs["macs"] == 2 * (macs["branch_macs"] + macs["attention_macs"])


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: SelectiveKernel(8), ValueError,
         r"groups=32 must divide the channels \(8\) .* divisors of 8"),
        (lambda: SelectiveKernel(48, groups=32), ValueError, r"groups=32 must divide.*\(48\)"),
        (lambda: SelectiveKernel(24, groups=8, split_input=True), ValueError,
         r"groups=8 must divide the input channels per branch \(12\).*split_input"),
        (lambda: SelectiveKernel(9, groups=1, split_input=True), ValueError,
         "split_input=True needs channels divisible by the number of branches, got channels=9"),
        (lambda: SelectiveKernel(64, kernel_sizes=(3,)), ValueError,
         r"at least 2 branches .* got \(3,\)"),
        (lambda: SelectiveKernel(64, kernel_sizes=3), TypeError, "kernel_sizes must be a sequence"),
        (lambda: SelectiveKernel(64, kernel_sizes=(3, 4)), ValueError,
         "kernel_sizes entry must be a positive odd integer, got 4"),
        (lambda: SelectiveKernel(64, kernel_sizes=(1, 3)), ValueError,
         r"with dilate=True every kernel size must be >= 3"),
        (lambda: SelectiveKernel(64, groups=0), ValueError, "groups must be a positive integer"),
        (lambda: SelectiveKernel(64, reduction=128, min_width=1), ValueError,
         "reduction=128 is larger than channels=64"),
        (lambda: SelectiveKernel(64, dilate="yes"), TypeError, "dilate must be True or False"),
        (lambda: SelectiveKernel(64, split_input=1), TypeError, "split_input must be True or"),
        (lambda: sk_num_params(8), ValueError, "groups=32 must divide"),
        (lambda: sk_macs(64, 0, 3), ValueError, "height must be a positive integer, got 0"),
    ],
)
def test_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        *bad_maps(16),
        (torch.randn(0, 16, 3, 3), ValueError, "x is an empty batch"),
    ],
)
def test_bad_inputs(x, error, message):
    with pytest.raises(error, match=message):
        _small().eval()(x)


def test_training_with_one_image_says_why():
    one_image_training_says_why(lambda: _small())


def test_factory_builds_it():
    module = make_attention("sk", 64, groups=16)
    assert isinstance(module, SelectiveKernel) and module.hidden == 32 and module.groups == 16
