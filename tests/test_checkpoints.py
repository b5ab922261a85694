"""The shipped chapter 7 networks: the files are the ones recorded, and they solve their task."""

import io
import json
from pathlib import Path

import pytest
import torch

from attn_lessons import checkpoints
from attn_lessons.train import evaluate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def test_data():
    return checkpoints.test_set()


def test_manifest_records_the_current_settings_and_every_kind():
    manifest = checkpoints.manifest()
    assert manifest["settings"] == json.loads(json.dumps(checkpoints.SETTINGS))
    assert sorted(manifest["files"]) == sorted(checkpoints.SETTINGS["kinds"])


@pytest.mark.parametrize("kind", checkpoints.SETTINGS["kinds"])
def test_each_checkpoint_has_its_hash_and_size(kind):
    data = checkpoints.checkpoint_path(kind).read_bytes()
    entry = checkpoints.manifest()["files"][kind]
    assert checkpoints.sha256(data) == entry["sha256"]
    assert len(data) == entry["bytes"] < 100_000  # kilobytes, not megabytes


@pytest.mark.parametrize("kind", checkpoints.SETTINGS["kinds"])
def test_each_checkpoint_solves_its_generated_test_set(kind, test_data):
    model = checkpoints.load_checkpoint(kind)
    accuracy = evaluate(model, test_data, device="cpu")["accuracy"]
    assert accuracy >= 0.95
    recorded = checkpoints.manifest()["files"][kind]["test_accuracy"]
    assert abs(accuracy - recorded) <= 0.002  # the same weights on the same images


def test_loading_refuses_a_tampered_file(tmp_path, monkeypatch):
    fake = tmp_path / "clutter_se.pt"
    fake.write_bytes(checkpoints.checkpoint_path("se").read_bytes() + b"\0")
    monkeypatch.setattr(checkpoints, "checkpoint_path", lambda kind: fake)
    with pytest.raises(ValueError, match="SHA-256"):
        checkpoints.load_checkpoint("se")


def test_files_hold_only_tensors():
    # weights_only=True unpickles tensors and plain containers only; a state dict loads under it
    data = checkpoints.checkpoint_path("cbam").read_bytes()
    state = torch.load(io.BytesIO(data), weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="expected one of"):
        checkpoints.load_checkpoint("transformer")


def test_checkpoints_are_package_data_and_made_by_the_make_target():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"attn_lessons.checkpoints" = ["*.pt", "manifest.json"]' in pyproject
    assert "scripts/make_checkpoints.py" in (ROOT / "Makefile").read_text()
