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


# ------------------------------------------------------------------------------------------------
# Reproducing the shipped files: the manifests say where they were made, and the make scripts'
# --check compares a re-training with them byte for byte (``scripts/make_checkpoints.py --check
# none`` trains the cheapest one, about 10 s: too long for this suite, so it is a documented
# command, not a test).
def _manifests():
    from attn_lessons.checkpoints import controls

    return {"shipped": checkpoints.manifest(), "controls": controls.manifest()}


@pytest.mark.parametrize("which", ["shipped", "controls"])
def test_manifests_record_the_cpu_and_the_commit(which):
    manifest = _manifests()[which]
    assert {"cpu_model", "cpu_capability", "commit", "dirty"} <= set(manifest)
    assert manifest["cpu_capability"] in (None, "DEFAULT", "AVX2", "AVX512", "ZVECTOR", "VSX",
                                          "SVE256", "NEON", "SVE128")
    assert isinstance(manifest["commit"], str) and len(manifest["commit"]) == 40
    int(manifest["commit"], 16)
    assert manifest["dirty"] in (True, False)


def test_check_against_accepts_the_shipped_bytes_and_says_why_others_differ(monkeypatch):
    from attn_lessons.checkpoints import _making

    manifest = {**checkpoints.manifest(), "cpu_capability": "ELSEWHERE", "cpu_model": "Other"}
    data = checkpoints.checkpoint_path("none").read_bytes()
    ok, line = _making.check_against(manifest, "none", _making.Trained(data, 1.0, 0.979, 0.0))
    assert ok and "the same bytes" in line
    monkeypatch.setattr(_making, "provenance", lambda: {"cpu_model": "This", "cpu_capability":
                                                        "AVX2", "commit": None, "dirty": None})
    ok, line = _making.check_against(manifest, "none",
                                     _making.Trained(data + b"\0", 1.0, 0.982, 0.0))
    assert not ok
    assert "0.979 recorded, 0.9820 now" in line
    assert "cpu_capability 'ELSEWHERE' there, 'AVX2' here" in line
    assert "cpu_model 'Other' there, 'This' here" in line
    ok, line = _making.check_against({"files": {}}, "none", _making.Trained(data, 1.0, 1.0, 0.0))
    assert not ok and "no SHA-256" in line


@pytest.mark.parametrize("script", ["make_checkpoints", "make_control_checkpoints"])
def test_the_make_scripts_check_only_named_known_kinds(script, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location(script, ROOT / "scripts" / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.parse(["--check", "none"]).kinds == ["none"]
    assert module.parse([]).check is False
    for argv in (["none"], ["--check", "transformer"]):
        with pytest.raises(SystemExit):
            module.parse(argv)
