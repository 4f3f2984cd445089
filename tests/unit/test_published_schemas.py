"""docs/schemas holds exactly what the engine accepts: every published schema is regenerated from
the models and compared, and the built-in roles validate against the role schema."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.auth.roles import BUILTIN_ROLES
from engine.definition_schemas import all_schemas

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_published_schema_is_current_and_valid(name):
    schema = all_schemas()[name]
    Draft202012Validator.check_schema(schema)
    published = json.loads((ROOT / "docs" / "schemas" / name).read_text())
    assert published == json.loads(json.dumps(schema)), "run `make schemas` to refresh docs/schemas"


def test_builtin_roles_validate_against_the_role_schema():
    validator = Draft202012Validator(all_schemas()["role.schema.json"])
    for role in BUILTIN_ROLES:
        assert list(validator.iter_errors(role.model_dump(mode="json"))) == []
    bad = {"key": "rep", "label": "Rep", "grants": [{"entity": "crm.account", "read": "mine"}]}
    assert not validator.is_valid(bad)
