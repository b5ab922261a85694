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


@pytest.mark.parametrize("controls", [False, True])
def test_the_make_scripts_write_the_shipped_manifests_layout(tmp_path, controls):
    """write_checkpoints, given the shipped files and records, writes them back byte for byte
    and a manifest with the shipped one's entries in its order (the versions are this machine's)."""
    from attn_lessons.checkpoints import _making
    from attn_lessons.checkpoints import controls as shuffled

    package = shuffled if controls else checkpoints
    shipped = package.manifest()
    folder = (shuffled.shuffled_path("none") if controls
              else checkpoints.checkpoint_path("none")).parent
    data = {entry["file"]: (folder / entry["file"]).read_bytes()
            for entry in shipped["files"].values()}
    extra = {"label_seed": shuffled.LABEL_SEED, "kinds": list(shuffled.KINDS)} if controls else {}
    _making.write_checkpoints(tmp_path, data, shipped["files"], **extra)
    written = json.loads((tmp_path / "manifest.json").read_text())
    assert list(written) == list(shipped)
    assert {k: written[k] for k in ("settings", "files", *extra)} == {
        k: shipped[k] for k in ("settings", "files", *extra)}
    assert all((tmp_path / name).read_bytes() == blob for name, blob in data.items())
    for kind, entry in shipped["files"].items():
        record = _making.Trained(data[entry["file"]], 0.0, 0.0, 0.0).entry(entry["file"])
        assert record == {k: entry[k] for k in ("file", "sha256", "bytes")}, kind

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
