"""attn_lessons.glue: numbers reach the pages through myst-nb, and nothing breaks without it."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import torch

from attn_lessons.glue import glue


@pytest.mark.parametrize("value", [3, 2.5, True, np.float64(0.25), torch.tensor(1.5)])
def test_glue_returns_plain_python_numbers(value):
    out = glue("some_number", value)
    assert isinstance(out, (bool, int, float))
    assert out == (value.item() if hasattr(value, "item") else value)


@pytest.mark.parametrize("value", ["75.6 %", None, [1, 2], torch.ones(2)])
def test_glue_refuses_what_is_not_a_number(value):
    with pytest.raises(TypeError, match="some_text"):
        glue("some_text", value)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_glue_refuses_an_empty_name(name):
    with pytest.raises(ValueError, match="non-empty name"):
        glue(name, 1)


def test_glue_without_myst_nb_is_silent(monkeypatch):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    assert glue("offline", 0.5) == 0.5
