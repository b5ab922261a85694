"""Progress bars: shown by default, hidden by TQDM_DISABLE (which the book build sets)."""

import pytest

from attn_lessons.progress import progress_bar, progress_disabled


@pytest.mark.parametrize("value, disabled", [("", False), ("0", False), ("false", False),
                                             ("1", True), ("true", True), ("yes", True)])
def test_environment_decides(monkeypatch, value, disabled):
    monkeypatch.setenv("TQDM_DISABLE", value)
    assert progress_disabled() is disabled
    assert progress_bar(range(3)).disable is disabled


def test_explicit_argument_wins(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert progress_bar(range(3), disable=False).disable is False
    monkeypatch.delenv("TQDM_DISABLE")
    assert progress_bar(range(3), disable=True).disable is True


def test_the_book_build_hides_bars(monkeypatch):
    import importlib.util

    from .conftest import BOOK

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    spec = importlib.util.spec_from_file_location("static_progress",
                                                  BOOK / "_ext" / "static_progress.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.setup(app=None)
    assert progress_disabled()
