"""SimAM equals its authors' code and the paper's Eq. 4-5, has no parameters, refuses bad input."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.cost import count_flops
from attn_lessons.factory import make_attention
from attn_lessons.simam import SimAM, simam_macs, simam_num_params


def _randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def authors_simam(x: torch.Tensor, e_lambda: float) -> torch.Tensor:
    """The authors' forward pass, re-stated with plain tensor operations.

    ZjjConan/SimAM @ ae98f43a34a051cc82f6e618853c690e1f4c92e6,
    networks/attentions/simam_module.py, lines 21-30 (forward); the constructor, lines 6-10,
    creates no parameter.
    """
    _, _, h, w = x.shape
    n = w * h - 1
    d = (x - x.mean(dim=[2, 3], keepdim=True)).pow(2)
    y = d / (4 * (d.sum(dim=[2, 3], keepdim=True) / n + e_lambda)) + 0.5
    return x * (1 / (1 + torch.exp(-y)))


def paper_eq4(x: torch.Tensor, e_lambda: float, divisor_offset: int) -> torch.Tensor:
    """Eq. 4 and 5 of the paper: e* = 4(s2 + l) / ((t - mu)^2 + 2 s2 + 2 l), X sig(1/E).

    The variance s2 divides by M - divisor_offset (1: the code's M - 1; 0: the population
    variance, 1/M; which one the printed paper uses is not checked here).
    """
    m = x.shape[2] * x.shape[3]
    mu = x.sum(dim=(2, 3), keepdim=True) / m
    s2 = ((x - mu) ** 2).sum(dim=(2, 3), keepdim=True) / (m - divisor_offset)
    energy = 4 * (s2 + e_lambda) / ((x - mu) ** 2 + 2 * s2 + 2 * e_lambda)
    return x * torch.sigmoid(1 / energy)


SHAPES = [(2, 8, 7, 7), (1, 3, 5, 9), (3, 16, 2, 1), (2, 4, 1, 6), (1, 1, 2, 2)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("e_lambda", [1e-4, 0.1, 3.0])
def test_equals_the_authors_forward(shape, e_lambda):
    x = _randn(*shape, seed=sum(shape)) * 3 + 1
    got = SimAM(shape[1], e_lambda=e_lambda)(x)
    torch.testing.assert_close(got, authors_simam(x, e_lambda), atol=1e-10, rtol=0)
    torch.testing.assert_close(got, paper_eq4(x, e_lambda, 1), atol=1e-10, rtol=0)


@pytest.mark.parametrize("shape", SHAPES)
def test_ddof0_is_eq4_with_the_population_variance(shape):
    x = _randn(*shape, seed=7)
    got = SimAM(e_lambda=0.01, ddof=0)(x)
    torch.testing.assert_close(got, paper_eq4(x, 0.01, 0), atol=1e-10, rtol=0)
    assert not torch.allclose(got, SimAM(e_lambda=0.01)(x), atol=1e-6, rtol=0)


def test_one_by_one_map_gives_sigmoid_half_where_the_authors_give_nan():
    x = _randn(2, 5, 1, 1)
    assert torch.isnan(authors_simam(x, 1e-4)).all()  # 0 / 0 in the authors' code
    for ddof in (0, 1):
        got = SimAM(e_lambda=1e-4, ddof=ddof)(x)
        torch.testing.assert_close(got, x * torch.sigmoid(torch.tensor(0.5, dtype=x.dtype)),
                                   atol=1e-12, rtol=0)


def test_no_parameters_as_the_authors_constructor():
    module = SimAM(64)
    assert list(module.parameters()) == [] and list(module.buffers()) == []
    assert simam_num_params(64) == simam_num_params() == 0
    assert sum(p.numel() for p in make_attention("simam", 64).parameters()) == 0


def test_gradcheck():
    x = _randn(2, 3, 3, 4, seed=3).requires_grad_(True)
    assert torch.autograd.gradcheck(SimAM(3, e_lambda=0.05), (x,))
    x1 = _randn(2, 3, 1, 1, seed=3).requires_grad_(True)  # the 1 x 1 case too
    assert torch.autograd.gradcheck(SimAM(3), (x1,))


def test_gradient_is_finite_and_reaches_the_input():
    x = _randn(4, 8, 5, 5, dtype=torch.float32).requires_grad_(True)
    SimAM(8)(x).square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_gate_hook_sees_the_full_3d_gate_in_its_range():
    module, seen = SimAM(6), []
    module.gate.register_forward_hook(lambda mod, inp, out: seen.append(out))
    x = _randn(2, 6, 4, 5)
    y = module(x)
    (gate,) = seen
    assert gate.shape == x.shape
    torch.testing.assert_close(y, x * gate)
    low = torch.sigmoid(torch.tensor(0.5, dtype=x.dtype))
    assert (gate >= low).all() and (gate < 1).all()
    torch.testing.assert_close(module.inverse_energy(x), torch.logit(gate), atol=1e-9, rtol=0)


def test_gate_ignores_a_shift_of_a_channel_and_scales_with_lambda():
    module = SimAM(e_lambda=0.2)
    x = _randn(2, 4, 6, 5, seed=1)
    gate = module.gate(module.inverse_energy(x))
    shift = _randn(2, 4, 1, 1, seed=2) * 10  # one constant per image and channel
    torch.testing.assert_close(module.gate(module.inverse_energy(x + shift)), gate,
                               atol=1e-10, rtol=0)
    a = 7.0  # scaling a channel by a is the same as scaling lambda by 1 / a^2
    scaled = SimAM(e_lambda=0.2 * a * a)
    torch.testing.assert_close(scaled.gate(scaled.inverse_energy(a * x)), gate,
                               atol=1e-10, rtol=0)


def test_channels_are_gated_independently_and_outliers_most():
    module = SimAM()
    x = _randn(1, 3, 6, 6, seed=4)
    base = module.inverse_energy(x)
    x2 = x.clone()
    x2[:, 1] = x2[:, 1] * 5 - 2
    moved = module.inverse_energy(x2)
    torch.testing.assert_close(moved[:, [0, 2]], base[:, [0, 2]], atol=0, rtol=0)
    x3 = x.clone()
    x3[0, 0, 2, 3] = 50.0  # an outlier in channel 0: the largest gate of its channel
    e = module.inverse_energy(x3)[0, 0]
    assert e.argmax() == 2 * 6 + 3


def test_macs_closed_form_and_counter():
    x = _randn(2, 16, 7, 5, dtype=torch.float32)
    counted = count_flops(SimAM(16), x).macs
    assert counted == 2 * simam_macs(16, 7, 5)["macs"] == 0
    assert simam_macs(16, 7, 5) == {"macs": 0, "elementwise": 8 * 560 + 32, "scale_muls": 560}


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: SimAM(0), ValueError, "channels must be a positive integer, got 0"),
        (lambda: SimAM(8.0), TypeError, "channels must be an integer, got 8.0"),
        (lambda: SimAM(e_lambda=0), ValueError, "e_lambda must be a positive finite number, got 0"),
        (lambda: SimAM(e_lambda=-1e-4), ValueError, "e_lambda must be a positive finite number"),
        (lambda: SimAM(e_lambda=float("nan")), ValueError, "e_lambda must be a positive finite"),
        (lambda: SimAM(e_lambda="small"), TypeError, "e_lambda must be a positive number"),
        (lambda: SimAM(e_lambda=True), TypeError, "e_lambda must be a positive number, got True"),
        (lambda: SimAM(ddof=2), ValueError, "ddof must be 1 .* or 0 .*, got 2"),
        (lambda: SimAM(ddof=-1), ValueError, "ddof must be an integer >= 0, got -1"),
        (lambda: SimAM(ddof=1.0), TypeError, "ddof must be an integer, got 1.0"),
        (lambda: simam_num_params(e_lambda=0), ValueError, "e_lambda"),
        (lambda: simam_macs(16, 0, 5), ValueError, "height must be a positive integer, got 0"),
    ],
)
def test_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (torch.randn(2, 4, 3, 3), ValueError, "x has 4 channels but the module was built for 8"),
        (torch.randn(8, 3, 3), ValueError, r"x must be a 4-D feature map .* got 3-D"),
        (torch.ones(1, 8, 3, 3, dtype=torch.long), TypeError, "floating-point"),
        (torch.randn(0, 8, 3, 3), ValueError, r"x is an empty batch \(shape \(0, 8, 3, 3\)\)"),
        (torch.randn(2, 8, 0, 3), ValueError, r"x has H = 0 \(shape \(2, 8, 0, 3\)\)"),
        ([[1.0]], TypeError, "x must be a torch.Tensor, got list"),
    ],
)
def test_bad_inputs(x, error, message):
    with pytest.raises(error, match=message):
        SimAM(8)(x)


def test_any_channel_count_without_channels():
    module = SimAM()
    for c in (1, 3, 64):
        assert module(_randn(2, c, 3, 3)).shape == (2, c, 3, 3)
    assert "e_lambda=0.0001" in repr(module)
