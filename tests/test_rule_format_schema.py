"""The published JSON Schema of the rule format accepts every bundled rule file (editors rely on it).

That the validator refuses whatever bad document the schema refuses is tested in
tests/engine/test_personal_facts.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from engine.format.loader import to_json, yaml_files
from engine.paths import PROJECT_ROOT, rules_dir

SCHEMA = json.loads((PROJECT_ROOT / "docs" / "rule-format.schema.json").read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", yaml_files(rules_dir()), ids=lambda p: p.name)
def test_bundled_rule_file_matches_the_schema(path: Path) -> None:
    # YAML dates become the ISO strings an editor plugin sees as text.
    document = to_json(yaml.safe_load(path.read_text(encoding="utf-8")))
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document), key=str)
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )


def test_the_schema_rejects_an_unknown_key() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert any("precedense" in e.message for e in validator.iter_errors({"precedense": []}))
