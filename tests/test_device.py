import random

import numpy as np
import pytest
import torch

from attn_lessons import describe_device, get_device, seed_everything
from attn_lessons.device import DEVICE_ENV_VAR


def test_default_device_is_the_best_available(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    expected = "cuda" if torch.cuda.is_available() else None
    device = get_device()
    if expected:
        assert device.type == expected
    else:
        assert device.type in {"cpu", "mps"}


def test_cpu_can_always_be_asked_for(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    assert get_device("cpu") == torch.device("cpu")


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    assert get_device() == torch.device("cpu")


def test_falls_back_to_cpu_when_no_accelerator(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("attn_lessons.device._mps_available", lambda: False)
    assert get_device() == torch.device("cpu")


def test_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("attn_lessons.device._mps_available", lambda: True)
    assert get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cuda")


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        get_device("tpu")


def test_unavailable_device_is_refused_not_replaced(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="'cuda' was asked for but is not available"):
        get_device("cuda")


def test_non_string_device_is_refused():
    with pytest.raises(TypeError, match="device name"):
        get_device(3)


def test_seed_everything_makes_every_generator_repeat():
    seed_everything(7)
    first = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002 (the legacy global RNG is what is seeded)
    seed_everything(7)
    second = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002 (the legacy global RNG is what is seeded)
    assert first[0] == second[0] and first[1] == second[1]
    torch.testing.assert_close(first[2], second[2])


def test_seed_everything_returns_a_seeded_generator():
    a = torch.rand(4, generator=seed_everything(3))
    b = torch.rand(4, generator=seed_everything(3))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError),
                                        (True, TypeError)])
def test_seed_everything_refuses_bad_seeds(bad, error):
    with pytest.raises(error, match="seed"):
        seed_everything(bad)


def test_describe_device_names_the_cpu():
    assert describe_device(torch.device("cpu")).startswith("cpu (")
