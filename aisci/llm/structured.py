"""Structured output: JSON schemas for the provider, and reading JSON out of free text when it has none."""

import copy
import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


Schema = type[BaseModel] | dict


def schema_of(model: Schema, max_string: int | None = None, max_items: int | None = None) -> dict:
    """The JSON schema (of a pydantic model, or given as is); with bounds, every string and list is capped at
    them (tighter caps already there are kept). Small models under a grammar otherwise loop inside a string,
    or write every field to its limit and run out of tokens before the object closes.
    """
    schema = copy.deepcopy(model if isinstance(model, dict) else model.model_json_schema())
    if max_string or max_items:
        _bound(schema, max_string, max_items)
    return schema


def _cap(node: dict, key: str, floor_key: str, cap: int | None) -> None:
    if cap:
        node[key] = max(min(node.get(key, cap), cap), node.get(floor_key, 0))


def _bound(node: Any, max_string: int | None, max_items: int | None) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and "enum" not in node:
            _cap(node, "maxLength", "minLength", max_string)
        if node.get("type") == "array":
            _cap(node, "maxItems", "minItems", max_items)
        for value in node.values():
            _bound(value, max_string, max_items)
    elif isinstance(node, list):
        for value in node:
            _bound(value, max_string, max_items)


def name_of(model: Schema) -> str:
    return str(model.get("title", "reply")) if isinstance(model, dict) else model.__name__


def response_format(model: Schema, schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": name_of(model), "schema": schema}}


def instructions(schema: dict) -> str:
    """What to tell a model that has no schema mode."""
    return "Reply with one JSON object and nothing else. It must match this JSON schema:\n" + json.dumps(
        schema, separators=(",", ":")
    )


def extract_json(text: str) -> Any:
    """The JSON value in a reply: bare, fenced, or the outermost {...} span. Raises ValueError."""
    candidates = [text.strip(), *(m.strip() for m in _FENCED.findall(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    raise ValueError("the reply holds no JSON object")


def parse(text: str, model: Schema) -> Any:
    """Validate a reply against the schema. Raises ValueError with a message written for the model."""
    value = extract_json(text)
    if isinstance(model, dict):
        import jsonschema

        try:
            jsonschema.validate(value, model)
        except jsonschema.ValidationError as exc:
            where = ".".join(map(str, exc.absolute_path)) or "(root)"
            raise ValueError(f"the JSON does not match the schema: {where}: {exc.message}") from None
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"the JSON does not match the schema: {problems}") from None


def repair_request(error: str, schema: dict) -> str:
    return f"Your previous reply could not be used: {error}.\n{instructions(schema)}"
