"""Structured output: JSON schemas for the provider, and reading JSON out of free text when it has none."""

import copy
import json
import math
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


Schema = type[BaseModel] | dict


MIN_STRING = 16  # shortest cap `fit` gives a string: below it no field can say anything


def schema_of(model: Schema, max_string: int | None = None, max_items: int | None = None) -> dict:
    """The JSON schema (of a pydantic model, or given as is); with bounds, every string and list is capped at
    them (tighter caps already there are kept). Small models under a grammar otherwise loop inside a string,
    or write every field to its limit and run out of tokens before the object closes.
    """
    schema = copy.deepcopy(model if isinstance(model, dict) else model.model_json_schema())
    if max_string or max_items:
        _bound(schema, max_string, max_items)
    return schema


def fit(model: Schema, max_string: int, max_items: int, max_chars: int) -> dict:
    """`schema_of` with the string cap lowered until the longest valid reply has at most `max_chars`
    characters. A token is at least one character, so under a grammar such a reply closes within as many
    tokens: a small model that fills every string with digits (one token each) still ends its object."""
    low, high = MIN_STRING, max_string
    while low < high:
        mid = (low + high + 1) // 2
        if longest(schema_of(model, mid, max_items)) <= max_chars:
            low = mid
        else:
            high = mid - 1
    return schema_of(model, low, max_items)


def longest(schema: dict) -> float:
    """Characters in the longest compact JSON value the schema allows; inf where nothing bounds it."""
    return _longest(schema, schema.get("$defs", {}))


def _longest(node: dict, defs: dict) -> float:
    if "$ref" in node:
        return _longest(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("anyOf", "oneOf"):
        if key in node:
            return max(_longest(option, defs) for option in node[key])
    if "enum" in node or "const" in node:
        return max(len(json.dumps(value)) for value in node.get("enum", [node.get("const")]))
    kind = node.get("type")
    if kind == "object":
        fields = node.get("properties", {})
        return 1 + sum(len(json.dumps(name)) + 2 + _longest(field, defs) for name, field in fields.items())
    if kind == "array":
        return 1 + node.get("maxItems", math.inf) * (_longest(node.get("items", {}), defs) + 1)
    if kind == "string":
        return node.get("maxLength", math.inf) + 2
    return {"integer": 20, "number": 24, "boolean": 5, "null": 4}.get(kind, math.inf)


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
