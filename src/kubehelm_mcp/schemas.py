"""Compact JSON schemas for tools/list: a model reads every byte of it on every conversation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DROP = {"title"}


def _simplify_optional(node: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, {type: null}]` with a null default says no more than X alone."""
    options = node.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options and node.get("default") is None:
        other = next(o for o in options if o != {"type": "null"})
        merged = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
        return {**other, **merged}
    return node


def compact(node: Any, *, in_properties: bool = False) -> Any:
    if isinstance(node, list):
        return [compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    if in_properties:  # keys here are property names, not schema keywords
        return {name: compact(schema) for name, schema in node.items()}
    node = _simplify_optional(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP and isinstance(value, str):
            continue
        out[key] = compact(value, in_properties=key in ("properties", "$defs", "patternProperties"))
    return out


def _drop_class_docs(schema: dict[str, Any]) -> dict[str, Any]:
    """Model docstrings are for maintainers; the tool's description already speaks to the model."""
    schema.pop("description", None)
    for definition in schema.get("$defs", {}).values():
        definition.pop("description", None)
    return schema


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    return _drop_class_docs(compact(model.model_json_schema()))


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    return _drop_class_docs(compact(model.model_json_schema(mode="serialization")))
