"""The chapter 7 result files (runs too long for CI) follow one schema the page can rely on."""

import datetime
import json
from pathlib import Path

import jsonschema
import pytest

RESULTS = Path(__file__).resolve().parents[1] / "book" / "ch7_networks" / "results"
# The experiment records written by scripts/ch7_results.py; module_bench.json has its own schema
# (tests/test_bench.py).
FILES = sorted(p for p in RESULTS.glob("*.json") if p.name != "module_bench.json")

SCHEMA = {
    "type": "object",
    "required": ["settings", "machine", "date", "library_version", "accuracies"],
    "properties": {
        "settings": {
            "type": "object",
            "required": ["seeds", "tasks", "widths", "batch_size", "lr"],
            "properties": {
                "seeds": {"type": "array", "items": {"type": "integer", "minimum": 0},
                          "minItems": 5, "uniqueItems": True},
                "tasks": {"type": "object", "minProperties": 1, "additionalProperties": {
                    "type": "object", "required": ["train_images", "epochs", "attention_blocks"]}},
            },
        },
        "machine": {"type": "object", "required": ["platform", "processor", "device"]},
        "date": {"type": "string"},
        "library_version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+"},
        "accuracies": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object", "required": ["none"], "additionalProperties": {
                "type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}}}},
    },
}


def test_the_page_has_its_result_files():
    assert {f.name for f in FILES} >= {"relation_cpu.json", "other_seeds.json"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_result_file_schema(path):
    record = json.loads(path.read_text())
    jsonschema.validate(record, SCHEMA)
    datetime.datetime.fromisoformat(record["date"])
    seeds = record["settings"]["seeds"]
    assert set(record["accuracies"]) == set(record["settings"]["tasks"])
    for kinds in record["accuracies"].values():
        assert all(len(values) == len(seeds) for values in kinds.values())


def test_schema_rejects_a_file_without_its_machine():
    record = json.loads((RESULTS / "relation_cpu.json").read_text())
    del record["machine"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, SCHEMA)
