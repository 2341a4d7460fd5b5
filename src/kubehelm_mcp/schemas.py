"""Compact JSON schemas for tools/list: a model reads every byte of it on every conversation."""

from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel

from kubehelm_mcp.tooling import FLAGS_INPUT, MIN_GROUPED_SWITCHES, switches

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


# Checked by the server on every call, with a clear error; the model needs none of it to call well.
_VALIDATION_ONLY = {"minLength", "maxLength", "minItems", "maxItems", "pattern", "minimum", "maximum"}


def _says_nothing(key: str, value: Any, node: dict[str, Any]) -> bool:
    """Validation-only keywords, `type` beside an `enum` that already says it, and a default of
    off or nothing (what leaving an optional argument out means anyway)."""
    if key in _VALIDATION_ONLY or (key == "type" and "enum" in node):
        return True
    return key == "default" and (value is False or value is None or value == [] or value == {})


def _model_facing(node: Any) -> Any:
    """A schema as the model needs it to call the tool well (_says_nothing left out)."""
    if isinstance(node, list):
        return [_model_facing(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _model_facing(schema) for name, schema in value.items()}
        elif _says_nothing(key, value, node):
            continue
        else:
            out[key] = _model_facing(value)
    return out


def input_schema(model: type[BaseModel], hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """What tools/list shows of a tool's input, less the `hidden` properties. Unknown arguments are
    still refused (ToolInput), without `additionalProperties: false` on every tool."""
    schema: dict[str, Any] = _model_facing(_drop_class_docs(compact(model.model_json_schema())))
    schema.pop("additionalProperties", None)
    properties = schema.get("properties", {})
    for name in hidden:
        properties.pop(name, None)
    grouped = [name for name in switches(model) if name in properties]
    if len(grouped) >= MIN_GROUPED_SWITCHES:
        for name in grouped:
            properties.pop(name)
        properties[FLAGS_INPUT] = {"items": {"enum": grouped}, "type": "array"}  # named like helm's own flags
    return schema


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    return _drop_class_docs(compact(model.model_json_schema(mode="serialization")))


def either_output_schema(*models: type[BaseModel]) -> dict[str, Any]:
    """One object schema any of `models` satisfies (a fleet-capable tool answers in its own shape
    for one cluster, and as a FleetResult for several)."""
    from pydantic import TypeAdapter

    either: Any = Union[tuple(models)]  # noqa: UP007  (a union built from a tuple of models)
    union = TypeAdapter(either).json_schema(mode="serialization")
    return _drop_class_docs(compact({"type": "object", **union}))
