"""Chapter 3 checkers accept the right answers, name each modelled mistake, and never raise."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attn_lessons.eca import ECA, eca_kernel_size
from attn_lessons.exercises import eca as ex


def _raises(*args):
    raise RuntimeError("boom")


def _wrong_shape(*args):
    return torch.zeros(2, 3, 4)


def test_channel_range_reference_is_the_library_rule_inverted():
    ks = [eca_kernel_size(c) for c in range(1, 2 ** 15 + 1)]
    for k in (1, 3, 5, 7):
        first, last = ex._channel_range(k).tolist()
        assert ks.index(k) + 1 == first
        assert len(ks) - ks[::-1].index(k) == last
    assert not {2, 4, 6} & set(ks)


def _k(c):  # the authors' two lines
    return int((math.log2(c) + 1) / 2) | 1


def test_channel_range_checker():
    def by_search(k):  # the reader who searches every C up to 2^20: right up to k = 9 only
        found = [c for c in range(1, 2 ** 20) if _k(c) == k]
        if not found:
            raise ValueError(f"no channel count gets {k}")
        return found[0], found[-1]

    def by_doubling(k):  # a search that reaches k = 11: double C, then bisect each end
        if k < 1 or k % 2 == 0:
            raise ValueError(f"no channel count gets {k}")

        def smallest(pred):
            hi = 1
            while not pred(hi):
                hi *= 2
            lo = hi // 2
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if pred(mid) else (mid, hi)
            return hi

        return smallest(lambda c: _k(c) >= k), smallest(lambda c: _k(c) > k) - 1

    assert ex.check_eca_channel_range(by_doubling)
    verdict = ex.check_eca_channel_range(by_search)
    assert not verdict and "k = 11 runs from C = 524,288 to C = 8,388,607" in verdict.message
    for wrong, hint in [
        (ex._range_ties_down, "ties go up"),
        (ex._range_last_exclusive, "not the first one that does not"),
        (ex._range_round_then_odd, "does not round"),
        (ex._range_floor_3, "timm's rule"),
        (ex._range_powers_of_two, "not only powers of two"),
        (lambda k: (0, 0) if k % 2 == 0 else ex._channel_range(k), "raise ValueError"),
    ]:
        verdict = ex.check_eca_channel_range(wrong)
        assert not verdict and hint in str(verdict), (wrong, str(verdict))


def test_kernel_grad_reference_is_autograd_through_the_library_module():
    for y, kernel, upstream in ex._kernel_grad_cases():
        module = ECA(y.shape[1], kernel_size=kernel.numel()).double()
        with torch.no_grad():
            module.conv.weight.copy_(kernel.reshape(1, 1, -1))
        (module.gate(module.conv(y[:, None, :]))[:, 0, :] * upstream).sum().backward()
        torch.testing.assert_close(ex._kernel_grad(y, kernel, upstream),
                                   module.conv.weight.grad.flatten())


def test_kernel_grad_edge_taps_vanish_for_two_channels():
    y, kernel, upstream = ex._kernel_grad_cases()[-1]
    assert y.shape[1] == 2 and kernel.numel() == 5  # the exercise's predict-first case
    grad = ex._kernel_grad(y, kernel, upstream)
    assert grad[0] == 0 and grad[-1] == 0 and (grad[1:-1] != 0).all()


def test_kernel_grad_checker():
    for wrong, hint in [
        (ex._grad_no_sigmoid, "through the sigmoid"),
        (ex._grad_flipped, "does not flip"),
        (ex._grad_circular, "wraps around"),
        (ex._grad_batch_mean, "not their mean"),
        (ex._grad_per_sample, "shape (k,)"),
    ]:
        verdict = ex.check_eca_kernel_grad(wrong)
        assert not verdict and hint in str(verdict), (wrong.__name__, str(verdict))


def test_dilated_reference_and_the_solutions_count():
    kernel = torch.tensor([1.0, -2.0, 0.5, 3.0, 2.0], dtype=torch.float64)
    y = torch.randn(3, 64, dtype=torch.float64)
    w = ex._toeplitz_dilated(kernel, 64, 2)
    torch.testing.assert_close(y @ w.T, F.conv1d(y[:, None], kernel.view(1, 1, 5), padding=4,
                                                 dilation=2)[:, 0])
    # ex-eca-band: C k - d (k^2 - 1) / 4 entries for C >= d (k - 1) / 2; 308 for 64, 5, 2
    assert int((w != 0).sum()) == 64 * 5 - 2 * 6 == 308
    for c, k, d in [(4, 5, 2), (10, 7, 3), (9, 7, 3), (6, 3, 3), (16, 9, 4)]:
        band = ex._toeplitz_dilated(torch.ones(k, dtype=torch.float64), c, d)
        assert int((band != 0).sum()) == c * k - d * (k * k - 1) // 4, (c, k, d)
    # the lab exercise's predict-first case: C = 8, k = 3, d = 2
    w = ex._toeplitz_dilated(torch.ones(3), 8, 2)
    assert w[4].nonzero().flatten().tolist() == [2, 4, 6] and int((w != 0).sum()) == 20


def test_dilated_checker():
    assert ex.check_eca_toeplitz_dilated(ex._toeplitz_dilated)
    for wrong, hint in [(ex._dilated_transposed, "transposed"), (ex._dilated_circulant, "wrap"),
                        (ex._dilated_ignored, "ordinary band"), (ex._dilated_holes, "not d + 1")]:
        verdict = ex.check_eca_toeplitz_dilated(wrong)
        assert not verdict and hint in str(verdict), (wrong.__name__, str(verdict))


@pytest.mark.parametrize(
    "checker", [ex.check_eca_channel_range, ex.check_eca_kernel_grad,
                ex.check_eca_toeplitz_dilated, ex.check_eca_gate_circular]
)
@pytest.mark.parametrize(
    "answer", [None, "eca", ..., _wrong_shape, _raises, lambda *a: None, 3]
)
def test_checkers_say_not_yet_without_raising(checker, answer):
    verdict = checker(answer)
    assert not verdict
    assert str(verdict).startswith("Not yet: ")


def test_the_review_cases_are_in_the_eca_checkers():
    # k = 1 for the circular gate, a tap beyond the other end for the dilated band, k = 11
    assert any(kernel.numel() == 1 for _, kernel in ex._gate_cases())
    assert any(d * ((w.numel() - 1) // 2) > c for w, c, d in ex._DILATED_CASES)
    assert (11,) in ex._RANGE_CASES
