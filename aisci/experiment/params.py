"""Parameter runs: the coding model sets declared parameters instead of, or besides, editing the code.

A template that declares its parameters (template.json) takes them as `experiment.py --params=params.json`.
The reply's schema lists each parameter with its type and range, so a model under a grammar writes only
allowed values; a small model then always produces a run that executes.
"""

import copy
from typing import Any

from pydantic import BaseModel, Field

from aisci.templates import ParamValue, TemplateSpec

PARAMS_FILE = "params.json"  # beside experiment.py while a run executes; kept in run_i/ and run_i/code/


class ParamSetting(BaseModel):
    name: str = Field(max_length=100)
    value: ParamValue


def settings_of(params: list[ParamSetting]) -> dict[str, Any]:
    """The reply's settings as the file experiment.py reads; a name set twice keeps its last value."""
    return {p.name: p.value for p in params}


def step_schema(base: dict, spec: TemplateSpec, edits: bool, done: bool) -> dict:
    """The coding step's schema from the reply model's (`base`): `done` only once a run has succeeded, the
    declared parameters with their ranges where the template has any, and no edits or label when only
    parameters are offered (aisci then labels the run by its settings)."""
    schema = copy.deepcopy(base)
    props = schema["properties"]
    props["action"] = {**props["action"], "enum": ["run", "done"] if done else ["run"]}
    if spec.parameters:
        props["params"] = {
            "type": "array",
            "description": "parameters to set for this run; the others keep their defaults",
            "minItems": 0 if edits else 1,
            "maxItems": len(spec.parameters),
            "items": {"anyOf": [_setting_schema(n, p.json_schema()) for n, p in spec.parameters.items()]},
        }
    else:
        props.pop("params", None)
    if not edits:
        props.pop("edits", None)
        props.pop("label", None)
    schema.pop("$defs", None)
    schema["required"] = ["action"] if edits else ["action", "params"]
    return schema


def _setting_schema(name: str, value: dict) -> dict:
    return {
        "type": "object",
        "properties": {"name": {"type": "string", "enum": [name]}, "value": value},
        "required": ["name", "value"],
        "additionalProperties": False,
    }
