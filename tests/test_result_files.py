"""Every result file shipped in attn_lessons/results follows the schema (none may be present yet).

The schema check is :func:`attn_lessons.experiments.validate` (every design and provenance field,
the seed count recomputed from the design's stated inputs, every run with exactly the declared
metrics); here it runs over the files themselves, read as the package data a reader gets.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

from attn_lessons.experiments import all_experiments, load_results, validate

FOLDER = Path(str(importlib.resources.files("attn_lessons.results")))
FILES = sorted(FOLDER.glob("*.json"))


def test_the_results_folder_is_a_package_with_its_data_declared():
    assert (FOLDER / "__init__.py").is_file()
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"attn_lessons.results" = ["*.json"]' in pyproject


def test_every_result_file_follows_the_schema():
    """One test over every file (it passes, checking nothing, while no file is shipped)."""
    problems = {}
    for path in FILES:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            exp = validate(record, source=path.name)
            if path.stem != exp.name:
                problems[path.name] = f"holds experiment {exp.name!r}: name it {exp.name}.json"
            elif load_results(exp.name).design != record["design"]:
                problems[path.name] = "the package data read another file"
        except (ValueError, TypeError) as error:
            problems[path.name] = str(error)
    assert not problems, problems


def test_every_result_file_matches_its_declared_experiment():
    """A file whose experiment is declared was run with today's declaration (re-run it after
    changing the design); a file with no declaration left is an orphan."""
    declared = all_experiments()
    problems = {}
    for path in FILES:
        name = path.stem
        if name not in declared:
            problems[path.name] = "no experiment of that name is declared: remove or declare it"
        elif declared[name].to_dict() != json.loads(path.read_text(encoding="utf-8"))["design"]:
            problems[path.name] = (f"run with another design than the one declared: "
                                   f"python -m attn_lessons.experiments run {name}")
    assert not problems, problems
