"""The package's front door: version, public names, and nothing that silently drifts."""

import tomllib

import attn_lessons

from .conftest import ROOT


def test_version_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert attn_lessons.__version__ == project["version"]


def test_every_public_name_resolves():
    for name in attn_lessons.__all__:
        assert getattr(attn_lessons, name) is not None, name


def test_factory_names_are_the_ones_the_book_uses():
    assert set(attn_lessons.ATTENTION_KINDS) >= {"none", "se", "eca", "cbam", "coordatt"}
