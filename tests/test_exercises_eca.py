"""Chapter 3 checkers accept the right answers, name each modelled mistake, and never raise."""

from __future__ import annotations

import pytest
import torch

from attn_lessons.eca import eca_kernel_size
from attn_lessons.exercises import eca as ex


def _raises(*args):
    raise RuntimeError("boom")


def _wrong_shape(*args):
    return torch.zeros(2, 3, 4)


def test_kernel_size_checker():
    assert ex.check_eca_kernel_size(lambda c: eca_kernel_size(c))
    cases = [
        (ex._not_odd, "must be odd"),
        (ex._ties_down, "C = 128"),
        (ex._round_then_odd, "integer part"),
        (ex._floor_3, "no floor of 3"),
    ]
    for wrong, hint in cases:
        verdict = ex.check_eca_kernel_size(wrong)
        assert not verdict and hint in str(verdict), (wrong.__name__, str(verdict))


def test_gate_checker():
    from attn_lessons.eca import ECA

    def with_library(y, kernel):
        module = ECA(y.shape[1], kernel_size=kernel.numel())
        with torch.no_grad():
            module.conv.weight.copy_(kernel.reshape(1, 1, -1))
            return module.gate(module.conv(y[:, None, :]))[:, 0, :]

    assert ex.check_eca_gate(ex._gate)
    assert ex.check_eca_gate(with_library)
    for wrong, hint in [
        (ex._gate_no_sigmoid, "sigmoid"),
        (ex._gate_flipped, "reversed"),
        (ex._gate_circular, "circularly"),
        (ex._gate_no_padding, "C - k + 1"),
    ]:
        verdict = ex.check_eca_gate(wrong)
        assert not verdict and hint in str(verdict), (wrong.__name__, str(verdict))


def test_toeplitz_checker():
    assert ex.check_eca_toeplitz(ex._toeplitz)
    for wrong, hint in [(ex._toeplitz_transposed, "transposed"), (ex._toeplitz_circulant, "wrap")]:
        verdict = ex.check_eca_toeplitz(wrong)
        assert not verdict and hint in str(verdict), (wrong.__name__, str(verdict))


@pytest.mark.parametrize(
    "checker", [ex.check_eca_kernel_size, ex.check_eca_gate, ex.check_eca_toeplitz]
)
@pytest.mark.parametrize(
    "answer", [None, "eca", ..., _wrong_shape, _raises, lambda *a: None, 3]
)
def test_checkers_say_not_yet_without_raising(checker, answer):
    verdict = checker(answer)
    assert not verdict
    assert str(verdict).startswith("Not yet: ")
