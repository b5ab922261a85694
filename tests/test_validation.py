import re

import pytest
import torch

from attn_lessons._validation import (
    check_choice,
    check_feature_map,
    check_int,
    check_nonempty_feature_map,
    check_odd_kernel,
    check_positive_float,
    check_tensor,
    reduced_width,
)


@pytest.mark.parametrize("value", [1, 7, 4096])
def test_check_int_accepts_positive_integers(value):
    assert check_int("channels", value) == value


@pytest.mark.parametrize("value, error, message", [
    (0, ValueError, "channels must be a positive integer, got 0"),
    (-3, ValueError, "got -3"),
    (2.0, TypeError, "channels must be an integer, got 2.0"),
    ("8", TypeError, "got '8'"),
    (True, TypeError, "got True"),
    (None, TypeError, "got None"),
])
def test_check_int_names_the_bad_value(value, error, message):
    with pytest.raises(error, match=message):
        check_int("channels", value)


def test_check_int_with_other_minimum():
    assert check_int("seed", 0, minimum=0) == 0
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        check_int("seed", -1, minimum=0)


@pytest.mark.parametrize("k", [1, 3, 7, 9])
def test_odd_kernels_pass(k):
    assert check_odd_kernel("kernel_size", k) == k


@pytest.mark.parametrize("k, error", [(0, ValueError), (4, ValueError), (-3, ValueError),
                                      (3.0, TypeError)])
def test_even_or_non_positive_kernels_fail(k, error):
    with pytest.raises(error, match="kernel_size must be a positive odd integer"):
        check_odd_kernel("kernel_size", k)


def test_positive_float():
    assert check_positive_float("temperature", 2) == 2.0
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="temperature"):
            check_positive_float("temperature", bad)
    with pytest.raises(TypeError, match="temperature"):
        check_positive_float("temperature", "hot")


def test_check_choice_lists_the_choices():
    assert check_choice("order", "parallel", ("channel_first", "parallel")) == "parallel"
    with pytest.raises(ValueError, match=r"order must be one of \['a', 'b'\], got 'c'"):
        check_choice("order", "c", ("a", "b"))


def test_check_tensor_and_feature_map():
    x = torch.zeros(2, 3, 4, 5)
    assert check_feature_map(x, channels=3) is x
    with pytest.raises(ValueError, match=r"4-D feature map \(B, C, H, W\), got 3-D"):
        check_feature_map(torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match="has 3 channels but the module was built for 8"):
        check_feature_map(x, channels=8)
    with pytest.raises(TypeError, match="must be a torch.Tensor, got list"):
        check_feature_map([1.0])
    with pytest.raises(TypeError, match="floating-point"):
        check_tensor("x", torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="must be a 2-D tensor"):
        check_tensor("q", torch.zeros(2), ndim=2)


@pytest.mark.parametrize("shape, message", [
    ((0, 3, 4, 5), "feat is an empty batch (shape (0, 3, 4, 5))"),
    ((2, 3, 0, 5), "feat has H = 0 (shape (2, 3, 0, 5))"),
    ((2, 3, 4, 0), "feat has W = 0 (shape (2, 3, 4, 0))"),
    ((2, 0, 4, 5), "feat has C = 0 (shape (2, 0, 4, 5))"),
])
def test_nonempty_feature_map_refuses_zero_size_maps(shape, message):
    x = torch.zeros(2, 3, 4, 5)
    assert check_nonempty_feature_map(x, channels=3) is x
    with pytest.raises(ValueError, match=re.escape(message)):
        check_nonempty_feature_map(torch.zeros(shape), name="feat")
    with pytest.raises(ValueError, match="has 3 channels but the module was built for 8"):
        check_nonempty_feature_map(x, channels=8)


@pytest.mark.parametrize("channels, reduction, min_width, expected", [
    (64, 16, 1, 4), (16, 16, 1, 1), (8, 16, 8, 8), (512, 32, 8, 16), (17, 4, 1, 4),
])
def test_reduced_width(channels, reduction, min_width, expected):
    assert reduced_width(channels, reduction, min_width) == expected


def test_reduced_width_never_silently_zero():
    with pytest.raises(ValueError, match="reduction=16 is larger than channels=8"):
        reduced_width(8, 16)
