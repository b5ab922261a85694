"""Shared fixtures and paths for the test suite."""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# One CPU thread per test process. The tests' tensors are small: with torch's default of one
# thread per core, its threads mostly spin waiting for each other, and on a shared or busy
# machine far more so (measured on the 2-core machine under load: test_insert.py's 91 insertion
# cases took 95 CPU-seconds with two threads and 7 with one). `make test` also runs this suite
# beside the notebooks' execution, which needs the other core. ATTN_TEST_THREADS overrides it;
# the scripts and notebooks a test starts inherit it through OMP_NUM_THREADS.
THREADS = os.environ.get("ATTN_TEST_THREADS", "1")
torch.set_num_threads(int(THREADS))
os.environ.setdefault("OMP_NUM_THREADS", THREADS)
# The checkers answer in English in the tests, whatever the machine's environment says (the
# Chinese notebooks set this variable; tests/test_exercise_messages.py sets it where it tests it).
os.environ.pop("ATTN_LESSONS_LANGUAGE", None)


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Each test that takes ``device`` runs on the CPU, and on CUDA when there is one."""
    return torch.device(request.param)


@pytest.fixture
def one_thread():
    """The test runs on one torch thread, as the experiment runner's workers do (a recorded run
    is reproduced exactly only so); the thread count is restored after it."""
    from attn_lessons.experiments._common import one_thread as on_one_thread

    with on_one_thread():
        yield


@functools.cache
def _figure_data(name: str) -> dict:
    from attn_lessons.interactive import figure_data

    return figure_data(name)


def figure_data_once(name: str) -> dict:
    """``attn_lessons.interactive.figure_data(name)``, computed once per test process (some
    figures train or count a network: seconds each; the framework's tests and each figure's own
    module both need it); every caller gets its own copy to change."""
    return copy.deepcopy(_figure_data(name))
